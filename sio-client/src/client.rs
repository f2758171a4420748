//! A connected client for tests: a task of its own answers the server's pings and decodes what
//! arrives, so the session stays open however long a test takes between reads; events and acks
//! are read back as JSON.
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::connection::{self, ConnectConfig, Ws};
use crate::protocol::{
    EnginePacket, SocketPacket, decode_engine, decode_socket, encode_event, encode_pong,
    first_ack_arg, split_event,
};

/// A server event: its name and first argument (`null` when it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event name, e.g. `message:new`.
    pub name: String,
    /// The first argument.
    pub data: Value,
}

/// What the reading task hands over.
#[derive(Debug)]
enum Incoming {
    Event(Event),
    Ack {
        id: u64,
        arg: Value,
    },
    /// The server ended the session (Socket.IO DISCONNECT or Engine.IO close) or the connection
    /// dropped; the reason says which.
    Ended(String),
}

/// An event or an ack, as [`Client::receive`] returns them.
enum Received {
    Event(Event),
    Ack(u64, Value),
}

/// A Socket.IO session on namespace `/`.
///
/// Every wait is bounded by [`Client::wait`] (10 s unless changed); events that arrive while
/// waiting for something else are kept, in order, for the next read.
///
/// ```no_run
/// # async fn demo(addr: std::net::SocketAddr) -> anyhow::Result<()> {
/// use serde_json::json;
///
/// let mut alice = sio_client::Client::connect(addr, "alice's token").await?;
/// let ack = alice
///     .emit_with_ack("message:send", &json!({ "conversation_id": 1, "content": "hi" }))
///     .await?;
/// assert_eq!(ack["success"], true);
/// let receipt = alice.expect_event("message:read").await?;
/// # let _ = receipt; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client {
    out: mpsc::UnboundedSender<String>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    kept: VecDeque<Event>,
    ended: Option<String>,
    next_ack: u64,
    /// Longest wait for an ack or an expected event.
    pub wait: Duration,
}

impl Client {
    /// Connects to the server at `addr` with `token` as the CONNECT's `{token}`.
    pub async fn connect(addr: SocketAddr, token: &str) -> Result<Client> {
        let cfg = ConnectConfig::new(addr, 0, 64 * 1024, Duration::from_secs(10));
        let ws = connection::connect(&cfg, 0, Some(token)).await?;
        Ok(Client::over(ws))
    }

    /// Takes over a session opened with [`connection::connect`].
    pub fn over(ws: Ws) -> Client {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(ws, out_rx, in_tx));
        Client {
            out: out_tx,
            incoming: in_rx,
            kept: VecDeque::new(),
            ended: None,
            next_ack: 0,
            wait: Duration::from_secs(10),
        }
    }

    /// Emits `name` with `payload`, asking for no ack.
    pub fn emit(&self, name: &str, payload: &impl Serialize) -> Result<()> {
        self.send(encode_event(name, payload, None)?)
    }

    /// Emits `name` with `payload` and returns the ack's first argument.
    pub async fn emit_with_ack(&mut self, name: &str, payload: &impl Serialize) -> Result<Value> {
        self.next_ack += 1;
        let id = self.next_ack;
        self.send(encode_event(name, payload, Some(id))?)?;
        let wait = self.wait;
        tokio::time::timeout(wait, async {
            loop {
                match self.receive().await? {
                    Received::Ack(got, arg) if got == id => return Ok(arg),
                    Received::Ack(..) => {}
                    Received::Event(event) => self.kept.push_back(event),
                }
            }
        })
        .await
        .map_err(|_| anyhow!("no ack for {name} within {wait:?}"))?
    }

    /// The next event named `name` (events of other names stay kept for later reads).
    pub async fn expect_event(&mut self, name: &str) -> Result<Value> {
        if let Some(i) = self.kept.iter().position(|e| e.name == name) {
            return Ok(self.kept.remove(i).map(|e| e.data).unwrap_or_default());
        }
        let wait = self.wait;
        tokio::time::timeout(wait, async {
            loop {
                match self.receive().await? {
                    Received::Event(event) if event.name == name => return Ok(event.data),
                    Received::Event(event) => self.kept.push_back(event),
                    Received::Ack(..) => {}
                }
            }
        })
        .await
        .map_err(|_| anyhow!("no {name} within {wait:?}"))?
    }

    /// Every event kept or arriving within `wait`, in order (none is kept afterwards). Stops
    /// early when the session ends.
    pub async fn events_within(&mut self, wait: Duration) -> Vec<Event> {
        let mut events: Vec<Event> = self.kept.drain(..).collect();
        let _ = tokio::time::timeout(wait, async {
            while let Ok(received) = self.receive().await {
                if let Received::Event(event) = received {
                    events.push(event);
                }
            }
        })
        .await;
        events
    }

    /// Whether the session is still open: the server has not ended it, nor the connection
    /// dropped, as far as has been read.
    pub fn is_open(&mut self) -> bool {
        while let Ok(incoming) = self.incoming.try_recv() {
            match incoming {
                Incoming::Event(event) => self.kept.push_back(event),
                Incoming::Ack { .. } => {}
                Incoming::Ended(reason) => self.ended = Some(reason),
            }
        }
        self.ended.is_none()
    }

    /// Closes the connection (a WebSocket close) and waits until it is gone.
    pub async fn close(self) {
        let Client {
            out, mut incoming, ..
        } = self;
        drop(out);
        // The reading task ends once the close is done (or after its one-second limit).
        while incoming.recv().await.is_some() {}
    }

    fn send(&self, frame: String) -> Result<()> {
        if let Some(reason) = &self.ended {
            bail!("session ended: {reason}");
        }
        self.out
            .send(frame)
            .map_err(|_| anyhow!("connection task gone"))
    }

    /// The next event or ack the reading task hands over; the end of the session is an error.
    async fn receive(&mut self) -> Result<Received> {
        if let Some(reason) = &self.ended {
            bail!("session ended: {reason}");
        }
        match self.incoming.recv().await {
            Some(Incoming::Event(event)) => Ok(Received::Event(event)),
            Some(Incoming::Ack { id, arg }) => Ok(Received::Ack(id, arg)),
            Some(Incoming::Ended(reason)) => {
                self.ended = Some(reason.clone());
                bail!("session ended: {reason}")
            }
            None => {
                self.ended = Some("connection task gone".into());
                bail!("connection task gone")
            }
        }
    }
}

