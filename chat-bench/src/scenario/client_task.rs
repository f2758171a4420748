//! The task of one simulated client: sends what the scheduler hands it, reads its socket, and
//! reconnects and catches up when dropped (churn) or disconnected by the server.
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::client_state::{ClientState, ClientTally, Cmd, Shared};
use crate::client::{self, Ws};

enum Outcome {
    Stop,
    Lost(String),
    Drop(Duration),
    /// The server disconnected the socket (Socket.IO DISCONNECT).
    Disconnected,
}

pub(super) async fn run_client(
    mut state: ClientState,
    mut ws: Ws,
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Cmd>,
    mut stop: watch::Receiver<bool>,
) -> ClientState {
    let i = state.index;
    loop {
        shared.connected[i].store(true, Ordering::Relaxed);
        let outcome = loop {
            tokio::select! {
                _ = stop.changed() => break Outcome::Stop,
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Send { conversation_id, seq }) => {
                        shared.queued.fetch_sub(1, Ordering::Relaxed);
                        if let Err(e) = state.send(&mut ws, &shared, conversation_id, seq).await {
                            break Outcome::Lost(format!("{e:#}"));
                        }
                    }
                    Some(Cmd::Drop { down }) => break Outcome::Drop(down),
                    None => break Outcome::Stop,
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => match state.on_frame(&mut ws, &shared, &t).await {
                        Ok(true) => {}
                        Ok(false) if std::mem::take(&mut state.disconnected_by_server) => {
                            break Outcome::Disconnected
                        }
                        Ok(false) => break Outcome::Lost("the server ended the session".into()),
                        Err(e) => break Outcome::Lost(format!("{e:#}")),
                    },
                    Some(Ok(Message::Close(_))) | None => {
                        break Outcome::Lost("connection closed".into())
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break Outcome::Lost(format!("read: {e}")),
                }
            }
        };
        shared.connected[i].store(false, Ordering::Relaxed);
        match outcome {
            Outcome::Stop => {
                client::close(ws).await;
                break;
            }
            Outcome::Lost(e) => {
                state.tally.unexpected_disconnects += 1;
                state.error(e);
                state.abandon_pending(&shared);
                break;
            }
            Outcome::Drop(_) | Outcome::Disconnected => {
                let down = match outcome {
                    Outcome::Drop(down) => down,
                    _ => {
                        // Like a socket.io client: reconnect at once and catch up.
                        state.tally.server_disconnects += 1;
                        Duration::ZERO
                    }
                };
                // An abrupt drop: no close frame, the TCP connection just goes away.
                drop(ws);
                state.abandon_pending(&shared);
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(down) => {}
                }
                match client::connect(shared.instances.connect(i), i, &state.login).await {
                    Ok(new_ws) => ws = new_ws,
                    Err(e) => {
                        state.error(format!("reconnect: {e:#}"));
                        state.tally.unexpected_disconnects += 1;
                        break;
                    }
                }
                state.tally.reconnects += 1;
                if let Err(e) = state.catch_up(&shared).await {
                    state.error(format!("catch-up: {e:#}"));
                }
                // Commands queued while away are stale: sends go to connected clients only.
                discard_queued(&mut rx, &shared, &mut state.tally);
            }
        }
    }
    discard_queued(&mut rx, &shared, &mut state.tally);
    state.tally.ack_unanswered = state.pending.len() as u64;
    state
}

pub(super) fn discard_queued(
    rx: &mut mpsc::Receiver<Cmd>,
    shared: &Shared,
    tally: &mut ClientTally,
) {
    while let Ok(cmd) = rx.try_recv() {
        if let Cmd::Send { .. } = cmd {
            shared.queued.fetch_sub(1, Ordering::Relaxed);
            tally.unsent += 1;
        }
    }
}
