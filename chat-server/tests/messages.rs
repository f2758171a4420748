//! Messages over REST: storage, ordering, idempotency, membership, history paging.
mod common;

use std::collections::BTreeSet;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

/// Alice's group with Bob, and Carol who is not in it: their tokens, Bob's
/// user and the group.
struct Trio {
    ta: String,
    tb: String,
    tc: String,
    bob: Value,
    group: Value,
}

async fn trio(server: &TestServer, prefix: &str) -> Trio {
    let (_, ta) = server.register(&format!("{prefix}_alice")).await;
    let (bob, tb) = server.register(&format!("{prefix}_bob")).await;
    let (_, tc) = server.register(&format!("{prefix}_carol")).await;
    let (status, group) = server
        .post(
            "/api/conversations",
            &ta,
            json!({ "type": "group", "name": prefix, "member_ids": [bob["id"]] }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    Trio {
        ta,
        tb,
        tc,
        bob,
        group,
    }
}

#[tokio::test]
async fn concurrent_senders_get_contiguous_seq_and_rev_in_commit_order() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(server.register(&format!("s{i}")).await);
    }
    let ids: Vec<Value> = users[1..].iter().map(|(u, _)| u["id"].clone()).collect();
    let (status, group) = server
        .post(
            "/api/conversations",
            &users[0].1,
            json!({ "type": "group", "name": "ordering", "member_ids": ids }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let conv = group["id"].as_i64().expect("id");

    const PER_SENDER: usize = 30;
    let mut tasks = Vec::new();
    for (i, (_, token)) in users.iter().enumerate() {
        let http = server.http.clone();
        let url = server.url(&format!("/api/conversations/{conv}/messages"));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..PER_SENDER {
                let res = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "content": format!("sender {i} message {n}") }))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), 201);
                let m: Value = res.json().await.expect("json");
                // A new conversation's sends are its only changes: each
                // takes the next seq and the next revision together.
                assert_eq!(m["rev"], m["seq"], "{m}");
                acked.push((
                    m["id"].as_i64().expect("id"),
                    m["seq"].as_i64().expect("seq"),
                ));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("sender task"));
    }
    let total = users.len() * PER_SENDER;
    let seqs: BTreeSet<i64> = acked.iter().map(|&(_, s)| s).collect();
    assert_eq!(seqs.len(), total, "every ack has its own seq");
    assert_eq!(
        seqs,
        (1..=total as i64).collect(),
        "seq is 1..N without gaps"
    );

    // Reading history with after_seq in pages gives 1..N in order, and a message
    // with a higher seq was committed later (so its id is higher too).
    let mut after = 0;
    let mut history = Vec::new();
    loop {
        let (status, page) = server
            .get(
                &format!("/api/conversations/{conv}/messages?after_seq={after}&limit=100"),
                &users[0].1,
            )
            .await;
        assert_eq!(status, 200);
        let msgs = page["messages"].as_array().expect("messages").clone();
        for m in &msgs {
            history.push((
                m["id"].as_i64().expect("id"),
                m["seq"].as_i64().expect("seq"),
            ));
        }
        after = history.last().map(|&(_, s)| s).unwrap_or(0);
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert_eq!(history.len(), total);
    for (i, window) in history.windows(2).enumerate() {
        assert_eq!(window[1].1, window[0].1 + 1, "contiguous at {i}");
        assert!(
            window[1].0 > window[0].0,
            "ids follow seq (commit order) at {i}"
        );
    }

    // The catch-up of every change, in pages by revision, gives the same
    // messages in the same order, and the conversation's last revision.
    let mut after_rev = 0;
    let mut by_rev = Vec::new();
    loop {
        let (status, page) = server
            .get(
                &format!("/api/conversations/{conv}/messages?after_rev={after_rev}&limit=70"),
                &users[0].1,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["last_rev"], total, "{page}");
        let msgs = page["messages"].as_array().expect("messages").clone();
        for m in &msgs {
            let rev = m["rev"].as_i64().expect("rev");
            assert!(rev > after_rev, "only changes after the revision asked");
            by_rev.push((
                m["id"].as_i64().expect("id"),
                m["seq"].as_i64().expect("seq"),
            ));
            after_rev = rev;
        }
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert_eq!(
        by_rev, history,
        "by revision, the same messages in commit order"
    );
    let (_, listed) = server
        .get(&format!("/api/conversations/{conv}"), &users[1].1)
        .await;
    assert_eq!(listed["last_rev"], total, "{listed}");
    assert_eq!(listed["last_message"]["rev"], total, "{listed}");
    server.stop().await;
}

#[tokio::test]
async fn history_pages_backwards_and_catches_up() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("alice").await;
    let (bob, tb) = server.register("bob").await;
    let conv = server.direct(&ta, &bob).await;
    for n in 1..=25 {
        let (status, _) = server
            .post(
                &format!("/api/conversations/{conv}/messages"),
                &ta,
                json!({ "content": format!("m{n}") }),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, page) = server
        .get(&format!("/api/conversations/{conv}/messages?limit=10"), &tb)
        .await;
    let msgs = page["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 10);
    assert_eq!(msgs[0]["content"], "m25", "newest first");
    assert_eq!(page["has_more"], true);
    let oldest = msgs[9]["id"].as_i64().expect("id");
    let (_, older) = server
        .get(
            &format!("/api/conversations/{conv}/messages?limit=20&before={oldest}"),
            &tb,
        )
        .await;
    let older = older.clone();
    let msgs = older["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 15);
    assert_eq!(msgs[0]["content"], "m15");
    assert_eq!(msgs[14]["content"], "m1");
    assert_eq!(older["has_more"], false);

    let (_, caught_up) = server
        .get(
            &format!("/api/conversations/{conv}/messages?after_seq=20"),
            &tb,
        )
        .await;
    let contents: Vec<&str> = caught_up["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        contents,
        ["m21", "m22", "m23", "m24", "m25"],
        "oldest first"
    );

    for bad in [
        "limit=0",
        "limit=101",
        "before=1&after_seq=0",
        "after_seq=-1",
        "after_rev=-1",
        "after_rev=3&after_seq=0",
        "before=1&after_rev=0",
        "after_rev=abc",
        "limit=abc",
        "before=999999",
    ] {
        let (status, body) = server
            .get(&format!("/api/conversations/{conv}/messages?{bad}"), &tb)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["code"].is_string(), "{bad}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn repeated_client_id_returns_the_stored_message() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("alice").await;
    let (bob, tb) = server.register("bob").await;
    let conv = server.direct(&ta, &bob).await;
    let path = format!("/api/conversations/{conv}/messages");
    let (s1, first) = server
        .post(
            &path,
            &ta,
            json!({ "content": "once", "client_id": "abc-1" }),
        )
        .await;
    let (s2, second) = server
        .post(
            &path,
            &ta,
            json!({ "content": "once", "client_id": "abc-1" }),
        )
        .await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(first["id"], second["id"]);
    let (_, page) = server.get(&path, &tb).await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}

#[tokio::test]
async fn non_members_cannot_read_or_write() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("alice").await;
    let (bob, _tb) = server.register("bob").await;
    let (_eve, te) = server.register("eve").await;
    let conv = server.direct(&ta, &bob).await;
    let path = format!("/api/conversations/{conv}/messages");
    let (status, body) = server.post(&path, &te, json!({ "content": "hi" })).await;
    // A private conversation one is not in answers like one that does not exist.
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = server.get(&path, &te).await;
    assert_eq!(status, 404);
    let (status, _) = server.get(&format!("/api/conversations/{conv}"), &te).await;
    assert_eq!(status, 404);
    let (status, _) = server.get("/api/conversations/999999", &te).await;
    assert_eq!(status, 404);
    let (_, page) = server.get(&path, &ta).await;
    assert_eq!(
        page["messages"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );
    let (_, list) = server.get("/api/conversations", &te).await;
    assert_eq!(list["conversations"].as_array().map(Vec::len), Some(0));
    server.stop().await;
}

#[tokio::test]
async fn invalid_messages_are_refused_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_alice, ta) = server.register("alice").await;
    let (bob, tb) = server.register("bob").await;
    let conv = server.direct(&ta, &bob).await;
    let path = format!("/api/conversations/{conv}/messages");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "content": "" }), 400, "validation_failed"),
        (json!({ "content": "   \n\t " }), 400, "validation_failed"),
        (
            json!({ "content": "x".repeat(4001) }),
            400,
            "validation_failed",
        ),
        (json!({ "content": 42 }), 400, "invalid_body"),
        (json!({ "content": ["a"] }), 400, "invalid_body"),
        (
            json!({ "content": "hi", "message_type": "system" }),
            400,
            "validation_failed",
        ),
        (
            json!({ "content": "hi", "message_type": "video" }),
            400,
            "invalid_body",
        ),
        (
            json!({ "content": "", "message_type": "image" }),
            400,
            "validation_failed",
        ),
        (
            json!({ "content": "hi", "client_id": "x".repeat(65) }),
            400,
            "validation_failed",
        ),
        (
            json!({ "content": "hi", "client_id": 7 }),
            400,
            "invalid_body",
        ),
        (json!([1, 2]), 400, "invalid_body"),
        (json!("text"), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let (got, res) = server.post(&path, &ta, body.clone()).await;
        assert_eq!(
            (got, res["code"].as_str()),
            (status, Some(code)),
            "{body} -> {res}"
        );
        assert!(res["error"].is_string(), "{res}");
    }
    // Exactly 4000 characters (multi-byte ones count as one) is fine.
    let (status, m) = server
        .post(&path, &ta, json!({ "content": "é".repeat(4000) }))
        .await;
    assert_eq!(status, 201, "{m}");
    // SQL-looking text is stored verbatim and harms nothing.
    let sql = "'; DROP TABLE messages; --";
    let (status, m) = server.post(&path, &ta, json!({ "content": sql })).await;
    assert_eq!((status, m["content"].as_str()), (201, Some(sql)));
    let (_, page) = server.get(&path, &tb).await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(2));
    server.stop().await;
}

