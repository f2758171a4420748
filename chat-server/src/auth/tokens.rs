//! Access tokens (HS256 JWTs naming the user and the login session) and
//! refresh tokens (random, stored only as SHA-256 hashes; successors derived
//! by HMAC so a retried rotation can be answered again).
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::ids::UserId;
use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator, Identity};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
        user_id: UserId,
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
