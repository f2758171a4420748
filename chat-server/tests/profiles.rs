//! Profiles over HTTP: `PATCH /api/users/me` (display name and bio rules,
//! avatars cropped from one's own uploaded images only, kept by the orphan
//! sweep), and `POST /api/auth/change-password` (a wrong current password
//! refused, the other sessions ended, the caller's own going on).
mod common;

use std::io::Cursor;

use common::{TestDb, TestServer};
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

async fn patch(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    server
        .call(reqwest::Method::PATCH, "/api/users/me", token, Some(body))
        .await
}

/// A `width` x `height` PNG: red, with a green centre square.
fn png(width: u32, height: u32) -> Vec<u8> {
    let side = width.min(height);
    let (left, top) = ((width - side) / 2, (height - side) / 2);
    let image = RgbImage::from_fn(width, height, |x, y| {
        let inside = (left..left + side).contains(&x) && (top..top + side).contains(&y);
        if inside {
            Rgb([0, 255, 0])
        } else {
            Rgb([255, 0, 0])
        }
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

async fn upload(server: &TestServer, token: &str, bytes: Vec<u8>) -> Value {
    let part = Part::bytes(bytes)
        .file_name("picture.png")
        .mime_str("application/octet-stream")
        .expect("mime");
    let res = server
        .http
        .post(server.url("/api/upload"))
        .bearer_auth(token)
        .multipart(Form::new().part("image", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 201);
    res.json().await.expect("upload json")
}

async fn fetch(server: &TestServer, token: &str, path: &str) -> Vec<u8> {
    let res = server
        .http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200, "{path}");
    res.bytes().await.expect("bytes").to_vec()
}

async fn login(server: &TestServer, username: &str, password: &str) -> (u16, Value) {
    server
        .post(
            "/api/auth/login",
            "",
            json!({"username": username, "password": password}),
        )
        .await
}

#[tokio::test]
async fn display_name_and_bio_follow_their_rules_and_show_everywhere() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, alice_token) = server.register("alice").await;
    let (_, bob_token) = server.register("bob").await;

    let (status, body) = patch(
        &server,
        &alice_token,
        json!({"display_name": "  Alice Martin ", "bio": "Rust and tea"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["display_name"], "Alice Martin");
    assert_eq!(body["user"]["bio"], "Rust and tea");
    assert_eq!(
        body["user"]["email"], alice["email"],
        "the caller's own user"
    );
    let (status, me) = server.get("/api/users/me", &alice_token).await;
    assert_eq!(
        (status, &me["user"]["display_name"]),
        (200, &json!("Alice Martin"))
    );

    // Others see it, without the e-mail, and find alice by it.
    let id = alice["id"].as_i64().expect("id");
    let (_, seen) = server.get(&format!("/api/users/{id}"), &bob_token).await;
    assert_eq!(seen["user"]["display_name"], "Alice Martin");
    assert_eq!(seen["user"]["bio"], "Rust and tea");
    assert!(seen["user"].get("email").is_none());
    let (status, found) = server
        .get("/api/users/search?query=MARTIN", &bob_token)
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["users"][0]["id"], alice["id"]);

    // Messages carry it.
    let (_, bob) = server.get("/api/users/me", &bob_token).await;
    let direct = server.direct(&alice_token, &bob["user"]).await;
    let (status, sent) = server
        .post(
            &format!("/api/conversations/{direct}/messages"),
            &alice_token,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["sender"]["display_name"], "Alice Martin");

    // Hostile values: refused with the field named, nothing changed.
    for (body, field) in [
        (json!({"display_name": "x".repeat(65)}), "display_name"),
        (json!({"display_name": "line\nbreak"}), "display_name"),
        (json!({"display_name": "esc\u{1b}[31m"}), "display_name"),
        (json!({"display_name": "admin\u{202e}txt"}), "display_name"),
        (json!({"display_name": "\u{2066}isolated"}), "display_name"),
        (json!({"bio": "b".repeat(501)}), "bio"),
        (json!({"bio": "nul\u{0}"}), "bio"),
    ] {
        let (status, answer) = patch(&server, &alice_token, body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("validation_failed")),
            "{body}: {answer}"
        );
        assert!(answer["details"][field].is_array(), "{body}: {answer}");
    }
    for body in [
        json!({"display_name": 5}),
        json!({"bio": ["a"]}),
        json!("nope"),
    ] {
        let (status, answer) = patch(&server, &alice_token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let (_, me) = server.get("/api/users/me", &alice_token).await;
    assert_eq!(me["user"]["display_name"], "Alice Martin");

    // A body over the JSON limit is refused before it is read whole.
    let (status, answer) = patch(
        &server,
        &alice_token,
        json!({"bio": "b".repeat(100 * 1024)}),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // null removes; absent leaves; no token is 401.
    let (status, body) = patch(&server, &alice_token, json!({"display_name": null})).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["display_name"], Value::Null);
    assert_eq!(body["user"]["bio"], "Rust and tea");
    assert_eq!(patch(&server, "", json!({"bio": "x"})).await.0, 401);
    server.stop().await;
}

#[tokio::test]
async fn an_avatar_is_a_square_crop_of_ones_own_image_at_256_and_64_px() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let (_, bob) = server.register("bob").await;
    let uploaded = upload(&server, &alice, png(600, 200)).await;

    let (status, body) = patch(&server, &alice, json!({"avatar": uploaded["file_url"]})).await;
    assert_eq!(status, 200, "{body}");
    let avatar = body["user"]["avatar_url"]
        .as_str()
        .expect("avatar url")
        .to_owned();
    assert_ne!(avatar, uploaded["file_url"].as_str().expect("url"));
    let small = avatar.replace(".png", "_thumb.png");
    for (url, side) in [(&avatar, 256), (&small, 64)] {
        let bytes = fetch(&server, &alice, url).await;
        let image = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!(image.dimensions(), (side, side), "{url}");
        // The red sides were cropped away.
        for (x, y) in [(0, 0), (side - 1, side - 1), (side / 2, side / 2)] {
            let [r, g, _, _] = image.get_pixel(x, y).0;
            assert!(g > 200 && r < 40, "{url} ({x}, {y}): {r} {g}");
        }
    }

    // A profile picture is public to signed-in users: bob sees both sizes.
    for url in [&avatar, &small] {
        fetch(&server, &bob, url).await;
    }

    // Someone else's upload, a thumbnail, a made-up name, a path: 422 on avatar.
    let bobs = upload(&server, &bob, png(50, 50)).await;
    let hostile = [
        bobs["file_url"].clone(),
        uploaded["thumbnail_url"].clone(),
        json!(format!("/uploads/{}.png", "a".repeat(64))),
        json!("/uploads/../../etc/passwd"),
        json!("https://evil.example/x.png"),
        json!(""),
    ];
    for value in hostile {
        let (status, answer) = patch(&server, &alice, json!({"avatar": value})).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("validation_failed")),
            "{value}: {answer}"
        );
        assert!(answer["details"]["avatar"].is_array(), "{answer}");
    }
    // An upload row of the caller that is not an image (as a file upload
    // would be) is refused the same way.
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let exec = |sql: &str, values: Vec<sea_orm::Value>| {
        let backend = conn.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Sqlite => sql.replace('$', "?"),
            _ => sql.to_owned(),
        };
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
    };
    let hash = "b".repeat(64);
    let pdf_url = format!("/uploads/{hash}.png");
    let me_id = server.get("/api/users/me", &alice).await.1["user"]["id"]
        .as_i64()
        .expect("id");
    exec(
        "INSERT INTO uploads (uploader_id, file_url, thumbnail_url, mime, width, height, size, created_at) \
         VALUES ($1, $2, $2, 'application/pdf', 0, 0, 10, $3)",
        vec![me_id.into(), pdf_url.clone().into(), chrono::Utc::now().into()],
    )
    .await
    .expect("insert");
    let (status, answer) = patch(&server, &alice, json!({"avatar": pdf_url})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("validation_failed")),
        "{answer}"
    );
    let (_, me) = server.get("/api/users/me", &alice).await;
    assert_eq!(
        me["user"]["avatar_url"],
        json!(avatar),
        "refusals change nothing"
    );

    // The sweep keeps the avatar (row and both files), even when old.
    server.stop().await;
    let old = chrono::Utc::now() - chrono::Duration::days(30);
    exec("UPDATE uploads SET created_at = $1", vec![old.into()])
        .await
        .expect("age");
    let storage =
        chat_server::uploads::LocalStorage::new(db.dir.path().join("data").join("uploads"))
            .expect("storage");
    chat_server::uploads::sweep_orphans(&conn, &storage, chrono::Utc::now())
        .await
        .expect("sweep");
    for url in [&avatar, &small] {
        let name = url.trim_start_matches("/uploads/");
        assert!(
            db.dir
                .path()
                .join("data")
                .join("uploads")
                .join(name)
                .exists(),
            "{url} kept"
        );
    }
    let original = uploaded["file_url"]
        .as_str()
        .expect("url")
        .trim_start_matches("/uploads/");
    assert!(
        !db.dir
            .path()
            .join("data")
            .join("uploads")
            .join(original)
            .exists(),
        "the source upload, used by nothing, is swept"
    );
    let _ = conn.close().await;

    // null removes the avatar.
    let server = TestServer::start(&db).await;
    let (status, body) = patch(&server, &alice, json!({"avatar": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["avatar_url"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn profile_changes_have_a_per_user_budget() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let (_, bob) = server.register("bob").await;
    for i in 0..10 {
        let (status, body) = patch(&server, &alice, json!({"bio": format!("take {i}")})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = patch(&server, &alice, json!({"bio": "one too many"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    assert!(
        body["details"]["retry_after"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(
        patch(&server, &bob, json!({"bio": "mine"})).await.0,
        200,
        "per user"
    );
    server.stop().await;
}

#[tokio::test]
async fn change_password_ends_the_other_sessions_and_keeps_the_callers() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, first) = server.register("alice").await;
    let username = alice["username"].as_str().expect("name").to_owned();
    let (status, other) = login(&server, &username, "correct horse battery").await;
    assert_eq!(status, 200);
    let other_token = other["token"].as_str().expect("token").to_owned();
    let (status, mine) = login(&server, &username, "correct horse battery").await;
    assert_eq!(status, 200);
    let my_token = mine["token"].as_str().expect("token").to_owned();
    let my_refresh = mine["refresh_token"].clone();
    let other_refresh = other["refresh_token"].clone();
    assert_eq!(server.get("/api/conversations", &other_token).await.0, 200);

    // A wrong current password: 403 with a code, nothing changed.
    let (status, body) = server
        .post(
            "/api/auth/change-password",
            &my_token,
            json!({"current_password": "wrong guess!", "new_password": "a new passphrase"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_credentials")),
        "{body}"
    );
    // A new password that registration would refuse; a body without fields.
    let (status, body) = server
        .post(
            "/api/auth/change-password",
            &my_token,
            json!({"current_password": "correct horse battery", "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed")),
        "{body}"
    );
    assert!(body["details"]["new_password"].is_array(), "{body}");
    let (status, _) = server
        .post("/api/auth/change-password", &my_token, json!({}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .post(
            "/api/auth/change-password",
            "",
            json!({"current_password": "x", "new_password": "y"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        server.get("/api/conversations", &other_token).await.0,
        200,
        "still on"
    );

    let (status, body) = server
        .post(
            "/api/auth/change-password",
            &my_token,
            json!({"current_password": "correct horse battery", "new_password": "a new passphrase"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // The other sessions: access and refresh tokens refused at once.
    for token in [&first, &other_token] {
        assert_eq!(server.get("/api/conversations", token).await.0, 401);
    }
    let (status, _) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": other_refresh}),
        )
        .await;
    assert_eq!(status, 401, "the other session's refresh token is revoked");
    // The caller's session goes on, refresh included.
    assert_eq!(server.get("/api/conversations", &my_token).await.0, 200);
    let (status, refreshed) = server
        .post(
            "/api/auth/refresh",
            "",
            json!({"refresh_token": my_refresh}),
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    // Only the new password logs in.
    assert_eq!(
        login(&server, &username, "correct horse battery").await.0,
        401
    );
    assert_eq!(login(&server, &username, "a new passphrase").await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn wrong_current_passwords_back_off_like_logins() {
    let db = TestDb::new().await;
    let mut config = common::test_config(&db);
    config.login_backoff_after = 2;
    let server = TestServer::start_with(config).await;
    let (_, token) = server.register("alice").await;
    let wrong = json!({"current_password": "wrong guess!", "new_password": "a new passphrase"});
    for _ in 0..2 {
        let (status, _) = server
            .post("/api/auth/change-password", &token, wrong.clone())
            .await;
        assert_eq!(status, 403);
    }
    let (status, body) = server
        .post(
            "/api/auth/change-password",
            &token,
            json!({"current_password": "correct horse battery", "new_password": "a new passphrase"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    server.stop().await;
}
