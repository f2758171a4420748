//! Conversations: direct and group creation, listing, members, history.
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryResult, TransactionTrait, Value,
};
use serde::Deserialize;

use super::db::{is_unique_violation, now, placeholders, query_ids, stmt};
use crate::ChatHandle;
use crate::entity::{conversation, member};
use crate::error::{ChatError, ChatResult};
use crate::model::{Conversation, ConversationKind, Message, MessageSender, MessageType, User};
use crate::socket::emitter::{Target, conversation_room, user_room};
use crate::socket::events;

/// A group (or public room) to create, e.g. from a REST body; see
/// [`ChatHandle::create_group`].
///
/// ```
/// use chat_core::service::CreateGroup;
/// let room: CreateGroup = serde_json::from_str(r#"{"name": "Rust help", "is_public": true}"#).unwrap();
/// assert!(room.member_ids.is_empty()); // only the creator, to start with
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct CreateGroup {
    /// 1 to 100 characters after trimming.
    pub name: String,
    /// Initial members besides the creator.
    #[serde(default)]
    pub member_ids: Vec<i64>,
    /// Listed in the public rooms and joinable by anyone.
    #[serde(default)]
    pub is_public: bool,
}

/// Which page of history to read; see [`ChatHandle::history`].
///
/// ```
/// use chat_core::service::HistoryQuery;
///
/// let newest = HistoryQuery::default();
/// let older = HistoryQuery { before: Some(1001), limit: Some(20), ..Default::default() };
/// let catch_up = HistoryQuery { after_seq: Some(17), ..Default::default() };
/// # let _ = (newest, older, catch_up);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryQuery {
    /// Messages older than this message id, newest first.
    pub before: Option<i64>,
    /// Messages with `seq` greater than this, oldest first (catch-up).
    pub after_seq: Option<i64>,
    /// Page size (1..=history_max_limit); the configured default when `None`.
    pub limit: Option<u64>,
}

/// One page of history.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::HistoryQuery;
///
/// // After a reconnect: everything after the last seq seen, oldest first.
/// let mut last_seq = 17;
/// loop {
///     let query = HistoryQuery { after_seq: Some(last_seq), ..Default::default() };
///     let page = chat.history(7, 42, query).await?;
///     if let Some(newest) = page.messages.last() {
///         last_seq = newest.seq;
///     }
///     if !page.has_more {
///         break;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, serde::Serialize)]
pub struct MessagePage {
    /// The messages, newest first (or oldest first with `after_seq`).
    pub messages: Vec<Message>,
    /// Whether more messages exist in the paging direction.
    pub has_more: bool,
}

pub(crate) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.content, \
     m.message_type, m.file_url, m.client_id, m.created_at, \
     su.username AS sender_username, su.avatar_url AS sender_avatar_url";

pub(crate) fn message_from_row(row: &QueryResult, prefix: &str) -> ChatResult<Message> {
    let col = |name: &str| format!("{prefix}{name}");
    let message_type: String = row.try_get("", &col("message_type"))?;
    let sender_id: i64 = row.try_get("", &col("sender_id"))?;
    Ok(Message {
        id: row.try_get("", &col("id"))?,
        conversation_id: row.try_get("", &col("conversation_id"))?,
        seq: row.try_get("", &col("seq"))?,
        sender_id,
        sender: MessageSender {
            id: sender_id,
            username: row.try_get("", &col("sender_username"))?,
            avatar_url: row.try_get("", &col("sender_avatar_url"))?,
        },
        content: row.try_get("", &col("content"))?,
        message_type: MessageType::parse(&message_type).unwrap_or(MessageType::Text),
        file_url: row.try_get("", &col("file_url"))?,
        client_id: row.try_get("", &col("client_id"))?,
        created_at: row.try_get("", &col("created_at"))?,
    })
}

pub(crate) fn user_from_row(row: &QueryResult) -> ChatResult<User> {
    Ok(User {
        id: row.try_get("", "id")?,
        username: row.try_get("", "username")?,
        avatar_url: row.try_get("", "avatar_url")?,
        status: row.try_get("", "status")?,
        last_seen: row.try_get("", "last_seen")?,
    })
}

/// Which of the caller's conversations a listing covers.
pub(crate) enum Scope {
    /// These ones (a page of the list), in list order.
    Some(Vec<i64>),
    /// This one.
    One(i64),
}

