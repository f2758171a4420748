//! Start-up configuration: secrets and data directory.
mod common;

use chat_server::AppEnv;
use common::{TestDb, TestServer, test_config};

#[tokio::test]
async fn production_refuses_to_start_without_a_long_secret() {
    let db = TestDb::new().await;
    for secret in [None, Some("short".to_owned())] {
        let mut config = test_config(&db);
        config.app_env = AppEnv::Production;
        config.jwt_secret = secret.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let err = chat_server::run(config, listener, async {})
            .await
            .expect_err("must not start");
        assert!(err.to_string().contains("JWT_SECRET"), "{secret:?}: {err}");
    }
}

#[tokio::test]
async fn development_generates_and_keeps_a_secret() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.app_env = AppEnv::Development;
    config.jwt_secret = None;
    let server = TestServer::start_with(config.clone()).await;
    let (_, token) = server.register("dev").await;
    server.stop().await;
    let stored = std::fs::read_to_string(config.data_dir.join("jwt_secret")).expect("secret file");
    assert!(stored.len() >= 32);
    // After a restart the same secret is used: existing tokens stay valid.
    let server = TestServer::start_with(config).await;
    let (status, _) = server.get("/api/auth/me", &token).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn health_and_ready_answer() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (status, body) = server.get("/health", "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = server.get("/ready", "").await;
    assert_eq!((status, body["database"].as_bool()), (200, Some(true)));
    let (status, body) = server.get("/api/nothing-here", "").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    server.stop().await;
}

#[tokio::test]
async fn metrics_are_exposed_in_prometheus_format() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("metrics_a").await;
    let (bob, _tb) = server.register("metrics_b").await;
    let (_, conv) = server
        .post(
            "/api/conversations",
            &ta,
            serde_json::json!({ "user_id": bob["id"] }),
        )
        .await;
    let path = format!("/api/conversations/{}/messages", conv["id"]);
    let (status, _) = server
        .post(&path, &ta, serde_json::json!({ "content": "counted" }))
        .await;
    assert_eq!(status, 201);
    let res = server
        .http
        .get(format!("{}/metrics", server.metrics_url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("text");
    for needle in [
        "chat_messages_sent_total",
        "chat_fanout_seconds_bucket",
        "http_requests_total{method=\"POST\",route=\"/api/conversations/{id}/messages\",status=\"201\"}",
        "http_request_duration_seconds_bucket",
        "db_pool_connections{state=\"idle\"}",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn production_without_vapid_keys_answers_push_disabled_and_with_them_serves_the_key() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.app_env = AppEnv::Production;
    let server = TestServer::start_with(config.clone()).await;
    let (status, body) = server.get("/api/push/vapid-public-key", "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("push_disabled"))
    );
    let (_, token) = server.register("nopush").await;
    let subscription = serde_json::json!({
        "endpoint": "https://push.example.com/send/abc",
        "keys": {
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg"
        }
    });
    let (status, body) = server
        .post("/api/push/subscriptions", &token, subscription.clone())
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("push_disabled"))
    );
    server.stop().await;
    assert!(!config.data_dir.join("vapid_private_key").exists());

    // With a key from configuration: served, and production refuses private endpoints.
    let keys = chat_core::push::VapidKeys::generate();
    config.vapid_private_key = Some(keys.private_base64());
    config.vapid_subject = Some("mailto:ops@example.com".to_owned());
    let server = TestServer::start_with(config).await;
    let (status, body) = server.get("/api/push/vapid-public-key", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["key"].as_str(), Some(keys.public_base64().as_str()));
    let (_, token) = server.register("push").await;
    let (status, _) = server
        .post("/api/push/subscriptions", &token, subscription.clone())
        .await;
    assert_eq!(status, 201);
    let mut private = subscription;
    private["endpoint"] = "http://127.0.0.1:9000/push/x".into();
    let (status, body) = server
        .post("/api/push/subscriptions", &token, private)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["details"]["endpoint"].is_string() || body["details"]["endpoint"].is_array(),
        "{body}"
    );
    server.stop().await;
}
