//! [`AppState`], the state every HTTP handler receives: the chat engine,
//! token keys, uploads, mailer and the authentication limits.
use chat_core::ChatHandle;

use crate::auth::Tokens;
use crate::uploads::Uploads;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The chat engine.
    pub chat: ChatHandle,
    /// Token signing and verification.
    pub tokens: Tokens,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl: u64,
    /// Whether cookies get the `Secure` attribute.
    pub secure_cookies: bool,
    /// Image storage, the decoding bound and the upload limits.
    pub uploads: Uploads,
    /// Outgoing mail (verification, password reset).
    pub mailer: std::sync::Arc<dyn crate::mail::Mailer>,
    /// Public base URL of the app, for links in mails.
    pub public_url: String,
    /// Login backoff, mail cooldown, refresh grace and session lifetime.
    pub limits: std::sync::Arc<crate::limits::AuthLimits>,
    /// STUN/TURN servers for calls.
    pub ice: std::sync::Arc<crate::calls::IceConfig>,
}