impl ChatHandle {
    /// Whether `user_id` is a member of `conversation_id` (served from memory
    /// after the first check; the cache follows every change made through the
    /// handle, on every instance).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// use chat_core::ChatError;
    /// if !chat.is_member(42, 7).await? {
    ///     return Err(ChatError::NotAMember);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_member(&self, conversation_id: i64, user_id: i64) -> ChatResult<bool> {
        Ok(self
            .inner
            .membership
            .is_member(self.db(), conversation_id, user_id)
            .await?)
    }

    pub(crate) async fn require_member(
        &self,
        conversation_id: i64,
        user_id: i64,
    ) -> ChatResult<()> {
        if conversation_id <= 0 {
            return Err(ChatError::field(
                "conversation_id",
                "must be a positive integer",
            ));
        }
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        if members.ids.contains(&user_id) {
            Ok(())
        } else {
            Err(outsider_error(members.public))
        }
    }

    /// What a non-member learns about a conversation: `not_a_member` for a
    /// public room (listed anyway), `not_found` for anything else, the same
    /// answer as for an id that does not exist.
    pub(crate) async fn outsider(&self, conversation_id: i64) -> ChatResult<ChatError> {
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        Ok(outsider_error(members.public))
    }

    /// Returns the direct conversation between `caller` and `other`, creating it
    /// when needed. The flag is `true` when it was created (both users' sockets
    /// then get `conversation:new`). There is at most one direct conversation
    /// per pair, even under concurrent calls.
    ///
    /// Fails with `validation_failed` for `other == caller`, `not_found` for an
    /// unknown user.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// let (conversation, created) = chat.get_or_create_direct(7, 3).await?;
    /// let status = if created { 201 } else { 200 };
    /// # let _ = (conversation, status); Ok(()) }
    /// ```
    pub async fn get_or_create_direct(
        &self,
        caller: i64,
        other: i64,
    ) -> ChatResult<(Conversation, bool)> {
        if other == caller {
            return Err(ChatError::field(
                "user_id",
                "a direct conversation needs another user",
            ));
        }
        if other <= 0 {
            return Err(ChatError::field("user_id", "must be a positive integer"));
        }
        self.user_row(other).await?;
        let key = format!("{}:{}", caller.min(other), caller.max(other));
        if let Some(existing) = self.direct_by_key(&key).await? {
            return Ok((self.conversation(caller, existing.id).await?, false));
        }
        let created_at = now();
        let txn = self.db().begin().await?;
        let inserted = conversation::ActiveModel {
            kind: Set(ConversationKind::Direct.as_str().to_owned()),
            name: Set(None),
            is_public: Set(false),
            created_by: Set(Some(caller)),
            created_at: Set(created_at),
            last_seq: Set(0),
            last_message_at: Set(created_at),
            direct_key: Set(Some(key.clone())),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let conv = match inserted {
            Ok(conv) => conv,
            Err(err) if is_unique_violation(&err) => {
                txn.rollback().await?;
                let existing = self
                    .direct_by_key(&key)
                    .await?
                    .ok_or(ChatError::NotFound("conversation"))?;
                return Ok((self.conversation(caller, existing.id).await?, false));
            }
            Err(err) => return Err(err.into()),
        };
        insert_members(&txn, conv.id, &[caller, other]).await?;
        txn.commit().await?;
        self.after_members_added(conv.id, &[caller, other]).await;
        let view = self.conversation(caller, conv.id).await?;
        self.broadcast(
            Target::rooms(vec![user_room(caller), user_room(other)]),
            events::CONVERSATION_NEW,
            &view,
        )
        .await;
        Ok((view, true))
    }

    async fn direct_by_key(&self, key: &str) -> ChatResult<Option<conversation::Model>> {
        Ok(conversation::Entity::find()
            .filter(conversation::Column::DirectKey.eq(key))
            .one(self.db())
            .await?)
    }

    /// Creates a group (or a public room when `is_public`) with the caller and
    /// `member_ids` as members; every member's sockets get `conversation:new`.
    ///
    /// The name is trimmed and must be 1 to 100 characters without control
    /// characters; every member id must exist (`validation_failed` otherwise).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::CreateGroup;
    ///
    /// let room = CreateGroup { name: "Rust help".into(), member_ids: vec![], is_public: true };
    /// let room = chat.create_group(7, room).await?;
    /// assert_eq!(room.member_count, 1);
    /// # Ok(()) }
    /// ```
    pub async fn create_group(&self, caller: i64, group: CreateGroup) -> ChatResult<Conversation> {
        let name = group.name.trim().to_owned();
        let name_len = name.chars().count();
        if name_len == 0 || name_len > 100 {
            return Err(ChatError::field("name", "must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(ChatError::field(
                "name",
                "may not contain control characters",
            ));
        }
        let max_members = self.config().max_group_members_per_request;
        if group.member_ids.len() > max_members {
            return Err(ChatError::field(
                "member_ids",
                format!("at most {max_members} members at creation; add more afterwards"),
            ));
        }
        let mut members: BTreeSet<i64> = group.member_ids.iter().copied().collect();
        if members.iter().any(|&id| id <= 0) {
            return Err(ChatError::field("member_ids", "must be positive integers"));
        }
        members.insert(caller);
        let members: Vec<i64> = members.into_iter().collect();
        let existing = self.existing_user_ids(&members).await?;
        if existing.len() != members.len() {
            return Err(ChatError::field("member_ids", "unknown user id"));
        }
        let created_at = now();
        self.check_group_budget(caller, created_at).await?;
        let txn = self.db().begin().await?;
        let conv = conversation::ActiveModel {
            kind: Set(ConversationKind::Group.as_str().to_owned()),
            name: Set(Some(name)),
            is_public: Set(group.is_public),
            created_by: Set(Some(caller)),
            created_at: Set(created_at),
            last_seq: Set(0),
            last_message_at: Set(created_at),
            direct_key: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        insert_members(&txn, conv.id, &members).await?;
        txn.commit().await?;
        self.after_members_added(conv.id, &members).await;
        let view = self.conversation(caller, conv.id).await?;
        let rooms = members.iter().map(|&id| user_room(id)).collect();
        self.broadcast(Target::rooms(rooms), events::CONVERSATION_NEW, &view)
            .await;
        Ok(view)
    }

    /// `rate_limited` once the caller created `groups_per_hour` groups in the
    /// last hour. Concurrent requests may each pass the count before any of
    /// them commits, so a burst can overshoot by the requests in flight.
    async fn check_group_budget(&self, caller: i64, at: DateTime<Utc>) -> ChatResult<()> {
        let per_hour = self.config().groups_per_hour;
        if per_hour == 0 {
            return Ok(());
        }
        let since = at - chrono::Duration::hours(1);
        let backend = self.db().get_database_backend();
        let row = self
            .db()
            .query_one_raw(stmt(
                backend,
                "SELECT COUNT(*) AS n FROM conversations \
                 WHERE created_by = $1 AND type = 'group' AND created_at > $2",
                vec![caller.into(), since.into()],
            ))
            .await?;
        let created: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        if created >= i64::from(per_hour) {
            return Err(ChatError::RateLimited);
        }
        Ok(())
    }

    async fn existing_user_ids(&self, ids: &[i64]) -> ChatResult<Vec<i64>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id FROM users WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let values: Vec<Value> = chunk.iter().map(|&id| id.into()).collect();
            found.extend(query_ids(self.db(), &sql, values).await?);
        }
        Ok(found)
    }

    /// After a membership change is committed: refresh the cache and subscribe
    /// the new members' live sockets to the conversation.
    pub(crate) async fn after_members_added(&self, conversation_id: i64, user_ids: &[i64]) {
        self.membership_changed(conversation_id).await;
        self.join_users(user_ids, conversation_room(conversation_id))
            .await;
    }

    /// Drops the cached member set here and, when clustered, on every instance.
    pub(crate) async fn membership_changed(&self, conversation_id: i64) {
        self.inner.membership.invalidate(conversation_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_membership_change(conversation_id).await;
        }
    }

    /// One conversation as `caller` sees it; `not_found` when it does not exist
    /// or is private and the caller is not in it, `not_a_member` for a public
    /// room the caller has not joined.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// let conversation = chat.conversation(7, 42).await?;
    /// println!("{} members, {} unread", conversation.member_count, conversation.unread_count);
    /// # Ok(()) }
    /// ```
    pub async fn conversation(
        &self,
        caller: i64,
        conversation_id: i64,
    ) -> ChatResult<Conversation> {
        let mut list = self
            .load_conversations(caller, Scope::One(conversation_id))
            .await?;
        match list.pop() {
            Some(conv) => Ok(conv),
            None => Err(self.outsider(conversation_id).await?),
        }
    }

    pub(crate) async fn load_conversations(
        &self,
        caller: i64,
        scope: Scope,
    ) -> ChatResult<Vec<Conversation>> {
        let backend = self.db().get_database_backend();
        let (filter, values): (String, Vec<Value>) = match scope {
            Scope::Some(ids) if ids.is_empty() => return Ok(Vec::new()),
            Scope::Some(ids) => {
                let filter = format!(
                    "me.user_id = $1 AND me.conversation_id IN ({})",
                    placeholders(2, ids.len())
                );
                let mut values: Vec<Value> = vec![caller.into()];
                values.extend(ids.into_iter().map(Value::from));
                (filter, values)
            }
            Scope::One(id) => (
                "me.user_id = $1 AND me.conversation_id = $2".to_owned(),
                vec![caller.into(), id.into()],
            ),
        };
        let filter = filter.as_str();
        let sql = list_sql(filter);
        let rows = self
            .db()
            .query_all_raw(stmt(backend, &sql, values.clone()))
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut members = self.embedded_members(filter, values).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "c_id")?;
            let kind: String = row.try_get("", "c_type")?;
            let last_message_id: Option<i64> = row.try_get("", "lm_id")?;
            let last_message = match last_message_id {
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
                last_seq: row.try_get("", "c_last_seq")?,
            });
        }
        Ok(out)
    }

    /// Up to `embedded_members` members of each conversation selected by `filter`, in one query.
    async fn embedded_members(
        &self,
        filter: &str,
        mut values: Vec<Value>,
    ) -> ChatResult<HashMap<i64, Vec<User>>> {
        let backend = self.db().get_database_backend();
        let limit_param = values.len() + 1;
        values.push((self.config().embedded_members as i64).into());
        let sql = format!(
            "SELECT conversation_id, id, username, avatar_url, status, last_seen FROM ( \
               SELECT cm.conversation_id, u.id, u.username, u.avatar_url, u.status, u.last_seen, \
                 ROW_NUMBER() OVER (PARTITION BY cm.conversation_id ORDER BY cm.joined_at, cm.user_id) AS rn \
               FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
               WHERE cm.conversation_id IN (SELECT me.conversation_id FROM conversation_members me WHERE {filter}) \
             ) t WHERE rn <= ${limit_param} ORDER BY conversation_id, rn"
        );
        let rows = self.db().query_all_raw(stmt(backend, &sql, values)).await?;
        let mut map: HashMap<i64, Vec<User>> = HashMap::new();
        for row in &rows {
            let conv: i64 = row.try_get("", "conversation_id")?;
            map.entry(conv).or_default().push(user_from_row(row)?);
        }
        Ok(map)
    }

    /// Members of a conversation in id order, `limit` after user id `after`
    /// (keyset paging; the host bounds `limit`). Members only (`not_found`, or
    /// `not_a_member` for a public room).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// let mut after = None;
    /// loop {
    ///     let page = chat.list_members(7, 42, after, 100).await?;
    ///     let Some(last) = page.last() else { break };
    ///     after = Some(last.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_members(
        &self,
        caller: i64,
        conversation_id: i64,
        after: Option<i64>,
        limit: u64,
    ) -> ChatResult<Vec<User>> {
        self.require_member(conversation_id, caller).await?;
        let backend = self.db().get_database_backend();
        let rows = self
            .db()
            .query_all_raw(stmt(
                backend,
                "SELECT u.id, u.username, u.avatar_url, u.status, u.last_seen \
                 FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
                 WHERE cm.conversation_id = $1 AND cm.user_id > $2 ORDER BY cm.user_id LIMIT $3",
                vec![
                    conversation_id.into(),
                    after.unwrap_or(0).into(),
                    (limit as i64).into(),
                ],
            ))
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// A page of a conversation's history, for members only.
    ///
    /// `before` pages backwards (newest first); `after_seq` catches up (oldest
    /// first); both at once is a validation error, as is a `limit` outside
    /// 1..=[`history_max_limit`](crate::ChatConfig::history_max_limit).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::HistoryQuery;
    ///
    /// let newest = chat.history(7, 42, HistoryQuery::default()).await?;
    /// if let (true, Some(oldest)) = (newest.has_more, newest.messages.last()) {
    ///     let query = HistoryQuery { before: Some(oldest.id), ..Default::default() };
    ///     let older = chat.history(7, 42, query).await?;
    /// #   let _ = older;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn history(
        &self,
        caller: i64,
        conversation_id: i64,
        query: HistoryQuery,
    ) -> ChatResult<MessagePage> {
        let limit = query.limit.unwrap_or(self.config().history_default_limit);
        if limit == 0 || limit > self.config().history_max_limit {
            return Err(ChatError::field(
                "limit",
                format!("must be between 1 and {}", self.config().history_max_limit),
            ));
        }
        if query.before.is_some() && query.after_seq.is_some() {
            return Err(ChatError::field(
                "before",
                "cannot be combined with after_seq",
            ));
        }
        if matches!(query.after_seq, Some(s) if s < 0) {
            return Err(ChatError::field("after_seq", "must be 0 or more"));
        }
        self.require_member(conversation_id, caller).await?;
        let backend = self.db().get_database_backend();
        let fetch = (limit + 1) as i64;
        let (condition, order, mut values): (&str, &str, Vec<Value>) =
            match (query.before, query.after_seq) {
                (Some(before), _) => {
                    let seq = query_ids(
                        self.db(),
                        "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2",
                        vec![before.into(), conversation_id.into()],
                    )
                    .await?;
                    let Some(seq) = seq.first().copied() else {
                        return Err(ChatError::field(
                            "before",
                            "no such message in this conversation",
                        ));
                    };
                    (
                        "AND m.seq < $2",
                        "DESC",
                        vec![conversation_id.into(), seq.into()],
                    )
                }
                (None, Some(after)) => (
                    "AND m.seq > $2",
                    "ASC",
                    vec![conversation_id.into(), after.into()],
                ),
                (None, None) => ("", "DESC", vec![conversation_id.into()]),
            };
        let limit_param = values.len() + 1;
        values.push(fetch.into());
        let sql = history_sql(condition, order, limit_param);
        let rows = self.db().query_all_raw(stmt(backend, &sql, values)).await?;
        let has_more = rows.len() as u64 > limit;
        let messages = rows
            .iter()
            .take(limit as usize)
            .map(|row| message_from_row(row, ""))
            .collect::<ChatResult<Vec<_>>>()?;
        Ok(MessagePage { messages, has_more })
    }
}

