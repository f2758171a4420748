//! The HTTP application: the API routes under the cross-cutting layers
//! (origin check, timeout, rate limit, metrics, CORS, security headers,
//! tracing) and the static client.
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::CorsLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::middleware::{ClientIp, Rate, rate_limit};
use crate::state::AppState;
use crate::{metrics, middleware, origin, routes};

/// The HTTP routes, middleware and static client (without the Socket.IO layer).
pub fn app(config: &Config, state: AppState) -> Router {
    let client_ip = ClientIp::new(config.trusted_proxies.clone());
    let mut rest = routes::api(config, &client_ip);
    let origins = origin::OriginPolicy::new(&config.client_url);
    rest = rest
        .layer(axum::middleware::from_fn_with_state(
            (origins, state.tokens.clone()),
            origin::csrf_origin_check,
        ))
        // Handlers find the client's rate-limit key through it (`ClientKey`).
        .layer(axum::Extension(client_ip.clone()))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    if config.rate_limit_per_second > 0 {
        let rate = Rate {
            every: Duration::from_secs(1) / config.rate_limit_per_second,
            burst: config.rate_limit_burst,
        };
        if let Some(layer) = rate_limit(rate, client_ip) {
            rest = rest.layer(layer);
        }
    }
    let api = rest
        .merge(routes::health::router())
        .route_layer(axum::middleware::from_fn(metrics::track))
        .with_state(state);
    let mut router = api
        .layer(cors(config))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        // Spans name the path without the query, which may carry a token.
        .layer(TraceLayer::new_for_http().make_span_with(request_span));
    if config.client_dir.join("index.html").exists() {
        let index = config.client_dir.join("index.html");
        let client = ServeDir::new(&config.client_dir).fallback(ServeFile::new(index));
        // Hashed build assets: a missing one is a 404 (never the HTML page, which
        // a stale tab would try to run as JavaScript), and they never change.
        let assets = tower::ServiceBuilder::new()
            .layer(
                tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            )
            .layer(axum::middleware::from_fn(middleware::security_headers))
            .service(ServeDir::new(config.client_dir.join("assets")));
        router = router.nest_service("/assets", assets);
        router = router.fallback_service(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::security_headers))
                .service(client),
        );
    } else {
        tracing::info!(dir = %config.client_dir.display(), "no built client found; serving the API only");
    }
    router
}

/// The span of a request: method and path, never the query string.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .client_url
        .split(',')
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-client"),
        ])
}
