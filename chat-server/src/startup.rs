//! Starting and stopping the server: the chat engine and the handlers'
//! state are built from the configuration, background tasks started, the
//! app served (and `/metrics` on its own listener) until shutdown.
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use chat_core::cluster::RedisConfig;
use chat_core::{ChatConfig, ChatCore};
use tokio::net::TcpListener;

use crate::app::app;
use crate::auth::{Tokens, load_secret};
use crate::config::{AppEnv, Config};
use crate::database::connect_database;
use crate::middleware::{ClientIp, Rate};
use crate::state::AppState;
use crate::{housekeeping, limits, mail, metrics, origin, socket_limits, uploads};

/// Builds the application and serves it on `listener` until `shutdown` resolves;
/// `/metrics` is served on METRICS_ADDR (see [`run_with_metrics`]).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics_listener = bind_metrics(&config.metrics_addr).await;
    run_with_metrics(config, listener, metrics_listener, shutdown).await
}

/// Binds METRICS_ADDR. Metrics are not worth refusing to serve chat for: a
/// failure (e.g. the port taken by another instance on the host) is logged
/// and the server runs without them.
async fn bind_metrics(addr: &str) -> Option<TcpListener> {
    let addr = addr.trim();
    if addr.is_empty() {
        return None;
    }
    match TcpListener::bind(addr).await {
        Ok(listener) => Some(listener),
        Err(err) => {
            tracing::error!(%err, %addr, "cannot listen for metrics; /metrics is not served");
            None
        }
    }
}

