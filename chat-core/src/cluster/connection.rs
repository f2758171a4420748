//! Redis connections: client builders that survive Redis restarts, and the
//! task renewing a subscriber's subscriptions after every reconnect.
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::interfaces::{EventInterface, PubsubInterface};
use fred::types::config::Config as FredConfig;
use fred::types::{Builder, RespVersion};

use super::ClusterError;
use crate::tasks::Tasks;

pub(crate) fn fred_config(url: &str) -> Result<FredConfig, ClusterError> {
    let mut config = FredConfig::from_url(url).map_err(|e| {
        // fred's message may quote the URL: keep the password out of it.
        let message = e.to_string();
        let message = match url_password(url) {
            Some(password) if !password.is_empty() => message.replace(password, "***"),
            _ => message,
        };
        ClusterError::InvalidUrl(message)
    })?;
    // socketioxide-redis needs RESP3.
    config.version = RespVersion::RESP3;
    Ok(config)
}

/// The password part of `scheme://[user]:password@host`, if any.
fn url_password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let userinfo = &rest[..rest.rfind('@')?];
    userinfo.split_once(':').map(|(_, password)| password)
}

/// A client builder that survives Redis restarts: reconnect forever with
/// backoff, and never wait on a command longer than a few seconds (so a
/// readiness probe answers 503 instead of hanging while Redis is away).
pub(super) fn builder(url: &str) -> Result<Builder, ClusterError> {
    let mut builder = Builder::from_config(fred_config(url)?);
    builder
        .set_policy(fred::types::config::ReconnectPolicy::new_exponential(
            0, 100, 2_000, 2,
        ))
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(3);
        })
        .with_performance_config(|p| {
            p.default_command_timeout = Duration::from_secs(3);
        });
    Ok(builder)
}

/// Builds a subscriber client (for the socket.io adapter or our own
/// channels). Call [`keep_subscribed`] once it has subscribed, so its
/// subscriptions are renewed after every reconnect.
pub(crate) fn subscriber(url: &str) -> Result<SubscriberClient, ClusterError> {
    let mut builder = builder(url)?;
    // Every broadcast from another instance passes through this channel; at
    // fred's default of 32 a burst overflows it and the message is lost for
    // every member on this instance.
    builder.with_performance_config(|p| p.broadcast_channel_capacity = SUBSCRIBER_CAPACITY);
    Ok(builder.build_subscriber_client()?)
}

/// Messages from Redis that may wait for the adapter's dispatcher.
pub(crate) const SUBSCRIBER_CAPACITY: usize = 8192;

/// Renews every subscription the client tracks after each reconnect (a Redis
/// restart forgets them all).
///
/// fred's own `manage_subscriptions` stops at the first failing step, and
/// subscribing to an empty list of plain channels fails: a client holding
/// only sharded channels (the socket.io adapter's) was never renewed. Each
/// channel is renewed on its own here, so one failure does not stop the rest,
/// and sharded channels go to the node owning their slot.
pub(crate) fn keep_subscribed(client: &SubscriberClient, tasks: &Tasks) {
    let client = client.clone();
    tasks.spawn(async move {
        let mut reconnects = client.reconnect_rx();
        while reconnects.recv().await.is_ok() {
            for channel in client.tracked_channels() {
                if let Err(err) = client.subscribe(channel.to_string()).await {
                    tracing::warn!(%err, %channel, "channel not renewed after reconnect");
                }
            }
            for channel in client.tracked_shard_channels() {
                if let Err(err) = client.ssubscribe(channel.to_string()).await {
                    tracing::warn!(%err, %channel, "sharded channel not renewed after reconnect");
                }
            }
            tracing::info!("redis subscriptions renewed after reconnect");
        }
    });
}
