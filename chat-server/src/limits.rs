//! Abuse limits of the authentication routes beyond the per-IP rate limits:
//! failed-login backoff per account and client, mail cooldowns, refresh
//! grace and the absolute session lifetime; and the per-user budget of
//! profile changes, each of which is announced to many users.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Most (account, client) pairs tracked at once by [`LoginGuard`]; beyond it
/// the quietest pair is forgotten. About 100 bytes each.
pub const LOGIN_GUARD_CAPACITY: usize = 100_000;

/// A pair without attempts for this long starts over with its free attempts.
const LOGIN_GUARD_IDLE_RESET: Duration = Duration::from_secs(3600);

/// Mails sent (or being sent) at once from background tasks; more wait.
const MAIL_SLOTS: usize = 32;

/// Settings and state of the authentication routes' limits, shared by the
/// handlers of one server.
pub struct AuthLimits {
    /// Failed-login backoff.
    pub logins: LoginGuard,
    /// Least time between two mails of one purpose to one address.
    pub mail_cooldown: Duration,
    /// How long a just-rotated refresh token still yields its successor to
    /// the same client.
    pub refresh_grace: Duration,
    /// Absolute lifetime of a login session, whatever the refreshes.
    pub session_max_age: Duration,
    /// Bounds the mails sent at once by background tasks.
    pub mail_slots: Semaphore,
    /// Held from the cooldown check to the token's insert, so that requests
    /// arriving together on this instance send one mail, not one each.
    pub mail_issue: tokio::sync::Mutex<()>,
    /// Profile changes per user.
    pub profile_updates: ProfileBudget,
}

/// Profile changes a user may make at once...
pub const PROFILE_UPDATES_BURST: u32 = 10;
/// ...and then one per this many seconds.
pub const PROFILE_UPDATE_PERIOD_SECS: u64 = 6;

/// Users tracked by [`ProfileBudget`] before quiet ones are forgotten.
const PROFILE_BUDGET_CAPACITY: usize = 10_000;

/// The budget of profile changes per user (kept in memory per instance, like
/// the login backoff): each change is a `user:updated` to everyone who shares
/// a conversation with the user, so a loop of changes must not become a
/// flood.
pub struct ProfileBudget {
    limiter: governor::DefaultKeyedRateLimiter<chat_core::ids::UserId>,
}

impl ProfileBudget {
    /// [`PROFILE_UPDATES_BURST`] changes at once, then one every
    /// [`PROFILE_UPDATE_PERIOD_SECS`].
    pub fn new() -> ProfileBudget {
        let burst =
            std::num::NonZeroU32::new(PROFILE_UPDATES_BURST).unwrap_or(std::num::NonZeroU32::MIN);
        let quota = governor::Quota::with_period(Duration::from_secs(PROFILE_UPDATE_PERIOD_SECS))
            .unwrap_or_else(|| governor::Quota::per_second(std::num::NonZeroU32::MIN))
            .allow_burst(burst);
        ProfileBudget {
            limiter: governor::RateLimiter::keyed(quota),
        }
    }

