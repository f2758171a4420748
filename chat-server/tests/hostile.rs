//! A table of hostile requests, each with the answer it must get, and the
//! database unchanged afterwards.
mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TEST_SECRET, TestDb, TestServer, test_config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// Row counts of every table a hostile request could touch.
async fn snapshot(url: &str) -> Vec<(String, i64)> {
    let db = Database::connect(url).await.expect("connect");
    let mut counts = Vec::new();
    for table in [
        "users",
        "conversations",
        "conversation_members",
        "messages",
        "account_tokens",
        "user_blocks",
    ] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        counts.push((
            table.to_owned(),
            row.try_get_by_index::<i64>(0).expect("count"),
        ));
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM users WHERE username = 'victim' AND email_verified_at IS NULL"
                .to_owned(),
        ))
        .await
        .expect("count")
        .expect("row");
    counts.push((
        "victim unverified".to_owned(),
        row.try_get_by_index::<i64>(0).expect("count"),
    ));
    let _ = db.close().await;
    counts
}

fn jwt(alg: jsonwebtoken::Algorithm, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("sign")
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    status: u16,
    code: Option<&'static str>,
    /// The field `details` must name.
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: impl Into<String>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        token: None,
        headers: Vec::new(),
        body: None,
        status,
        code,
        field: None,
    }
}

