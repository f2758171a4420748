//! `message:read` and `message:delivered`: a receipt moved forward, acked
//! with the receipt (or `null` when the pointer was already past).
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::service::{Receipt, ReceiptKind, ReceiptRequest};

#[derive(Serialize)]
pub(crate) struct ReceiptAck {
    /// The receipt, or `null` when the pointer was already past this message.
    receipt: Option<Receipt>,
}

async fn on_receipt<A: Adapter>(
    kind: ReceiptKind,
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    let receipt = caller
        .chat
        .advance_receipt(caller.identity.user_id, kind, request)
        .await?;
    Ok(ReceiptAck { receipt })
}

pub(crate) async fn on_read<A: Adapter>(
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    on_receipt(ReceiptKind::Read, caller, request).await
}

pub(crate) async fn on_delivered<A: Adapter>(
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    on_receipt(ReceiptKind::Delivered, caller, request).await
}
