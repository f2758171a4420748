//! A Socket.IO client connection: TCP from a chosen 127.0.0.x source address, WebSocket upgrade,
//! Engine.IO open, Socket.IO CONNECT with `{token}` (or without auth data for the bare server,
//! whose rooms are then joined with `join` events).
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::protocol::{
    CONNECT_WITHOUT_AUTH, EnginePacket, SocketPacket, decode_engine, decode_open, decode_socket,
    encode_connect, encode_event, encode_pong,
};

/// A connected WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// The server's address.
    pub addr: SocketAddr,
    /// `ws://host:port/socket.io/?EIO=4&transport=websocket`.
    pub ws_url: String,
    /// Spread connections over this many source addresses 127.0.0.2, 127.0.0.3, ... (0: let the
    /// system choose; only used when the server is on IPv4 loopback).
    pub source_ips: u8,
    /// WebSocket read buffer per connection, in bytes.
    pub read_buffer: usize,
    /// Time allowed for TCP connect + upgrade + Socket.IO CONNECT.
    pub timeout: Duration,
}

impl ConnectConfig {
    /// Resolves the server's base URL (`http://host:port`).
    pub async fn new(
        base_url: &str,
        source_ips: u8,
        read_buffer: usize,
        timeout: Duration,
    ) -> Result<Self> {
        let url = reqwest::Url::parse(base_url).with_context(|| format!("bad URL {base_url}"))?;
        let host = url.host_str().context("URL without host")?.to_owned();
        let port = url.port_or_known_default().context("URL without port")?;
        let mut addrs = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .collect::<Vec<_>>();
        addrs.sort_by_key(|a| !a.is_ipv4());
        let addr = *addrs.first().context("host resolves to no address")?;
        let host_port = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]:{port}"),
            IpAddr::V4(ip) => format!("{ip}:{port}"),
        };
        Ok(Self {
            addr,
            ws_url: format!("ws://{host_port}/socket.io/?EIO=4&transport=websocket"),
            source_ips,
            read_buffer: read_buffer.max(256),
            timeout,
        })
    }

    /// The source address for connection number `index`: 127.0.0.(2 + index % n).
    pub fn source_for(&self, index: usize) -> Option<SocketAddr> {
        let loopback_v4 = matches!(self.addr.ip(), IpAddr::V4(ip) if ip.is_loopback());
        if self.source_ips == 0 || !loopback_v4 {
            return None;
        }
        let last = 2 + (index % usize::from(self.source_ips.min(250))) as u8;
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            0,
        ))
    }
}

/// What a client presents when its session opens.
#[derive(Debug, Clone, Default)]
pub struct Login {
    /// JWT sent as `{token}` in the CONNECT (none: CONNECT without auth data).
    pub token: Option<String>,
    /// Rooms to join with `join` events once connected (the bare server; the chat server joins
    /// a user's rooms itself).
    pub rooms: Vec<String>,
}

/// Opens a Socket.IO session on namespace `/`, authenticated with the login's token, and joins
/// its rooms.
pub async fn connect(cfg: &ConnectConfig, index: usize, login: &Login) -> Result<Ws> {
    tokio::time::timeout(cfg.timeout, connect_inner(cfg, index, login))
        .await
        .map_err(|_| anyhow!("connect timed out after {:?}", cfg.timeout))?
}

async fn connect_inner(cfg: &ConnectConfig, index: usize, login: &Login) -> Result<Ws> {
    let socket = if cfg.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .context("creating a socket")?;
    if let Some(source) = cfg.source_for(index) {
        socket
            .bind(source)
            .with_context(|| format!("binding {source}"))?;
    }
    let stream = socket.connect(cfg.addr).await.context("TCP connect")?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(cfg.read_buffer)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(cfg.ws_url.as_str(), stream, Some(ws_config))
            .await
            .context("WebSocket upgrade")?;

    // Engine.IO open packet.
    let open = next_text(&mut ws).await?;
    match decode_engine(&open)? {
        EnginePacket::Open(data) => {
            decode_open(data)?;
        }
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    }
    // Socket.IO CONNECT with the token, then wait for the server's CONNECT (or CONNECT_ERROR).
    let connect = match &login.token {
        Some(token) => encode_connect(&json!({ "token": token }))?,
        None => CONNECT_WITHOUT_AUTH.to_owned(),
    };
    ws.send(Message::text(connect))
        .await
        .context("sending CONNECT")?;
    loop {
        let sio = next_socket_packet(&mut ws, "during the handshake").await?;
        match decode_socket(&sio)? {
            SocketPacket::Connect { nsp: "/", .. } => break,
            SocketPacket::ConnectError { data, .. } => {
                bail!("connect refused: {}", data.unwrap_or(""))
            }
            _ => {}
        }
    }
    join_rooms(&mut ws, &login.rooms).await?;
    Ok(ws)
}

/// Joins `rooms` with `join` events (acks 1..=n) and waits for every ack, so no message is sent
/// to a room before all its members are in. The ack ids are free again afterwards.
async fn join_rooms(ws: &mut Ws, rooms: &[String]) -> Result<()> {
    for (ack, room) in (1u64..).zip(rooms) {
        let frame = encode_event("join", &json!({ "room": room }), Some(ack))?;
        ws.send(Message::text(frame))
            .await
            .context("sending join")?;
    }
    let mut missing = rooms.len();
    while missing > 0 {
        let sio = next_socket_packet(ws, "while joining rooms").await?;
        match decode_socket(&sio)? {
            SocketPacket::Ack { id, .. } if id >= 1 && id <= rooms.len() as u64 => {
                missing -= 1;
            }
            SocketPacket::Disconnect { .. } => bail!("disconnected while joining rooms"),
            _ => {}
        }
    }
    Ok(())
}

/// The next Socket.IO packet (the text after the Engine.IO message type), answering the
/// server's pings on the way; `during` names the step for the error when the server closes.
async fn next_socket_packet(ws: &mut Ws, during: &str) -> Result<String> {
    loop {
        let text = next_text(ws).await?;
        match decode_engine(&text)? {
            EnginePacket::Ping(data) => ws
                .send(Message::text(encode_pong(data)))
                .await
                .context("sending pong")?,
            EnginePacket::Message(sio) => return Ok(sio.to_owned()),
            EnginePacket::Close => bail!("server closed the session {during}"),
            _ => {}
        }
    }
}

/// The next text frame (skipping WebSocket-level pings and binary frames).
async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => bail!("WebSocket closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e).context("WebSocket read"),
            None => bail!("connection closed"),
        }
    }
}

/// Closes a WebSocket politely, giving up after a second.
pub async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn source_addresses_rotate() {
        let cfg = ConnectConfig::new("http://127.0.0.1:3000", 250, 4096, Duration::from_secs(1))
            .await
            .expect("literal address");
        assert_eq!(
            cfg.ws_url,
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"
        );
        let ip = |i| cfg.source_for(i).map(|a| a.ip().to_string());
        assert_eq!(ip(0).as_deref(), Some("127.0.0.2"));
        assert_eq!(ip(249).as_deref(), Some("127.0.0.251"));
        assert_eq!(ip(250).as_deref(), Some("127.0.0.2"));
        let off = ConnectConfig {
            source_ips: 0,
            ..cfg.clone()
        };
        assert!(off.source_for(3).is_none());
    }
}
