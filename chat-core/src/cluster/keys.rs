//! Every Redis key and channel chat-core uses, built here and nowhere else.
//!
//! All of them sit under the configured prefix `p`, written `{p}` (a hash
//! tag) so a Redis Cluster keeps them in one slot and the presence script may
//! span them:
//! - `{p}:presence:count:<user>`: the user's sockets over all instances;
//! - `{p}:presence:inst:<instance>`: hash user -> sockets on that instance;
//! - `{p}:presence:alive:<instance>`: heartbeat, expires when the instance dies;
//! - `{p}:presence:instances`: set of the instances that ever counted sockets;
//! - `{p}:presence:batch:<instance>`: sequence number and answer of the
//!   instance's last presence write;
//! - `{p}:presence:reap:<instance>`: lock of the survivor taking over a dead
//!   instance's counts (and, while it lasts, the mark that it was reaped);
//! - `{p}:membership` (pub/sub): conversation ids whose membership changed;
//! - `{p}:presence:changes` (pub/sub): ids of users whose presence over all
//!   instances changed, comma-separated (for the online counts);
//! - `{p}:sessions` (pub/sub): ended login sessions (`s:<session>`) and users
//!   whose sessions all ended (`u:<user>`);
//! - `{p}:call:<id>`: a call in progress (hash: `v` version, `r` record),
//!   with an expiry;
//! - `{p}:call:user:<user>`: the call the user is in;
//! - `{p}:call:deadlines`: sorted set of calls' deadlines by time
//!   (`<id>:ring`, `<id>:<user>`);
//! - `{p}:blocks` (pub/sub): blocks that were added or removed
//!   (`<blocker>:<blocked>`).
//!
//! The socket.io adapter's own channels live under `p:sio` (no hash tag: the
//! adapter shards them itself), see [`Keys::adapter_prefix`].

use crate::ids::UserId;

/// Names of the keys and channels under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// `{p}:<rest>`.
    fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{{{}}}:{rest}", self.prefix)
    }

    /// The user's sockets over all instances.
    pub(crate) fn count(&self, user_id: UserId) -> String {
        self.key(format_args!("presence:count:{user_id}"))
    }

    /// Hash user -> sockets on `instance`.
    pub(crate) fn instance_counts(&self, instance: &str) -> String {
        self.key(format_args!("presence:inst:{instance}"))
    }

    /// Heartbeat of `instance`.
    pub(crate) fn alive(&self, instance: &str) -> String {
        self.key(format_args!("presence:alive:{instance}"))
    }

    /// Set of the instances that ever counted sockets.
    pub(crate) fn instances(&self) -> String {
        self.key(format_args!("presence:instances"))
    }

    /// Sequence number and answer of `instance`'s last presence write.
    pub(crate) fn batch(&self, instance: &str) -> String {
        self.key(format_args!("presence:batch:{instance}"))
    }

    /// Reap lock of `instance`.
    pub(crate) fn reap(&self, instance: &str) -> String {
        self.key(format_args!("presence:reap:{instance}"))
    }

    /// Channel of membership changes.
    pub(crate) fn membership_channel(&self) -> String {
        self.key(format_args!("membership"))
    }

    /// Channel of users whose presence over all instances changed.
    pub(crate) fn presence_channel(&self) -> String {
        self.key(format_args!("presence:changes"))
    }

    /// Channel of ended sessions.
    pub(crate) fn sessions_channel(&self) -> String {
        self.key(format_args!("sessions"))
    }

    /// Channel of changed blocks.
    pub(crate) fn blocks_channel(&self) -> String {
        self.key(format_args!("blocks"))
    }

    /// A call in progress.
    pub(crate) fn call(&self, id: &crate::model::CallId) -> String {
        self.key(format_args!("call:{id}"))
    }

    /// The call a user is in.
    pub(crate) fn user_call(&self, user_id: UserId) -> String {
        self.key(format_args!("call:user:{user_id}"))
    }

    /// Deadlines of the calls in progress.
    pub(crate) fn call_deadlines(&self) -> String {
        self.key(format_args!("call:deadlines"))
    }

    /// Prefix of the socket.io adapter's channels.
    pub(crate) fn adapter_prefix(&self) -> String {
        format!("{}:sio", self.prefix)
    }

    /// Pattern matching every key above (for tests cleaning up).
    #[cfg(test)]
    pub(crate) fn everything(&self) -> String {
        self.key(format_args!("*"))
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_share_the_hash_tag_of_the_prefix() {
        let keys = Keys::new("chat");
        assert_eq!(
            keys.count(crate::ids::literal::u(7)),
            "{chat}:presence:count:7"
        );
        assert_eq!(keys.instance_counts("ab"), "{chat}:presence:inst:ab");
        assert_eq!(keys.alive("ab"), "{chat}:presence:alive:ab");
        assert_eq!(keys.instances(), "{chat}:presence:instances");
        assert_eq!(keys.batch("ab"), "{chat}:presence:batch:ab");
        assert_eq!(keys.reap("ab"), "{chat}:presence:reap:ab");
        assert_eq!(keys.membership_channel(), "{chat}:membership");
        assert_eq!(keys.sessions_channel(), "{chat}:sessions");
        assert_eq!(keys.presence_channel(), "{chat}:presence:changes");
        assert_eq!(keys.blocks_channel(), "{chat}:blocks");
        assert_eq!(
            keys.user_call(crate::ids::literal::u(7)),
            "{chat}:call:user:7"
        );
        assert_eq!(keys.call_deadlines(), "{chat}:call:deadlines");
        assert_eq!(keys.adapter_prefix(), "chat:sio");
    }
}