#[tokio::test]
async fn messages_are_edited_and_deleted_by_the_rules() {
    use reqwest::Method;

    let db = TestDb::new().await;
    let mut config = common::test_config(&db);
    config.edit_window_seconds = 2;
    let server = TestServer::start_with(config).await;
    let Trio {
        ta, tb, tc, group, ..
    } = trio(&server, "ed").await;
    let conv = group["id"].as_i64().expect("id");
    let send = |token: &str, text: &str| {
        let (path, token, body) = (
            format!("/api/conversations/{conv}/messages"),
            token.to_owned(),
            json!({ "content": text }),
        );
        let server = &server;
        async move {
            let (status, m) = server.post(&path, &token, body).await;
            assert_eq!(status, 201, "{m}");
            m
        }
    };
    let mine = send(&ta, "helo").await;
    let bobs = send(&tb, "from bob").await;
    let path = |m: &Value| format!("/api/messages/{}", m["id"]);

    let (status, edited) = server
        .call(
            Method::PATCH,
            &path(&mine),
            &ta,
            Some(json!({ "content": " hello " })),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["content"], "hello");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(edited["rev"], bobs["rev"].as_i64().expect("rev") + 1);

    let refused = [
        (
            "someone else's message",
            Method::PATCH,
            path(&mine),
            &tb,
            Some(json!({ "content": "x" })),
            403,
            "forbidden",
        ),
        (
            "a message of a conversation one is not in",
            Method::PATCH,
            path(&mine),
            &tc,
            Some(json!({ "content": "x" })),
            404,
            "not_found",
        ),
        (
            "empty content",
            Method::PATCH,
            path(&mine),
            &ta,
            Some(json!({ "content": " " })),
            400,
            "validation_failed",
        ),
        (
            "content too long",
            Method::PATCH,
            path(&mine),
            &ta,
            Some(json!({ "content": "x".repeat(4001) })),
            400,
            "validation_failed",
        ),
        (
            "content as a number",
            Method::PATCH,
            path(&mine),
            &ta,
            Some(json!({ "content": 5 })),
            400,
            "invalid_body",
        ),
        (
            "message 0",
            Method::PATCH,
            "/api/messages/0".to_owned(),
            &ta,
            Some(json!({ "content": "x" })),
            400,
            "validation_failed",
        ),
        (
            "a message that does not exist",
            Method::PATCH,
            "/api/messages/987654".to_owned(),
            &ta,
            Some(json!({ "content": "x" })),
            404,
            "not_found",
        ),
        (
            "deleting someone else's message in a group one did not create",
            Method::DELETE,
            path(&mine),
            &tb,
            None,
            403,
            "forbidden",
        ),
        (
            "deleting in a conversation one is not in",
            Method::DELETE,
            path(&bobs),
            &tc,
            None,
            404,
            "not_found",
        ),
    ];
    for (name, method, path, token, body, status, code) in refused {
        let (got, answer) = server.call(method, &path, token, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{name}: {answer}"
        );
    }

    // The group's creator deletes Bob's message: a tombstone, also in history.
    let (status, tombstone) = server.call(Method::DELETE, &path(&bobs), &ta, None).await;
    assert_eq!(status, 200, "{tombstone}");
    assert_eq!(
        (tombstone["content"].as_str(), tombstone["seq"].clone()),
        (Some(""), bobs["seq"].clone())
    );
    assert!(tombstone["deleted_at"].is_string(), "{tombstone}");
    let (status, again) = server.call(Method::DELETE, &path(&bobs), &tb, None).await;
    assert_eq!(
        (status, again["rev"].clone()),
        (200, tombstone["rev"].clone()),
        "deleting twice changes nothing"
    );
    let (status, answer) = server
        .call(
            Method::PATCH,
            &path(&bobs),
            &tb,
            Some(json!({ "content": "back" })),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("unprocessable")),
        "{answer}"
    );
    let (_, page) = server
        .get(
            &format!(
                "/api/conversations/{conv}/messages?after_rev={}",
                mine["rev"]
            ),
            &tb,
        )
        .await;
    let revs: Vec<(i64, &str)> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["rev"].as_i64().unwrap_or(0),
                m["content"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let first = mine["rev"].as_i64().expect("rev");
    assert_eq!(revs, [(first + 2, "hello"), (first + 3, "")], "{page}");

    // Past EDIT_WINDOW_SECONDS a message can no longer be edited.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, answer) = server
        .call(
            Method::PATCH,
            &path(&mine),
            &ta,
            Some(json!({ "content": "too late" })),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("unprocessable")),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test]
