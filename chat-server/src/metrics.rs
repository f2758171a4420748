//! Prometheus metrics: `GET /metrics` on its own listener (METRICS_ADDR), and
//! the HTTP request counter middleware.
//!
//! chat-core records through the `metrics` facade (sockets, messages, fan-out
//! latency); this module installs the Prometheus recorder and adds HTTP,
//! database pool and password hashing figures.
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// The process has one metrics registry (the `metrics` facade is global); every
/// server started in this process shares it.
static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(2);

fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &buckets)
                .and_then(|b| b.install_recorder())
                .map_err(|err| tracing::warn!(%err, "metrics recorder not installed"))
                .ok()?;
            spawn_upkeep(handle.clone());
            Some(handle)
        })
        .as_ref()
}

/// `install_recorder` leaves the recorder's upkeep to its caller: every
/// histogram sample (several per stored message) is kept until a scrape
/// renders it, so a server nobody scrapes grew by every message it carried.
/// A thread of its own, since the recorder is installed once per process,
/// whatever runtime the servers in it use.
fn spawn_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(err) = started {
        tracing::warn!(%err, "metrics upkeep thread not started: histograms grow until scraped");
    }
}

/// Installs the recorder (idempotent).
pub fn init() {
    let _ = prometheus();
}

#[derive(Clone)]
struct MetricsState {
    app: AppState,
    /// `Authorization: Bearer <token>` required when set.
    token: Option<Arc<str>>,
}

/// The app of the metrics listener: `GET /metrics` only, never on the public
/// port (nginx and clients reach that one), behind a bearer token when one is
/// configured.
pub fn router(state: AppState, token: Option<String>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(MetricsState {
            app: state,
            token: token.filter(|t| !t.is_empty()).map(Arc::from),
        })
}

/// Whether the request carries the bearer token (compared in constant time).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, token) = (given.as_bytes(), token.as_bytes());
    given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn render(State(metrics): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &metrics.token
        && !authorized(&headers, token)
    {
        return crate::error::ApiError::Unauthorized.into_response();
    }
    let state = metrics.app;
    record_pool(&state);
    record_password_hashing();
    match prometheus() {
        Some(handle) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            handle.render(),
        )
            .into_response(),
        None => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn record_pool(state: &AppState) {
    let db = state.chat.db();
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("db_pool_connections", "state" => "in_use")
        .set(size.saturating_sub(idle as u32) as f64);
}

fn record_password_hashing() {
    let (in_flight, max) = crate::auth::hashing_in_flight();
    metrics::gauge!("chat_password_hashes_in_flight").set(in_flight as f64);
    metrics::gauge!("chat_password_hashes_in_flight_max").set(max as f64);
}

/// Counts requests by method, matched route (never the raw path: ids would
/// explode the label set) and status, and times them.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
