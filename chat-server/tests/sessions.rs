//! Ended sessions over HTTP, and where cookie-authenticated requests may come from.
mod common;

use common::{TestDb, TestServer};
use serde_json::json;

async fn login(server: &TestServer, username: &str) -> String {
    let (status, body) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": username, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn logout_refuses_the_access_tokens_of_that_session_at_once() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, first) = server.register("ended").await;
    let second = login(&server, alice["username"].as_str().expect("name")).await;
    // Checked (and cached as valid) before the logout.
    assert_eq!(server.get("/api/conversations", &first).await.0, 200);
    let res = server
        .http
        .post(server.url("/api/auth/logout"))
        .bearer_auth(&first)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    for path in [
        "/api/conversations",
        "/api/auth/me",
        "/api/users/search?query=a",
    ] {
        let (status, body) = server.get(path, &first).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthorized")),
            "{path}"
        );
    }
    assert_eq!(
        server.get("/api/conversations", &second).await.0,
        200,
        "the other session goes on"
    );

    // Log out everywhere: the other session's token is refused too.
    let (status, _) = server
        .post("/api/auth/logout-all", &second, json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(server.get("/api/conversations", &second).await.0, 401);
    server.stop().await;
}

#[tokio::test]
async fn the_token_of_a_deleted_user_is_refused() {
    use sea_orm::ConnectionTrait;
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, token) = server.register("gone").await;
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    conn.execute_unprepared(&format!("DELETE FROM users WHERE id = {}", alice["id"]))
        .await
        .expect("delete");
    let (status, _) = server.get("/api/conversations", &token).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn cookie_requests_must_come_from_the_same_scheme_host_and_port() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, token) = server.register("origin_a").await;
    let (bob, _) = server.register("origin_b").await;
    let own = server.url.clone();
    let cookie = format!("access_token={token}");
    let create = |headers: Vec<(&'static str, String)>| {
        let mut req = server
            .http
            .post(server.url("/api/conversations"))
            .json(&json!({ "user_id": bob["id"] }));
        for (name, value) in headers {
            req = req.header(name, value);
        }
        async move { req.send().await.expect("send").status().as_u16() }
    };
    let with_cookie = |mut headers: Vec<(&'static str, String)>| {
        headers.push(("cookie", cookie.clone()));
        headers
    };
    let refused = [
        ("no Origin and no fetch metadata", with_cookie(vec![])),
        (
            "another scheme on the same host and port",
            with_cookie(vec![("origin", own.replace("http://", "https://"))]),
        ),
        (
            "the client's host on another port",
            with_cookie(vec![("origin", "http://localhost:5174".to_owned())]),
        ),
        (
            "cross-site fetch metadata",
            with_cookie(vec![("sec-fetch-site", "cross-site".to_owned())]),
        ),
        (
            "same-site (another subdomain or port) fetch metadata",
            with_cookie(vec![("sec-fetch-site", "same-site".to_owned())]),
        ),
        (
            "an opaque origin",
            with_cookie(vec![("origin", "null".to_owned())]),
        ),
        (
            "a non-Bearer Authorization header beside the cookie",
            with_cookie(vec![
                ("origin", "https://evil.example".to_owned()),
                ("authorization", "Basic YTpi".to_owned()),
            ]),
        ),
        (
            "an invalid Bearer token beside the cookie",
            with_cookie(vec![
                ("origin", "https://evil.example".to_owned()),
                ("authorization", "Bearer not-a-token".to_owned()),
            ]),
        ),
    ];
    for (case, headers) in refused {
        assert_eq!(create(headers).await, 403, "{case}");
    }
    let (_, list) = server.get("/api/conversations", &token).await;
    assert_eq!(
        list["conversations"].as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );
    let allowed = [
        (
            "the client's origin",
            with_cookie(vec![("origin", "http://localhost:5173".to_owned())]),
        ),
        (
            "the server's own origin",
            with_cookie(vec![("origin", own.clone())]),
        ),
        (
            "same-origin fetch metadata without Origin",
            with_cookie(vec![("sec-fetch-site", "same-origin".to_owned())]),
        ),
        (
            "a valid Bearer token from any origin",
            with_cookie(vec![
                ("origin", "https://evil.example".to_owned()),
                ("authorization", format!("Bearer {token}")),
            ]),
        ),
        (
            "no cookie at all",
            vec![
                ("origin", "https://evil.example".to_owned()),
                ("authorization", format!("Bearer {token}")),
            ],
        ),
    ];
    for (case, headers) in allowed {
        let status = create(headers).await;
        assert!(status == 200 || status == 201, "{case}: {status}");
    }
    server.stop().await;
}
