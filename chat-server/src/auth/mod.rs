//! Credentials: the signing secret ([`secret`]), access and refresh tokens
//! ([`tokens`]) and password hashing ([`passwords`]). Everything is
//! re-exported here.

pub mod passwords;
pub mod secret;
pub mod tokens;

pub use self::passwords::{
    MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, hash_password, hash_password_off_thread, hashing_in_flight,
    password_problem, verify_password, verify_password_off_thread,
};
pub use self::secret::{MIN_SECRET_LEN, SecretError, load_secret};
pub use self::tokens::{Claims, Tokens, client_fingerprint, hash_refresh_token, new_refresh_token};
