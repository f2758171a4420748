//! The OpenAPI description served at `GET /api/openapi.json`: a valid 3.1
//! document, every operation it lists mounted, and no API route mounted
//! without it.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{TestDb, TestServer};
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn fetch_document(server: &TestServer) -> (reqwest::header::HeaderMap, Value) {
    let res = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi.json");
    assert_eq!(res.status(), 200, "served without a token");
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");
    (headers, doc)
}

/// Every (path, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((path.clone(), method.to_owned(), operation.clone()));
            }
        }
    }
    found
}

/// Every `$ref` anywhere under `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, field) in map {
                match (key.as_str(), field) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(field, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_every_operation() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (headers, doc) = fetch_document(&server).await;

    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let cache = headers
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cache.contains("public") && cache.contains("max-age"),
        "{cache}"
    );
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let again = server
        .http
        .get(server.url("/api/openapi.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("revalidation");
    assert_eq!(again.status(), 304, "revalidated by its ETag");

    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["info"]["license"]["name"], "MIT");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["access_token_cookie"]["type"], "apiKey");
    assert_eq!(schemes["access_token_cookie"]["in"], "cookie");
    assert_eq!(schemes["access_token_cookie"]["name"], "access_token");

    let ops = operations(&doc);
    assert!(ops.len() >= 40, "{} operations", ops.len());
    let mut ids = BTreeSet::new();
    for (path, method, op) in &ops {
        let summary = op["summary"].as_str().unwrap_or("");
        assert!(!summary.trim().is_empty(), "{method} {path}: no summary");
        let responses = op["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path}: no response");
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.chars().all(|c| c.is_ascii_digit()),
                "{method} {path}: status {status}"
            );
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{method} {path} {status}: no description"
            );
            if let Some(json) = response["content"].get("application/json") {
                assert!(json.get("schema").is_some(), "{method} {path} {status}");
            }
        }
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().expect("requirement").keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
        // Every declared path parameter is in the path, and the reverse.
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
        // API errors are described with the error body.
        let rest = path.starts_with("/api/") || path.starts_with("/uploads/");
        for (status, response) in responses {
            if rest && (status.starts_with('4') || status.starts_with('5')) {
                let schema = &response["content"]["application/json"]["schema"];
                if !schema.is_null() {
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        if rest {
            for status in ["429", "500"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
        if op.get("security").is_some() {
            assert!(responses.contains_key("401"), "{method} {path}: 401");
        }
    }

    // Every reference resolves.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas.contains_key(name), "{target} is not defined");
    }

    // The typed ids and the error body, as the wire has them.
    for id in ["UserId", "ConversationId", "MessageId"] {
        assert_eq!(schemas[id]["type"], "integer", "{id}");
        assert_eq!(schemas[id]["format"], "int64", "{id}");
        assert_eq!(schemas[id]["minimum"], 1, "{id}");
    }
    let error = &schemas["ErrorBody"];
    let required: BTreeSet<&str> = error["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, BTreeSet::from(["error", "code"]));
    // Left out when absent: optional, never null.
    let message = &schemas["Message"];
    let message_required: BTreeSet<&str> = message["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        message_required.contains("file_url"),
        "always sent, maybe null"
    );
    assert!(
        !message_required.contains("my_reactions"),
        "left out of broadcasts"
    );

    // Routes outside /api that clients call are described too.
    for path in ["/health", "/ready", "/uploads/{name}", "/api/openapi.json"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    server.stop().await;
}

/// A request as the route-fallback test makes it: a bearer token, every
/// path parameter 1, no body.
async fn probe(server: &TestServer, method: &str, path: &str, token: &str) -> (u16, String) {
    let filled: Vec<String> = path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "1".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let res = server
        .http
        .request(method, server.url(&filled.join("/")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// Whether an answer is the router's "no such route": 405 (a route of
/// another method), or a 404 identical to the one a path that no router
/// knows gets in the same place (under /api the API's own `not_found`
/// answer; elsewhere an empty 404). A handler's 404 names what it did not
/// find (`conversation not found`), so it never looks like these.
fn no_such_route(
    status: u16,
    body: &str,
    api_fallback: &str,
    other_fallback: &str,
    path: &str,
) -> bool {
    let fallback = if path.starts_with("/api/") {
        api_fallback
    } else {
        other_fallback
    };
    status == 405 || (status == 404 && body == fallback)
}

#[tokio::test]
async fn every_documented_operation_is_mounted() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, doc) = fetch_document(&server).await;
    let (_, token) = server.register("spec").await;

    let (status, api_fallback) = probe(&server, "get", "/api/no/such/route", &token).await;
    assert_eq!(status, 404);
    let fallback: Value = serde_json::from_str(&api_fallback).expect("json");
    assert_eq!(fallback["code"], "not_found", "the API's own answer");
    let (status, other_fallback) = probe(&server, "get", "/no/such/route", &token).await;
    assert_eq!(status, 404);
    // The classifier tells a missing route from a missing resource.
    let (status, body) = probe(&server, "get", "/api/conversations/999999", &token).await;
    assert_eq!(status, 404, "{body}");
    assert!(!no_such_route(
        status,
        &body,
        &api_fallback,
        &other_fallback,
        "/api/conversations/1"
    ));
    let (status, body) = probe(&server, "post", "/api/nowhere", &token).await;
    assert!(no_such_route(
        status,
        &body,
        &api_fallback,
        &other_fallback,
        "/api/nowhere"
    ));
    let (status, body) = probe(&server, "delete", "/api/conversations", &token).await;
    assert!(no_such_route(
        status,
        &body,
        &api_fallback,
        &other_fallback,
        "/api/conversations"
    ));

    let mut answers = BTreeMap::new();
    let ops = operations(&doc);
    // Sessions end last, so that the others are probed signed in.
    let ends_session =
        |path: &str| path.starts_with("/api/auth/logout") || path.ends_with("/change-password");
    let mut ordered: Vec<_> = ops.iter().filter(|(p, _, _)| !ends_session(p)).collect();
    ordered.extend(ops.iter().filter(|(p, _, _)| ends_session(p)));
    for (path, method, _) in ordered {
        let (status, body) = probe(&server, method, path, &token).await;
        assert!(
            !no_such_route(status, &body, &api_fallback, &other_fallback, path),
            "{} {path} is documented but not mounted: {status} {body}",
            method.to_uppercase()
        );
        answers.insert(format!("{} {path}", method.to_uppercase()), status);
    }
    assert_eq!(answers.len(), ops.len());
    server.stop().await;
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The routes are mounted through `utoipa_axum::routes!`, which does not
/// compile without the handler's description. A plain `.route(...)` (or a
/// nested router) would mount an `/api` route undocumented; the only one
/// allowed is the answer for paths that are not routes.
#[test]
fn no_api_route_is_mounted_without_its_description() {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut files = Vec::new();
    rust_files(&routes, &mut files);
    assert!(files.len() > 5, "{} files", files.len());
    let mut offenders = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("source");
        for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            for (at, _) in source.match_indices(call) {
                let rest = source[at + call.len()..].trim_start();
                let line = source[..at].lines().count() + 1;
                let place = format!("{}:{line}", file.display());
                // The path must be a literal, so that it can be checked here.
                let Some(literal) = rest.strip_prefix('"') else {
                    offenders.push(format!("{place}: {call} without a literal path"));
                    continue;
                };
                let path = literal.split('"').next().unwrap_or("");
                let allowed = path == "/api/{*rest}" && file.ends_with("routes/mod.rs");
                if path.starts_with("/api") && !allowed {
                    offenders.push(format!("{place}: {call}\"{path}\""));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "API routes mounted without routes!: {offenders:#?}"
    );
}
