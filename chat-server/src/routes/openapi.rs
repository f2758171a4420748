//! The OpenAPI 3.1 description of the REST API, served at
//! `GET /api/openapi.json`.
//!
//! Every API route is mounted through `utoipa_axum`'s `routes!`, which reads
//! the handler's `#[utoipa::path]`: a handler without one does not compile,
//! so nothing is mounted undocumented (`tests/openapi.rs` checks that no
//! route module mounts an `/api` route any other way). Each handler describes
//! its own answers; the answers that every route gets from the layers around
//! it (the per-IP rate limit, the timeout, the origin check, the body limits,
//! authentication, parameter decoding, internal errors) are added from what
//! the description says about the route (`layer_answers`), rather than
//! repeated on each, and descriptions written for Rust readers are cleaned
//! for API clients (`descriptions`). This file holds the base document and
//! the route serving the finished one.
mod descriptions;
mod layer_answers;

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi as _};

use crate::error::ErrorBody;
use descriptions::clean_descriptions;
use layer_answers::add_layer_answers;

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
