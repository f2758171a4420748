//! Credentials: argon2id password hashes, JWT access tokens, refresh tokens.
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, mpsc};

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
use tokio::sync::{Semaphore, oneshot};

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

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs and verifies access tokens; hashes passwords.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: u64,
    /// Keyed with a subkey of the secret: derives refresh-token successors.
    successor: HmacSha256,
}

impl Tokens {
    /// Keys from a secret; tokens live `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        // HS256 only: tokens with `alg: none` or any other algorithm are refused.
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // A subkey of its own, so successors never share a MAC input space with JWTs.
        let subkey = hmac_sha256(secret, b"chat refresh-token successor key");
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: ttl_secs,
            successor: keyed(&subkey),
        }
    }

    /// The refresh token that rotating `token` produces: HMAC-SHA256 of the
    /// token under a subkey of the secret, base64url. Deterministic, so a
    /// client retrying a refresh whose answer it lost can be handed the same
    /// successor again although only hashes are stored; unpredictable without
    /// both the presented token and the server secret.
    pub fn successor_of(&self, token: &str) -> String {
        use hmac::Mac;
        let mut mac = self.successor.clone();
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
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
            expires_at: Some(claims.exp),
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

/// A computation for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Password hashing, shared by every server in the process: one slot and one
/// dedicated thread per CPU. Each argon2 computation takes 19 MiB and a core, so
/// a burst of registrations or logins waits for a slot (and leaves the queue
/// without cost if the client goes away) instead of filling tokio's blocking
/// pool (up to 512 threads). The threads are dedicated because the allocator
/// keeps the freed 19 MiB in the arena of the thread that used it: the blocking
/// pool's threads come and go over up to 8 arenas per core, these stay on one each.
struct Hashing {
    slots: Arc<Semaphore>,
    /// `None` when no thread could be started: then the blocking pool is used.
    jobs: Option<mpsc::Sender<Job>>,
}

static HASHING: LazyLock<Hashing> = LazyLock::new(Hashing::start);

impl Hashing {
    fn start() -> Hashing {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for i in 0..cpus {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is released before the job runs.
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            // A panic drops the answer channel: the request
                            // fails, the thread stays.
                            Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(job))),
                            Err(_) => return,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(err) => tracing::warn!(%err, "password hashing thread not started"),
            }
        }
        Hashing {
            slots: Arc::new(Semaphore::new(cpus)),
            jobs: (started > 0).then_some(jobs),
        }
    }
}

/// Argon2 computations running now, and the most that ever ran at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static IN_FLIGHT_MAX: AtomicUsize = AtomicUsize::new(0);

/// Argon2 computations running now and the most that ran at once (for `/metrics`).
pub fn hashing_in_flight() -> (usize, usize) {
    (
        IN_FLIGHT.load(Ordering::Relaxed),
        IN_FLIGHT_MAX.load(Ordering::Relaxed),
    )
}

/// Counts one running computation while alive.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        let now = IN_FLIGHT.fetch_add(1, Ordering::Relaxed) + 1;
        IN_FLIGHT_MAX.fetch_max(now, Ordering::Relaxed);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs an argon2 computation on a hashing thread once a slot is free.
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let waiting = std::time::Instant::now();
    let permit = HASHING
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| "password hashing semaphore closed".to_owned())?;
    metrics::histogram!("chat_password_hash_wait_seconds").record(waiting.elapsed().as_secs_f64());
    // The permit moves into the job: if the client goes away the computation
    // still runs to its end, and must keep counting against the bound until then.
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _permit = permit;
        let _in_flight = InFlight::start();
        let _ = answer.send(work());
    });
    match &HASHING.jobs {
        Some(jobs) => {
            if let Err(mpsc::SendError(job)) = jobs.send(job) {
                tokio::task::spawn_blocking(job);
            }
        }
        None => {
            tokio::task::spawn_blocking(job);
        }
    }
    answered
        .await
        .map_err(|_| "password hashing failed".to_owned())
}

/// Hashes on a hashing thread, at most one per CPU at once, so argon2's work
/// never stalls the event loop nor takes memory without bound.
pub async fn hash_password_off_thread(password: String) -> Result<String, String> {
    with_hashing_slot(move || hash_password(&password)).await?
}

/// Checks a password like [`verify_password`], on a hashing thread and at most
/// one per CPU at once. Without a stored hash (unknown login) it verifies against
/// a dummy hash, so timing does not reveal which logins exist, and returns false.
pub async fn verify_password_off_thread(
    password: String,
    phc: Option<String>,
) -> Result<bool, String> {
    with_hashing_slot(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            // Computed (once) inside the slot like any other hash.
            let _ = verify_password(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// A real argon2id hash, verified against for unknown logins.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not-a-real-password").unwrap_or_default());

/// Hashes a password into a PHC string. CPU-heavy: call from a blocking task
/// (through [`hash_password_off_thread`] in request handlers).
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string. CPU-heavy: call from a blocking task
/// (through [`verify_password_off_thread`] in request handlers).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    use hmac::Mac;
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = keyed(key);
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Identifies "the same client" for the refresh grace period: SHA-256 (hex)
/// of the client's rate-limit key and its User-Agent.
pub fn client_fingerprint(client: std::net::IpAddr, user_agent: &str) -> String {
    hash_refresh_token(&format!("{client}\n{user_agent}"))
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