async fn muting_is_the_callers_own_setting_and_members_only() {
    use reqwest::Method;

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let Trio {
        ta,
        tb,
        tc,
        bob: _,
        group,
    } = trio(&server, "mute").await;
    assert_eq!(group["muted_until"], Value::Null);
    let settings = format!("/api/conversations/{}/settings", group["id"]);
    let until = "2030-01-01T08:00:00Z";

    let (status, muted) = server
        .call(
            Method::PUT,
            &settings,
            &tb,
            Some(json!({ "muted_until": until })),
        )
        .await;
    assert_eq!(status, 200, "{muted}");
    assert_eq!(muted["id"], group["id"]);
    assert_eq!(muted["muted_until"], until);
    // Bob sees it in the conversation and the list; Alice's setting is untouched.
    let (_, shown) = server
        .get(&format!("/api/conversations/{}", group["id"]), &tb)
        .await;
    assert_eq!(shown["muted_until"], until);
    let (_, list) = server.get("/api/conversations", &tb).await;
    let listed = list["conversations"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == group["id"]))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(listed["muted_until"], until, "{list}");
    let (_, for_alice) = server
        .get(&format!("/api/conversations/{}", group["id"]), &ta)
        .await;
    assert_eq!(for_alice["muted_until"], Value::Null);
    // Muted still delivers: a message sent now is stored and listed as usual.
    let (status, _) = server
        .post(
            &format!("/api/conversations/{}/messages", group["id"]),
            &ta,
            json!({ "content": "still heard" }),
        )
        .await;
    assert_eq!(status, 201);

    let (status, unmuted) = server
        .call(
            Method::PUT,
            &settings,
            &tb,
            Some(json!({ "muted_until": null })),
        )
        .await;
    assert_eq!((status, unmuted["muted_until"].clone()), (200, Value::Null));

    for (name, path, token, body, status, code) in [
        (
            "an outsider",
            settings.clone(),
            &tc,
            json!({ "muted_until": until }),
            404,
            "not_found",
        ),
        (
            "not a time",
            settings.clone(),
            &tb,
            json!({ "muted_until": "tomorrow" }),
            400,
            "invalid_body",
        ),
        (
            "conversation 0",
            "/api/conversations/0/settings".to_owned(),
            &tb,
            json!({ "muted_until": until }),
            400,
            "validation_failed",
        ),
    ] {
        let (got, answer) = server.call(Method::PUT, &path, token, Some(body)).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{name}: {answer}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn replies_quote_their_parent_and_form_a_thread() {
    use reqwest::Method;

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let Trio {
        ta,
        tb,
        tc,
        bob,
        group,
    } = trio(&server, "th").await;
    let messages = format!("/api/conversations/{}/messages", group["id"]);
    let (_, parent) = server
        .post(&messages, &ta, json!({ "content": "Lunch at noon?" }))
        .await;
    let mut replies = Vec::new();
    for text in ["yes", "make it 12:30", "I'll book"] {
        let (status, reply) = server
            .post(
                &messages,
                &tb,
                json!({ "content": text, "reply_to": parent["id"] }),
            )
            .await;
        assert_eq!(status, 201, "{reply}");
        replies.push(reply);
    }
    assert_eq!(
        replies[0]["reply_to"],
        json!({
            "id": parent["id"], "seq": parent["seq"], "sender_id": parent["sender_id"],
            "username": parent["sender"]["username"], "display_name": null, "content": "Lunch at noon?",
            "message_type": "text", "deleted": false,
        })
    );
    let (_, page) = server.get(&format!("{messages}?limit=10"), &ta).await;
    let stored_parent = page["messages"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["id"] == parent["id"]).cloned())
        .unwrap_or(Value::Null);
    assert_eq!(stored_parent["reply_count"], 3, "{page}");

    // The thread, oldest first, in pages.
    let thread = format!("/api/messages/{}/replies", parent["id"]);
    let (status, first) = server.get(&format!("{thread}?limit=2"), &ta).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["has_more"], true);
    let (_, rest) = server
        .get(
            &format!("{thread}?after={}", first["messages"][1]["id"]),
            &ta,
        )
        .await;
    let contents: Vec<Value> = first["messages"]
        .as_array()
        .into_iter()
        .chain(rest["messages"].as_array())
        .flatten()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(
        contents,
        [json!("yes"), json!("make it 12:30"), json!("I'll book")]
    );
    assert_eq!(rest["has_more"], false);

    // Replies stay inside their conversation; outsiders see no thread.
    let (_, other) = server
        .post("/api/conversations", &ta, json!({ "user_id": bob["id"] }))
        .await;
    let elsewhere = format!("/api/conversations/{}/messages", other["id"]);
    for (name, body, status, code) in [
        (
            "a message of another conversation",
            json!({ "content": "x", "reply_to": parent["id"] }),
            422,
            "unprocessable",
        ),
        (
            "a message that does not exist",
            json!({ "content": "x", "reply_to": 987654 }),
            422,
            "unprocessable",
        ),
        (
            "message 0",
            json!({ "content": "x", "reply_to": 0 }),
            400,
            "validation_failed",
        ),
        (
            "an id as a string",
            json!({ "content": "x", "reply_to": "1" }),
            400,
            "invalid_body",
        ),
    ] {
        let (got, answer) = server.post(&elsewhere, &ta, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{name}: {answer}"
        );
    }
    let (status, answer) = server.get(&thread, &tc).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("not_found")),
        "{answer}"
    );

    // Once the parent is deleted, its replies quote a deleted message, and no new reply comes.
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/messages/{}", parent["id"]),
            &ta,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = server.get(&format!("{thread}?limit=1"), &tb).await;
    assert_eq!(page["messages"][0]["reply_to"]["deleted"], true, "{page}");
    assert_eq!(page["messages"][0]["reply_to"]["content"], "", "{page}");
    let (status, answer) = server
        .post(
            &messages,
            &tb,
            json!({ "content": "late", "reply_to": parent["id"] }),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("unprocessable")),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test]