/// The conversation list in one query: the caller's memberships (`me`, narrowed
/// by `filter`), each conversation's last message (a point lookup on
/// (conversation_id, seq)), member and unread counts.
pub(crate) fn list_sql(filter: &str) -> String {
    format!(
        "SELECT c.id AS c_id, c.type AS c_type, c.name AS c_name, c.is_public AS c_is_public, \
         c.created_by AS c_created_by, c.created_at AS c_created_at, c.last_seq AS c_last_seq, \
         (SELECT COUNT(*) FROM conversation_members cnt WHERE cnt.conversation_id = c.id) AS member_count, \
         (SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id \
            AND um.seq > me.last_read_seq AND um.sender_id <> me.user_id) AS unread_count, \
         m.id AS lm_id, m.conversation_id AS lm_conversation_id, m.seq AS lm_seq, \
         m.sender_id AS lm_sender_id, m.content AS lm_content, m.message_type AS lm_message_type, \
         m.file_url AS lm_file_url, m.client_id AS lm_client_id, m.created_at AS lm_created_at, \
         su.username AS lm_sender_username, su.avatar_url AS lm_sender_avatar_url \
         FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
         LEFT JOIN users su ON su.id = m.sender_id \
         WHERE {filter} \
         ORDER BY c.last_message_at DESC, c.id DESC"
    )
}

