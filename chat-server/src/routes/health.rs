//! Liveness and readiness.
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/health` and `/ready`, mounted by the app outside the API's layers (no
/// rate limit, no timeout).
pub fn router() -> Router<AppState> {
    documented().into()
}

/// The same routes with their description, which `routes::api` serves.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// Answer of `GET /health`.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The server's version.
    version: &'static str,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health",
    summary = "Liveness",
    description = "200 while the process can serve. No token, no rate limit.",
    responses((status = 200, description = "The process serves.", body = Health))
)]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// How long `/ready` waits for the database to answer a ping.
const READY_DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Answer of `GET /ready`.
#[derive(Serialize, utoipa::ToSchema)]
struct Readiness {
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    status: &'static str,
    /// Whether the database answers.
    database: bool,
    /// Whether Redis answers; `null` when the server runs without Redis.
    #[schema(required)]
    redis: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    operation_id = "ready",
    summary = "Readiness",
    description = "200 when the database and Redis (if configured) answer, else 503. No token, \
        no rate limit.",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "The database or Redis does not answer.", body = Readiness),
    )
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    // A probe must answer while the database is down, not wait out the pool.
    let database = matches!(
        tokio::time::timeout(READY_DATABASE_WAIT, state.chat.db().ping()).await,
        Ok(Ok(()))
    );
    let redis = state.chat.redis_ready().await;
    let ok = database && redis.unwrap_or(true);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ok { "ok" } else { "unavailable" },
            database,
            redis,
        }),
    )
}