async fn reactions_are_one_emoji_per_user_counted_on_the_message() {
    use reqwest::Method;

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let Trio {
        ta,
        tb,
        tc,
        bob: _,
        group,
    } = trio(&server, "re").await;
    let messages = format!("/api/conversations/{}/messages", group["id"]);
    let (_, news) = server
        .post(&messages, &ta, json!({ "content": "We shipped!" }))
        .await;
    assert_eq!(news["reactions"], json!([]));
    assert_eq!(news["my_reactions"], json!([]));
    // Percent-encoded in the path, as a browser sends it.
    let reaction = |emoji: &str| {
        let encoded: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
        format!("/api/messages/{}/reactions/{encoded}", news["id"])
    };

    let (status, first) = server.call(Method::PUT, &reaction("🎉"), &tb, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["reactions"], json!([{ "emoji": "🎉", "count": 1 }]));
    assert_eq!(first["my_reactions"], json!(["🎉"]));
    let (_, _) = server.call(Method::PUT, &reaction("👍"), &tb, None).await;
    let (_, both) = server.call(Method::PUT, &reaction("🎉"), &ta, None).await;
    assert_eq!(
        both["reactions"],
        json!([{ "emoji": "🎉", "count": 2 }, { "emoji": "👍", "count": 1 }]),
        "in order of first use"
    );
    assert_eq!(both["my_reactions"], json!(["🎉"]));

    // The same reaction twice changes nothing and takes no revision.
    let (_, before) = server.get(&format!("{messages}?after_rev=0"), &ta).await;
    let (status, again) = server.call(Method::PUT, &reaction("🎉"), &ta, None).await;
    assert_eq!(
        (status, again["reactions"].clone()),
        (200, both["reactions"].clone())
    );
    let (_, after) = server.get(&format!("{messages}?after_rev=0"), &ta).await;
    assert_eq!(before["last_rev"], after["last_rev"]);
    // History carries the counts for everyone and each reader's own reactions.
    let (_, page) = server.get(&messages, &tb).await;
    assert_eq!(page["messages"][0]["reactions"], both["reactions"]);
    assert_eq!(page["messages"][0]["my_reactions"], json!(["🎉", "👍"]));

    let (status, removed) = server
        .call(Method::DELETE, &reaction("👍"), &tb, None)
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["reactions"], json!([{ "emoji": "🎉", "count": 2 }]));
    assert_eq!(removed["my_reactions"], json!(["🎉"]));

    for (name, path, token, status, code) in [
        (
            "text that is not an emoji",
            reaction("ok"),
            &tb,
            400,
            "validation_failed",
        ),
        ("two emoji", reaction("👍👍"), &tb, 400, "validation_failed"),
        ("markup", reaction("<b>"), &tb, 400, "validation_failed"),
        ("an outsider", reaction("👍"), &tc, 404, "not_found"),
        (
            "message 0",
            "/api/messages/0/reactions/%F0%9F%91%8D".to_owned(),
            &tb,
            400,
            "validation_failed",
        ),
    ] {
        let (got, answer) = server.call(Method::PUT, &path, token, None).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{name}: {answer}"
        );
    }

    // A deleted message loses its reactions and takes no more.
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/messages/{}", news["id"]),
            &ta,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = server.get(&messages, &tb).await;
    assert_eq!(page["messages"][0]["reactions"], json!([]));
    let (status, answer) = server.call(Method::PUT, &reaction("🎉"), &tb, None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("unprocessable")),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test]