/// One page of history; `condition` narrows by `seq`.
pub(crate) fn history_sql(condition: &str, order: &str, limit_param: usize) -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users su ON su.id = m.sender_id \
         WHERE m.conversation_id = $1 {condition} ORDER BY m.seq {order} LIMIT ${limit_param}"
    )
}

fn outsider_error(public: bool) -> ChatError {
    if public {
        ChatError::NotAMember
    } else {
        ChatError::NotFound("conversation")
    }
}

pub(crate) async fn insert_members<C: ConnectionTrait>(
    conn: &C,
    conversation_id: i64,
    user_ids: &[i64],
) -> ChatResult<()> {
    let joined_at = now();
    for chunk in user_ids.chunks(500) {
        let rows = chunk.iter().map(|&user_id| member::ActiveModel {
            conversation_id: Set(conversation_id),
            user_id: Set(user_id),
            joined_at: Set(joined_at),
            last_read_message_id: Set(None),
            last_read_seq: Set(0),
            last_delivered_message_id: Set(None),
            last_delivered_seq: Set(0),
        });
        member::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database, DbBackend};

    use super::{history_sql, list_sql, stmt};
    use crate::testing::TestDb;

    /// Fills a database with enough rows that the planner prefers indexes, then
    /// returns the plans of the hot queries (history paging, catch-up and the
    /// conversation list).
    async fn plans() -> (DbBackend, Vec<(&'static str, String)>) {
        let test_db = TestDb::new().await;
        let db = Database::connect(&test_db.url).await.expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        let backend = db.get_database_backend();
        let ts = "'2026-01-01T00:00:00Z'";
        let mut script = Vec::new();
        for u in 1..=50 {
            script.push(format!(
                "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
                 VALUES ('u{u}', 'u{u}', 'u{u}@x.io', '', 'offline', {ts})"
            ));
        }
        for c in 1..=200 {
            script.push(format!(
                "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_message_at) \
                 VALUES ('group', 'g{c}', false, 1, {ts}, 50, {ts})"
            ));
            for u in [1 + c % 50, 1 + (c + 1) % 50, 1 + (c + 7) % 50] {
                script.push(format!(
                    "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq) \
                     VALUES ({c}, {u}, {ts}, 0, 0)"
                ));
            }
            let rows: Vec<String> = (1..=50)
                .map(|s| format!("({c}, {s}, {}, 'hello', 'text', {ts})", 1 + c % 50))
                .collect();
            script.push(format!(
                "INSERT INTO messages (conversation_id, seq, sender_id, content, message_type, created_at) VALUES {}",
                rows.join(", ")
            ));
        }
        for sql in script {
            db.execute_unprepared(&sql).await.expect("seed");
        }
        db.execute_unprepared("ANALYZE").await.expect("analyze");
        let explain = if backend == DbBackend::Postgres {
            "EXPLAIN"
        } else {
            "EXPLAIN QUERY PLAN"
        };
        let queries: Vec<(&'static str, String, Vec<sea_orm::Value>)> = vec![
            (
                "history newest",
                history_sql("", "DESC", 2),
                vec![7i64.into(), 51i64.into()],
            ),
            (
                "history before",
                history_sql("AND m.seq < $2", "DESC", 3),
                vec![7i64.into(), 30i64.into(), 51i64.into()],
            ),
            (
                "catch-up after_seq",
                history_sql("AND m.seq > $2", "ASC", 3),
                vec![7i64.into(), 10i64.into(), 101i64.into()],
            ),
            (
                "conversation list",
                list_sql("me.user_id = $1"),
                vec![3i64.into()],
            ),
        ];
        let mut out = Vec::new();
        for (name, sql, values) in queries {
            let rows = db
                .query_all_raw(stmt(backend, &format!("{explain} {sql}"), values))
                .await
                .expect("explain");
            let plan: Vec<String> = rows
                .iter()
                .map(|r| {
                    r.try_get_by_index::<String>(0)
                        .or_else(|_| r.try_get_by_index::<String>(3))
                        .unwrap_or_default()
                })
                .collect();
            out.push((name, plan.join("\n")));
        }
        drop(db);
        drop(test_db);
        (backend, out)
    }

    #[tokio::test]
    async fn hot_queries_use_indexes() {
        let (backend, plans) = plans().await;
        for (name, plan) in plans {
            println!("-- {name} ({backend:?})\n{plan}\n");
            if backend == DbBackend::Postgres {
                assert!(
                    plan.contains("Index"),
                    "{name} should use an index:\n{plan}"
                );
                assert!(
                    !plan.contains("Seq Scan on messages"),
                    "{name} scans messages:\n{plan}"
                );
                assert!(
                    !plan.contains("Seq Scan on conversation_members"),
                    "{name} scans members:\n{plan}"
                );
            } else {
                assert!(
                    plan.contains("INDEX"),
                    "{name} should use an index:\n{plan}"
                );
                assert!(
                    !plan.contains("SCAN m\n") && !plan.ends_with("SCAN m"),
                    "{name}:\n{plan}"
                );
            }
        }
    }
}
