//! One push: the encrypted request to a device's push service, and what its
//! answer means.
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderName, HeaderValue};

use super::endpoint::{self, EndpointPolicy};
use super::vapid::VapidKeys;
use crate::store::push::SubscriptionRow;

/// The longest a VAPID token is valid (RFC 8292 allows 24 hours; less leaves
/// room for clocks that differ).
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long one push may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client senders post with: no redirects (a push service answers
/// directly; a redirect could lead anywhere) and, for public endpoints, a
/// resolver that refuses names resolving to non-public addresses.
pub(super) fn client(policy: EndpointPolicy) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("chat-core/", env!("CARGO_PKG_VERSION")));
    let builder = match policy {
        EndpointPolicy::PublicHttps => builder.dns_resolver(std::sync::Arc::new(PublicOnly)),
        EndpointPolicy::AllowPrivate => builder,
    };
    builder.build().unwrap_or_else(|err| {
        // Only a TLS backend that cannot start fails here.
        tracing::error!(%err, "push client not built with its settings; using the defaults");
        reqwest::Client::new()
    })
}

/// Resolves with the system resolver and keeps public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| endpoint::is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// What became of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted by the push service.
    Sent,
    /// Worth trying again (429, 5xx, network), after at least this long.
    Retry(Option<Duration>),
    /// The subscription no longer exists (404, 410).
    Gone,
    /// Refused for good (another 4xx, or a subscription that cannot be
    /// encrypted for).
    Refused(u16),
}

/// How urgent a notification is (RFC 8030 section 5.3).
pub(crate) enum Urgency {
    Normal,
    High,
}

/// One push to send.
pub(crate) struct Push<'a> {
    pub(crate) subscription: &'a SubscriptionRow,
    pub(crate) payload: &'a [u8],
    /// Collapses notifications at the push service (at most 32 base64url characters).
    pub(crate) topic: &'a str,
    pub(crate) urgency: Urgency,
    pub(crate) ttl: Duration,
}

/// Encrypts and posts `push`.
pub(crate) async fn send(
    http: &reqwest::Client,
    vapid: &VapidKeys,
    subject: &str,
    policy: EndpointPolicy,
    push: Push<'_>,
) -> Outcome {
    let request = match request(vapid, subject, policy, &push) {
        Ok(request) => request,
        Err(why) => {
            tracing::warn!(%why, "push not sent: the subscription cannot be used");
            return Outcome::Refused(0);
        }
    };
    match http.execute(request).await {
        Ok(response) => classify(&response),
        Err(err) => {
            tracing::debug!(err = %err, "push service unreachable; will retry");
            Outcome::Retry(None)
        }
    }
}

fn request(
    vapid: &VapidKeys,
    subject: &str,
    policy: EndpointPolicy,
    push: &Push<'_>,
) -> Result<reqwest::Request, String> {
    let url = endpoint::check_endpoint(&push.subscription.endpoint, policy)?;
    let uri: http::Uri = url.as_str().parse().map_err(|_| "endpoint is not a URI")?;
    let key = endpoint::public_key(&push.subscription.p256dh).ok_or("bad p256dh")?;
    let auth = endpoint::auth_secret(&push.subscription.auth).ok_or("bad auth")?;
    let mut request = web_push_native::WebPushBuilder::new(uri, key, auth)
        .with_valid_duration(push.ttl)
        .build(push.payload.to_vec())
        .map_err(|err| err.to_string())?;
    let audience = url.origin().ascii_serialization();
    let authorization = vapid
        .authorization(
            &audience,
            subject,
            TOKEN_LIFETIME.min(push.ttl.max(Duration::from_secs(60))),
        )
        .map_err(|err| err.to_string())?;
    let headers = request.headers_mut();
    let mut set = |name: &'static str, value: &str| -> Result<(), String> {
        let value = HeaderValue::from_str(value).map_err(|_| format!("bad {name} header"))?;
        headers.insert(HeaderName::from_static(name), value);
        Ok(())
    };
    set("authorization", &authorization)?;
    set(
        "urgency",
        match push.urgency {
            Urgency::Normal => "normal",
            Urgency::High => "high",
        },
    )?;
    set("topic", push.topic)?;
    reqwest::Request::try_from(request).map_err(|err| err.to_string())
}

fn classify(response: &reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    match status {
        200..=299 => Outcome::Sent,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Outcome::Retry(after)
        }
        other => Outcome::Refused(other),
    }
}

/// How long to wait before attempt `attempts + 1`: 1 s doubling up to 2
/// minutes, or longer when the push service asked for it (up to an hour).
pub(crate) fn backoff(attempts: i32, asked: Option<Duration>) -> Duration {
    let doubling = Duration::from_secs(1u64 << attempts.clamp(0, 7));
    let wait = doubling.min(Duration::from_secs(120));
    asked.map_or(wait, |asked| wait.max(asked.min(Duration::from_secs(3600))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_honours_retry_after_within_an_hour() {
        assert_eq!(backoff(0, None), Duration::from_secs(1));
        assert_eq!(backoff(3, None), Duration::from_secs(8));
        assert_eq!(backoff(30, None), Duration::from_secs(120));
        assert_eq!(
            backoff(0, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            backoff(0, Some(Duration::from_secs(86_400))),
            Duration::from_secs(3600)
        );
    }
}
