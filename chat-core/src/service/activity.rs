//! What users do besides messages, as the other members see it: typing
//! indicators ([`typing_relay`]), presence announcements
//! ([`presence_announcements`]) and the tasks writing presence
//! ([`presence_writers`]).
mod presence_announcements;
mod presence_writers;
mod typing_relay;

pub use presence_announcements::Presence;
pub use typing_relay::Typing;
