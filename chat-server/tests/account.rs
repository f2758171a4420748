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
    assert!(mails_to(&outbox, "nobody@example.com").is_empty());
    let resets: Vec<Value> = mails_to(&outbox, "forgetful@example.com")
        .into_iter()
        .filter(|m| m["subject"] == "Reset your password")
        .collect();
    assert_eq!(resets.len(), 1);
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
