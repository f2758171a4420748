//! What users and outsiders may learn or force: metrics off the public port,
//! presence only for contacts, bounded group creation, a paged conversation
//! list.
mod common;

use common::{TestDb, TestServer, test_config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// Runs `sql` (with `$1`) binding `at` the way the server binds timestamps.
async fn execute_at(url: &str, sql: &str, at: &str) {
    let at: chrono::DateTime<chrono::Utc> = at.parse().expect("timestamp");
    let db = Database::connect(url).await.expect("connect");
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [at.into()],
    ))
    .await
    .expect("execute");
    let _ = db.close().await;
}

#[tokio::test]
async fn metrics_are_served_only_on_their_own_listener_with_the_token() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.metrics_token = Some("scrape-me-0123456789".to_owned());
    let server = TestServer::start_with(config).await;

    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("public");
    assert_eq!(public.status(), 404, "/metrics on the public port");
    let text = public.text().await.unwrap_or_default();
    assert!(!text.contains("http_requests_total"), "{text}");

    let metrics = format!("{}/metrics", server.metrics_url);
    for (label, header) in [
        ("no token", None),
        ("wrong token", Some("Bearer scrape-me-012345678X")),
        ("a prefix of the token", Some("Bearer scrape-me")),
        ("basic auth", Some("Basic c2NyYXBlLW1lOg==")),
    ] {
        let mut req = server.http.get(&metrics);
        if let Some(header) = header {
            req = req.header("authorization", header);
        }
        let res = req.send().await.expect("metrics");
        assert_eq!(res.status(), 401, "{label}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["code"], "unauthorized", "{label}: {body}");
    }
    let res = server
        .http
        .get(&metrics)
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .expect("text")
            .contains("db_pool_connections")
    );
    server.stop().await;
}