/// [`run`], with `/metrics` served on `metrics` (if any) instead of the
/// configured METRICS_ADDR, never on `listener`.
pub async fn run_with_metrics(
    config: Config,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let secret = load_secret(&config)?;
    metrics::init();
    let db = connect_database(&config).await?;
    // Stopped when `run` returns (the sender is dropped), or at shutdown.
    let (housekeeping_stop, housekeeping_stopped) = tokio::sync::watch::channel(false);
    let purge = housekeeping::spawn_account_token_purge(
        db.clone(),
        Duration::from_secs(config.account_token_purge_interval),
        housekeeping_stopped,
    );
    let limits = std::sync::Arc::new(limits::AuthLimits::from_config(&config));
    let ice = std::sync::Arc::new(
        crate::calls::IceConfig::from_config(&config).context("invalid ICE server URLs")?,
    );
    let tokens = Tokens::new(&secret, config.access_token_ttl);
    let builder = ChatCore::builder(db)
        .config(ChatConfig {
            events_per_second: config.socket_events_per_second,
            events_burst: config.socket_events_burst,
            presence_fanout_limit: config.presence_fanout_limit,
            socket_queue_packets: config.socket_queue_packets,
            socket_max_payload: usize::try_from(config.socket_max_payload).unwrap_or(usize::MAX),
            sockets_per_user: config.sockets_per_user,
            // Ended sessions are refused while their access tokens may live.
            revoked_session_retention: Duration::from_secs(
                config.access_token_ttl.saturating_mul(2).max(24 * 3600),
            ),
            max_group_members_per_request: config.group_max_initial_members,
            groups_per_hour: config.groups_per_hour,
            edit_window: (config.edit_window_seconds > 0)
                .then(|| Duration::from_secs(config.edit_window_seconds)),
            socket_parser: config.socketio_parser,
            call_ring_timeout: Duration::from_secs(config.call_ring_seconds),
            call_grace: Duration::from_secs(config.call_grace_seconds),
            ..ChatConfig::default()
        })
        .authenticator(origin::SocketAuth {
            tokens: tokens.clone(),
            policy: origin::OriginPolicy::new(&config.client_url),
        });
    let builder = match crate::push::push_config(&config).context("cannot set up push")? {
        Some(push) => builder.push(push),
        None => builder,
    };
    let handshakes = handshake_limiter(&config);
    let builder = match &handshakes {
        Some(limiter) => builder.handshake_guard(limiter.clone()),
        None => builder,
    };
    let local_addr = listener.local_addr()?;
    let uploads = uploads::Uploads::from_config(&config)?;
    let mailer: std::sync::Arc<dyn mail::Mailer> =
        match config.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => std::sync::Arc::new(
                mail::SmtpMailer::new(url, &config.mail_from)
                    .context("invalid SMTP_URL or MAIL_FROM")?,
            ),
            None => std::sync::Arc::new(mail::OutboxMailer::new(config.data_dir.join("outbox"))),
        };
    let public_url = config
        .public_url
        .clone()
        .or_else(|| {
            config
                .client_url
                .split(',')
                .next()
                .map(|u| u.trim().to_owned())
        })
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let make_state = |chat| AppState {
        chat,
        tokens: tokens.clone(),
        refresh_ttl: config.refresh_token_ttl,
        // Behind a TLS proxy the server itself listens on plain HTTP, often on
        // loopback: production cookies are Secure regardless (browsers accept
        // Secure cookies from http://localhost, so local use still works).
        secure_cookies: config.app_env == AppEnv::Production,
        uploads: uploads.clone(),
        mailer: mailer.clone(),
        public_url: public_url.clone(),
        limits: limits.clone(),
        ice: ice.clone(),
    };
    let (app, chat) = match config.redis_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            let mut redis = RedisConfig::new(url);
            redis.prefix = config.redis_prefix.clone();
            redis.presence_ttl = Duration::from_secs(config.presence_ttl.max(1));
            let (layer, chat) = builder
                .build_with_redis(redis)
                .await
                .context("cannot set up Redis")?;
            tracing::info!(prefix = %config.redis_prefix, "using the Redis adapter");
            (app(&config, make_state(chat.clone())).layer(layer), chat)
        }
        None => {
            let (layer, chat) = builder.build();
            chat.reset_presence()
                .await
                .context("cannot reset presence")?;
            (app(&config, make_state(chat.clone())).layer(layer), chat)
        }
    };
    // Also sends what an earlier run left in the outbox.
    chat.start_push();
    let app = match handshakes {
        Some(limiter) => app.layer(axum::middleware::from_fn_with_state(
            limiter,
            socket_limits::limit_handshakes,
        )),
        None => app,
    };
    let _metrics = match metrics_listener {
        Some(metrics_listener) => {
            let addr = metrics_listener.local_addr()?;
            let app = metrics::router(make_state(chat.clone()), config.metrics_token.clone());
            tracing::info!(
                token = config
                    .metrics_token
                    .as_deref()
                    .is_some_and(|t| !t.is_empty()),
                "metrics on http://{addr}/metrics"
            );
            Some(AbortOnDrop(tokio::spawn(async move {
                if let Err(err) = axum::serve(metrics_listener, app).await {
                    tracing::error!(%err, "metrics listener failed");
                }
            })))
        }
        None => None,
    };
    tracing::info!("listening on http://{local_addr}");
    // On shutdown: stop accepting, close the sockets (clients reconnect to
    // another instance), let in-flight requests finish, within a bound.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    if config.upload_orphan_hours > 0 {
        uploads::sweep::spawn_orphan_sweeper(
            chat.db().clone(),
            uploads.storage().clone(),
            Duration::from_secs(config.upload_orphan_hours.saturating_mul(3600)),
            stopping_rx.clone(),
        );
    }
    let closer = chat.clone();
    let graceful = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
        closer.close_sockets().await;
    };
    // Small chat frames must not wait for Nagle's algorithm (a ~40 ms stall
    // against clients' delayed ACKs).
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(graceful);
    let bound = Duration::from_secs(config.shutdown_timeout);
    let mut stopping = stopping_rx;
    tokio::select! {
        result = server => result.context("server error")?,
        _ = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(bound).await;
        } => tracing::warn!("shutdown took too long; exiting"),
    }
    let _ = housekeeping_stop.send(true);
    let _ = purge.await;
    Ok(())
}

/// The per-IP budget of Socket.IO handshakes, unless disabled.
fn handshake_limiter(config: &Config) -> Option<socket_limits::HandshakeLimiter> {
    if config.handshakes_per_minute == 0 {
        return None;
    }
    let rate = Rate {
        every: Duration::from_secs(60) / config.handshakes_per_minute,
        burst: config.handshakes_burst,
    };
    let limiter =
        socket_limits::HandshakeLimiter::new(rate, ClientIp::new(config.trusted_proxies.clone()));
    limiter.spawn_cleanup();
    Some(limiter)
}

/// Stops the metrics listener when the server returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
