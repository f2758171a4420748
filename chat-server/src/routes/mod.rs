//! HTTP routes, one module per resource, and [`api`], the router that
//! puts them together under their body limits, with their OpenAPI
//! description ([`openapi`]).
pub mod account;
pub mod auth;
pub mod calls;
pub mod conversations;
pub mod health;
pub mod messages;
pub mod openapi;
pub mod push;
pub mod search;
pub mod uploads;
pub mod users;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::error::ApiError;
use crate::middleware::{self, ClientIp, Rate, rate_limit};
use crate::state::AppState;

/// Largest JSON body accepted by the API.
const JSON_BODY_LIMIT: usize = 64 * 1024;
/// How much of an oversized JSON body is read (and dropped) before answering 413.
const JSON_DRAIN_CAP: usize = 8 * 1024 * 1024;

/// The API routes with their body limits: JSON routes get a small limit
/// (the credential routes a stricter rate limit too), uploads their own;
/// and `GET /api/openapi.json`, their description.
pub fn api(config: &Config, client_ip: &ClientIp) -> Router<AppState> {
    let (router, mut description) = documented_api(config, client_ip).split_for_parts();
    // `/health` and `/ready` are mounted by the app outside the API's layers;
    // their description comes from the same router.
    description.merge(health::documented().into_openapi());
    match openapi::Document::new(description) {
        Ok(document) => router.layer(Extension(document)),
        Err(err) => {
            // Serializing a document built in memory does not fail; should it,
            // the API still serves, and /api/openapi.json answers 500.
            tracing::error!(%err, "the OpenAPI document could not be serialized");
            router
        }
    }
}

/// The API routes, each mounted with its description.
fn documented_api(config: &Config, client_ip: &ClientIp) -> OpenApiRouter<AppState> {
    let mut credentials = auth::credential_router().merge(account::credential_router());
    if config.auth_rate_limit_per_minute > 0 {
        let rate = Rate {
            every: Duration::from_secs(60) / config.auth_rate_limit_per_minute,
            burst: config.auth_rate_limit_burst,
        };
        if let Some(layer) = rate_limit(rate, client_ip.clone()) {
            credentials = credentials.layer(layer);
        }
    }
    OpenApiRouter::with_openapi(openapi::base())
        .merge(credentials)
        .merge(auth::router())
        .merge(account::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(search::router())
        .merge(push::router())
        .merge(calls::router())
        .merge(users::router())
        .routes(routes!(openapi::openapi_document))
        // The one plain route under /api: the answer for paths that are not
        // routes, which no description can list.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::NotFound }),
        )
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            (JSON_BODY_LIMIT, JSON_DRAIN_CAP),
            middleware::buffered_body,
        ))
        // Uploads stream their own, larger bodies.
        .merge(uploads::router(config))
}
