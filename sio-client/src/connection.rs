//! Opening a Socket.IO session: TCP from a chosen 127.0.0.x source address, WebSocket upgrade,
//! Engine.IO open, Socket.IO CONNECT to `/` with `{token}` (or without auth data); and reading
//! frames off an open session while answering the server's pings.
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
    encode_connect, encode_pong,
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
    /// Settings for the server at `addr`; the read buffer is at least 256 bytes.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let addr = "127.0.0.1:3000".parse().expect("address");
    /// let cfg = sio_client::ConnectConfig::new(addr, 0, 4096, Duration::from_secs(5));
    /// assert_eq!(cfg.ws_url, "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket");
    /// ```
    pub fn new(addr: SocketAddr, source_ips: u8, read_buffer: usize, timeout: Duration) -> Self {
        let port = addr.port();
        let host_port = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]:{port}"),
            IpAddr::V4(ip) => format!("{ip}:{port}"),
        };
        Self {
            addr,
            ws_url: format!("ws://{host_port}/socket.io/?EIO=4&transport=websocket"),
            source_ips,
            read_buffer: read_buffer.max(256),
            timeout,
        }
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

/// Opens a Socket.IO session on namespace `/` as connection number `index` (which picks the
/// source address), authenticated with `token` (none: CONNECT without auth data), within
/// `cfg.timeout`.
pub async fn connect(cfg: &ConnectConfig, index: usize, token: Option<&str>) -> Result<Ws> {
    tokio::time::timeout(cfg.timeout, open(cfg, index, token))
        .await
        .map_err(|_| anyhow!("connect timed out after {:?}", cfg.timeout))?
}

/// [`connect`] without the time limit, for callers that bound a longer handshake themselves.
pub async fn open(cfg: &ConnectConfig, index: usize, token: Option<&str>) -> Result<Ws> {
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
    let connect = match token {
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
    Ok(ws)
}

/// The next Socket.IO packet (the text after the Engine.IO message type), answering the
/// server's pings on the way; `during` names the step for the error when the server closes.
pub async fn next_socket_packet(ws: &mut Ws, during: &str) -> Result<String> {
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
pub async fn next_text(ws: &mut Ws) -> Result<String> {
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

    #[test]
    fn source_addresses_rotate() {
        let addr = "127.0.0.1:3000".parse().expect("literal address");
        let cfg = ConnectConfig::new(addr, 250, 4096, Duration::from_secs(1));
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

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let addr = "[::1]:8080".parse().expect("literal address");
        let cfg = ConnectConfig::new(addr, 4, 10, Duration::from_secs(1));
        assert_eq!(
            cfg.ws_url,
            "ws://[::1]:8080/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(cfg.read_buffer, 256);
        assert!(
            cfg.source_for(0).is_none(),
            "source addresses are IPv4 only"
        );
    }
}
