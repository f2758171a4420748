//! Security headers, CORS, per-IP rate limits and the trusted-proxy rule.
mod common;

use std::net::IpAddr;

use chat_server::middleware::ClientIp;
use common::{TestDb, TestServer, test_config};
use serde_json::json;

#[tokio::test]
async fn responses_carry_security_headers_and_hsts_only_over_https() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    for path in ["/health", "/api/auth/me", "/api/nope"] {
        let res = server.http.get(server.url(path)).send().await.expect("get");
        let h = res.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .expect("csp")
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "{path}: no HSTS over http"
        );
    }
    let res = server
        .http
        .get(server.url("/health"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("get");
    assert!(res.headers().contains_key("strict-transport-security"));
    server.stop().await;
}

#[tokio::test]
async fn cors_allows_only_the_client_origin() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let allowed = server
        .http
        .get(server.url("/health"))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .expect("get");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let other = server
        .http
        .get(server.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    server.stop().await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_client_ip() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.auth_rate_limit_per_minute = 6;
    config.auth_rate_limit_burst = 3;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let server = TestServer::start_with(config).await;
    let attempt = |ip: &'static str| {
        let req = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": "nobody", "password": "wrong password"}));
        async move { req.send().await.expect("login") }
    };
    for _ in 0..3 {
        assert_eq!(attempt("203.0.113.7").await.status(), 401);
    }
    let limited = attempt("203.0.113.7").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = limited.json().await.expect("json");
    assert_eq!(body["code"], "rate_limited");
    // Another client behind the same trusted proxy has its own budget.
    assert_eq!(attempt("198.51.100.9").await.status(), 401);
    // Other routes are not under the login limit.
    let (status, _) = server.get("/health", "").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.auth_rate_limit_per_minute = 6;
    config.auth_rate_limit_burst = 2;
    let server = TestServer::start_with(config).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        // A client rotating a forged X-Forwarded-For still counts as itself.
        let res = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .json(&json!({"username": "nobody", "password": "wrong password"}))
            .send()
            .await
            .expect("login");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
    server.stop().await;
}

#[tokio::test]
async fn well_behaved_clients_are_not_limited_and_floods_are() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.rate_limit_per_second = 20;
    config.rate_limit_burst = 20;
    let server = TestServer::start_with(config).await;
    let (_u, token) = server.register("steady").await;
    // 10 requests spread over a second: within the rate.
    for _ in 0..10 {
        let (status, _) = server.get("/api/conversations", &token).await;
        assert_eq!(status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A burst of 60 at once: the excess is refused.
    let requests = (0..60).map(|_| server.get("/api/conversations", &token));
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert!(limited >= 30, "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 429),
        "{statuses:?}"
    );
    server.stop().await;
}

#[test]
fn client_ip_trusts_forwarded_for_only_from_proxies() {
    let proxy: IpAddr = "10.1.1.1".parse().expect("ip");
    let ips = ClientIp::new(vec![proxy]);
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        "1.2.3.4, 5.6.7.8, 10.1.1.1".parse().expect("value"),
    );
    let client = |peer: &str| ips.resolve(peer.parse().expect("ip"), &headers).to_string();
    assert_eq!(
        client("10.1.1.1"),
        "5.6.7.8",
        "nearest untrusted hop, not the forgeable first"
    );
    assert_eq!(
        client("9.9.9.9"),
        "9.9.9.9",
        "untrusted peer: header ignored"
    );
}