    /// Takes one change from the user's budget, or says how long to wait.
    pub fn take(&self, user_id: chat_core::ids::UserId) -> Result<(), Duration> {
        use governor::clock::{Clock, DefaultClock};
        if self.limiter.len() > PROFILE_BUDGET_CAPACITY {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&user_id)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

impl Default for ProfileBudget {
    fn default() -> Self {
        ProfileBudget::new()
    }
}

impl AuthLimits {
    /// Limits from the server configuration.
    pub fn from_config(config: &crate::config::Config) -> AuthLimits {
        AuthLimits {
            logins: LoginGuard::new(
                config.login_backoff_after,
                Duration::from_secs(config.login_backoff_max),
                LOGIN_GUARD_CAPACITY,
            ),
            mail_cooldown: Duration::from_secs(config.mail_cooldown),
            refresh_grace: Duration::from_secs(config.refresh_reuse_grace),
            session_max_age: Duration::from_secs(config.session_max_age.max(1)),
            mail_slots: Semaphore::new(MAIL_SLOTS),
            mail_issue: tokio::sync::Mutex::new(()),
            profile_updates: ProfileBudget::new(),
        }
    }
}

/// Exponential backoff of login attempts per (account, client address).
///
/// Keyed by both so that an attacker hammering an account from one address
/// delays only their own attempts: the owner, from another address, still
/// signs in. Kept in memory per instance, bounded by a capacity: with several
/// instances each keeps its own count (an attacker spread over N instances
/// gets N times the attempts; the per-IP limits still apply).
pub struct LoginGuard {
    free: u32,
    max: Duration,
    capacity: usize,
    entries: Mutex<HashMap<(String, IpAddr), Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    /// Attempts since the last success (or since the pair was forgotten).
    count: u32,
    /// No attempt is checked before this instant.
    locked_until: Option<Instant>,
    /// Last attempt.
    last: Instant,
}

impl LoginGuard {
    /// `free` attempts per pair before the backoff starts (0 disables the
    /// guard); each attempt from then on locks the pair for twice as long as
    /// the previous one, from 1 s up to `max`. At most `capacity` pairs.
    pub fn new(free: u32, max: Duration, capacity: usize) -> LoginGuard {
        LoginGuard {
            free,
            max: max.max(Duration::from_secs(1)),
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt before its password is checked (so that parallel
    /// attempts count too). `Err(wait)` while the pair is locked: the attempt
    /// is refused without checking the password.
    pub fn attempt(&self, account: &str, client: IpAddr) -> Result<(), Duration> {
        if self.free == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (account.to_owned(), client);
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            Self::make_room(&mut entries, now, self.capacity);
        }
        let entry = entries.entry(key).or_insert(Attempts {
            count: 0,
            locked_until: None,
            last: now,
        });
        if now.duration_since(entry.last) >= LOGIN_GUARD_IDLE_RESET.max(self.max) {
            entry.count = 0;
            entry.locked_until = None;
        }
        if let Some(until) = entry.locked_until
            && until > now
        {
            return Err(until - now);
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        // Locked already while the password is checked, so that parallel
        // attempts cannot slip through.
        entry.locked_until = self.lock_for(entry.count).map(|lock| now + lock);
        Ok(())
    }

    /// A failed attempt: its wait runs from now, once the answer goes out.
    pub fn failed(&self, account: &str, client: IpAddr) {
        if self.free == 0 {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(&(account.to_owned(), client))
            && let Some(lock) = self.lock_for(entry.count)
        {
            entry.locked_until = Some(now + lock);
        }
    }

    /// The wait after the `count`-th attempt: none before `free`, then 1 s,
    /// doubling up to `max`.
    fn lock_for(&self, count: u32) -> Option<Duration> {
        (count >= self.free).then(|| {
            let doublings = (count - self.free).min(31);
            Duration::from_secs(1u64 << doublings).min(self.max)
        })
    }

    /// A successful login clears the pair.
    pub fn succeeded(&self, account: &str, client: IpAddr) {
        if self.free == 0 {
            return;
        }
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(account.to_owned(), client));
    }

    /// Pairs tracked now.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no pair is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets unlocked pairs idle for a while; if none, the quietest pair
    /// (unlocked ones first, so that flooding the table does not unlock anyone).
    fn make_room(entries: &mut HashMap<(String, IpAddr), Attempts>, now: Instant, capacity: usize) {
        entries.retain(|_, a| {
            let locked = a.locked_until.is_some_and(|until| until > now);
            locked || now.duration_since(a.last) < Duration::from_secs(60)
        });
        if entries.len() >= capacity
            && let Some(quietest) = entries
                .iter()
                .min_by_key(|(_, a)| (a.locked_until.is_some_and(|until| until > now), a.last))
                .map(|(k, _)| k.clone())
        {
            entries.remove(&quietest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn backoff_doubles_per_account_and_client_only() {
        let guard = LoginGuard::new(3, Duration::from_secs(8), 100);
        let a = ip("192.0.2.1");
        for _ in 0..2 {
            assert!(guard.attempt("u1", a).is_ok());
        }
        // The third attempt is checked, then locks for 1 s.
        assert!(guard.attempt("u1", a).is_ok());
        let wait = guard.attempt("u1", a).expect_err("locked");
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        // Another client, or another account, is not affected.
        assert!(guard.attempt("u1", ip("192.0.2.2")).is_ok());
        assert!(guard.attempt("u2", a).is_ok());
        guard.succeeded("u1", a);
        assert!(guard.attempt("u1", a).is_ok(), "a success clears the pair");
    }

    #[test]
    fn the_table_stays_bounded() {
        let guard = LoginGuard::new(3, Duration::from_secs(8), 50);
        for i in 0..500u32 {
            let client = IpAddr::from(i.to_be_bytes());
            let _ = guard.attempt("victim", client);
        }
        assert!(guard.len() <= 50, "{}", guard.len());
    }

    #[test]
    fn zero_free_attempts_disables_the_guard() {
        let guard = LoginGuard::new(0, Duration::from_secs(8), 50);
        for _ in 0..100 {
            assert!(guard.attempt("u", ip("192.0.2.1")).is_ok());
        }
        assert!(guard.is_empty());
    }
}
