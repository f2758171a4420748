//! Conversation rows: creation, the conversation list (one query for a page,
//! one for its embedded members), public rooms.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

use super::messages::message_from_row;
use super::sql;
use super::users::user_from_row;
use crate::db::Sql;
use crate::entity::conversation;
use crate::ids::{ConversationId, UserId};
use crate::model::{Conversation, ConversationKind, RoomSummary, User};

/// The conversation's row.
pub(crate) async fn by_id<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
) -> Result<Option<conversation::Model>, DbErr> {
    conversation::Entity::find_by_id(conversation_id)
        .one(conn)
        .await
}

/// The direct conversation of a pair, by its key (`<smaller id>:<larger id>`).
pub(crate) async fn direct_by_key<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<conversation::Model>, DbErr> {
    conversation::Entity::find()
        .filter(conversation::Column::DirectKey.eq(key))
        .one(conn)
        .await
}

/// What a new conversation is.
pub(crate) enum NewConversation {
    /// A direct conversation with its pair key (unique: a second insert fails
    /// with a unique violation).
    Direct { key: String },
    /// A group, public (a listed room) or not.
    Group { name: String, is_public: bool },
}

/// Inserts a conversation created by `creator` at `at`, with no message yet.
pub(crate) async fn insert<C: ConnectionTrait>(
    conn: &C,
    creator: UserId,
    new: NewConversation,
    at: DateTime<Utc>,
) -> Result<conversation::Model, DbErr> {
    let (kind, name, is_public, direct_key) = match new {
        NewConversation::Direct { key } => (ConversationKind::Direct, None, false, Some(key)),
        NewConversation::Group { name, is_public } => {
            (ConversationKind::Group, Some(name), is_public, None)
        }
    };
    conversation::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        name: Set(name),
        is_public: Set(is_public),
        created_by: Set(Some(creator.get())),
        created_at: Set(at),
        last_seq: Set(0),
        last_rev: Set(0),
        last_message_at: Set(at),
        direct_key: Set(direct_key),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// The conversation's last revision (0 when it does not exist).
pub(crate) async fn last_rev<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
) -> Result<i64, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT last_rev FROM conversations WHERE id = ")
        .bind(conversation_id);
    match conn.query_one_raw(q.build()).await? {
        Some(row) => row.try_get_by_index(0),
        None => Ok(0),
    }
}

/// Groups `creator` created after `since`.
pub(crate) async fn groups_created_since<C: ConnectionTrait>(
    conn: &C,
    creator: UserId,
    since: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT COUNT(*) AS n FROM conversations WHERE created_by = ")
        .bind(creator)
        .push(" AND type = 'group' AND created_at > ")
        .bind(since);
    match conn.query_one_raw(q.build()).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// A page position in the conversation list: last activity and id.
pub(crate) struct ListPosition {
    pub(crate) id: ConversationId,
    pub(crate) last_activity: DateTime<Utc>,
}

/// Up to `fetch` of the user's conversations, most recent activity first,
/// after the position `after` (activity, id) when given.
pub(crate) async fn list_positions<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    after: Option<(DateTime<Utc>, ConversationId)>,
    fetch: u64,
) -> Result<Vec<ListPosition>, DbErr> {
    let mut q = sql(conn);
    q.push(
        "SELECT c.id, c.last_message_at FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id WHERE me.user_id = ",
    )
    .bind(user_id);
    if let Some((activity, id)) = after {
        q.push(" AND (c.last_message_at < ")
            .bind(activity)
            .push(" OR (c.last_message_at = ")
            .bind(activity)
            .push(" AND c.id < ")
            .bind(id)
            .push("))");
    }
    q.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
        .bind(fetch as i64);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(ListPosition {
                id: row.try_get("", "id")?,
                last_activity: row.try_get("", "last_message_at")?,
            })
        })
        .collect()
}

/// Appends the memberships `me` of `user_id` narrowed to `conversation_ids`.
fn push_scope(q: &mut Sql, user_id: UserId, conversation_ids: &[ConversationId]) {
    q.push("me.user_id = ").bind(user_id);
    match conversation_ids {
        [one] => q.push(" AND me.conversation_id = ").bind(*one),
        many => q
            .push(" AND me.conversation_id IN (")
            .bind_list(many.iter().copied())
            .push(")"),
    };
}

