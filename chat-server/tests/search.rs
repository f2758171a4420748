//! `GET /api/search/messages`: the shape of an answer, the 400s of bad
//! input, 401 without a token, 404 for a conversation one is not in.
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

/// Percent-encodes a query value.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn search_path(query: &str, rest: &str) -> String {
    format!("/api/search/messages?query={}{rest}", encoded(query))
}

#[tokio::test]
async fn search_answers_results_with_snippets_and_refuses_bad_input() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, ta) = server.register("sa").await;
    let (bob, tb) = server.register("sb").await;
    let (_, tc) = server.register("sc").await;
    let direct = server.direct(&ta, &bob).await;
    let (status, sent) = server
        .post(
            &format!("/api/conversations/{direct}/messages"),
            &ta,
            json!({"content": "Shall we meet at the Café Central tomorrow?"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    let (status, body) = server.get(&search_path("cafe cent", ""), &tb).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["has_more"], false);
    let hit = &body["results"][0];
    assert_eq!(hit["message"]["id"], sent["id"]);
    assert_eq!(hit["message"]["my_reactions"], json!([]));
    assert_eq!(hit["message"]["sender"]["id"], sent["sender_id"]);
    assert_eq!(
        hit["snippet"],
        "Shall we meet at the Café Central tomorrow?"
    );
    assert_eq!(hit["highlights"], json!([[21, 25], [26, 33]]));
    let keys: Vec<&String> = hit.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["highlights", "message", "snippet"]);
    // `q` works too, and the filters.
    let path = format!(
        "/api/search/messages?q=caf&conversation_id={direct}&sender_id={}&limit=1&offset=0",
        sent["sender_id"]
    );
    let (status, body) = server.get(&path, &tb).await;
    assert_eq!(
        (status, body["results"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{body}"
    );
    // Not in the conversation: nothing found, and naming it is 404.
    let (status, body) = server.get(&search_path("cafe", ""), &tc).await;
    assert_eq!(
        (status, body["results"].clone()),
        (200, json!([])),
        "{body}"
    );
    let outsider = search_path("cafe", &format!("&conversation_id={direct}"));
    let (status, body) = server.get(&outsider, &tc).await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("not_found")),
        "{body}"
    );

    let long = "x".repeat(10_000);
    let refused: [(&str, String, &str, &str); 12] = [
        (
            "no query",
            "/api/search/messages".into(),
            "validation_failed",
            "query",
        ),
        (
            "empty query",
            search_path("", ""),
            "validation_failed",
            "query",
        ),
        (
            "only punctuation",
            search_path("?!.,;", ""),
            "validation_failed",
            "query",
        ),
        (
            "a quote",
            search_path("\"", ""),
            "validation_failed",
            "query",
        ),
        ("a star", search_path("*", ""), "validation_failed", "query"),
        (
            "parentheses",
            search_path("(((", ""),
            "validation_failed",
            "query",
        ),
        (
            "10,000 characters",
            search_path(&long, ""),
            "validation_failed",
            "query",
        ),
        (
            "page over 50",
            search_path("cafe", "&limit=51"),
            "validation_failed",
            "limit",
        ),
        (
            "page of 0",
            search_path("cafe", "&limit=0"),
            "validation_failed",
            "limit",
        ),
        (
            "offset over 1000",
            search_path("cafe", "&offset=1001"),
            "validation_failed",
            "offset",
        ),
        (
            "conversation 0",
            search_path("cafe", "&conversation_id=0"),
            "validation_failed",
            "conversation_id",
        ),
        (
            "negative offset",
            search_path("cafe", "&offset=-1"),
            "invalid_parameter",
            "",
        ),
    ];
    for (name, path, code, field) in refused {
        let (status, body) = server.get(&path, &ta).await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!(code)),
            "{name}: {body}"
        );
        assert!(body["error"].is_string(), "{name}: {body}");
        if !field.is_empty() {
            assert!(body["details"][field].is_array(), "{name}: {body}");
        }
    }
    // Query syntax of either database is only words.
    for hostile in ["NEAR(", "a:b", "'", "\\", "cafe\" OR \"x", "caf*"] {
        let (status, body) = server.get(&search_path(hostile, ""), &ta).await;
        assert!(status == 200 || status == 400, "{hostile}: {status} {body}");
        if status == 400 {
            assert_eq!(body["code"], "validation_failed", "{hostile}: {body}");
        }
    }

    let res = server
        .http
        .get(server.url(&search_path("cafe", "")))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "unauthorized");
}
