//! Who may see a user's presence (`status`, `last_seen`, `user:online` and
//! `user:offline`): the users who share a direct conversation or a small group
//! with them, minus the users they blocked (see [`blocks`](super::blocks)).
//!
//! Member lists and conversations show the presence of every member except
//! those who blocked the reader; a broadcast that shows presence gives the
//! users blocked by someone it shows their own copy, with that presence
//! hidden. The query of who shares which conversations is in
//! [`store::presence`](crate::store::presence).
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::ChatHandle;
use crate::error::ChatResult;
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::User;

impl ChatHandle {
    /// Which of `subjects` show their presence to `viewer`: the viewer
    /// themselves, and those who share a direct conversation or a group of at
    /// most `presence_fanout_limit` members with the viewer and have not
    /// blocked them. One query for the whole set (the blocks come from memory).
    pub(crate) async fn presence_visible_to(
        &self,
        viewer: UserId,
        subjects: &[UserId],
    ) -> ChatResult<HashSet<UserId>> {
        let mut visible = HashSet::new();
        let others: Vec<UserId> = subjects.iter().copied().filter(|&s| s != viewer).collect();
        if subjects.contains(&viewer) {
            visible.insert(viewer);
        }
        if others.is_empty() {
            return Ok(visible);
        }
        let sharing = crate::store::presence::sharing_small_conversations(
            self.db(),
            viewer,
            &others,
            self.config().presence_fanout_limit as i64,
        )
        .await?;
        let blockers = self.blocks_of(viewer).await?;
        visible.extend(
            sharing
                .into_iter()
                .filter(|subject| !blockers.blocked_by.contains(subject)),
        );
        Ok(visible)
    }

    /// Hides `status` (shown as `offline`) and `last_seen` of the users whose
    /// presence `viewer` may not see.
    pub(crate) async fn hide_presence(&self, viewer: UserId, users: &mut [User]) -> ChatResult<()> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let visible = self.presence_visible_to(viewer, &ids).await?;
        for user in users.iter_mut() {
            if !visible.contains(&user.id) {
                hide(user);
            }
        }
        Ok(())
    }

    /// Hides the presence of the users who blocked `viewer`, among users who
    /// share a conversation with them (members of one of theirs).
    pub(crate) async fn hide_blockers(&self, viewer: UserId, users: &mut [User]) -> ChatResult<()> {
        let blocks = self.blocks_of(viewer).await?;
        hide_among(users, &blocks.blocked_by);
        Ok(())
    }

    /// Broadcasts `payload`, which shows the presence of the users `shown`,
    /// to `target`, whose sockets belong to the users `audience`. Those of
    /// the audience whom one of `shown` blocked get `hidden(blockers)`
    /// instead: the payload with the presence of those users hidden (one
    /// more broadcast each; the blocks come from memory).
    pub(crate) async fn broadcast_showing_presence<T: Serialize>(
        &self,
        mut target: Target,
        audience: &HashSet<UserId>,
        shown: &[UserId],
        event: &'static str,
        payload: &T,
        hidden: impl Fn(&HashSet<UserId>) -> T,
    ) -> ChatResult<()> {
        let mut hide_from: HashMap<UserId, HashSet<UserId>> = HashMap::new();
        for &subject in shown {
            for &blocked in &self.blocks_of(subject).await?.blocked {
                if audience.contains(&blocked) {
                    hide_from.entry(blocked).or_default().insert(subject);
                }
            }
        }
        target
            .except_rooms
            .extend(hide_from.keys().map(|&viewer| user_room(viewer)));
        self.broadcast(target, event, payload).await;
        for (viewer, blockers) in hide_from {
            self.broadcast(Target::room(user_room(viewer)), event, &hidden(&blockers))
                .await;
        }
        Ok(())
    }
}

/// Hides the presence of the `users` in `hidden`.
pub(crate) fn hide_among(users: &mut [User], hidden: &HashSet<UserId>) {
    if hidden.is_empty() {
        return;
    }
    for user in users.iter_mut().filter(|u| hidden.contains(&u.id)) {
        hide(user);
    }
}

