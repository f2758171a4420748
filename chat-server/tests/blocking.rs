//! Blocking over HTTP: `POST` / `DELETE /api/users/:id/block` (204, both
//! idempotent), `GET /api/users/me/blocks` (`{users}`), their refusals, and
//! what a block refuses (403 `blocked`) and hides.
mod common;

use common::{TestDb, TestServer};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// A request's status and its raw body (to check that a 204 has none).
async fn raw(server: &TestServer, method: Method, path: &str, token: &str) -> (u16, String) {
    let res = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

fn id(user: &Value) -> i64 {
    user["id"].as_i64().expect("id")
}

#[tokio::test]
async fn block_unblock_and_list_answer_as_documented() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("alice").await;
    let (bob, tb) = server.register("bob").await;
    let (carol, _tc) = server.register("carol").await;
    let block = |user: &Value| format!("/api/users/{}/block", id(user));

    let (status, body) = server.get("/api/users/me/blocks", &ta).await;
    assert_eq!((status, body), (200, json!({ "users": [] })));
    for _ in 0..2 {
        assert_eq!(
            raw(&server, Method::POST, &block(&bob), &ta).await,
            (204, String::new()),
            "blocking (again) is 204 with no body"
        );
    }
    assert_eq!(raw(&server, Method::POST, &block(&carol), &ta).await.0, 204);
    let (status, body) = server.get("/api/users/me/blocks", &ta).await;
    assert_eq!(status, 200, "{body}");
    let users = body["users"].as_array().expect("users");
    let ids: Vec<i64> = users.iter().map(id).collect();
    assert_eq!(ids, [id(&carol), id(&bob)], "latest first: {body}");
    for user in users {
        // A user object as everywhere else: never an e-mail address.
        let mut keys: Vec<&str> = user
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "avatar_url",
                "bio",
                "display_name",
                "id",
                "last_seen",
                "status",
                "username"
            ]
        );
    }
    // The list is the caller's own.
    let (_, body) = server.get("/api/users/me/blocks", &tb).await;
    assert_eq!(body, json!({ "users": [] }));

    for _ in 0..2 {
        assert_eq!(
            raw(&server, Method::DELETE, &block(&carol), &ta).await,
            (204, String::new()),
            "unblocking (again) is 204 with no body"
        );
    }
    let (_, body) = server.get("/api/users/me/blocks", &ta).await;
    assert_eq!(body["users"].as_array().map(Vec::len), Some(1), "{body}");

    // Refusals: oneself, nobody, no token.
    let (status, body) = server.call(Method::POST, &block(&bob), &tb, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "validation_failed");
    assert!(body["details"]["user_id"].is_array(), "{body}");
    let (status, body) = server
        .call(Method::POST, "/api/users/987654/block", &ta, None)
        .await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    let (status, body) = server
        .call(Method::DELETE, "/api/users/987654/block", &ta, None)
        .await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    for (method, path) in [
        (Method::POST, block(&bob)),
        (Method::DELETE, block(&bob)),
        (Method::GET, "/api/users/me/blocks".to_owned()),
    ] {
        let res = server
            .http
            .request(method.clone(), server.url(&path))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401, "{method} {path}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["code"], "unauthorized", "{method} {path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_block_refuses_the_direct_conversation_with_403_blocked_until_unblocked() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, ta) = server.register("alice").await;
    let (bob, tb) = server.register("bob").await;
    let direct = server.direct(&ta, &bob).await;
    let messages = format!("/api/conversations/{direct}/messages");
    let (status, _) = server
        .post(&messages, &tb, json!({ "content": "hi" }))
        .await;
    assert_eq!(status, 201);

    let block = format!("/api/users/{}/block", id(&bob));
    assert_eq!(raw(&server, Method::POST, &block, &ta).await.0, 204);

    let refused = |status: u16, body: &Value| {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "blocked", "{body}");
        body["error"].as_str().expect("sentence").to_owned()
    };
    let (status, body) = server
        .post(&messages, &tb, json!({ "content": "why?" }))
        .await;
    assert_eq!(refused(status, &body), "this user has blocked you");
    let (status, body) = server
        .post("/api/conversations", &tb, json!({ "user_id": id(&alice) }))
        .await;
    refused(status, &body);
    let (status, body) = server
        .post(&messages, &ta, json!({ "content": "bye" }))
        .await;
    assert!(refused(status, &body).contains("you blocked"), "{body}");
    // The blocker still opens and reads it; so does the blocked user.
    let (status, body) = server
        .post("/api/conversations", &ta, json!({ "user_id": id(&bob) }))
        .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(direct)), "{body}");
    for token in [&ta, &tb] {
        let (status, body) = server.get(&messages, token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(1));
    }

    assert_eq!(raw(&server, Method::DELETE, &block, &ta).await.0, 204);
    let (status, body) = server
        .post(&messages, &tb, json!({ "content": "thanks" }))
        .await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_user_blocks_at_most_1000_users() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (me, token) = server.register("picky").await;
    // 1001 users, 999 of them blocked already, straight in the database.
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let ts = "'2026-01-01T00:00:00Z'";
    let rows: Vec<String> = (0..1001)
        .map(|n| format!("('many{n}', 'many{n}', 'many{n}@example.com', '', 'offline', {ts})"))
        .collect();
    conn.execute_unprepared(&format!(
        "INSERT INTO users (username, username_key, email, password_hash, status, created_at) VALUES {}",
        rows.join(", ")
    ))
    .await
    .expect("users");
    conn.execute_unprepared(&format!(
        "INSERT INTO user_blocks (blocker_id, blocked_id, created_at) \
         SELECT {}, id, {ts} FROM users WHERE username_key IN ({})",
        id(&me),
        (0..999)
            .map(|n| format!("'many{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .await
    .expect("blocks");
    let path = |n: usize| block_path(&db.url, n);

    assert_eq!(
        raw(&server, Method::POST, &path(999).await, &token).await.0,
        204,
        "the 1000th"
    );
    let (status, body) = server
        .call(Method::POST, &path(1000).await, &token, None)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unprocessable", "{body}");
    assert_eq!(
        raw(&server, Method::POST, &path(3).await, &token).await.0,
        204,
        "one of them again"
    );
    let (_, body) = server.get("/api/users/me/blocks", &token).await;
    assert_eq!(body["users"].as_array().map(Vec::len), Some(1000));
    server.stop().await;
}

/// The block route of the seeded user `many<n>`.
async fn block_path(url: &str, n: usize) -> String {
    let conn = sea_orm::Database::connect(url).await.expect("connect");
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT id FROM users WHERE username_key = 'many{n}'"),
        ))
        .await
        .expect("query")
        .expect("row");
    let id: i64 = row.try_get_by_index(0).expect("id");
    format!("/api/users/{id}/block")
}
