//! How the generator's clients connect: the server's URL resolved to the address sio-client
//! connects to, and each client's login (a token for the chat server; rooms to join with `join`
//! events for the bare server, which has no users).
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sio_client::connection::{self, next_socket_packet};
use sio_client::protocol::{SocketPacket, decode_socket, encode_event};
use tokio_tungstenite::tungstenite::Message;

pub use sio_client::connection::{ConnectConfig, Ws, close};

/// Resolves the server's base URL (`http://host:port`, IPv4 preferred) into connection settings.
pub async fn connect_config(
    base_url: &str,
    source_ips: u8,
    read_buffer: usize,
    timeout: Duration,
) -> Result<ConnectConfig> {
    let url = reqwest::Url::parse(base_url).with_context(|| format!("bad URL {base_url}"))?;
    let host = url.host_str().context("URL without host")?.to_owned();
    let port = url.port_or_known_default().context("URL without port")?;
    let mut addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .collect::<Vec<_>>();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let addr = *addrs.first().context("host resolves to no address")?;
    Ok(ConnectConfig::new(addr, source_ips, read_buffer, timeout))
}

/// What a client presents when its session opens.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Login {
    /// JWT sent as `{token}` in the CONNECT (none: CONNECT without auth data).
    pub token: Option<String>,
    /// Rooms to join with `join` events once connected (the bare server; the chat server joins
    /// a user's rooms itself).
    pub rooms: Vec<String>,
}

/// Opens a Socket.IO session on namespace `/`, authenticated with the login's token, and joins
/// its rooms, all within the connection timeout.
pub async fn connect(cfg: &ConnectConfig, index: usize, login: &Login) -> Result<Ws> {
    tokio::time::timeout(cfg.timeout, async {
        let mut ws = connection::open(cfg, index, login.token.as_deref()).await?;
        join_rooms(&mut ws, &login.rooms).await?;
        Ok(ws)
    })
    .await
    .map_err(|_| anyhow!("connect timed out after {:?}", cfg.timeout))?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_resolve_to_socket_io_endpoints() {
        let cfg = connect_config("http://127.0.0.1:3000", 250, 4096, Duration::from_secs(1))
            .await
            .expect("literal address");
        assert_eq!(
            cfg.ws_url,
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            cfg.source_for(0).map(|a| a.ip().to_string()).as_deref(),
            Some("127.0.0.2")
        );
        let default_port = connect_config("http://127.0.0.1", 0, 4096, Duration::from_secs(1))
            .await
            .expect("default port");
        assert_eq!(default_port.addr.port(), 80);
        assert!(
            connect_config("not a url", 0, 4096, Duration::from_secs(1))
                .await
                .is_err()
        );
    }
}
