//! Shared test harness: a fresh database per test (SQLite file, or a uniquely
//! named PostgreSQL database when `TEST_POSTGRES_URL` is set) and an in-process
//! server on a free loopback port.
#![allow(dead_code)]

pub mod polling;

use std::path::PathBuf;

pub use chat_core::testing::{TestDb, rand_suffix};
use chat_server::{AppEnv, Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Secret used by test servers (tests forge tokens with other keys).
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-0123456789";

pub fn test_config(db: &TestDb) -> Config {
    Config {
        host: "127.0.0.1".parse().expect("ip"),
        port: 0,
        database_url: Some(db.url.clone()),
        database_max_connections: None,
        database_acquire_timeout: 10,
        redis_url: None,
        redis_prefix: format!("chat-test-{}", rand_suffix()),
        presence_ttl: 15,
        presence_fanout_limit: 100,
        group_max_initial_members: 100,
        groups_per_hour: 20,
        edit_window_seconds: 0,
        socketio_parser: chat_core::SocketParser::Json,
        vapid_private_key: None,
        vapid_subject: None,
        push_preview: false,
        push_collapse_ms: 2000,
        push_allow_private_endpoints: true,
        call_ring_seconds: 30,
        call_grace_seconds: 10,
        stun_urls: None,
        turn_urls: None,
        turn_secret: None,
        turn_credential_ttl: 3600,
        push_concurrency: 32,
        metrics_addr: String::new(),
        metrics_token: None,
        shutdown_timeout: 5,
        rate_limit_per_second: 0,
        rate_limit_burst: 0,
        auth_rate_limit_per_minute: 0,
        auth_rate_limit_burst: 0,
        login_backoff_after: 10,
        login_backoff_max: 900,
        mail_cooldown: 60,
        refresh_reuse_grace: 10,
        session_max_age: 90 * 24 * 3600,
        account_token_purge_interval: 600,
        socket_events_per_second: 1000,
        socket_events_burst: 1000,
        socket_queue_packets: 1024,
        socket_max_payload: 100_000,
        handshakes_per_minute: 0,
        handshakes_burst: 0,
        sockets_per_user: 20,
        trusted_proxies: Vec::new(),
        smtp_url: None,
        mail_from: "Chat <no-reply@localhost>".to_owned(),
        public_url: None,
        jwt_secret: Some(TEST_SECRET.to_owned()),
        access_token_ttl: 900,
        refresh_token_ttl: 3600,
        data_dir: db.dir.path().join("data"),
        max_file_size: 5 * 1024 * 1024,
        max_voice_seconds: 300,
        upload_dir: None,
        max_image_pixels: 40_000_000,
        upload_quota_bytes: 200 * 1024 * 1024,
        upload_decode_memory: 512 * 1024 * 1024,
        upload_orphan_hours: 24,
        client_url: "http://localhost:5173".to_owned(),
        client_dir: PathBuf::from("/nonexistent"),
        app_env: AppEnv::Test,
        log_level: "warn".to_owned(),
        log_json: false,
        generate_vapid_keys: false,
    }
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub url: String,
    /// Base URL of the metrics listener (`/metrics` is not on `url`).
    pub metrics_url: String,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_with(test_config(db)).await
    }

    pub async fn start_with(config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let metrics_url = format!("http://{}", metrics.local_addr().expect("metrics addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(chat_server::run_with_metrics(
            config,
            listener,
            Some(metrics),
            async move {
                let _ = rx.await;
            },
        ));
        let http = reqwest::Client::new();
        // Ready when /health answers (migrations run before serving).
        for _ in 0..200 {
            if task.is_finished() {
                break;
            }
            if http.get(format!("{url}/health")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(!task.is_finished(), "server stopped during start");
        TestServer {
            url,
            metrics_url,
            http,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Registers a user with a unique name; returns (user json, token).
    pub async fn register(&self, prefix: &str) -> (Value, String) {
        let username = format!("{prefix}_{}", &rand_suffix()[..8]);
        let res = self
            .http
            .post(self.url("/api/auth/register"))
            .json(&json!({
                "username": username,
                "email": format!("{username}@example.com"),
                "password": "correct horse battery",
            }))
            .send()
            .await
            .expect("register request");
        assert_eq!(res.status(), 201, "register {username}");
        let body: Value = res.json().await.expect("register json");
        let token = body["token"].as_str().expect("token").to_owned();
        (body["user"].clone(), token)
    }

    /// Opens (or finds) the direct conversation with `other`; returns its id.
    pub async fn direct(&self, token: &str, other: &Value) -> i64 {
        let (status, conv) = self
            .post(
                "/api/conversations",
                token,
                json!({ "user_id": other["id"] }),
            )
            .await;
        assert!(status == 200 || status == 201, "direct: {status} {conv}");
        conv["id"].as_i64().expect("conversation id")
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Any request with a bearer token and an optional JSON body: the
    /// status and the JSON answer (`null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = &body {
            req = req.json(body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