/// Appends the conversation list query (separate so its plan can be checked):
/// the user's memberships `me` in `conversation_ids`, each conversation's last
/// message (a point lookup on (conversation_id, seq)), member and unread counts.
pub(crate) fn push_list(q: &mut Sql, user_id: UserId, conversation_ids: &[ConversationId]) {
    q.push(
        "SELECT c.id AS c_id, c.type AS c_type, c.name AS c_name, c.is_public AS c_is_public, \
         c.created_by AS c_created_by, c.created_at AS c_created_at, c.last_seq AS c_last_seq, \
         c.last_rev AS c_last_rev, me.muted_until AS me_muted_until, me.mute_mentions AS me_mute_mentions, \
         (SELECT COUNT(*) FROM conversation_members cnt WHERE cnt.conversation_id = c.id) AS member_count, \
         (SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id \
            AND um.seq > me.last_read_seq AND um.sender_id <> me.user_id) AS unread_count, \
         (SELECT COUNT(*) FROM message_mentions mm WHERE mm.conversation_id = c.id \
            AND mm.user_id = me.user_id AND mm.seq > me.last_read_seq) AS mention_count, \
         m.id AS lm_id, m.conversation_id AS lm_conversation_id, m.seq AS lm_seq, m.rev AS lm_rev, \
         m.sender_id AS lm_sender_id, m.content AS lm_content, m.message_type AS lm_message_type, \
         m.file_url AS lm_file_url, m.attachment AS lm_attachment, m.client_id AS lm_client_id, m.created_at AS lm_created_at, \
         m.edited_at AS lm_edited_at, m.deleted_at AS lm_deleted_at, \
         m.reply_to_id AS lm_reply_to_id, m.reply_count AS lm_reply_count, m.mentions AS lm_mentions, m.reactions AS lm_reactions, \
         rp.seq AS lm_reply_seq, rp.sender_id AS lm_reply_sender_id, rpu.username AS lm_reply_username, rpu.display_name AS lm_reply_display_name, \
         SUBSTR(rp.content, 1, 200) AS lm_reply_content, rp.message_type AS lm_reply_message_type, \
         rp.deleted_at AS lm_reply_deleted_at, \
         su.username AS lm_sender_username, su.display_name AS lm_sender_display_name, su.avatar_url AS lm_sender_avatar_url \
         FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
         LEFT JOIN users su ON su.id = m.sender_id \
         LEFT JOIN messages rp ON rp.id = m.reply_to_id LEFT JOIN users rpu ON rpu.id = rp.sender_id WHERE ",
    );
    push_scope(q, user_id, conversation_ids);
    q.push(" ORDER BY c.last_message_at DESC, c.id DESC");
}

/// The conversations `conversation_ids` as `user_id` sees them (those they
/// are a member of), most recent activity first, each with up to
/// `embedded_members` members.
pub(crate) async fn views<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    conversation_ids: &[ConversationId],
    embedded_members: u64,
) -> Result<Vec<Conversation>, DbErr> {
    if conversation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sql(conn);
    push_list(&mut q, user_id, conversation_ids);
    let rows = conn.query_all_raw(q.build()).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut members =
        self::embedded_members(conn, user_id, conversation_ids, embedded_members).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: ConversationId = row.try_get("", "c_id")?;
        let kind: String = row.try_get("", "c_type")?;
        let last_message = match row.try_get::<Option<i64>>("", "lm_id")? {
            Some(_) => Some(message_from_row(row, "lm_")?),
            None => None,
        };
        out.push(Conversation {
            id,
            kind: if kind == "direct" {
                ConversationKind::Direct
            } else {
                ConversationKind::Group
            },
            name: row.try_get("", "c_name")?,
            is_public: row.try_get("", "c_is_public")?,
            created_by: row.try_get("", "c_created_by")?,
            created_at: row.try_get("", "c_created_at")?,
            members: members.remove(&id).unwrap_or_default(),
            member_count: row.try_get("", "member_count")?,
            last_message,
            unread_count: row.try_get("", "unread_count")?,
            mention_count: row.try_get("", "mention_count")?,
            last_seq: row.try_get("", "c_last_seq")?,
            last_rev: row.try_get("", "c_last_rev")?,
            muted_until: row.try_get("", "me_muted_until")?,
            mute_mentions: row.try_get("", "me_mute_mentions")?,
            online_count: None,
        });
    }
    Ok(out)
}