#[tokio::test]
async fn profiles_and_search_show_presence_only_to_contacts() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, ta) = server.register("seen").await;
    let (bob, tb) = server.register("friend").await;
    let (_carol, tc) = server.register("stranger").await;
    server.direct(&ta, &bob).await;
    let alice_id = alice["id"].as_i64().expect("id");
    execute_at(
        &db.url,
        &format!("UPDATE users SET status = 'online', last_seen = $1 WHERE id = {alice_id}"),
        "2026-01-01T10:00:00Z",
    )
    .await;
    let name = alice["username"].as_str().expect("username");

    // Bob shares a conversation with Alice: he sees her presence.
    let (status, profile) = server.get(&format!("/api/users/{alice_id}"), &tb).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["user"]["status"], "online", "{profile}");
    assert!(profile["user"]["last_seen"].is_string(), "{profile}");
    let (_, found) = server
        .get(&format!("/api/users/search?query={name}"), &tb)
        .await;
    assert_eq!(found["users"][0]["status"], "online", "{found}");

    // Carol shares nothing with her: offline and no last_seen, wherever she looks.
    let (status, profile) = server.get(&format!("/api/users/{alice_id}"), &tc).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["user"]["username"], name);
    assert_eq!(profile["user"]["status"], "offline", "{profile}");
    assert_eq!(profile["user"]["last_seen"], Value::Null, "{profile}");
    let (_, found) = server
        .get(&format!("/api/users/search?query={name}"), &tc)
        .await;
    assert_eq!(found["users"][0]["id"], alice_id, "{found}");
    assert_eq!(found["users"][0]["status"], "offline", "{found}");
    assert_eq!(found["users"][0]["last_seen"], Value::Null, "{found}");

    // A public room of many members is not a contact either: only small ones count.
    let mut config_limited = test_config(&db);
    config_limited.presence_fanout_limit = 1;
    server.stop().await;
    let server = TestServer::start_with(config_limited).await;
    // A restart marks everyone offline: Alice "connects" again.
    execute_at(
        &db.url,
        &format!("UPDATE users SET status = 'online', last_seen = $1 WHERE id = {alice_id}"),
        "2026-01-01T10:00:00Z",
    )
    .await;
    let (_, profile) = server.get(&format!("/api/users/{alice_id}"), &tb).await;
    assert_eq!(
        profile["user"]["status"], "online",
        "a direct conversation always counts: {profile}"
    );
    let (status, room) = server
        .post(
            "/api/conversations",
            &ta,
            json!({"type": "group", "name": "big", "member_ids": [], "is_public": true}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let (status, _) = server
        .post(
            &format!("/api/conversations/{}/join", room["id"]),
            &tc,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, profile) = server.get(&format!("/api/users/{alice_id}"), &tc).await;
    assert_eq!(profile["user"]["status"], "offline", "{profile}");
    assert_eq!(profile["user"]["last_seen"], Value::Null, "{profile}");
    server.stop().await;
}

#[tokio::test]
async fn a_user_creates_a_bounded_number_of_groups_per_hour() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.groups_per_hour = 3;
    let server = TestServer::start_with(config).await;
    let (_alice, ta) = server.register("creator").await;
    let (_bob, tb) = server.register("other").await;
    let group = |n: usize| json!({"type": "group", "name": format!("g{n}"), "member_ids": []});
    for n in 0..3 {
        let (status, body) = server.post("/api/conversations", &ta, group(n)).await;
        assert_eq!(status, 201, "group {n}: {body}");
    }
    let (status, body) = server.post("/api/conversations", &ta, group(3)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    // Another user's budget is their own.
    let (status, body) = server.post("/api/conversations", &tb, group(4)).await;
    assert_eq!(status, 201, "{body}");
    // An hour later the budget is back.
    execute_at(
        &db.url,
        "UPDATE conversations SET created_at = $1",
        "2020-01-01T00:00:00Z",
    )
    .await;
    let (status, body) = server.post("/api/conversations", &ta, group(5)).await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_conversation_list_pages_on_activity_without_losing_ties() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_me, tm) = server.register("lister").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let (peer, _) = server.register(&format!("peer{n}")).await;
        ids.push(server.direct(&tm, &peer).await);
    }
    // Five of them with the very same activity time: only the id orders them.
    let tied: Vec<String> = ids[1..6].iter().map(|id| id.to_string()).collect();
    let activity = "UPDATE conversations SET last_message_at = $1 WHERE id";
    execute_at(
        &db.url,
        &format!("{activity} IN ({})", tied.join(", ")),
        "2026-03-01T12:00:00.123456Z",
    )
    .await;
    execute_at(
        &db.url,
        &format!("{activity} = {}", ids[6]),
        "2026-03-02T00:00:00Z",
    )
    .await;
    execute_at(
        &db.url,
        &format!("{activity} = {}", ids[0]),
        "2026-02-01T00:00:00Z",
    )
    .await;
    let mut expected = vec![ids[6]];
    expected.extend(ids[1..6].iter().rev());
    expected.push(ids[0]);

    let (status, everything) = server.get("/api/conversations", &tm).await;
    assert_eq!(status, 200);
    let listed = |page: &Value| -> Vec<i64> {
        page["conversations"]
            .as_array()
            .expect("conversations")
            .iter()
            .map(|c| c["id"].as_i64().expect("id"))
            .collect()
    };
    assert_eq!(listed(&everything), expected);
    assert_eq!(everything["has_more"], false);
    assert_eq!(everything["next_before"], Value::Null);

    let mut seen = Vec::new();
    let mut path = "/api/conversations?limit=2".to_owned();
    for _ in 0..10 {
        let (status, page) = server.get(&path, &tm).await;
        assert_eq!(status, 200, "{path}: {page}");
        let ids = listed(&page);
        assert!(ids.len() <= 2, "{page}");
        seen.extend(ids);
        match page["next_before"].as_str() {
            Some(cursor) => {
                assert_eq!(page["has_more"], true);
                path = format!("/api/conversations?limit=2&before={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, expected, "pages of two, in order, each once");
    server.stop().await;
}
