//! E-mail verification, password reset and "log out everywhere", end to end
//! through the outbox mailer.
mod common;

use std::path::Path;

use common::{TestDb, TestServer, test_config};
use serde_json::{Value, json};

/// Mails in the outbox addressed to `to`, oldest first.
fn mails_to(outbox: &Path, to: &str) -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(outbox)
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(|m| m["to"] == to)
        .collect()
}

fn code_in(mail: &Value, label: &str) -> String {
    mail["body"]
        .as_str()
        .and_then(|b| b.lines().find_map(|l| l.strip_prefix(label)))
        .map(str::trim)
        .expect("code in mail")
        .to_owned()
}

#[tokio::test]
async fn verification_mail_confirms_the_address_once() {
    let db = TestDb::new().await;
    let config = test_config(&db);
    let outbox = config.data_dir.join("outbox");
    let server = TestServer::start_with(config).await;
    let (user, token) = server.register("verify").await;
    let email = user["email"].as_str().expect("email");
    assert_eq!(user["email_verified"], false);
    let mails = mails_to(&outbox, email);
    assert_eq!(mails.len(), 1, "one verification mail");
    let code = code_in(&mails[0], "Verification code:");
    let (status, body) = server
        .post("/api/auth/verify-email", "", json!({ "token": code }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email_verified"], true);
    let (_, me) = server.get("/api/auth/me", &token).await;
    assert_eq!(me["user"]["email_verified"], true);
    let (status, body) = server
        .post("/api/auth/verify-email", "", json!({ "token": code }))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed")),
        "single use"
    );
    let (status, _) = server
        .post("/api/auth/verify-email", "", json!({ "token": "forged" }))
        .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn password_reset_works_once_and_ends_every_session() {
    let db = TestDb::new().await;
    let config = test_config(&db);
    let outbox = config.data_dir.join("outbox");
    let server = TestServer::start_with(config).await;
    let (status, registered) = server
        .post(
            "/api/auth/register",
            "",
            json!({"username": "forgetful", "email": "forgetful@example.com", "password": "old password 1"}),
        )
        .await;
    assert_eq!(status, 201);
    let old_refresh = registered["refresh_token"].clone();

    // Same answer for a registered and an unknown address; mail only for the first.
    let (s1, known) = server
        .post(
            "/api/auth/forgot-password",
            "",
            json!({"email": "Forgetful@example.com"}),
        )
        .await;
    let (s2, unknown) = server
        .post(
            "/api/auth/forgot-password",
            "",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(known, unknown, "the response does not reveal registration");
    // The mail goes out from a background task, after the answer.
    let resets = wait_for_mails(&outbox, "forgetful@example.com", "Reset your password", 1).await;
    assert_eq!(resets.len(), 1);
    assert!(mails_to(&outbox, "nobody@example.com").is_empty());
    let code = code_in(&resets[0], "Reset code:");

    let (status, body) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": code, "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );
    let (status, _) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": code, "password": "new password 2"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": code, "password": "third password 3"}),
        )
        .await;
    assert_eq!(status, 400, "a reset code works once");

    let (status, _) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "forgetful", "password": "old password 1"}),
        )
        .await;
    assert_eq!(status, 401, "old password no longer works");
    let (status, _) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "forgetful", "password": "new password 2"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": old_refresh}),
        )
        .await;
    assert_eq!(status, 401, "sessions from before the reset are revoked");
    server.stop().await;
}

#[tokio::test]
async fn logout_all_revokes_every_refresh_token() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (status, first) = server
        .post(
            "/api/auth/register",
            "",
            json!({"username": "many", "email": "many@example.com", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, second) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": "many", "password": "long enough pw"}),
        )
        .await;
    let token = second["token"].as_str().expect("token");
    let res = server
        .http
        .post(server.url("/api/auth/logout-all"))
        .bearer_auth(token)
        .send()
        .await
        .expect("logout-all");
    assert_eq!(res.status(), 204);
    for session in [&first, &second] {
        let (status, _) = server
            .post(
                "/api/auth/refresh",
                "",
                json!({"refresh_token": session["refresh_token"]}),
            )
            .await;
        assert_eq!(status, 401);
    }
    server.stop().await;
}

