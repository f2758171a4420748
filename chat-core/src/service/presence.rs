//! Presence: a user is online while at least one of their sockets is connected.
use dashmap::DashMap;

/// Sockets per user on this instance.
#[derive(Default)]
pub(crate) struct LocalPresence {
    sockets: DashMap<i64, usize>,
}

impl LocalPresence {
    /// Counts a new socket; returns whether it is the user's first.
    pub(crate) fn connect(&self, user_id: i64) -> bool {
        let mut count = self.sockets.entry(user_id).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts a closed socket; returns whether it was the user's last.
    pub(crate) fn disconnect(&self, user_id: i64) -> bool {
        let last = match self.sockets.get_mut(&user_id) {
            Some(mut count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if last {
            self.sockets.remove_if(&user_id, |_, c| *c == 0);
        }
        last
    }

    /// The user's sockets on this instance.
    pub(crate) fn sockets(&self, user_id: i64) -> usize {
        self.sockets.get(&user_id).map_or(0, |c| *c)
    }

    /// Whether the user has a socket on this instance.
    pub(crate) fn is_online(&self, user_id: i64) -> bool {
        self.sockets.get(&user_id).is_some_and(|c| *c > 0)
    }

    /// Sockets per user, for users with at least one.
    pub(crate) fn counts(&self) -> Vec<(i64, usize)> {
        self.sockets
            .iter()
            .filter(|e| *e.value() > 0)
            .map(|e| (*e.key(), *e.value()))
            .collect()
    }

    /// Users with at least one socket.
    pub(crate) fn online_users(&self) -> Vec<i64> {
        self.sockets
            .iter()
            .filter(|e| *e.value() > 0)
            .map(|e| *e.key())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::LocalPresence;

    #[test]
    fn several_tabs_count_as_one_user() {
        let p = LocalPresence::default();
        assert!(p.connect(1), "first tab: online");
        assert!(!p.connect(1), "second tab: no new online");
        assert!(!p.disconnect(1), "closing one of two tabs: still online");
        assert!(p.is_online(1));
        assert!(p.disconnect(1), "last tab: offline");
        assert!(!p.is_online(1));
        assert!(!p.disconnect(1), "an unknown disconnect is ignored");
    }
}
