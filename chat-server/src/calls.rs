//! ICE servers for calls: the STUN and TURN URLs browsers are given, and
//! short-lived TURN credentials by the TURN REST scheme (what coturn's
//! `use-auth-secret` checks): the username is `<unix expiry>:<user id>`, the
//! password base64(HMAC-SHA1(secret, username)).
use base64::Engine;
use chat_core::ids::UserId;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;

use crate::config::Config;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN only: `<unix expiry>:<user id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only: base64(HMAC-SHA1(TURN_SECRET, username)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The ICE servers of this deployment.
#[derive(Clone, Default)]
pub struct IceConfig {
    stun: Vec<String>,
    turn: Vec<String>,
    secret: Option<String>,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for IceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceConfig")
            .field("stun", &self.stun)
            .field("turn", &self.turn)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// A URL list that is not STUN/TURN.
#[derive(Debug, thiserror::Error)]
#[error("{name} must be comma-separated {schemes} URLs, not {url:?}")]
pub struct BadIceUrl {
    name: &'static str,
    /// The schemes accepted, e.g. `stun:/stuns:`.
    schemes: String,
    url: String,
}

fn urls(
    list: Option<&str>,
    name: &'static str,
    schemes: &'static [&'static str],
) -> Result<Vec<String>, BadIceUrl> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            let scheme_ok = schemes.iter().any(|s| {
                url.strip_prefix(s)
                    .is_some_and(|rest| rest.len() > 1 && rest.starts_with(':'))
            });
            if scheme_ok && url.len() <= 512 && !url.chars().any(char::is_whitespace) {
                Ok(url.to_owned())
            } else {
                Err(BadIceUrl {
                    name,
                    schemes: schemes
                        .iter()
                        .map(|s| format!("{s}:"))
                        .collect::<Vec<_>>()
                        .join("/"),
                    url: url.to_owned(),
                })
            }
        })
        .collect()
}

impl IceConfig {
    /// From STUN_URLS, TURN_URLS, TURN_SECRET and TURN_CREDENTIAL_TTL.
    pub fn from_config(config: &Config) -> Result<Self, BadIceUrl> {
        Ok(IceConfig {
            stun: urls(config.stun_urls.as_deref(), "STUN_URLS", &["stun", "stuns"])?,
            turn: urls(config.turn_urls.as_deref(), "TURN_URLS", &["turn", "turns"])?,
            secret: config.turn_secret.clone().filter(|s| !s.is_empty()),
            ttl: chrono::Duration::seconds(
                i64::try_from(config.turn_credential_ttl)
                    .unwrap_or(i64::MAX / 1000)
                    .max(60),
            ),
        })
    }

    /// What `user_id` is given at `now`: the STUN servers, and the TURN
    /// servers with credentials valid until the returned time (without a
    /// secret TURN is left out: it would refuse every allocation).
    pub fn servers_for(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> (Vec<IceServer>, Option<DateTime<Utc>>) {
        let mut servers = Vec::new();
        if !self.stun.is_empty() {
            servers.push(IceServer {
                urls: self.stun.clone(),
                username: None,
                credential: None,
            });
        }
        let mut expires_at = None;
        if let (false, Some(secret)) = (self.turn.is_empty(), &self.secret) {
            // Whole seconds: the username carries the expiry coturn enforces.
            let expiry = DateTime::from_timestamp((now + self.ttl).timestamp(), 0).unwrap_or(now);
            let username = format!("{}:{user_id}", expiry.timestamp());
            servers.push(IceServer {
                urls: self.turn.clone(),
                credential: Some(turn_password(secret, &username)),
                username: Some(username),
            });
            expires_at = Some(expiry);
        }
        (servers, expires_at)
    }
}

/// base64(HMAC-SHA1(secret, username)), coturn's `use-auth-secret` password.
pub fn turn_password(secret: &str, username: &str) -> String {
    // HMAC takes keys of any length.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_turn_password_is_the_rest_scheme_hmac() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(
            turn_password("Jefe", "what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD
                .encode(hex_bytes("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        );
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn turn_servers_get_credentials_expiring_after_the_ttl_and_stun_none() {
        let ice = IceConfig::from_config(&Config::from_args(&[
            "--stun-urls",
            "stun:turn.example.com:3478",
            "--turn-urls",
            "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:443?transport=tcp",
            "--turn-secret",
            "s3cret",
            "--turn-credential-ttl",
            "600",
        ]))
        .expect("valid");
        let now = DateTime::from_timestamp(1_764_763_200, 0).expect("time");
        let (servers, expires) = ice.servers_for(UserId::try_from(7).expect("id"), now);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].urls.len(), 2);
        assert_eq!(servers[1].username.as_deref(), Some("1764763800:7"));
        assert_eq!(
            servers[1].credential,
            Some(turn_password("s3cret", "1764763800:7"))
        );
        assert_eq!(expires, Some(now + chrono::Duration::seconds(600)));
        assert!(!format!("{ice:?}").contains("s3cret"));
    }

    #[test]
    fn turn_without_a_secret_is_left_out_and_bad_urls_are_refused() {
        let ice =
            IceConfig::from_config(&Config::from_args(&["--turn-urls", "turn:t.example.com"]))
                .expect("valid");
        assert_eq!(
            ice.servers_for(UserId::try_from(1).expect("id"), Utc::now()),
            (Vec::new(), None)
        );
        for bad in ["http://t.example.com", "turn", "stun:x.example.com"] {
            assert!(
                IceConfig::from_config(&Config::from_args(&["--turn-urls", bad])).is_err(),
                "{bad}"
            );
        }
        let stun = IceConfig::from_config(&Config::from_args(&["--stun-urls", "turn:x"]));
        assert_eq!(
            stun.err().map(|e| e.to_string()),
            Some("STUN_URLS must be comma-separated stun:/stuns: URLs, not \"turn:x\"".to_owned())
        );
    }
}
