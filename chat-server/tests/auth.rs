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
        // As a browser sends it with every POST.
        .header("origin", &server.url)
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
        .header("origin", &server.url)
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

/// `(value, Max-Age)` of a cookie set by a response.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, i64)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let value = c.strip_prefix(name)?.strip_prefix('=')?;
            let value = value.split(';').next()?.to_owned();
            let max_age = c
                .split(';')
                .find_map(|part| part.trim().strip_prefix("Max-Age="))
                .and_then(|v| v.parse().ok())?;
            Some((value, max_age))
        })
}

/// A refresh the way a browser makes it: the token in the cookie, no body.
async fn cookie_refresh(server: &TestServer, refresh: &str, agent: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/api/auth/refresh"))
        .header("cookie", format!("refresh_token={refresh}"))
        // A browser sends its page's origin with a cookie POST.
        .header("origin", &server.url)
        .header("user-agent", agent)
        .header("x-client", "web")
        .send()
        .await
        .expect("refresh")
}

/// Registers through the web client's signal; returns the refresh cookie.
async fn web_register(server: &TestServer, name: &str) -> String {
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .header("x-client", "web")
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough pw"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let (refresh, _) = set_cookie(&res, "refresh_token").expect("refresh cookie");
    refresh
}

/// A browser whose refresh answer was lost (or two tabs refreshing at the
/// same moment) presents the rotated cookie again: within the grace period the
/// same client gets the same successor instead of losing its session; another
/// client presenting it is a replay and ends the session.
#[tokio::test]
async fn a_lost_refresh_answer_is_retried_without_logging_out() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let r1 = web_register(&server, "retry").await;
    let first = cookie_refresh(&server, &r1, "Browser A").await;
    assert_eq!(first.status(), 200);
    let (r2, _) = set_cookie(&first, "refresh_token").expect("successor");
    assert_ne!(r1, r2, "rotated");
    // The answer never reached the browser: it presents r1 again.
    let retry = cookie_refresh(&server, &r1, "Browser A").await;
    assert_eq!(retry.status(), 200, "a retry is not a replay");
    let (again, _) = set_cookie(&retry, "refresh_token").expect("successor again");
    assert_eq!(again, r2, "the same successor is handed back");
    let body: Value = retry.json().await.expect("json");
    let (status, _) = server
        .get("/api/auth/me", body["token"].as_str().expect("token"))
        .await;
    assert_eq!(status, 200);

    // Two tabs refreshing with the same cookie at once both keep the session.
    let (a, b) = tokio::join!(
        cookie_refresh(&server, &r2, "Browser A"),
        cookie_refresh(&server, &r2, "Browser A")
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (ra, _) = set_cookie(&a, "refresh_token").expect("cookie");
    let (rb, _) = set_cookie(&b, "refresh_token").expect("cookie");
    assert_eq!(ra, rb, "both tabs end up with one successor");

    // The same rotated token from another client is a replay.
    let thief = cookie_refresh(&server, &r2, "Thief's browser").await;
    assert_eq!(thief.status(), 401);
    let owner = cookie_refresh(&server, &ra, "Browser A").await;
    assert_eq!(owner.status(), 401, "the replay revoked the session");
    server.stop().await;
}

#[tokio::test]
async fn reuse_after_the_grace_period_still_revokes_the_family() {
    let db = TestDb::new().await;
    let mut config = common::test_config(&db);
    config.refresh_reuse_grace = 1;
    let server = TestServer::start_with(config).await;
    let r1 = web_register(&server, "late").await;
    let first = cookie_refresh(&server, &r1, "Browser").await;
    assert_eq!(first.status(), 200);
    let (r2, _) = set_cookie(&first, "refresh_token").expect("successor");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(cookie_refresh(&server, &r1, "Browser").await.status(), 401);
    assert_eq!(
        cookie_refresh(&server, &r2, "Browser").await.status(),
        401,
        "family revoked"
    );
    server.stop().await;
}

/// Sliding refreshes cannot keep a session alive past SESSION_MAX_AGE.
#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime() {
    use chat_core::entity::refresh_token;
    use sea_orm::sea_query::Expr;
    use sea_orm::{EntityTrait, QueryFilter};

    let db = TestDb::new().await;
    let mut config = common::test_config(&db);
    config.refresh_token_ttl = 7200;
    config.session_max_age = 3600;
    let server = TestServer::start_with(config).await;
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .json(&json!({"username": "aging", "email": "aging@example.com", "password": "long enough pw"}))
        .send()
        .await
        .expect("register");
    let (r1, max_age) = set_cookie(&res, "refresh_token").expect("cookie");
    assert!(
        (3590..=3600).contains(&max_age),
        "the refresh token lives no longer than the session: {max_age}"
    );
    // Let the session be 59.5 minutes old: a refresh still works but its
    // token expires with the session.
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let set_start = |age: i64| {
        let conn = conn.clone();
        async move {
            refresh_token::Entity::update_many()
                .col_expr(
                    refresh_token::Column::SessionStartedAt,
                    Expr::value(chrono::Utc::now() - chrono::Duration::seconds(age)),
                )
                .filter(sea_orm::ColumnTrait::eq(
                    &refresh_token::Column::UserId,
                    res_user_id(&conn).await,
                ))
                .exec(&conn)
                .await
                .expect("update");
        }
    };
    set_start(3570).await;
    let res = cookie_refresh(&server, &r1, "Browser").await;
    assert_eq!(res.status(), 200);
    let (r2, max_age) = set_cookie(&res, "refresh_token").expect("cookie");
    assert!(
        max_age <= 30,
        "the successor ends with the session: {max_age}"
    );
    set_start(3601).await;
    let res = cookie_refresh(&server, &r2, "Browser").await;
    assert_eq!(res.status(), 401, "the session is over");
    let _ = conn.close().await;
    server.stop().await;
}

async fn res_user_id(conn: &sea_orm::DatabaseConnection) -> i64 {
    use chat_core::entity::user;
    use sea_orm::{EntityTrait, QueryFilter};
    user::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(&user::Column::Username, "aging"))
        .one(conn)
        .await
        .expect("query")
        .expect("user")
        .id
}

/// The web client says `X-Client: web` and keeps its refresh token in the
/// HttpOnly cookie only; a cookie refresh never puts it in the body either.
/// Other clients still get it in the body.
#[tokio::test]
async fn cookie_clients_do_not_get_the_refresh_token_in_the_body() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .header("x-client", "web")
        .json(&json!({"username": "webby", "email": "webby@example.com", "password": "long enough pw"}))
        .send()
        .await
        .expect("register");
    let cookie = set_cookie(&res, "refresh_token").expect("cookie").0;
    let body: Value = res.json().await.expect("json");
    assert!(body["token"].is_string());
    assert!(body.get("refresh_token").is_none(), "{body}");

    let res = server
        .http
        .post(server.url("/api/auth/login"))
        .header("x-client", "web")
        .json(&json!({"username": "webby", "password": "long enough pw"}))
        .send()
        .await
        .expect("login");
    let body: Value = res.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "{body}");

    // A cookie refresh, even without the header.
    let res = server
        .http
        .post(server.url("/api/auth/refresh"))
        .header("cookie", format!("refresh_token={cookie}"))
        .header("origin", &server.url)
        .send()
        .await
        .expect("refresh");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert!(body["token"].is_string());
    assert!(body.get("refresh_token").is_none(), "{body}");

    // A client that reads tokens from bodies still gets them there.
    let (status, body) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "webby", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": body["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["refresh_token"].is_string(), "{body}");
    server.stop().await;
}
