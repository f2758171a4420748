//! What users do besides messages, as the other members see it: typing
//! indicators ([`typing_relay`]), presence announcements
//! ([`presence_announcements`]), the tasks writing presence
//! ([`presence_writers`]) and the online counts of groups
//! ([`online_counts`]).
mod online_counts;
mod presence_announcements;
mod presence_writers;
mod typing_relay;

pub use online_counts::OnlineCount;
pub use presence_announcements::Presence;
pub use typing_relay::Typing;
