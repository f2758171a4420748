//! The secret that signs access tokens: JWT_SECRET, or in development a
//! generated one kept in the data directory.
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::config::{AppEnv, Config};

/// Shortest accepted JWT secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Why the server cannot start with the configured secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Production requires an explicit, long secret.
    #[error(
        "JWT_SECRET must be set to at least {MIN_SECRET_LEN} bytes when APP_ENV=production \
         (generate one with: openssl rand -hex 32)"
    )]
    MissingInProduction,
    /// A configured secret that is too short.
    #[error("JWT_SECRET is too short: at least {MIN_SECRET_LEN} bytes are required")]
    TooShort,
    /// The generated secret could not be read or written.
    #[error("cannot read or write the generated JWT secret at {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Returns the secret to sign tokens with. In development without JWT_SECRET, a
/// random one is generated once and kept in the data directory (with a warning).
pub fn load_secret(config: &Config) -> Result<Vec<u8>, SecretError> {
    match config.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
        Some(secret) if secret.len() >= MIN_SECRET_LEN => Ok(secret.as_bytes().to_vec()),
        Some(_) if config.app_env == AppEnv::Production => Err(SecretError::TooShort),
        Some(_) => Err(SecretError::TooShort),
        None if config.app_env == AppEnv::Production => Err(SecretError::MissingInProduction),
        None => generated_secret(&config.data_dir.join("jwt_secret")),
    }
}

fn generated_secret(path: &Path) -> Result<Vec<u8>, SecretError> {
    let kept = crate::kept::kept_or_generated(
        path,
        |text| (text.len() >= MIN_SECRET_LEN).then(|| text.as_bytes().to_vec()),
        || {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = URL_SAFE_NO_PAD.encode(bytes);
            (secret.clone(), secret.into_bytes())
        },
    );
    let (secret, generated) = kept.map_err(|source| SecretError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if generated {
        tracing::warn!(path = %path.display(), "JWT_SECRET is not set: generated a secret and stored it in the data directory (set JWT_SECRET in production)");
    } else {
        tracing::warn!(path = %path.display(), "JWT_SECRET is not set: using the generated secret kept in the data directory (set JWT_SECRET in production)");
    }
    Ok(secret)
}