impl Case {
    fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self.headers
            .push(("content-type", "application/json".to_owned()));
        self
    }
    fn raw(mut self, content_type: &str, body: String) -> Self {
        self.body = Some(body);
        self.headers.push(("content-type", content_type.to_owned()));
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[tokio::test]
async fn hostile_requests_get_clear_errors_and_change_nothing() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.auth_rate_limit_per_minute = 10;
    config.auth_rate_limit_burst = 10;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let server = TestServer::start_with(config).await;
    // Registrations come from distinct (proxied) addresses so setup does not
    // spend the login budget the brute-force case measures.
    let mut accounts = Vec::new();
    for (i, name) in ["victim", "friend", "attacker"].iter().enumerate() {
        let res = server
            .http
            .post(server.url("/api/auth/register"))
            .header("x-forwarded-for", format!("192.0.2.{}", 10 + i))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough pw"}))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        accounts.push(body);
    }
    let victim = &accounts[0];
    let friend = &accounts[1];
    let attacker = &accounts[2];
    let vt = victim["token"].as_str().expect("token").to_owned();
    let at = attacker["token"].as_str().expect("token").to_owned();
    let (_, direct) = server
        .post(
            "/api/conversations",
            &vt,
            json!({"user_id": friend["user"]["id"]}),
        )
        .await;
    let (_, group) = server
        .post(
            "/api/conversations",
            &vt,
            json!({"type": "group", "name": "private", "member_ids": [friend["user"]["id"]]}),
        )
        .await;
    let (_, message) = server
        .post(
            &format!("/api/conversations/{}/messages", direct["id"]),
            &vt,
            json!({"content": "secret"}),
        )
        .await;
    let d = direct["id"].as_i64().expect("id");
    let g = group["id"].as_i64().expect("id");
    let victim_id = victim["user"]["id"].as_i64().expect("id");
    let attacker_id = attacker["user"]["id"].as_i64().expect("id");

    let now = chrono::Utc::now().timestamp();
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let claims =
        json!({"sub": victim_id.to_string(), "username": "victim", "iat": now, "exp": now + 600});
    let forged = jwt(
        hs256,
        &claims,
        b"not-the-server-secret-not-the-server-secret",
    );
    let expired = jwt(
        hs256,
        &json!({"sub": victim_id.to_string(), "username": "victim", "iat": now - 7200, "exp": now - 3600}),
        TEST_SECRET.as_bytes(),
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let hs512_header = jwt(
        jsonwebtoken::Algorithm::HS512,
        &claims,
        TEST_SECRET.as_bytes(),
    );
    let no_exp = jwt(
        hs256,
        &json!({"sub": victim_id.to_string(), "username": "victim"}),
        TEST_SECRET.as_bytes(),
    );
    let ghost = jwt(
        hs256,
        &json!({"sub": "987654", "username": "ghost", "iat": now, "exp": now + 600}),
        TEST_SECRET.as_bytes(),
    );
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));

    let cases = vec![
        // IDOR on every id-taking route.
        case("read another's conversation", "GET", format!("/api/conversations/{d}"), 404, Some("not_found")).token(&at),
        case("read another's history", "GET", format!("/api/conversations/{d}/messages"), 404, Some("not_found")).token(&at),
        case("page another's history by message id", "GET", format!("/api/conversations/{d}/messages?before={}", message["id"]), 404, Some("not_found")).token(&at),
        case("catch up on another's history", "GET", format!("/api/conversations/{d}/messages?after_seq=0"), 404, Some("not_found")).token(&at),
        case("write into another's conversation", "POST", format!("/api/conversations/{d}/messages"), 404, Some("not_found")).token(&at).json(json!({"content": "hi"})),
        case("list another's members", "GET", format!("/api/conversations/{g}/members"), 404, Some("not_found")).token(&at),
        case("add oneself to a private group", "POST", format!("/api/conversations/{g}/members"), 404, Some("not_found")).token(&at).json(json!({"user_id": attacker_id})),
        case("join a private group", "POST", format!("/api/conversations/{g}/join"), 404, Some("not_found")).token(&at),
        case("join a direct conversation", "POST", format!("/api/conversations/{d}/join"), 404, Some("not_found")).token(&at),
        case("leave a group one is not in", "POST", format!("/api/conversations/{g}/leave"), 404, Some("not_found")).token(&at),
        case("nonexistent conversation", "GET", "/api/conversations/987654321", 404, Some("not_found")).token(&at),
        case("write into a conversation that does not exist", "POST", "/api/conversations/987654321/messages", 404, Some("not_found")).token(&at).json(json!({"content": "hi"})),
        case("list the members of a conversation that does not exist", "GET", "/api/conversations/987654321/members", 404, Some("not_found")).token(&at),
        case("join a conversation that does not exist", "POST", "/api/conversations/987654321/join", 404, Some("not_found")).token(&at),
        // Forced membership and unbounded lists.
        case("group with over 100 member ids", "POST", "/api/conversations", 400, Some("validation_failed")).token(&at).json(json!({"type": "group", "name": "crowd", "member_ids": vec![victim_id; 101]})),
        case("conversation list page over 200", "GET", "/api/conversations?limit=1000", 400, Some("validation_failed")).token(&at),
        case("conversation list with a made-up cursor", "GET", "/api/conversations?before=yesterday", 400, Some("validation_failed")).token(&at),
        // Every paginated route refuses a page size out of its range alike.
        case("public rooms page over 100", "GET", "/api/rooms?limit=1000", 400, Some("validation_failed")).token(&at),
        case("public rooms page of 0", "GET", "/api/rooms?limit=0", 400, Some("validation_failed")).token(&at),
        case("user search page over 50", "GET", "/api/users/search?query=al&limit=51", 400, Some("validation_failed")).token(&at),
        case("user search page of 0", "GET", "/api/users/search?query=al&limit=0", 400, Some("validation_failed")).token(&at),
        case("message search page over 50", "GET", "/api/search/messages?query=al&limit=51", 400, Some("validation_failed")).token(&at),
        case("message search past offset 1000", "GET", "/api/search/messages?query=al&offset=1001", 400, Some("validation_failed")).token(&at),
        case("message search for punctuation only", "GET", "/api/search/messages?query=%22*(((%27%5C", 400, Some("validation_failed")).token(&at),
        case("message search in conversation 0", "GET", "/api/search/messages?query=al&conversation_id=0", 400, Some("validation_failed")).token(&at).field("conversation_id"),
        case("message search without a token", "GET", "/api/search/messages?query=al", 401, Some("unauthorized")),
        // Operational endpoints stay off the public port.
        case("metrics on the public port", "GET", "/metrics", 404, None),
        case("image path traversal", "GET", "/uploads/..%2F..%2Fetc%2Fpasswd", 404, None).token(&at),
        // Tokens.
        case("no token", "GET", "/api/conversations", 401, Some("unauthorized")),
        case("forged signature", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&forged),
        case("expired token", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&expired),
        case("alg none", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&none),
        case("HS512 with the right key", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&hs512_header),
        case("no expiry", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&no_exp),
        case("user that does not exist", "GET", "/api/auth/me", 401, Some("unauthorized")).token(&ghost),
        case("garbage bearer", "GET", "/api/auth/me", 401, Some("unauthorized")).token("a.b.c"),
        case("basic auth", "GET", "/api/auth/me", 401, Some("unauthorized")).header("authorization", "Basic dmljdGltOnB3"),
        case("logout everywhere without a token", "POST", "/api/auth/logout-all", 401, Some("unauthorized")),
        case("refresh with a made-up token", "POST", "/api/auth/refresh", 401, Some("unauthorized")).json(json!({"refresh_token": "made-up"})),
        // CSRF.
        case("cookie POST from another origin", "POST", "/api/conversations", 403, Some("csrf_rejected"))
            .header("cookie", format!("access_token={vt}"))
            .header("origin", "https://evil.example")
            .json(json!({"type": "group", "name": "csrf", "member_ids": []})),
        // Bodies.
        case("oversized JSON body", "POST", format!("/api/conversations/{d}/messages"), 413, Some("payload_too_large")).token(&vt).json(json!({"content": "x".repeat(200_000)})),
        case("JSON bomb (deep nesting)", "POST", "/api/conversations", 400, Some("invalid_body")).token(&vt).raw("application/json", nested),
        case("number overflow", "POST", "/api/conversations", 400, Some("invalid_body")).token(&vt).raw("application/json", "{\"user_id\": 99999999999999999999999}".to_owned()),
        case("not JSON", "POST", "/api/conversations", 400, Some("invalid_body")).token(&vt).raw("application/json", "user_id=2".to_owned()),
        case("form instead of JSON", "POST", "/api/conversations", 415, Some("unsupported_media_type")).token(&vt).raw("application/x-www-form-urlencoded", "user_id=2".to_owned()),
        // Injection and validation.
        case("header injection in a username", "POST", "/api/auth/register", 400, Some("validation_failed")).header("x-forwarded-for", "192.0.2.50").json(json!({"username": "evil\r\nSet-Cookie: a=b", "email": "e@example.com", "password": "long enough pw"})),
        case("markup in a username", "POST", "/api/auth/register", 400, Some("validation_failed")).header("x-forwarded-for", "192.0.2.51").json(json!({"username": "<script>x</script>", "email": "s@example.com", "password": "long enough pw"})),
        case("taking a username in another case", "POST", "/api/auth/register", 409, Some("username_taken")).header("x-forwarded-for", "192.0.2.52").json(json!({"username": "VICTIM", "email": "v2@example.com", "password": "long enough pw"})),
        case("SQL in the login name", "POST", "/api/auth/login", 401, Some("invalid_credentials")).header("x-forwarded-for", "192.0.2.53").json(json!({"username": "' OR '1'='1' --", "password": "x' OR '1'='1"})),
        case("NUL in a message", "POST", format!("/api/conversations/{d}/messages"), 400, Some("validation_failed")).token(&vt).json(json!({"content": "a\u{0}b"})),
        case("system message from a client", "POST", format!("/api/conversations/{d}/messages"), 400, Some("validation_failed")).token(&vt).json(json!({"content": "admin says", "message_type": "system"})),
        case("image that is not one's upload", "POST", format!("/api/conversations/{d}/messages"), 400, Some("validation_failed")).token(&vt).json(json!({"content": "", "message_type": "image", "file_url": "/uploads/../../etc/passwd"})),
        case("direct conversation with oneself", "POST", "/api/conversations", 400, Some("validation_failed")).token(&vt).json(json!({"user_id": victim_id})),
        case("direct conversation with nobody", "POST", "/api/conversations", 404, Some("not_found")).token(&vt).json(json!({"user_id": 987654})),
        case("group with unknown members", "POST", "/api/conversations", 400, Some("validation_failed")).token(&vt).json(json!({"type": "group", "name": "x", "member_ids": [987654]})),
        case("negative conversation id", "GET", "/api/conversations/-1/messages", 400, Some("validation_failed")).token(&vt),
        case("zero conversation id", "GET", "/api/conversations/0", 400, Some("validation_failed")).token(&vt).field("id"),
        case("zero user id in a path", "GET", "/api/users/0", 400, Some("validation_failed")).token(&vt).field("id"),
        case("direct conversation with user 0", "POST", "/api/conversations", 400, Some("validation_failed")).token(&vt).json(json!({"user_id": 0})).field("user_id"),
        case("direct conversation with a negative user", "POST", "/api/conversations", 400, Some("validation_failed")).token(&vt).json(json!({"user_id": -5})).field("user_id"),
        case("group with a negative member", "POST", "/api/conversations", 400, Some("validation_failed")).token(&vt).json(json!({"type": "group", "name": "x", "member_ids": [victim_id, -3]})).field("member_ids[1]"),
        case("adding member 0", "POST", format!("/api/conversations/{g}/members"), 400, Some("validation_failed")).token(&vt).json(json!({"user_id": 0})).field("user_id"),
        case("history before message 0", "GET", format!("/api/conversations/{d}/messages?before=0"), 400, Some("validation_failed")).token(&vt).field("before"),
        case("members after a negative user", "GET", format!("/api/conversations/{g}/members?after=-1"), 400, Some("validation_failed")).token(&vt).field("after"),
        case("user id as a string", "POST", "/api/conversations", 400, Some("invalid_body")).token(&vt).json(json!({"user_id": "2"})),
        case("blocking oneself", "POST", format!("/api/users/{victim_id}/block"), 400, Some("validation_failed")).token(&vt),
        case("blocking user 0", "POST", "/api/users/0/block", 400, Some("validation_failed")).token(&vt).field("id"),
        case("blocking a user named by a word", "POST", "/api/users/everyone/block", 400, Some("invalid_parameter")).token(&vt),
        case("blocking nobody", "POST", "/api/users/987654/block", 404, Some("not_found")).token(&vt),
        case("unblocking nobody", "DELETE", "/api/users/987654/block", 404, Some("not_found")).token(&vt),
        case("blocking without a token", "POST", format!("/api/users/{attacker_id}/block"), 401, Some("unauthorized")),
        case("listing blocks without a token", "GET", "/api/users/me/blocks", 401, Some("unauthorized")),
        case("conversation id overflow", "GET", "/api/conversations/99999999999999999999/messages", 400, Some("invalid_parameter")).token(&vt),
        case("history limit out of range", "GET", format!("/api/conversations/{d}/messages?limit=1000"), 400, Some("validation_failed")).token(&vt),
        case("verify e-mail with a made-up token", "POST", "/api/auth/verify-email", 400, Some("validation_failed")).header("x-forwarded-for", "192.0.2.54").json(json!({"token": "made-up"})),
        case("reset password with a made-up token", "POST", "/api/auth/reset-password", 400, Some("validation_failed")).header("x-forwarded-for", "192.0.2.55").json(json!({"token": "made-up", "password": "new long password"})),
        case("password reset for an address nobody registered", "POST", "/api/auth/forgot-password", 202, None).header("x-forwarded-for", "192.0.2.56").json(json!({"email": "nobody@example.com"})),
        case("resend verification without a token", "POST", "/api/auth/resend-verification", 401, Some("unauthorized")).header("x-forwarded-for", "192.0.2.57"),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());

    let before = snapshot(&db.url).await;
    for c in &cases {
        let method = reqwest::Method::from_bytes(c.method.as_bytes()).expect("method");
        let mut req = server.http.request(method, server.url(&c.path));
        if let Some(token) = &c.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in &c.headers {
            req = req.header(*name, value);
        }
        if let Some(body) = &c.body {
            req = req.body(body.clone());
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, c.status, "{}: {body}", c.name);
        if let Some(code) = c.code {
            assert_eq!(body["code"], code, "{}: {body}", c.name);
            assert!(body["error"].is_string(), "{}: {body}", c.name);
        }
        if let Some(field) = c.field {
            assert_eq!(
                body["details"][field],
                json!(["must be a positive integer"]),
                "{}: {body}",
                c.name
            );
        }
    }

    // Brute force: the login budget of one address runs out; nobody else's does.
    let mut statuses = Vec::new();
    for _ in 0..14 {
        let res = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", "203.0.113.66")
            .json(&json!({"username": "victim", "password": "guess"}))
            .send()
            .await
            .expect("login");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert!(statuses[10..].iter().all(|&s| s == 429), "{statuses:?}");
    // Rotating IPv6 addresses inside one /64 is still one client.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let res = server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", format!("2001:db8:66:1::{:x}", i + 1))
            .json(&json!({"username": "friend", "password": "guess"}))
            .send()
            .await
            .expect("login");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert!(statuses[10..].iter().all(|&s| s == 429), "{statuses:?}");
    // The owner, from their own address, is not locked out by either.
    let res = server
        .http
        .post(server.url("/api/auth/login"))
        .header("x-forwarded-for", "192.0.2.10")
        .json(&json!({"username": "victim", "password": "long enough pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200, "the owner signs in");

    // Refresh-token replay: the reused token and its successor both die.
    let first = victim["refresh_token"].clone();
    let (status, rotated) = server
        .post("/api/auth/refresh", "", json!({"refresh_token": first}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post("/api/auth/refresh", "", json!({"refresh_token": first}))
        .await;
    assert_eq!(status, 401, "replayed refresh token");
    let (status, _) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": rotated["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 401, "the family is revoked");

    // The replay ended the victim's session: its access token is refused too,
    // so the message is read back by the other member.
    assert_eq!(
        server.get("/api/auth/me", &vt).await.0,
        401,
        "ended session"
    );
    assert_eq!(snapshot(&db.url).await, before, "the database is unchanged");
    let ft = friend["token"].as_str().expect("token");
    let (_, page) = server
        .get(&format!("/api/conversations/{d}/messages"), ft)
        .await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}
