//! Who may see a user's presence (`status`, `last_seen`, `user:online` and
//! `user:offline`): the users who share a direct conversation or a small group
//! with them, minus the users they blocked.
//!
//! Blocking itself belongs to the host (or a later part of the engine): it
//! plugs in through [`Blocklist`], which every presence decision consults.
//! The query of who shares which conversations is in
//! [`store::presence`](crate::store::presence).
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use crate::ChatHandle;
use crate::error::ChatResult;
use crate::ids::UserId;

/// What [`Blocklist::blocked_by`] returns.
pub type BlockFuture<'a> = Pin<Box<dyn Future<Output = ChatResult<Vec<UserId>>> + Send + 'a>>;

/// The users someone has blocked. They never see that someone's presence:
/// no `user:online` / `user:offline`, and `status` / `last_seen` hidden in
/// profiles and search results. Set with
/// [`ChatCoreBuilder::blocklist`](crate::ChatCoreBuilder::blocklist); without
/// one, nobody has blocked anybody.
///
/// ```
/// use chat_core::ids::UserId;
/// use chat_core::service::{BlockFuture, Blocklist};
///
/// /// User 7 asked never to be seen by user 13.
/// struct Shy;
/// impl Blocklist for Shy {
///     fn blocked_by(&self, user_id: UserId) -> BlockFuture<'_> {
///         let blocked = match user_id.get() {
///             7 => vec![UserId::try_from(13).expect("positive")],
///             _ => Vec::new(),
///         };
///         Box::pin(async move { Ok(blocked) })
///     }
/// }
///
/// # let db = sea_orm::DatabaseConnection::default();
/// let (_layer, _chat) = chat_core::ChatCore::builder(db).blocklist(Shy).build();
/// ```
pub trait Blocklist: Send + Sync + 'static {
    /// The ids of the users `user_id` has blocked. Called once per presence
    /// announcement of `user_id` and once per user shown with presence in a
    /// profile or search answer: keep it cheap (e.g. cached).
    fn blocked_by(&self, user_id: UserId) -> BlockFuture<'_>;
}

/// Nobody blocks anybody: the default.
pub(crate) struct NoBlocks;

impl Blocklist for NoBlocks {
    fn blocked_by(&self, _user_id: UserId) -> BlockFuture<'_> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl ChatHandle {
    /// Users `user_id` has blocked, from the configured [`Blocklist`].
    pub(crate) async fn blocked_by(&self, user_id: UserId) -> ChatResult<Vec<UserId>> {
        match self.inner.blocklist.get() {
            Some(blocklist) => blocklist.blocked_by(user_id).await,
            None => NoBlocks.blocked_by(user_id).await,
        }
    }

    /// Which of `subjects` show their presence to `viewer`: the viewer
    /// themselves, and those who share a direct conversation or a group of at
    /// most `presence_fanout_limit` members with the viewer and have not
    /// blocked them. One query for the whole set.
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
        for subject in sharing {
            if !self.blocked_by(subject).await?.contains(&viewer) {
                visible.insert(subject);
            }
        }
        Ok(visible)
    }

    /// Hides `status` (shown as `offline`) and `last_seen` of the users whose
    /// presence `viewer` may not see.
    pub(crate) async fn hide_presence(
        &self,
        viewer: UserId,
        users: &mut [crate::model::User],
    ) -> ChatResult<()> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let visible = self.presence_visible_to(viewer, &ids).await?;
        for user in users.iter_mut() {
            if !visible.contains(&user.id) {
                user.status = "offline".to_owned();
                user.last_seen = None;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use migration::{Migrator, MigratorTrait};
    use sea_orm::Database;
    use serde_json::value::RawValue;

    use super::{BlockFuture, Blocklist};
    use crate::fanout::emitter::BoxFuture;
    use crate::fanout::{Emitter, Target, user_room};
    use crate::ids::UserId;
    use crate::service::NewUser;
    use crate::socket::auth::Identity;
    use crate::testing::TestDb;
    use crate::{ChatConfig, ChatHandle};

    /// Bob has blocked Carol; every question is recorded.
    struct BobBlocksCarol {
        bob: UserId,
        carol: UserId,
        asked: Arc<Mutex<Vec<UserId>>>,
    }

    impl Blocklist for BobBlocksCarol {
        fn blocked_by(&self, user_id: UserId) -> BlockFuture<'_> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(user_id);
            }
            let blocked = if user_id == self.bob {
                vec![self.carol]
            } else {
                Vec::new()
            };
            Box::pin(async move { Ok(blocked) })
        }
    }

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
        fn close(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn disconnect(&self, _: Vec<String>) -> BoxFuture<'_, ()> {
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
    async fn presence_skips_the_users_a_blocklist_names() {
        let test_db = TestDb::new().await;
        let db = Database::connect(&test_db.url).await.expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        let chat = ChatHandle::new(db, ChatConfig::default(), None, None);
        let recorder = Arc::new(Recorder::default());
        let emitter: Arc<dyn Emitter> = recorder.clone();
        let _ = chat.inner.emitter.set(emitter);
        let (bob, carol, dave) = (
            user(&chat, "bob").await,
            user(&chat, "carol").await,
            user(&chat, "dave").await,
        );
        let asked = Arc::new(Mutex::new(Vec::new()));
        let blocklist: Arc<dyn Blocklist> = Arc::new(BobBlocksCarol {
            bob,
            carol,
            asked: asked.clone(),
        });
        let _ = chat.inner.blocklist.set(blocklist);
        chat.get_or_create_direct(bob, carol).await.expect("direct");
        chat.get_or_create_direct(bob, dave).await.expect("direct");

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
        // Bob has blocked nobody else: Carol still sees Dave's... nothing, they share nothing.
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
        assert!(
            asked.lock().expect("lock").contains(&bob),
            "the blocklist was asked about Bob"
        );
    }
}