/// Up to `limit` members of each conversation in scope, in one query.
async fn embedded_members<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    conversation_ids: &[ConversationId],
    limit: u64,
) -> Result<HashMap<ConversationId, Vec<User>>, DbErr> {
    let mut q = sql(conn);
    q.push(
        "SELECT conversation_id, id, username, display_name, bio, avatar_url, status, last_seen FROM ( \
           SELECT cm.conversation_id, u.id, u.username, u.display_name, u.bio, u.avatar_url, u.status, u.last_seen, \
             ROW_NUMBER() OVER (PARTITION BY cm.conversation_id ORDER BY cm.joined_at, cm.user_id) AS rn \
           FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
           WHERE cm.conversation_id IN (SELECT me.conversation_id FROM conversation_members me WHERE ",
    );
    push_scope(&mut q, user_id, conversation_ids);
    q.push(")) t WHERE rn <= ")
        .bind(limit as i64)
        .push(" ORDER BY conversation_id, rn");
    let rows = conn.query_all_raw(q.build()).await?;
    let mut map: HashMap<ConversationId, Vec<User>> = HashMap::new();
    for row in &rows {
        let conversation_id: ConversationId = row.try_get("", "conversation_id")?;
        map.entry(conversation_id)
            .or_default()
            .push(user_from_row(row)?);
    }
    Ok(map)
}

/// The public rooms query (also read by the plan tests).
pub(crate) fn push_public_rooms(q: &mut Sql, viewer: UserId, limit: u64, offset: u64) {
    q.push(
        "SELECT c.id, c.name, c.created_by, c.created_at, c.last_seq, c.last_rev, \
         (SELECT COUNT(*) FROM conversation_members x WHERE x.conversation_id = c.id) AS member_count, \
         (SELECT COUNT(*) FROM conversation_members y WHERE y.conversation_id = c.id AND y.user_id = ",
    )
    .bind(viewer)
    // `c.is_public` as written, not compared with a parameter: the partial
    // index `idx_conversations_public` (public rooms only) is used when the
    // query's condition is the index's own, which a generic plan with a
    // bound `true` would not show the planner.
    .push(") AS is_member FROM conversations c WHERE c.is_public")
    .push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
    .bind(limit as i64)
    .push(" OFFSET ")
    .bind(offset as i64);
}

/// Public rooms, most recently active first, with member counts and whether
/// `viewer` is in each.
pub(crate) async fn public_rooms<C: ConnectionTrait>(
    conn: &C,
    viewer: UserId,
    limit: u64,
    offset: u64,
) -> Result<Vec<RoomSummary>, DbErr> {
    let mut q = sql(conn);
    push_public_rooms(&mut q, viewer, limit, offset);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter()
        .map(|row| {
            let is_member: i64 = row.try_get("", "is_member")?;
            Ok(RoomSummary {
                conversation: Conversation {
                    id: row.try_get("", "id")?,
                    kind: ConversationKind::Group,
                    name: row.try_get("", "name")?,
                    is_public: true,
                    created_by: row.try_get("", "created_by")?,
                    created_at: row.try_get("", "created_at")?,
                    members: Vec::new(),
                    member_count: row.try_get("", "member_count")?,
                    last_message: None,
                    unread_count: 0,
                    mention_count: 0,
                    last_seq: row.try_get("", "last_seq")?,
                    last_rev: row.try_get("", "last_rev")?,
                    muted_until: None,
                    mute_mentions: false,
                    online_count: None,
                },
                is_member: is_member > 0,
            })
        })
        .collect()
}
