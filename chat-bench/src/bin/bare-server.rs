//! bare-server: socketioxide with its default settings and in-process adapter, and nothing else
//! (no authentication, no persistence, no presence), as a reference for what the chat server adds
//! on top of the Socket.IO layer. `chat-bench --bare` drives it with the chat scenarios' traffic.
//!
//! Namespace `/`, any client accepted:
//! - `join` `{"room": ...}`: the socket joins the room; ack `{"success":true}`;
//! - `send` `{"room": ..., ...}`: the payload, as received, goes to every other socket in the
//!   room as `message:new`; ack `{"success":true}` once handed to the adapter.
//!
//! `HOST` (default 127.0.0.1) and `PORT` (default 3000, 0 for a free one) choose where it listens;
//! the bound address is printed as `listening on http://<addr>`, and `/health` answers once it
//! serves. Ctrl-C or SIGTERM stops it. A `--features dhat-heap` build writes `dhat-heap.json` on
//! `SIGUSR1`, with the sockets still open (what each keeps after traffic), or else when it stops.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};

/// The room a payload names: a string, or a number (a conversation id) in decimal.
fn room_of(payload: &Value) -> Option<String> {
    match payload.get("room")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn failure(code: &str) -> Value {
    json!({ "success": false, "code": code })
}

async fn on_join(socket: SocketRef, TryData(payload): TryData<Value>, ack: AckSender) {
    let reply = match payload.ok().as_ref().and_then(room_of) {
        Some(room) => {
            socket.join(room);
            json!({ "success": true })
        }
        None => failure("bad_request"),
    };
    let _ = ack.send(&reply);
}

async fn on_send(socket: SocketRef, TryData(payload): TryData<Value>, ack: AckSender) {
    let Ok(payload) = payload else {
        let _ = ack.send(&failure("bad_request"));
        return;
    };
    let Some(room) = room_of(&payload) else {
        let _ = ack.send(&failure("bad_request"));
        return;
    };
    // `to` on a socket leaves the sender out, as the chat server does with the sending socket.
    let reply = match socket.to(room).emit("message:new", &payload).await {
        Ok(()) => json!({ "success": true }),
        Err(_) => failure("broadcast_failed"),
    };
    let _ = ack.send(&reply);
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| format!("bad {name}: {v:?}")),
        _ => Ok(default),
    }
}

async fn serve() -> Result<(), String> {
    let host: IpAddr = env_or("HOST", IpAddr::V4(Ipv4Addr::LOCALHOST))?;
    let port: u16 = env_or("PORT", 3000)?;
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on("join", on_join);
        socket.on("send", on_send);
    });
    let app = Router::new()
        .route("/health", get(async || "ok"))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "listening on http://{local}");
    }
    // chat-server sets TCP_NODELAY on accepted connections; without it here, Nagle's algorithm
    // against the clients' delayed ACKs would add up to 40 ms to deliveries and the comparison
    // would measure that instead of the servers.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// Ctrl-C or SIGTERM: the server returns, so a heap profile is written.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// With `--features dhat-heap`: see chat-server's `main.rs`.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(feature = "dhat-heap")]
    write_heap_profile_on_sigusr1(dhat::Profiler::new_heap());
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Drops the profiler, which writes the profile, on `SIGUSR1` (as chat-server does), so that
/// its "at t-end" figures are what the open sockets keep at a moment chosen during a run.
#[cfg(feature = "dhat-heap")]
fn write_heap_profile_on_sigusr1(profiler: dhat::Profiler) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        match signal(SignalKind::user_defined1()) {
            Ok(mut usr1) => {
                usr1.recv().await;
                drop(profiler);
                eprintln!("bare-server: heap profile written (dhat-heap.json)");
            }
            Err(e) => eprintln!("bare-server: no SIGUSR1 handler for the heap profile: {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_from_payloads() {
        assert_eq!(room_of(&json!({"room": "12"})).as_deref(), Some("12"));
        assert_eq!(room_of(&json!({"room": 12})).as_deref(), Some("12"));
        assert_eq!(room_of(&json!({"room": ""})), None);
        assert_eq!(room_of(&json!({"room": null})), None);
        assert_eq!(room_of(&json!({"seq": 1})), None);
        assert_eq!(room_of(&json!([1])), None);
        assert_eq!(failure("x"), json!({"success": false, "code": "x"}));
    }
}
