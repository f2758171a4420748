//! HTTP routes, one module per resource, and [`api`], the router that
//! puts them together under their body limits.
pub mod account;
pub mod auth;
pub mod conversations;
pub mod health;
pub mod messages;
pub mod search;
pub mod uploads;
pub mod users;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::config::Config;
use crate::error::ApiError;
use crate::middleware::{self, ClientIp, Rate, rate_limit};
use crate::state::AppState;

/// Largest JSON body accepted by the API.
const JSON_BODY_LIMIT: usize = 64 * 1024;
/// How much of an oversized JSON body is read (and dropped) before answering 413.
const JSON_DRAIN_CAP: usize = 8 * 1024 * 1024;

/// The API routes with their body limits: JSON routes get a small limit
/// (the credential routes a stricter rate limit too), uploads their own.
pub fn api(config: &Config, client_ip: &ClientIp) -> Router<AppState> {
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
    Router::new()
        .merge(credentials)
        .merge(auth::router())
        .merge(account::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(search::router())
        .merge(users::router())
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