async fn who_reacted_is_listed_to_members() {
    use reqwest::Method;

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let Trio {
        ta,
        tb,
        tc,
        bob,
        group,
    } = trio(&server, "wr").await;
    let (_, me) = server.get("/api/auth/me", &ta).await;
    let alice = &me["user"];
    let messages = format!("/api/conversations/{}/messages", group["id"]);
    let (_, news) = server
        .post(&messages, &ta, json!({ "content": "We shipped!" }))
        .await;
    let who = format!("/api/messages/{}/reactions", news["id"]);
    let (status, none) = server.get(&who, &tb).await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none, json!({ "message_id": news["id"], "reactions": [] }));

    let reaction = |emoji: &str| {
        let encoded: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
        format!("{who}/{encoded}")
    };
    for (token, emoji) in [(&tb, "🎉"), (&tb, "👍"), (&ta, "🎉")] {
        let (status, answer) = server
            .call(Method::PUT, &reaction(emoji), token, None)
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let user = |u: &Value| json!({ "id": u["id"], "username": u["username"], "display_name": null, "avatar_url": null });
    let (status, listed) = server.get(&who, &ta).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed,
        json!({
            "message_id": news["id"],
            "reactions": [
                { "emoji": "🎉", "count": 2, "users": [user(&bob), user(alice)] },
                { "emoji": "👍", "count": 1, "users": [user(&bob)] },
            ]
        }),
        "in order of first use, each emoji's users in the order they reacted"
    );

    for (name, path, status, code) in [
        ("an outsider", who.clone(), 404, "not_found"),
        (
            "a message that does not exist",
            "/api/messages/999999/reactions".to_owned(),
            404,
            "not_found",
        ),
        (
            "message 0",
            "/api/messages/0/reactions".to_owned(),
            400,
            "validation_failed",
        ),
        (
            "not an id",
            "/api/messages/abc/reactions".to_owned(),
            400,
            "invalid_parameter",
        ),
    ] {
        let token = if name == "an outsider" { &tc } else { &tb };
        let (got, answer) = server.get(&path, token).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{name}: {answer}"
        );
        if code == "validation_failed" {
            assert!(answer["details"]["id"].is_array(), "{answer}");
        }
    }

    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/messages/{}", news["id"]),
            &ta,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, gone) = server.get(&who, &tb).await;
    assert_eq!(
        (status, gone),
        (200, json!({ "message_id": news["id"], "reactions": [] }))
    );
    server.stop().await;
}
