//! Registration, login, tokens and refresh.
mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TEST_SECRET, TestDb, TestServer};
use serde_json::{Value, json};

fn sign(claims: &Value, secret: &[u8]) -> String {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn register_login_me_logout() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .json(&json!({"username": "Alice", "email": "Alice@Example.com", "password": "long enough pw"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("access_token=")
            && c.contains("HttpOnly")
            && c.contains("Path=/"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("refresh_token=") && c.contains("Path=/api/auth"))
    );
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["user"]["username"], "Alice");
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert!(body["user"].get("password_hash").is_none());

    // Same name in another case, same e-mail: conflicts.
    for (payload, code) in [
        (
            json!({"username": "ALICE", "email": "other@example.com", "password": "long enough pw"}),
            "username_taken",
        ),
        (
            json!({"username": "alice2", "email": "ALICE@example.com", "password": "long enough pw"}),
            "email_taken",
        ),
    ] {
        let (status, res) = server.post("/api/auth/register", "", payload).await;
        assert_eq!((status, res["code"].as_str()), (409, Some(code)));
    }

    for login in [
        json!({"username": "aLiCe"}),
        json!({"email": "alice@example.com"}),
    ] {
        let mut payload = login.clone();
        payload["password"] = json!("long enough pw");
        let (status, res) = server.post("/api/auth/login", "", payload).await;
        assert_eq!(status, 200, "{login}: {res}");
        let token = res["token"].as_str().expect("token");
        let (status, me) = server.get("/api/auth/me", token).await;
        assert_eq!(
            (status, me["user"]["username"].as_str()),
            (200, Some("Alice"))
        );
    }
    let (status, res) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "alice", "password": "wrong password"}),
        )
        .await;
    assert_eq!(
        (status, res["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, res) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "nobody", "password": "wrong password"}),
        )
        .await;
    assert_eq!(
        (status, res["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    // Access cookie authenticates like a Bearer token.
    let token = body["token"].as_str().expect("token");
    let res = server
        .http
        .get(server.url("/api/auth/me"))
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), 200);

    let res = server
        .http
        .post(server.url("/api/auth/logout"))
        .header(
            "cookie",
            format!(
                "refresh_token={}",
                body["refresh_token"].as_str().expect("rt")
            ),
        )
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    let (status, _) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": body["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 401, "logout revokes the refresh token");
    server.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (user, good) = server.register("tok").await;
    let sub = user["id"].as_i64().expect("id").to_string();
    let claims = json!({"sub": sub, "username": "tok", "iat": now(), "exp": now() + 600});
    let expired = json!({"sub": sub, "username": "tok", "iat": now() - 7200, "exp": now() - 3600});
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let none_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let cases = [
        (
            "forged with another key",
            sign(&claims, b"another-secret-another-secret-0000"),
        ),
        ("expired", sign(&expired, TEST_SECRET.as_bytes())),
        ("alg none", format!("{none_header}.{none_payload}.")),
        (
            "alg none without dot",
            format!("{none_header}.{none_payload}"),
        ),
        ("tampered signature", tampered),
        ("garbage", "not-a-token".to_owned()),
        ("empty", String::new()),
    ];
    for (name, token) in cases {
        let (status, body) = server.get("/api/auth/me", &token).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{name}"
        );
    }
    let res = server
        .http
        .get(server.url("/api/conversations"))
        .send()
        .await
        .expect("no token");
    assert_eq!(res.status(), 401);
    let (status, _) = server.get("/api/auth/me", &good).await;
    assert_eq!(status, 200, "the genuine token still works");
    server.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (status, first) = server
        .post(
            "/api/auth/register",
            "",
            json!({"username": "rot", "email": "rot@example.com", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(status, 201);
    let r1 = first["refresh_token"].as_str().expect("rt").to_owned();
    let (status, second) = server
        .post("/api/auth/refresh", "", json!({"refresh_token": r1}))
        .await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().expect("rt").to_owned();
    assert_ne!(r1, r2, "rotated");
    let (status, _) = server
        .get("/api/auth/me", second["token"].as_str().expect("t"))
        .await;
    assert_eq!(status, 200);
    // Re-using the rotated token revokes the family, including r2.
    let (status, _) = server
        .post("/api/auth/refresh", "", json!({"refresh_token": r1}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .post("/api/auth/refresh", "", json!({"refresh_token": r2}))
        .await;
    assert_eq!(status, 401, "family revoked");
    // The cookie works as well as the body.
    let (_, third) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "rot", "password": "long enough pw"}),
        )
        .await;
    let res = server
        .http
        .post(server.url("/api/auth/refresh"))
        .header(
            "cookie",
            format!(
                "refresh_token={}",
                third["refresh_token"].as_str().expect("rt")
            ),
        )
        .send()
        .await
        .expect("refresh");
    assert_eq!(res.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn registration_input_is_validated() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let cases = [
        (
            json!({"username": "ab", "email": "a@example.com", "password": "long enough pw"}),
            "username",
        ),
        (
            json!({"username": "x".repeat(33), "email": "a@example.com", "password": "long enough pw"}),
            "username",
        ),
        (
            json!({"username": "bad name", "email": "a@example.com", "password": "long enough pw"}),
            "username",
        ),
        (
            json!({"username": "evil\r\nSet-Cookie: x=1", "email": "a@example.com", "password": "long enough pw"}),
            "username",
        ),
        (
            json!({"username": "okname", "email": "not-an-email", "password": "long enough pw"}),
            "email",
        ),
        (
            json!({"username": "okname", "email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "okname", "email": "a@example.com", "password": "p".repeat(129)}),
            "password",
        ),
    ];
    for (payload, field) in cases {
        let (status, body) = server.post("/api/auth/register", "", payload.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("validation_failed")),
            "{payload}"
        );
        assert!(body["details"][field].is_array(), "{payload}: {body}");
    }
    for raw in ["not json", "{\"username\": 1}", "[]"] {
        let res = server
            .http
            .post(server.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 400, "{raw}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], "invalid_body");
    }
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 415, "JSON is required");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "unsupported_media_type");
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(format!("{{\"username\": \"{}\"}}", "a".repeat(100_000)))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 413);
    let (_, users) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "okname", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(users["code"], "invalid_credentials", "nothing was stored");
    server.stop().await;
}

/// Each argon2id hash takes 19 MiB and a core: a burst of registrations and
/// logins (including unknown users, who get a dummy verification) must queue for
/// at most one hashing slot per CPU instead of running all at once, and every
/// request must still get its usual answer. Observed the way an operator would,
/// through `/metrics`.
#[tokio::test]
async fn password_hashing_runs_at_most_one_per_cpu() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let burst = 32.max(cpus * 4);
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let suffix = &common::rand_suffix()[..8];
    let names: Vec<String> = (0..burst).map(|i| format!("burst{i}_{suffix}")).collect();

    let registrations = names.iter().map(|name| {
        server.post(
            "/api/auth/register",
            "",
            json!({
                "username": name,
                "email": format!("{name}@example.com"),
                "password": "correct horse battery",
            }),
        )
    });
    for (name, (status, body)) in names
        .iter()
        .zip(futures_util::future::join_all(registrations).await)
    {
        assert_eq!(status, 201, "register {name}: {body}");
    }

    // Good passwords, wrong passwords and unknown users, all at once.
    let logins = names.iter().enumerate().map(|(i, name)| {
        let (login, password, expected) = match i % 4 {
            0 => (format!("nobody_{name}"), "correct horse battery", 401),
            1 => (name.clone(), "wrong horse battery", 401),
            _ => (name.clone(), "correct horse battery", 200),
        };
        let request = server.post(
            "/api/auth/login",
            "",
            json!({ "username": login, "password": password }),
        );
        async move { (login, expected, request.await) }
    });
    for (login, expected, (status, body)) in futures_util::future::join_all(logins).await {
        assert_eq!(status, expected, "login {login}: {body}");
    }

    let text = server
        .http
        .get(format!("{}/metrics", server.metrics_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("missing {name} in:\n{text}"))
            .trim()
            .parse()
            .unwrap_or_else(|err| panic!("{name}: {err}"))
    };
    // The metrics registry is process-wide: other tests of this binary hash
    // too, and the bound holds for all of them together.
    let peak = value("chat_password_hashes_in_flight_max");
    assert!(
        peak >= 1.0 && peak <= cpus as f64,
        "{peak} password hashes ran at once on {cpus} CPUs"
    );
    assert!(value("chat_password_hashes_in_flight") <= cpus as f64);
    assert!(value("chat_password_hash_wait_seconds_count") >= (2 * burst) as f64);
    server.stop().await;
}
