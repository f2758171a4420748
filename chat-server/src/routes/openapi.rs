//! The OpenAPI 3.1 description of the REST API, served at
//! `GET /api/openapi.json`.
//!
//! Every API route is mounted through `utoipa_axum`'s `routes!`, which reads
//! the handler's `#[utoipa::path]`: a handler without one does not compile,
//! so nothing is mounted undocumented (`tests/openapi.rs` checks that no
//! route module mounts an `/api` route any other way). Each handler describes
//! its own answers; the answers that every route gets from the layers around
//! it (the per-IP rate limit, the timeout, the origin check, the body limits,
//! authentication, parameter decoding, internal errors) are added here, from
//! what the description says about the route, rather than repeated on each.
use std::collections::btree_map::Entry;

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr};
use utoipa::{Modify, OpenApi as _};

use crate::error::ErrorBody;

/// Name of the security scheme of the `Authorization: Bearer` access token
/// (handlers name it in `security(...)`, which takes literals only).
pub const BEARER: &str = "bearer";
/// Name of the security scheme of the `access_token` cookie.
pub const COOKIE: &str = "access_token_cookie";

/// What the document holds before the routes add their paths.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Chat server REST API",
        description = "The REST half of the chat protocol (the Socket.IO half is described in \
            docs/protocol.md, which is also the complete contract of both). JSON bodies, \
            `snake_case` fields, RFC 3339 UTC times, positive 64-bit integer ids; every error \
            answer is `{error, code, details?}`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Registration, login, sessions and passwords"),
        (name = "conversations", description = "Direct conversations, groups and public rooms"),
        (name = "messages", description = "History, sending, editing, threads and reactions"),
        (name = "search", description = "Message search"),
        (name = "push", description = "Web Push notifications for devices that are not connected"),
        (name = "calls", description = "Voice and video calls: ICE servers (signalling runs over the socket)"),
        (name = "users", description = "Profiles, user search and blocking"),
        (name = "uploads", description = "Images, voice messages and files"),
        (name = "health", description = "Liveness, readiness and this document"),
    )
)]
pub struct ApiDoc;

/// The two ways to present the access token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access token (`token` of register, login and refresh) as \
                         `Authorization: Bearer <token>`; it wins over the cookie.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "access_token",
                "The same token in the HttpOnly `access_token` cookie that register, login \
                 and refresh set (browsers). State-changing requests authenticated by it \
                 must come from an allowed origin (403 `csrf_rejected` otherwise).",
            ))),
        );
    }
}

/// The base document: info, tags, security schemes and shared schemas.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The served document, serialized once.
#[derive(Clone)]
pub struct Document {
    json: Bytes,
    etag: HeaderValue,
}

impl Document {
    /// Completes the description assembled from the routes and serializes it.
    pub fn new(mut openapi: OpenApi) -> Result<Document, serde_json::Error> {
        add_layer_answers(&mut openapi);
        let mut value = serde_json::to_value(&openapi)?;
        clean_descriptions(&mut value);
        let json = Bytes::from(serde_json::to_vec(&value)?);
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&json);
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{tag}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"openapi\""));
        Ok(Document { json, etag })
    }

    /// The document as served.
    pub fn json(&self) -> &Bytes {
        &self.json
    }
}

/// The document changes only with the server's version: caches may keep it
/// an hour and revalidate it by its `ETag`.
const CACHE_CONTROL: &str = "public, max-age=3600";

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    operation_id = "openapi_document",
    summary = "This description of the REST API",
    description = "The OpenAPI 3.1 document of every REST route, generated from the server's \
        types and handlers. Public; cacheable (`Cache-Control`, `ETag`, 304 on `If-None-Match`).",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "`If-None-Match` names the current document."),
    )
)]
pub async fn openapi_document(
    Extension(document): Extension<Document>,
    headers: HeaderMap,
) -> Response {
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == document.etag);
    let cache = [
        (header::ETAG, document.etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document.json.clone(),
    )
        .into_response()
}

/// The paths the per-IP limits, the timeout and the origin check guard
/// (`/health` and `/ready` are outside them).
fn behind_rest_layers(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/uploads/")
}

