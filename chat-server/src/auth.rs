//! Credentials: argon2id password hashes, JWT access tokens, refresh tokens.
use std::path::Path;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator, Identity};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    let io_err = |source| SecretError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.trim().len() >= MIN_SECRET_LEN => {
            tracing::warn!(path = %path.display(), "JWT_SECRET is not set: using the generated secret kept in the data directory (set JWT_SECRET in production)");
            return Ok(existing.trim().as_bytes().to_vec());
        }
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_err(err)),
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    std::fs::write(path, &secret).map_err(io_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    }
    tracing::warn!(path = %path.display(), "JWT_SECRET is not set: generated a secret and stored it in the data directory (set JWT_SECRET in production)");
    Ok(secret.into_bytes())
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id, as a string (JWT's `sub` is a string).
    pub sub: String,
    /// Username at issue time.
    pub username: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Login session (the refresh-token family): revoking it ends its sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs and verifies access tokens; hashes passwords.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: u64,
}

impl Tokens {
    /// Keys from a secret; tokens live `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        // HS256 only: tokens with `alg: none` or any other algorithm are refused.
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: ttl_secs,
        }
    }

    /// Issues an access token for a user's login session.
    pub fn issue(
        &self,
        user_id: i64,
        username: &str,
        session_id: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: user_id.to_string(),
            username: username.to_owned(),
            iat: now,
            exp: now + self.ttl,
            sid: Some(session_id.to_owned()),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
    }

    /// Verifies a token (signature, algorithm, expiry) and returns its user.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let user_id = claims.sub.parse().map_err(|_| AuthError::Invalid)?;
        Ok(Identity {
            user_id,
            username: claims.username,
            session_id: claims.sid,
        })
    }

    /// Access token lifetime in seconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }
}

/// The socket handshake accepts the same access tokens as the HTTP API.
impl Authenticator for Tokens {
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let token = req.token.ok_or(AuthError::Missing)?;
            self.verify(token)
        })
    }
}

/// Longest accepted password, in bytes: bounds the hashing work an attacker can ask for.
pub const MAX_PASSWORD_LEN: usize = 128;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The password rule, or `None` when the password is acceptable.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    (chars < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN)
        .then(|| format!("must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"))
}

/// Hashes on the blocking pool, so argon2's work never stalls the event loop.
pub async fn hash_password_off_thread(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// Hashes a password into a PHC string. CPU-heavy: call from a blocking task.
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string. CPU-heavy: call from a blocking task.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A new random refresh token and the hash to store.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// SHA-256 of a refresh token, hex: tokens are stored only as hashes.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
