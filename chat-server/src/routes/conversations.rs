//! `/api/conversations/...` and `/api/rooms`: conversations, their members
//! and their messages, one file per concern: `listing` (the caller's
//! conversations, one conversation, the public rooms), `creation` (opening a
//! direct conversation, creating a group), `members` (listing, adding,
//! joining, leaving), `messages` (history and sending), `settings` (the
//! caller's own settings of a conversation).
mod creation;
mod listing;
mod members;
mod messages;
mod settings;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// `/api/conversations/...` and `/api/rooms`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(listing::router())
        .merge(creation::router())
        .merge(members::router())
        .merge(messages::router())
        .merge(settings::router())
}
