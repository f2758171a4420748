//! The VAPID key pair (RFC 8292): an ECDSA P-256 key whose public half
//! browsers bind subscriptions to, and whose private half signs the token
//! on every push.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use web_push_native::jwt_simple::algorithms::{ECDSAP256KeyPairLike, ES256KeyPair};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::jwt_simple::prelude::Duration as JwtDuration;

/// A key that is not a base64url P-256 private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the VAPID private key must be 32 bytes of a P-256 key, base64url-encoded")]
pub struct VapidError;

/// A VAPID key pair.
///
/// ```
/// use chat_core::push::VapidKeys;
///
/// let keys = VapidKeys::generate();
/// let again = VapidKeys::from_private_base64(&keys.private_base64())?;
/// assert_eq!(again.public_base64(), keys.public_base64());
/// // What `PushManager.subscribe({applicationServerKey})` takes: 65 bytes, uncompressed.
/// assert_eq!(keys.public_base64().len(), 87);
/// assert!(VapidKeys::from_private_base64("not a key").is_err());
/// # Ok::<(), chat_core::push::VapidError>(())
/// ```
#[derive(Clone)]
pub struct VapidKeys {
    pair: std::sync::Arc<ES256KeyPair>,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private half never reaches a log.
        f.debug_struct("VapidKeys")
            .field("public", &self.public_base64())
            .finish()
    }
}

impl VapidKeys {
    /// A new random key pair.
    pub fn generate() -> Self {
        VapidKeys {
            pair: std::sync::Arc::new(ES256KeyPair::generate()),
        }
    }

    /// The key pair of a private key as [`private_base64`](Self::private_base64) writes it.
    pub fn from_private_base64(text: &str) -> Result<Self, VapidError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| VapidError)?;
        if bytes.len() != 32 {
            return Err(VapidError);
        }
        let pair = ES256KeyPair::from_bytes(&bytes).map_err(|_| VapidError)?;
        Ok(VapidKeys {
            pair: std::sync::Arc::new(pair),
        })
    }

    /// The private key: 32 bytes, base64url without padding.
    pub fn private_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.to_bytes())
    }

    /// The public key as browsers take it: the 65-byte uncompressed point,
    /// base64url without padding.
    pub fn public_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_bytes())
    }

    fn public_bytes(&self) -> Vec<u8> {
        self.pair.key_pair().public_key().to_bytes_uncompressed()
    }

    /// The `Authorization` header value for a push to a service at
    /// `audience` (the endpoint's origin, port included when not the
    /// scheme's default), valid for `valid_for` (at most 24 hours).
    pub(crate) fn authorization(
        &self,
        audience: &str,
        subject: &str,
        valid_for: std::time::Duration,
    ) -> Result<String, VapidError> {
        let claims = Claims::create(JwtDuration::from_secs(valid_for.as_secs()))
            .with_audience(audience)
            .with_subject(subject);
        let token = self.pair.sign(claims).map_err(|_| VapidError)?;
        Ok(format!("vapid t={token}, k={}", self.public_base64()))
    }
}