/// Owns the WebSocket: writes what the client emits, answers pings, decodes the rest. Closes the
/// connection when the client is dropped or closed.
async fn drive(
    mut ws: Ws,
    mut out: mpsc::UnboundedReceiver<String>,
    tx: mpsc::UnboundedSender<Incoming>,
) {
    let reason = loop {
        tokio::select! {
            frame = out.recv() => match frame {
                Some(frame) => {
                    if let Err(e) = ws.send(Message::text(frame)).await {
                        break format!("write: {e}");
                    }
                }
                None => {
                    connection::close(ws).await;
                    return;
                }
            },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => match on_frame(&mut ws, &text).await {
                    Ok(Some(incoming @ Incoming::Ended(_))) => {
                        let _ = tx.send(incoming);
                        return;
                    }
                    Ok(Some(incoming)) => {
                        let _ = tx.send(incoming);
                    }
                    Ok(None) => {}
                    Err(e) => break format!("{e:#}"),
                },
                Some(Ok(Message::Close(frame))) => break format!("WebSocket closed: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("read: {e}"),
                None => break "connection closed".to_owned(),
            }
        }
    };
    let _ = tx.send(Incoming::Ended(reason));
}

/// Decodes one text frame, answering a ping.
async fn on_frame(ws: &mut Ws, text: &str) -> Result<Option<Incoming>> {
    let sio = match decode_engine(text)? {
        EnginePacket::Ping(data) => {
            ws.send(Message::text(encode_pong(data)))
                .await
                .context("sending pong")?;
            return Ok(None);
        }
        EnginePacket::Close => return Ok(Some(Incoming::Ended("Engine.IO close".into()))),
        EnginePacket::Message(sio) => sio,
        _ => return Ok(None),
    };
    Ok(match decode_socket(sio)? {
        SocketPacket::Event { data, .. } => {
            let (name, arg) = split_event(data)?;
            let data = match arg {
                Some(raw) => serde_json::from_str(raw.get()).context("event argument")?,
                None => Value::Null,
            };
            Some(Incoming::Event(Event {
                name: name.into_owned(),
                data,
            }))
        }
        SocketPacket::Ack { id, data, .. } => {
            let arg = match first_ack_arg(data)? {
                Some(raw) => serde_json::from_str(raw.get()).context("ack argument")?,
                None => Value::Null,
            };
            Some(Incoming::Ack { id, arg })
        }
        SocketPacket::Disconnect { .. } => {
            Some(Incoming::Ended("disconnected by the server".into()))
        }
        _ => None,
    })
}
