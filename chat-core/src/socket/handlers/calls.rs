//! `call:start`, `call:accept`, `call:decline`, `call:end`, `call:signal`,
//! `call:resume`: the socket that sends one is the side it acts for.
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::model::Call;
use crate::service::{CallRef, CallSignal, StartCall};

/// Ack `{success, call}`.
#[derive(Serialize)]
pub(crate) struct CallAck {
    call: Call,
}

/// Ack `{success}`.
#[derive(Serialize)]
pub(crate) struct Relayed {}

pub(crate) async fn on_start<A: Adapter>(
    caller: Caller<A>,
    request: StartCall,
) -> ChatResult<CallAck> {
    let call = caller
        .chat
        .start_call(caller.identity.user_id, request, caller.socket.id)
        .await?;
    Ok(CallAck { call })
}

pub(crate) async fn on_accept<A: Adapter>(caller: Caller<A>, call: CallRef) -> ChatResult<CallAck> {
    let call = caller
        .chat
        .accept_call(caller.identity.user_id, &call.call_id, caller.socket.id)
        .await?;
    Ok(CallAck { call })
}

pub(crate) async fn on_decline<A: Adapter>(
    caller: Caller<A>,
    call: CallRef,
) -> ChatResult<CallAck> {
    let call = caller
        .chat
        .decline_call(caller.identity.user_id, &call.call_id)
        .await?;
    Ok(CallAck { call })
}

pub(crate) async fn on_end<A: Adapter>(caller: Caller<A>, call: CallRef) -> ChatResult<CallAck> {
    let call = caller
        .chat
        .end_call(caller.identity.user_id, &call.call_id)
        .await?;
    Ok(CallAck { call })
}

pub(crate) async fn on_signal<A: Adapter>(
    caller: Caller<A>,
    signal: CallSignal,
) -> ChatResult<Relayed> {
    caller
        .chat
        .signal_call(caller.identity.user_id, signal, caller.socket.id)
        .await?;
    Ok(Relayed {})
}

pub(crate) async fn on_resume<A: Adapter>(caller: Caller<A>, call: CallRef) -> ChatResult<CallAck> {
    let call = caller
        .chat
        .resume_call(caller.identity.user_id, &call.call_id, caller.socket.id)
        .await?;
    Ok(CallAck { call })
}
