//! What a device may subscribe with: a push service endpoint the server may
//! be aimed at, and keys the payload can be encrypted for.
//!
//! A subscription names a URL the server will post to. In production it
//! must be `https` on a public address, so nobody can aim the server at its
//! own network: checked here for the URL (literal addresses and local names)
//! and again for every address a name resolves to when sending (see
//! `delivery`), which also defeats names that resolve differently later.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde::Deserialize;

use crate::error::{ChatResult, Invalid};
use crate::store::push::SubscriptionRow;

/// Longest endpoint URL accepted (browsers' are under 600 characters).
pub const MAX_ENDPOINT_CHARS: usize = 2048;
/// Longest `p256dh` accepted: 65 bytes take 87 characters.
const MAX_P256DH_CHARS: usize = 128;
/// Longest `auth` accepted: 16 bytes take 22 characters.
const MAX_AUTH_CHARS: usize = 64;

/// Which endpoints subscriptions may name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndpointPolicy {
    /// `https` on public addresses only (production).
    #[default]
    PublicHttps,
    /// Also `http` and loopback or private addresses (development and
    /// tests, with a push service on the same machine).
    AllowPrivate,
}

/// The body of `POST /api/push/subscriptions`: what `PushSubscription.toJSON()`
/// gives in a browser (`expirationTime` and other fields are ignored).
///
/// ```
/// use chat_core::push::NewSubscription;
///
/// let body = r#"{"endpoint": "https://push.example.net/send/abc", "expirationTime": null,
///     "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
///              "auth": "tBHItJI5svbpez7KI4CCXg"}}"#;
/// let subscription: NewSubscription = serde_json::from_str(body)?;
/// assert_eq!(subscription.keys.auth, "tBHItJI5svbpez7KI4CCXg");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSubscription {
    /// The push service URL of the device (https, public, at most 2048 characters).
    pub endpoint: String,
    /// The device's keys.
    pub keys: SubscriptionKeys,
}

/// A device's payload encryption keys (RFC 8291).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionKeys {
    /// Its P-256 public key: 65 bytes (uncompressed point), base64url.
    pub p256dh: String,
    /// Its authentication secret: 16 bytes, base64url.
    pub auth: String,
}

impl NewSubscription {
    /// Checks every field at once; the row to store.
    pub(crate) fn validated(self, policy: EndpointPolicy) -> ChatResult<SubscriptionRow> {
        let mut invalid = Invalid::new();
        let endpoint = self.endpoint.trim().to_owned();
        if let Err(problem) = check_endpoint(&endpoint, policy) {
            invalid.add("endpoint", problem);
        }
        let p256dh = self.keys.p256dh.trim().to_owned();
        invalid.check(
            p256dh.len() <= MAX_P256DH_CHARS && public_key(&p256dh).is_some(),
            "keys.p256dh",
            "must be a P-256 public key (65 bytes, base64url)",
        );
        let auth = self.keys.auth.trim().to_owned();
        invalid.check(
            auth.len() <= MAX_AUTH_CHARS && auth_secret(&auth).is_some(),
            "keys.auth",
            "must be 16 bytes, base64url",
        );
        invalid.finish()?;
        Ok(SubscriptionRow {
            endpoint,
            p256dh,
            auth,
        })
    }
}

fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// The device's public key, if `text` is one.
pub(crate) fn public_key(text: &str) -> Option<web_push_native::p256::PublicKey> {
    let bytes = decode(text)?;
    if bytes.len() != 65 {
        return None;
    }
    web_push_native::p256::PublicKey::from_sec1_bytes(&bytes).ok()
}

/// The device's authentication secret, if `text` is one.
pub(crate) fn auth_secret(text: &str) -> Option<web_push_native::Auth> {
    let bytes: [u8; 16] = decode(text)?.try_into().ok()?;
    Some(web_push_native::Auth::from(bytes))
}

/// Why `endpoint` may not be posted to under `policy`, if it may not.
pub(crate) fn check_endpoint(endpoint: &str, policy: EndpointPolicy) -> Result<Url, String> {
    if endpoint.is_empty() || endpoint.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(format!(
            "must be a URL of 1 to {MAX_ENDPOINT_CHARS} characters"
        ));
    }
    let url = Url::parse(endpoint).map_err(|_| "must be an absolute URL".to_owned())?;
    let public = policy == EndpointPolicy::PublicHttps;
    match url.scheme() {
        "https" => {}
        "http" if !public => {}
        _ if public => return Err("must be an https URL".to_owned()),
        _ => return Err("must be an http or https URL".to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    let Some(host) = url.host() else {
        return Err("must name a host".to_owned());
    };
    if public {
        let allowed = match host {
            url::Host::Ipv4(ip) => is_public(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => is_public(IpAddr::V6(ip)),
            url::Host::Domain(name) => !is_local_name(name),
        };
        if !allowed {
            return Err("must be on a public address".to_owned());
        }
    }
    Ok(url)
}

/// Names that never lead to the public internet.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.contains('.')
        || [
            "localhost",
            "local",
            "internal",
            "lan",
            "home.arpa",
            "localdomain",
        ]
        .iter()
        .any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

/// Whether `ip` is a public unicast address: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, documentation or
/// otherwise reserved, nor an IPv4 address mapped into IPv6 that is one.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        // Shared address space (RFC 6598).
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments and benchmarking (RFC 6890, RFC 2544).
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7 and link-local fe80::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_takes_public_https_endpoints_only() {
        let policy = EndpointPolicy::PublicHttps;
        assert!(check_endpoint("https://fcm.googleapis.com/fcm/send/abc", policy).is_ok());
        assert!(
            check_endpoint(
                "https://updates.push.services.mozilla.com/wpush/v2/x",
                policy
            )
            .is_ok()
        );
        for refused in [
            "http://push.example.com/x",
            "ftp://push.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://localhost/x",
            "https://push.localhost/x",
            "https://metadata/x",
            "https://db.internal/x",
            "https://user:pw@push.example.com/x",
            "not a url",
            "",
        ] {
            assert!(
                check_endpoint(refused, policy).is_err(),
                "{refused} accepted"
            );
        }
        let long = format!(
            "https://push.example.com/{}",
            "a".repeat(MAX_ENDPOINT_CHARS)
        );
        assert!(check_endpoint(&long, policy).is_err());
    }

    #[test]
    fn development_also_takes_loopback_http() {
        let policy = EndpointPolicy::AllowPrivate;
        assert!(check_endpoint("http://127.0.0.1:9000/push/a", policy).is_ok());
        assert!(check_endpoint("javascript:alert(1)", policy).is_err());
        assert!(check_endpoint("file:///etc/passwd", policy).is_err());
    }

    #[test]
    fn keys_must_be_a_point_and_a_sixteen_byte_secret() {
        let key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
        assert!(public_key(key).is_some());
        // 65 bytes that are not on the curve.
        let off_curve = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(public_key(&off_curve).is_none());
        assert!(auth_secret("tBHItJI5svbpez7KI4CCXg").is_some());
        assert!(auth_secret("dG9vIHNob3J0").is_none());
        let body = NewSubscription {
            endpoint: "https://push.example.com/x".into(),
            keys: SubscriptionKeys {
                p256dh: "x".repeat(10_000),
                auth: "!".into(),
            },
        };
        let Err(err) = body.validated(EndpointPolicy::PublicHttps) else {
            panic!("bad keys accepted");
        };
        let details = err.details().expect("field errors");
        assert!(details.contains_key("keys.p256dh") && details.contains_key("keys.auth"));
        assert!(!details.contains_key("endpoint"));
    }
}
