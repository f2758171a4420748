//! Web Push notifications for members who are not connected: standard Web
//! Push (RFC 8030), payloads encrypted for the device (RFC 8291, `aes128gcm`)
//! and the server identified by VAPID (RFC 8292), so any browser's push
//! service (and anything else that speaks Web Push) delivers them.
//!
//! How a notification travels:
//!
//! 1. When a message is stored, the members with no live socket on any
//!    instance (the online set presence keeps, from memory) are handed to
//!    the writer with it. In the same transaction as the message, the
//!    outbox gains (or grows) one row per subscribed device of theirs and
//!    conversation, unless they muted it. A crash after the commit loses
//!    nothing: the row is there when an instance starts again.
//! 2. Senders on every instance claim due rows (a claim lapses after
//!    [`CLAIM`], so rows of an instance that died are taken over; PostgreSQL
//!    skips rows another instance is claiming), encrypt the payload, sign
//!    the VAPID token and post it, with `TTL`, `Urgency` and a `Topic` per
//!    conversation (the push service keeps only the latest per topic).
//! 3. Accepted: the row goes. 429, 5xx or a network error: retried with
//!    exponential backoff. 404/410: the subscription is gone and is deleted.
//!
//! A row waits [`PushConfig::collapse`] before its first send, so a burst
//! of messages is one notification with its count. Delivery is at least
//! once: an instance killed after the push service accepted a notification
//! but before deleting its row sends it again once the claim lapses (the
//! `Topic` makes the push service replace, not add).
//!
//! Hosts configure it with [`ChatCoreBuilder::push`](crate::ChatCoreBuilder::push),
//! start the senders with [`ChatHandle::start_push`](crate::ChatHandle::start_push),
//! and expose [`ChatHandle::subscribe_push`](crate::ChatHandle::subscribe_push)
//! and [`ChatHandle::unsubscribe_push`](crate::ChatHandle::unsubscribe_push).
mod delivery;
mod endpoint;
mod payload;
mod vapid;
pub(crate) mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub use endpoint::{EndpointPolicy, NewSubscription, SubscriptionKeys};
pub use payload::PushPayload;
pub use vapid::{VapidError, VapidKeys};

/// How long a sender holds the rows it claimed before another may take them.
pub const CLAIM: Duration = Duration::from_secs(60);

/// Web Push settings.
///
/// ```
/// use std::time::Duration;
/// use chat_core::push::{EndpointPolicy, PushConfig, VapidKeys};
///
/// let config = PushConfig {
///     preview: true,
///     collapse: Duration::from_millis(500),
///     ..PushConfig::new(VapidKeys::generate(), "mailto:ops@example.com")
/// };
/// assert_eq!(config.endpoints, EndpointPolicy::PublicHttps);
/// ```
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The key pair identifying this server to push services (keep it: a
    /// new one invalidates every subscription made with the old).
    pub vapid: VapidKeys,
    /// Contact for push service operators: a `mailto:` or `https:` URI.
    pub subject: String,
    /// Put the message text in the payload (default `false`: "New message").
    /// Push services see only ciphertext either way; the device shows it.
    pub preview: bool,
    /// How long a new notification waits for more messages of the same
    /// conversation before it is sent (default 2 s).
    pub collapse: Duration,
    /// How long a push service keeps a notification for an offline device
    /// (the `TTL` header; default 24 hours).
    pub ttl: Duration,
    /// Which endpoints subscriptions may name.
    pub endpoints: EndpointPolicy,
    /// Most sends in flight per instance (default 32).
    pub concurrency: usize,
    /// Attempts before a notification is given up (default 8, over about
    /// four minutes of backoff).
    pub max_attempts: i32,
    /// Subscriptions one user may hold (default 20 devices).
    pub max_subscriptions_per_user: i64,
}

impl PushConfig {
    /// Defaults around the key pair and contact.
    pub fn new(vapid: VapidKeys, subject: impl Into<String>) -> Self {
        PushConfig {
            vapid,
            subject: subject.into(),
            preview: false,
            collapse: Duration::from_secs(2),
            ttl: Duration::from_secs(24 * 3600),
            endpoints: EndpointPolicy::PublicHttps,
            concurrency: 32,
            max_attempts: 8,
            max_subscriptions_per_user: 20,
        }
    }
}

/// What a push call answers when the host did not configure push (404
/// `push_disabled`).
///
/// ```
/// assert_eq!(chat_core::push::disabled().code(), "push_disabled");
/// assert_eq!(chat_core::push::disabled().status(), 404);
/// ```
pub fn disabled() -> crate::ChatError {
    crate::ChatError::Disabled {
        code: "push_disabled",
        message: "push notifications are not configured on this server",
    }
}

/// The push state of one engine.
pub(crate) struct Push {
    pub(crate) config: PushConfig,
    pub(crate) started: AtomicBool,
    pub(crate) http: reqwest::Client,
}

impl Push {
    pub(crate) fn new(config: PushConfig) -> Arc<Self> {
        let http = delivery::client(config.endpoints);
        Arc::new(Push {
            config,
            started: AtomicBool::new(false),
            http,
        })
    }
}
