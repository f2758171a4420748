//! Memberships (`conversation_members`): who is in which conversation.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::users::user_from_row;
use super::{ids, now, sql};
use crate::entity::member;
use crate::ids::{ConversationId, UserId};
use crate::model::{ConversationKind, User};

/// A conversation's member ids, its kind and whether it is public; `None`
/// when the conversation does not exist.
pub(crate) async fn member_set<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
) -> Result<Option<(HashSet<UserId>, ConversationKind, bool)>, DbErr> {
    // One query for all: no row at all when the conversation does not
    // exist, one row with a NULL user when it has no members.
    let mut q = sql(conn);
    q.push(
        "SELECT c.type AS kind, c.is_public, cm.user_id FROM conversations c \
         LEFT JOIN conversation_members cm ON cm.conversation_id = c.id WHERE c.id = ",
    )
    .bind(conversation_id);
    let rows = conn.query_all_raw(q.build()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let kind: String = first.try_get("", "kind")?;
    let kind = if kind == "direct" {
        ConversationKind::Direct
    } else {
        ConversationKind::Group
    };
    let public: bool = first.try_get("", "is_public")?;
    let mut members = HashSet::with_capacity(rows.len());
    for row in &rows {
        if let Some(user_id) = row.try_get::<Option<UserId>>("", "user_id")? {
            members.insert(user_id);
        }
    }
    Ok(Some((members, kind, public)))
}

/// Whether the user is a member, as the database says now.
pub(crate) async fn is_member<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    user_id: UserId,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT user_id FROM conversation_members WHERE conversation_id = ")
        .bind(conversation_id)
        .push(" AND user_id = ")
        .bind(user_id);
    Ok(!ids::<_, i64>(conn, q).await?.is_empty())
}

/// Adds the users to the conversation (a membership that exists fails with a
/// unique violation).
pub(crate) async fn insert<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    user_ids: &[UserId],
) -> Result<(), DbErr> {
    let joined_at = now();
    for chunk in user_ids.chunks(500) {
        let rows = chunk.iter().map(|&user_id| member::ActiveModel {
            conversation_id: Set(conversation_id.get()),
            user_id: Set(user_id.get()),
            joined_at: Set(joined_at),
            last_read_message_id: Set(None),
            last_read_seq: Set(0),
            last_delivered_message_id: Set(None),
            last_delivered_seq: Set(0),
            muted_until: Set(None),
            mute_mentions: Set(false),
        });
        member::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

/// Removes the user from the conversation.
pub(crate) async fn delete<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    user_id: UserId,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM conversation_members WHERE conversation_id = ")
        .bind(conversation_id)
        .push(" AND user_id = ")
        .bind(user_id);
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Up to `limit` members with a user id greater than `after`, in id order.
pub(crate) async fn page<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    after: i64,
    limit: u64,
) -> Result<Vec<User>, DbErr> {
    let mut q = sql(conn);
    q.push(
        "SELECT u.id, u.username, u.display_name, u.bio, u.avatar_url, u.status, u.last_seen \
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id WHERE cm.conversation_id = ",
    )
    .bind(conversation_id)
    .push(" AND cm.user_id > ")
    .bind(after)
    .push(" ORDER BY cm.user_id LIMIT ")
    .bind(limit as i64);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(user_from_row).collect()
}

/// Up to `limit` ids of the user's conversations greater than `after`, in id order.
pub(crate) async fn conversation_ids_after<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    after: i64,
    limit: u64,
) -> Result<Vec<ConversationId>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT conversation_id FROM conversation_members WHERE user_id = ")
        .bind(user_id)
        .push(" AND conversation_id > ")
        .bind(after)
        .push(" ORDER BY conversation_id LIMIT ")
        .bind(limit as i64);
    ids(conn, q).await
}

/// Sets the member's mute settings; whether the membership exists.
pub(crate) async fn set_mute<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    user_id: UserId,
    muted_until: Option<DateTime<Utc>>,
    mute_mentions: bool,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("UPDATE conversation_members SET muted_until = ")
        .bind(muted_until)
        .push(", mute_mentions = ")
        .bind(mute_mentions)
        .push(" WHERE conversation_id = ")
        .bind(conversation_id)
        .push(" AND user_id = ")
        .bind(user_id);
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}
