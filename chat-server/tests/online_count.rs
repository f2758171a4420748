//! `online_count` in the REST answers: a group's and a public room's count in
//! `GET /api/conversations/:id` and `GET /api/rooms` follows a member's
//! socket opening and closing; direct conversations carry none.
mod common;

use std::time::{Duration, Instant};

use common::polling::Polling;
use common::{TestDb, TestServer};
use serde_json::{Value, json};

/// Polls `read` until it answers `want` (counts follow presence within a
/// tick or two).
async fn until<F, Fut>(want: Value, mut read: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = read().await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "wanted {want}, got {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn groups_and_rooms_carry_the_members_online() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice, alice_token) = server.register("alice").await;
    let (bob, bob_token) = server.register("bob").await;
    let (_carol, carol_token) = server.register("carol").await;
    let (status, room) = server
        .post(
            "/api/conversations",
            &alice_token,
            json!({"type": "group", "name": "lobby", "member_ids": [bob["id"]], "is_public": true}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_i64().expect("id");
    let direct = server.direct(&alice_token, &bob).await;

    let (status, shown) = server
        .get(&format!("/api/conversations/{room_id}"), &alice_token)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["online_count"], 0, "{shown}");
    let (_, shown) = server
        .get(&format!("/api/conversations/{direct}"), &alice_token)
        .await;
    assert!(
        shown.get("online_count").is_none(),
        "a direct conversation carries no online count: {shown}"
    );

    let socket = Polling::connected(&server, &bob_token).await;
    let show = || async {
        server
            .get(&format!("/api/conversations/{room_id}"), &alice_token)
            .await
            .1["online_count"]
            .clone()
    };
    // Carol is no member: the room list tells her too.
    let listed = || async {
        let (status, rooms) = server.get("/api/rooms", &carol_token).await;
        assert_eq!(status, 200, "{rooms}");
        rooms
            .as_array()
            .or_else(|| rooms["rooms"].as_array())
            .and_then(|rooms| rooms.iter().find(|r| r["id"] == room_id))
            .map(|r| r["online_count"].clone())
            .unwrap_or(Value::Null)
    };
    until(json!(1), show).await;
    until(json!(1), listed).await;
    socket.close().await;
    until(json!(0), show).await;
    until(json!(0), listed).await;
    let _ = alice;
}