/// Shows `user` as someone whose presence is not known.
fn hide(user: &mut User) {
    user.status = "offline".to_owned();
    user.last_seen = None;
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use migration::{Migrator, MigratorTrait};
    use sea_orm::Database;
    use serde_json::value::RawValue;

    use crate::fanout::emitter::BoxFuture;
    use crate::fanout::{Emitter, Target, user_room};
    use crate::ids::UserId;
    use crate::service::NewUser;
    use crate::socket::auth::Identity;
    use crate::testing::TestDb;
    use crate::{ChatConfig, ChatHandle};

    /// Keeps the targets of presence events.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(&'static str, Target)>>);

    impl Emitter for Recorder {
        fn emit<'a>(
            &'a self,
            target: Target,
            event: &'static str,
            _: &'a RawValue,
        ) -> BoxFuture<'a, ()> {
            if let Ok(mut seen) = self.0.lock() {
                seen.push((event, target));
            }
            Box::pin(async {})
        }
        fn join(&self, _: Vec<String>, _: Vec<String>) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn leave(&self, _: Vec<String>, _: Vec<String>) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn join_socket(&self, _: socketioxide::socket::Sid, _: String) {}
        fn socket_in_room(&self, _: &str, _: &str) -> bool {
            false
        }
        fn close(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn disconnect(&self, _: Target) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn expire(&self, _: socketioxide::socket::Sid, _: crate::socket::expiry::SocketDeadline) {}
    }

    async fn user(chat: &ChatHandle, name: &str) -> UserId {
        chat.create_user(NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: String::new(),
        })
        .await
        .expect("user")
        .typed_id()
    }

    #[tokio::test]
    async fn presence_skips_the_users_someone_blocked() {
        let test_db = TestDb::new().await;
        let db = Database::connect(&test_db.url).await.expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        let chat = ChatHandle::new(db, ChatConfig::default(), None, None, None);
        let recorder = Arc::new(Recorder::default());
        let emitter: Arc<dyn Emitter> = recorder.clone();
        let _ = chat.inner.emitter.set(emitter);
        let (bob, carol, dave) = (
            user(&chat, "bob").await,
            user(&chat, "carol").await,
            user(&chat, "dave").await,
        );
        chat.get_or_create_direct(bob, carol).await.expect("direct");
        chat.get_or_create_direct(bob, dave).await.expect("direct");
        // Cached before the block: the block must reach the cache.
        assert!(
            chat.presence_visible_to(carol, &[bob])
                .await
                .expect("visible")
                .contains(&bob)
        );
        chat.block_user(bob, carol).await.expect("block");

        // Profiles and search: Dave sees Bob's presence, Carol (blocked) does not.
        let seen_by_dave = chat
            .presence_visible_to(dave, &[bob])
            .await
            .expect("visible");
        assert!(seen_by_dave.contains(&bob));
        let seen_by_carol = chat
            .presence_visible_to(carol, &[bob])
            .await
            .expect("visible");
        assert!(!seen_by_carol.contains(&bob), "Bob blocked Carol");
        let as_carol_sees = chat.user_seen_by(carol, bob).await.expect("profile");
        assert_eq!(as_carol_sees.status, "offline");
        assert_eq!(as_carol_sees.last_seen, None);
        // One way only: Bob still sees Carol's.
        assert!(
            chat.presence_visible_to(bob, &[carol])
                .await
                .expect("visible")
                .contains(&carol)
        );
        // Carol and Dave share nothing.
        assert!(
            chat.presence_visible_to(carol, &[dave])
                .await
                .expect("visible")
                .is_empty()
        );

        // Events: Bob coming online is not sent to Carol's sockets.
        let identity = Identity {
            user_id: bob,
            username: "bob".into(),
            session_id: None,
            expires_at: None,
        };
        chat.socket_opened(&identity).await.expect("online");
        // Presence is stored and announced by the batching writer, a moment later.
        let mut announced = None;
        for _ in 0..100 {
            announced = recorder
                .0
                .lock()
                .expect("lock")
                .iter()
                .find(|(event, _)| *event == crate::protocol::USER_ONLINE)
                .cloned();
            if announced.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (_, target) = announced.expect("user:online announced");
        assert!(
            target.except_rooms.contains(&user_room(carol)),
            "{target:?}"
        );
        assert!(
            !target.except_rooms.contains(&user_room(dave)),
            "{target:?}"
        );
    }
}
