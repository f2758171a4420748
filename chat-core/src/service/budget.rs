//! Per-user budgets of events: a burst at once, then a steady rate (the
//! socket event budget, the call signal budget).
use crate::ids::UserId;

/// A budget per user.
pub(crate) type EventLimiter = governor::DefaultKeyedRateLimiter<UserId>;

/// A budget per user: `burst` at once, then `per_second`.
pub(crate) fn limiter(per_second: u32, burst: u32) -> EventLimiter {
    let per_second =
        std::num::NonZeroU32::new(per_second.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_second(per_second).allow_burst(burst))
}