/// Waits (up to 10 s) until `count` mails with `subject` reached `to`.
async fn wait_for_mails(outbox: &Path, to: &str, subject: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mails: Vec<Value> = mails_to(outbox, to)
            .into_iter()
            .filter(|m| m["subject"] == subject)
            .collect();
        if mails.len() >= count || std::time::Instant::now() > deadline {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Whether the address is registered or not, forgot-password answers the
/// same, at once: the lookup, the token and the mail happen after the answer.
/// Shown with a mail server that accepts the connection and never answers.
#[tokio::test]
async fn forgot_password_answers_at_once_even_when_the_mail_server_hangs() {
    let db = TestDb::new().await;
    // Registered through a server that writes mail to the outbox.
    let registrar = TestServer::start(&db).await;
    let (status, _) = registrar
        .post(
            "/api/auth/register",
            "",
            json!({"username": "patient", "email": "patient@example.com", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(status, 201);
    registrar.stop().await;

    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut config = test_config(&db);
    config.smtp_url = Some(format!("smtp://{}", smtp.local_addr().expect("addr")));
    let server = TestServer::start_with(config).await;
    let ask = |email: &'static str| {
        let req = server
            .http
            .post(server.url("/api/auth/forgot-password"))
            .json(&json!({ "email": email }));
        async move {
            let res = tokio::time::timeout(std::time::Duration::from_secs(5), req.send())
                .await
                .expect("the answer does not wait for the mail server")
                .expect("forgot-password");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("json"))
        }
    };
    let known = ask("patient@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "same status and body");
    // The mail for the registered address is on its way, stuck at the server.
    let (stuck, _) = tokio::time::timeout(std::time::Duration::from_secs(10), smtp.accept())
        .await
        .expect("the reset mail is being sent")
        .expect("accept");
    let mut probe = [0u8; 1];
    assert!(
        stuck.try_read(&mut probe).is_err(),
        "the mailer is still waiting for the greeting"
    );
    server.stop().await;
}

/// Reset mails still arrive (from the background task), once per cooldown
/// per address however often they are asked for.
#[tokio::test]
async fn reset_mails_arrive_once_per_cooldown() {
    let db = TestDb::new().await;
    let config = test_config(&db);
    let outbox = config.data_dir.join("outbox");
    let server = TestServer::start_with(config).await;
    let (user, _) = server.register("bombed").await;
    let email = user["email"].as_str().expect("email").to_owned();
    for _ in 0..5 {
        let (status, _) = server
            .post("/api/auth/forgot-password", "", json!({ "email": email }))
            .await;
        assert_eq!(status, 202);
    }
    let mails = wait_for_mails(&outbox, &email, "Reset your password", 1).await;
    assert_eq!(mails.len(), 1, "the mail arrives");
    // Give any further (wrongly sent) mail the time to show up.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = wait_for_mails(&outbox, &email, "Reset your password", 1).await;
    assert_eq!(mails.len(), 1, "one mail per cooldown, not five");
    server.stop().await;
}

/// resend-verification waits out the cooldown of the address and counts
/// against the strict per-IP limit of the credential routes.
#[tokio::test]
async fn resend_verification_is_limited_per_address_and_per_ip() {
    let db = TestDb::new().await;
    let config = test_config(&db);
    let server = TestServer::start_with(config).await;
    let (_, token) = server.register("resender").await;
    let (status, body) = server
        .post("/api/auth/resend-verification", &token, json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "the registration mail went out moments ago: {body}"
    );
    let wait = body["details"]["retry_after"]
        .as_u64()
        .expect("retry_after");
    assert!((1..=60).contains(&wait), "{wait}");
    server.stop().await;

    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.mail_cooldown = 0;
    config.auth_rate_limit_per_minute = 1;
    config.auth_rate_limit_burst = 3;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let outbox = config.data_dir.join("outbox");
    let server = TestServer::start_with(config).await;
    let res = server
        .http
        .post(server.url("/api/auth/register"))
        .header("x-forwarded-for", "192.0.2.1")
        .json(&json!({"username": "flooder", "email": "flooder@example.com", "password": "long enough pw"}))
        .send()
        .await
        .expect("register");
    let token = res.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = server
            .http
            .post(server.url("/api/auth/resend-verification"))
            .bearer_auth(&token)
            .header("x-forwarded-for", "192.0.2.2")
            .send()
            .await
            .expect("resend");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429]);
    assert_eq!(
        mails_to(&outbox, "flooder@example.com").len(),
        4,
        "registration + three"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_reset_invalidates_every_other_reset_link() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.mail_cooldown = 0;
    let outbox = config.data_dir.join("outbox");
    let server = TestServer::start_with(config).await;
    let (user, _) = server.register("twice").await;
    let email = user["email"].as_str().expect("email").to_owned();
    let username = user["username"].as_str().expect("name").to_owned();
    for expected in 1..=2 {
        let (status, _) = server
            .post("/api/auth/forgot-password", "", json!({ "email": email }))
            .await;
        assert_eq!(status, 202);
        // One at a time, so the mails are in order.
        let mails = wait_for_mails(&outbox, &email, "Reset your password", expected).await;
        assert_eq!(mails.len(), expected);
    }
    let mails = wait_for_mails(&outbox, &email, "Reset your password", 2).await;
    let first = code_in(&mails[0], "Reset code:");
    let second = code_in(&mails[1], "Reset code:");
    let (status, _) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": second, "password": "brand new password"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": first, "password": "attacker's password"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed")),
        "the older link died with the reset"
    );
    let (status, _) = server
        .post(
            "/api/auth/login",
            "",
            json!({"username": username, "password": "brand new password"}),
        )
        .await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// Expired verification and reset tokens are deleted: periodically by a task
/// the server owns, and at once when one is presented.
#[tokio::test]
async fn expired_account_tokens_are_purged() {
    use chat_core::entity::account_token;
    use chat_core::ids::UserId;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

    let db = TestDb::new().await;
    // First with the default interval: nothing periodic runs during the test.
    let server = TestServer::start(&db).await;
    let (user, _) = server.register("stale").await;
    let user_id: UserId = serde_json::from_value(user["id"].clone()).expect("id");
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let expired = |hash: &str| account_token::ActiveModel {
        user_id: Set(user_id),
        purpose: Set("reset_password".to_owned()),
        token_hash: Set(hash.to_owned()),
        expires_at: Set(chrono::Utc::now() - chrono::Duration::minutes(5)),
        used_at: Set(None),
        created_at: Set(chrono::Utc::now() - chrono::Duration::hours(2)),
        ..Default::default()
    };
    let count = |conn: sea_orm::DatabaseConnection| async move {
        account_token::Entity::find()
            .filter(account_token::Column::UserId.eq(user_id))
            .all(&conn)
            .await
            .expect("tokens")
            .len()
    };
    // Presented: gone at once.
    let presented = "an-expired-reset-code";
    let digest = sha_hex(presented);
    expired(&digest).insert(&conn).await.expect("insert");
    assert_eq!(count(conn.clone()).await, 2, "verification + expired");
    let (status, _) = server
        .post(
            "/api/auth/reset-password",
            "",
            json!({"token": presented, "password": "new long password"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(count(conn.clone()).await, 1, "deleted when presented");
    server.stop().await;
    // Not presented: the periodic purge takes it.
    let mut config = test_config(&db);
    config.account_token_purge_interval = 1;
    let server = TestServer::start_with(config).await;
    expired("never-presented")
        .insert(&conn)
        .await
        .expect("insert");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(conn.clone()).await > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(conn.clone()).await,
        1,
        "purged; the valid verification token stays"
    );
    let _ = conn.close().await;
    server.stop().await;
}

fn sha_hex(token: &str) -> String {
    chat_server::auth::hash_refresh_token(token)
}