#[tokio::test]
async fn cookie_requests_from_another_origin_are_refused() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, token) = server.register("csrf_a").await;
    let (bob, _) = server.register("csrf_b").await;
    let cookie = format!("access_token={token}");
    let create = |origin: &'static str, bearer: bool| {
        let mut req = server
            .http
            .post(server.url("/api/conversations"))
            .header("origin", origin)
            .json(&json!({ "user_id": bob["id"] }));
        req = if bearer {
            req.bearer_auth(&token)
        } else {
            req.header("cookie", &cookie)
        };
        async move { req.send().await.expect("send") }
    };
    let forged = create("https://evil.example", false).await;
    assert_eq!(forged.status(), 403);
    let body: serde_json::Value = forged.json().await.expect("json");
    assert_eq!(body["code"], "csrf_rejected");
    let (_, list) = server.get("/api/conversations", &token).await;
    assert_eq!(
        list["conversations"].as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );
    assert_eq!(
        create("http://localhost:5173", false).await.status(),
        201,
        "the client's origin"
    );
    assert_eq!(
        create("https://evil.example", true).await.status(),
        200,
        "bearer tokens cannot be forged by a page"
    );
    let _ = alice;
    server.stop().await;
}

#[test]
fn ipv6_clients_are_keyed_by_their_64_prefix() {
    use chat_server::middleware::rate_limit_key;
    let key = |s: &str| rate_limit_key(s.parse().expect("ip")).to_string();
    assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
    assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
    assert_eq!(key("2001:db8:1:3::1"), "2001:db8:1:3::");
    assert_eq!(key("203.0.113.7"), "203.0.113.7");
    assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7", "IPv4-mapped");
}

/// One IPv6 subscriber holds a whole /64: rotating addresses inside it does
/// not buy more attempts; another /64 has its own budget.
#[tokio::test]
async fn ipv6_addresses_of_one_64_share_a_budget() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.auth_rate_limit_per_minute = 6;
    config.auth_rate_limit_burst = 2;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let server = TestServer::start_with(config).await;
    let attempt = |ip: &'static str| {
        let req = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": "nobody", "password": "wrong password"}));
        async move { req.send().await.expect("login").status().as_u16() }
    };
    let mut statuses = Vec::new();
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
        statuses.push(attempt(ip).await);
    }
    assert_eq!(statuses, [401, 401, 429]);
    assert_eq!(attempt("2001:db8:1:3::1").await, 401, "another /64");
    server.stop().await;
}

/// Failed logins back off per account *and* client address: the attacker's
/// address waits longer after each failure (even with the right password),
/// while the owner, from their own address, signs in at once.
#[tokio::test]
async fn failed_logins_back_off_per_account_and_address() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.login_backoff_after = 3;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let server = TestServer::start_with(config).await;
    let (status, _) = server
        .post(
            "/api/auth/register",
            "",
            json!({"username": "target", "email": "target@example.com", "password": "the right password"}),
        )
        .await;
    assert_eq!(status, 201);
    let login = |ip: &'static str, login: &'static str, password: &'static str| {
        let req = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"login": login, "password": password}));
        async move {
            let res = req.send().await.expect("login");
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, retry_after, body)
        }
    };
    let attacker = "198.51.100.66";
    for _ in 0..3 {
        assert_eq!(login(attacker, "target", "guess").await.0, 401);
    }
    // By e-mail instead of name: the same account.
    let (status, retry_after, body) = login(attacker, "target@example.com", "guess").await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(retry_after, Some(1));
    assert_eq!(body["details"]["retry_after"], 1);
    let (status, ..) = login(attacker, "target", "the right password").await;
    assert_eq!(status, 429, "no password is checked while waiting");
    // The owner, elsewhere, is not locked out.
    let (status, ..) = login("192.0.2.8", "target", "the right password").await;
    assert_eq!(status, 200);
    // After the wait the next failure doubles it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(login(attacker, "target", "guess").await.0, 401);
    let (status, retry_after, _) = login(attacker, "target", "guess").await;
    assert_eq!((status, retry_after), (429, Some(2)));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, ..) = login(attacker, "target", "the right password").await;
    assert_eq!(status, 200, "the right password after the wait");
    assert_eq!(
        login(attacker, "target", "guess").await.0,
        401,
        "a success starts over"
    );
    server.stop().await;
}
