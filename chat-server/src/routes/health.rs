//! Liveness and readiness.
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

/// `/health` and `/ready`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.chat.db().ping().await.is_ok();
    let redis = state.chat.redis_ready().await;
    let ok = database && redis.unwrap_or(true);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ok { "ok" } else { "unavailable" },
            "database": database,
            "redis": redis,
        })),
    )
}
