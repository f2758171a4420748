//! Cache invalidation between instances: membership, session and block
//! changes are published on their channels, and every instance's listener
//! applies what any instance published to its own membership, session and
//! block caches. Presence changes are published the same way, for every
//! instance's online counts.
use std::sync::Arc;

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::Message;
use fred::types::config::Server;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::connection::subscriber;
use super::{Cluster, ClusterError};
use crate::ids::{ConversationId, UserId};
use crate::service::block_cache::BlockCache;
use crate::service::membership::MembershipCache;
use crate::service::online::OnlineCounts;
use crate::service::session_cache::SessionCache;
use crate::tasks::Tasks;

impl Cluster {
    /// Tells every instance that a conversation's membership changed.
    pub(crate) async fn publish_membership_change(&self, conversation_id: ConversationId) {
        let sent: Result<i64, _> = self
            .client
            .publish(self.keys.membership_channel(), conversation_id.to_string())
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, %conversation_id, "membership invalidation not published");
        }
    }

    /// Tells every instance that these users' presence over all instances
    /// changed (a message per thousand users).
    pub(crate) async fn publish_presence_changes(&self, users: &[UserId]) {
        for chunk in users.chunks(1000) {
            let message = chunk
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let sent: Result<i64, _> = self
                .client
                .publish(self.keys.presence_channel(), message)
                .await;
            if let Err(err) = sent {
                // Other instances' counts of these users' groups stay stale
                // until the users change again or a resync.
                tracing::warn!(%err, users = chunk.len(), "presence change not published");
            }
        }
    }

    /// Tells every instance that a session (or all of a user's) ended; see
    /// [`sessions`](crate::service::sessions).
    pub(crate) async fn publish_session_change(&self, message: String) {
        let sent: Result<i64, _> = self
            .client
            .publish(self.keys.sessions_channel(), message)
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, "session invalidation not published");
        }
    }

    /// Tells every instance that a block changed; see
    /// [`block_cache::change_message`](crate::service::block_cache::change_message).
    pub(crate) async fn publish_block_change(&self, message: String) {
        let sent: Result<i64, _> = self
            .client
            .publish(self.keys.blocks_channel(), message)
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, "block invalidation not published");
        }
    }
}

/// The caches the listener clears: all it holds of the engine.
#[derive(Clone)]
pub(crate) struct InvalidatedCaches {
    pub(crate) membership: Arc<MembershipCache>,
    pub(crate) sessions: Arc<SessionCache>,
    pub(crate) blocks: Arc<BlockCache>,
    pub(crate) online: Arc<OnlineCounts>,
}

impl InvalidatedCaches {
    fn clear(&self) {
        self.membership.clear();
        self.sessions.clear();
        self.blocks.clear();
        self.online.request_resync();
    }
}

/// Subscribes to membership, session and block changes published by any
/// instance and applies them to `caches` until the engine stops.
///
/// Changes published while the subscriber was disconnected are lost, so the
/// caches are cleared after every reconnect, once the channels are subscribed
/// again (an entry loaded before that could already be stale).
pub(crate) async fn spawn_invalidation_listener(
    cluster: &Cluster,
    url: &str,
    caches: InvalidatedCaches,
    tasks: &Tasks,
) -> Result<(), ClusterError> {
    let membership = cluster.keys.membership_channel();
    let sessions = cluster.keys.sessions_channel();
    let blocks = cluster.keys.blocks_channel();
    let presence = cluster.keys.presence_channel();
    let subscriber = subscriber(url)?;
    // Taken before subscribing, so nothing published meanwhile is missed.
    let messages = subscriber.message_rx();
    let reconnects = subscriber.reconnect_rx();
    subscriber.init().await?;
    subscriber.subscribe(membership.clone()).await?;
    subscriber.subscribe(sessions.clone()).await?;
    subscriber.subscribe(blocks.clone()).await?;
    subscriber.subscribe(presence.clone()).await?;
    let channels = Channels {
        membership,
        sessions,
        blocks,
        presence,
    };
    tasks.spawn(listen(subscriber, messages, reconnects, channels, caches));
    Ok(())
}

/// The channels the listener follows.
struct Channels {
    membership: String,
    sessions: String,
    blocks: String,
    presence: String,
}

async fn listen(
    subscriber: SubscriberClient,
    mut messages: Receiver<Message>,
    mut reconnects: Receiver<Server>,
    Channels {
        membership,
        sessions,
        blocks,
        presence,
    }: Channels,
    caches: InvalidatedCaches,
) {
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Ok(message) if *message.channel == *membership => {
                    if let Some(id) = message.value.as_string().and_then(|v| v.parse().ok()) {
                        caches.membership.invalidate(id);
                    }
                }
                Ok(message) if *message.channel == *sessions => {
                    if let Some(change) = message.value.as_string() {
                        caches.sessions.apply(&change);
                    }
                }
                Ok(message) if *message.channel == *blocks => {
                    match message.value.as_string() {
                        Some(change) => caches.blocks.apply(&change),
                        None => caches.blocks.clear(),
                    }
                }
                Ok(message) if *message.channel == *presence => {
                    match message.value.as_string() {
                        Some(users) => caches
                            .online
                            .mark_changed_users(users.split(',').filter_map(|u| u.parse::<UserId>().ok())),
                        None => caches.online.request_resync(),
                    }
                }
                Ok(_) => {}
                // Some invalidations were missed: forget everything.
                Err(RecvError::Lagged(_)) => caches.clear(),
                Err(RecvError::Closed) => break,
            },
            reconnected = reconnects.recv() => {
                if matches!(reconnected, Err(RecvError::Closed)) {
                    break;
                }
                for name in [&membership, &sessions, &blocks, &presence] {
                    if let Err(err) = subscriber.subscribe(name.clone()).await {
                        tracing::warn!(%err, channel = %name, "channel not renewed after reconnect");
                    }
                }
                caches.clear();
                tracing::info!("membership, session and block caches cleared, online counts resynced after a redis reconnect");
            }
        }
    }
}