/// Adds to every operation the answers it gets from the layers and
/// extractors around its handler, as described in the module comment.
fn add_layer_answers(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !behind_rest_layers(path) {
            continue;
        }
        let has_id = path.contains("{id}");
        for (method, operation) in operations(item) {
            let changes_state = method != "get";
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            let json_body = operation.request_body.as_ref().is_some_and(|body| {
                body.content.contains_key("application/json")
                    && matches!(body.required, Some(utoipa::openapi::Required::True))
            });
            let query = operation
                .parameters
                .iter()
                .flatten()
                .any(|parameter| matches!(parameter.parameter_in, ParameterIn::Query));
            if secured {
                add_answer(
                    operation,
                    "401",
                    "No access token, or a malformed, expired or ended one (`unauthorized`).",
                );
            }
            if has_id {
                add_answer(
                    operation,
                    "400",
                    "`id` is not an integer (`invalid_parameter`) or not positive \
                     (`validation_failed`, `details.id`).",
                );
            }
            if query {
                add_answer(
                    operation,
                    "400",
                    "A query parameter has the wrong type (`invalid_parameter`), e.g. \
                     `limit=abc`.",
                );
            }
            if json_body {
                add_answer(
                    operation,
                    "400",
                    "The body is not JSON or not of the expected shape (`invalid_body`).",
                );
                add_answer(
                    operation,
                    "415",
                    "The body is not `Content-Type: application/json` \
                     (`unsupported_media_type`).",
                );
            }
            if changes_state {
                add_answer(
                    operation,
                    "403",
                    "A request authenticated by the cookie alone from an origin that is not \
                     allowed (`csrf_rejected`).",
                );
                add_answer(
                    operation,
                    "413",
                    "The body is larger than the route accepts (`payload_too_large`).",
                );
            }
            add_answer(
                operation,
                "429",
                "Too many requests from this client address (`rate_limited`): retry after \
                 `Retry-After` seconds (also in `details.retry_after`).",
            );
            if let Some(RefOr::T(limited)) = operation.responses.responses.get_mut("429") {
                limited.headers.entry("Retry-After".to_owned()).or_insert(
                    HeaderBuilder::new()
                        .schema(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::Integer),
                        )
                        .description(Some("Seconds to wait before trying again."))
                        .build(),
                );
            }
            add_answer(
                operation,
                "500",
                "A server-side failure (`internal_error`); the cause is logged, never sent.",
            );
            operation
                .responses
                .responses
                .entry("408".to_owned())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("The request took longer than 30 s; no body.")
                        .build()
                        .into()
                });
        }
    }
}

/// The operations of a path, with their lower-case method.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
    .collect()
}

/// Adds an error answer with the error body, or the sentence to the
/// description of the answer the operation already has for `status`.
fn add_answer(operation: &mut Operation, status: &str, sentence: &str) {
    match operation.responses.responses.entry(status.to_owned()) {
        Entry::Occupied(mut entry) => {
            if let RefOr::T(response) = entry.get_mut()
                && !response.description.contains(sentence)
            {
                response.description.push(' ');
                response.description.push_str(sentence);
            }
        }
        Entry::Vacant(entry) => {
            entry.insert(
                ResponseBuilder::new()
                    .description(sentence)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .build()
                    .into(),
            );
        }
    }
}

/// Descriptions come from rustdoc comments written for Rust readers: their
/// code examples and links to Rust items mean nothing to an API client.
fn clean_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if key == "description" => *text = clean_text(text),
                    other => clean_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_descriptions),
        _ => {}
    }
}

/// `text` without fenced code blocks, and with rustdoc links
/// (`[label](rust::path)`, ``[`Item`]``) reduced to their label.
fn clean_text(text: &str) -> String {
    let mut kept = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            kept.push(line);
        }
    }
    let joined = kept.join("\n");
    let mut out = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("](") {
        let target_end = rest[start + 2..].find(')').map(|end| start + 2 + end);
        let label_start = rest[..start].rfind('[');
        match (label_start, target_end) {
            (Some(label_start), Some(target_end))
                if !rest[start + 2..target_end].contains("://")
                    && !rest[start + 2..target_end].starts_with('#') =>
            {
                out.push_str(&rest[..label_start]);
                out.push_str(&rest[label_start + 1..start]);
                rest = &rest[target_end + 1..];
            }
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    // Shortcut links: "[`Item`]" not followed by a target.
    let mut plain = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(start) = rest.find("[`") {
        let end = rest[start..].find("`]").map(|end| start + end);
        match end {
            Some(end) if !rest[end + 2..].starts_with('(') => {
                plain.push_str(&rest[..start]);
                plain.push_str(&rest[start + 1..end + 1]);
                rest = &rest[end + 2..];
            }
            _ => {
                plain.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    plain.push_str(rest);
    plain.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::clean_text;

    #[test]
    fn rust_examples_and_item_links_are_left_out() {
        let text = "A page.\n\n```\nlet x = 1;\n```\nSee [`Page::next`](crate::Page::next), \
                    [`User`] and [the docs](https://example.com).";
        assert_eq!(
            clean_text(text),
            "A page.\n\nSee `Page::next`, `User` and [the docs](https://example.com)."
        );
    }
}
