//! `idle`: many connections that only answer pings, for connects per second and memory per
//! connection.
use std::time::Duration;

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use sio_client::protocol::{EnginePacket, decode_engine, encode_pong};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::setup::{Setup, connect_each, register_users};
use super::{Env, ServerKind, round3};
use crate::client::{self, Login, Ws};
use crate::server;

/// Results of `idle`.
#[derive(Debug, Clone, Serialize)]
pub struct IdleResults {
    /// Setup figures (connects per second among them).
    pub setup: Setup,
    /// Server VmRSS before connecting (summed over instances), KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server VmRSS with every connection open (summed over instances), KiB.
    pub server_rss_after_kib: Option<u64>,
    /// (after - before) / connections, KiB.
    pub server_kib_per_connection: Option<f64>,
    /// This program's VmRSS growth per connection, KiB.
    pub bench_kib_per_connection: Option<f64>,
    /// Connections still open when the run ended.
    pub alive_at_end: usize,
    /// First connection error, if any.
    pub first_error: Option<String>,
}

/// K idle connections over U users.
pub async fn idle(env: &Env, args: &crate::cli::IdleArgs) -> Result<(IdleResults, String)> {
    let k = args.connections;
    let users = args.users.unwrap_or(k.min(100)).clamp(1, k.max(1));
    let mut setup = Setup::default();
    // The bare server takes any client: no accounts, no tokens.
    let tokens: Vec<Option<String>> = if env.kind == ServerKind::Bare {
        vec![None]
    } else {
        let accounts = register_users(env, users, &mut setup).await?;
        accounts.into_iter().map(|a| Some(a.token)).collect()
    };
    let logins: Vec<Login> = (0..k)
        .map(|i| Login {
            token: tokens[i % tokens.len()].clone(),
            rooms: Vec::new(),
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_before = server::rss_kib_sum(&env.server_pids);
    let bench_before = server::rss_kib(std::process::id());

    let (stop_tx, stop_rx) = watch::channel(false);
    // Each socket is held (its pings answered) from the moment it is established: opening
    // thousands takes longer than the server's ping interval plus timeout (45 s by default).
    let (conns, first_error) = connect_each(env, &logins, &mut setup, |ws| {
        tokio::spawn(hold(ws, stop_rx.clone()))
    })
    .await;
    let holders: Vec<_> = conns.into_iter().flatten().collect();
    let opened = holders.len();
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(0.0))).await;
    let server_after = server::rss_kib_sum(&env.server_pids);
    let bench_after = server::rss_kib(std::process::id());
    let _ = stop_tx.send(true);
    let mut alive = 0;
    for h in holders {
        alive += usize::from(h.await.unwrap_or(false));
    }

    let per = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if opened > 0 => Some(round3((a as f64 - b as f64) / opened as f64)),
        _ => None,
    };
    let results = IdleResults {
        server_rss_before_kib: server_before,
        server_rss_after_kib: server_after,
        server_kib_per_connection: per(server_before, server_after),
        bench_kib_per_connection: per(bench_before, bench_after),
        alive_at_end: alive,
        first_error,
        setup,
    };
    let mem = match (
        results.server_rss_before_kib,
        results.server_rss_after_kib,
        results.server_kib_per_connection,
    ) {
        (Some(b), Some(a), Some(p)) => format!(
            "server RSS {:.1} -> {:.1} MiB = {p:.1} KiB/connection",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        ),
        _ => "server RSS unknown (no server pid)".to_owned(),
    };
    let summary = format!(
        "idle: {}, {opened}/{k} connections ({users} users) in {:.2} s = {:.0} connects/s; \
         {mem}; generator {:.1} KiB/connection; {} failed, {alive} alive at end",
        env.target(),
        results.setup.connect_s,
        results.setup.connects_per_s,
        results.bench_kib_per_connection.unwrap_or(0.0),
        results.setup.connect_failures,
    );
    Ok((results, summary))
}

/// Keeps an idle connection open (answering pings) until `stop`; true if it was still open.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                client::close(ws).await;
                return true;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let pong = match decode_engine(&t) {
                        Ok(EnginePacket::Ping(data)) => Some(encode_pong(data)),
                        Ok(EnginePacket::Close) => return false,
                        _ => None,
                    };
                    if let Some(pong) = pong
                        && ws.send(Message::text(pong)).await.is_err()
                    {
                        return false;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => {}
            }
        }
    }
}
