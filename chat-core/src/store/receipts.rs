//! Read and delivery pointers of memberships, which only move forward.
use sea_orm::{ConnectionTrait, DbErr};

use super::sql;

use crate::ids::{ConversationId, MessageId, UserId};

/// Which pointer a receipt moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pointer {
    /// The read pointer, and the delivery pointer with it (reading implies delivery).
    Read,
    /// The delivery pointer only.
    Delivered,
}

/// Moves the user's pointer to the message (`message_id`, `seq`) when it is
/// behind it; returns whether it moved.
pub(crate) async fn advance<C: ConnectionTrait>(
    conn: &C,
    pointer: Pointer,
    conversation_id: ConversationId,
    user_id: UserId,
    message_id: MessageId,
    seq: i64,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    match pointer {
        Pointer::Read => q
            .push("UPDATE conversation_members SET last_read_message_id = ")
            .bind(message_id)
            .push(", last_read_seq = ")
            .bind(seq)
            .push(", last_delivered_message_id = CASE WHEN last_delivered_seq < ")
            .bind(seq)
            .push(" THEN ")
            .bind(message_id)
            .push(" ELSE last_delivered_message_id END, last_delivered_seq = CASE WHEN last_delivered_seq < ")
            .bind(seq)
            .push(" THEN ")
            .bind(seq)
            .push(" ELSE last_delivered_seq END WHERE conversation_id = ")
            .bind(conversation_id)
            .push(" AND user_id = ")
            .bind(user_id)
            .push(" AND last_read_seq < ")
            .bind(seq),
        Pointer::Delivered => q
            .push("UPDATE conversation_members SET last_delivered_message_id = ")
            .bind(message_id)
            .push(", last_delivered_seq = ")
            .bind(seq)
            .push(" WHERE conversation_id = ")
            .bind(conversation_id)
            .push(" AND user_id = ")
            .bind(user_id)
            .push(" AND last_delivered_seq < ")
            .bind(seq),
    };
    Ok(conn.execute_raw(q.build()).await?.rows_affected() > 0)
}
