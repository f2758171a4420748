//! Engine.IO v4 and Socket.IO v5 packets as they travel in WebSocket text frames.
//!
//! Over the WebSocket transport every text frame carries exactly one Engine.IO packet: a type digit
//! followed by its data (`0{...}` open, `2` ping, `3` pong, `4...` message). A Socket.IO packet rides
//! in an Engine.IO message: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, for example
//! `42["message:new",{...}]` (event), `4212["message:send",{...}]` (event asking for ack 12) and
//! `4312[{...}]` (the ack for 12).
use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;

/// A packet that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(msg.into()))
}

/// An Engine.IO v4 packet, borrowing its data from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnginePacket<'a> {
    /// `0{"sid":...,"pingInterval":...}`: the handshake.
    Open(&'a str),
    /// `1`: the server closes the session.
    Close,
    /// `2[data]`: heartbeat from the server, answered with a pong carrying the same data.
    Ping(&'a str),
    /// `3[data]`.
    Pong(&'a str),
    /// `4<socket.io packet>`.
    Message(&'a str),
    /// `5`: transport upgrade (not used over a WebSocket-only session).
    Upgrade,
    /// `6`: no-op.
    Noop,
}

/// Decodes one Engine.IO packet from a WebSocket text frame.
pub fn decode_engine(frame: &str) -> Result<EnginePacket<'_>, ProtocolError> {
    let mut chars = frame.chars();
    let Some(kind) = chars.next() else {
        return err("empty Engine.IO packet");
    };
    let data = chars.as_str();
    Ok(match kind {
        '0' => EnginePacket::Open(data),
        '1' => EnginePacket::Close,
        '2' => EnginePacket::Ping(data),
        '3' => EnginePacket::Pong(data),
        '4' => EnginePacket::Message(data),
        '5' => EnginePacket::Upgrade,
        '6' => EnginePacket::Noop,
        other => return err(format!("unknown Engine.IO packet type {other:?}")),
    })
}

/// The pong answering a ping that carried `data` (usually empty: `"3"`).
pub fn encode_pong(data: &str) -> String {
    format!("3{data}")
}

/// The Engine.IO open packet's data (`0{...}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInfo {
    /// Engine.IO session id.
    pub sid: String,
    /// Milliseconds between the server's pings.
    #[serde(default)]
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    #[serde(default)]
    pub ping_timeout: u64,
    /// Largest payload the server accepts.
    #[serde(default)]
    pub max_payload: u64,
}

/// Parses the data of an Engine.IO open packet.
pub fn decode_open(data: &str) -> Result<OpenInfo, ProtocolError> {
    serde_json::from_str(data).map_err(|e| ProtocolError(format!("bad open packet: {e}")))
}

/// A Socket.IO v5 packet, borrowing from the Engine.IO message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketPacket<'a> {
    /// `0[nsp,][data]`: connected (from the server: `{"sid":...}`).
    Connect {
        /// Namespace (`/` when absent).
        nsp: &'a str,
        /// JSON data, if any.
        data: Option<&'a str>,
    },
    /// `1[nsp,]`.
    Disconnect {
        /// Namespace.
        nsp: &'a str,
    },
    /// `2[nsp,][id][name, ...args]`.
    Event {
        /// Namespace.
        nsp: &'a str,
        /// Ack id the sender waits for, if any.
        id: Option<u64>,
        /// The JSON array `[name, ...args]`.
        data: &'a str,
    },
    /// `3[nsp,]<id>[...args]`.
    Ack {
        /// Namespace.
        nsp: &'a str,
        /// The ack id of the event being answered.
        id: u64,
        /// The JSON array of arguments.
        data: &'a str,
    },
    /// `4[nsp,]{"message":...}`: the connection was refused.
    ConnectError {
        /// Namespace.
        nsp: &'a str,
        /// JSON data, if any.
        data: Option<&'a str>,
    },
    /// `5` / `6`: events and acks with binary attachments (not used by the chat protocol).
    Binary {
        /// Number of attachments announced.
        attachments: u64,
    },
}

/// Reads a run of ASCII digits as a number; returns it and the rest.
fn split_number(s: &str) -> Result<(Option<u64>, &str), ProtocolError> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return Ok((None, s));
    }
    let n = s[..end]
        .parse::<u64>()
        .map_err(|_| ProtocolError(format!("number too large: {}", &s[..end])))?;
    Ok((Some(n), &s[end..]))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Decodes a Socket.IO packet: the data of an Engine.IO message packet.
pub fn decode_socket(packet: &str) -> Result<SocketPacket<'_>, ProtocolError> {
    let Some(kind) = packet.bytes().next() else {
        return err("empty Socket.IO packet");
    };
    let mut rest = &packet[1..];
    if kind == b'5' || kind == b'6' {
        let (count, after) = split_number(rest)?;
        let Some(attachments) = count else {
            return err("binary packet without attachment count");
        };
        if !after.starts_with('-') {
            return err("binary packet without '-' after the attachment count");
        }
        return Ok(SocketPacket::Binary { attachments });
    }
    let mut nsp = "/";
    if rest.starts_with('/') {
        let Some(comma) = rest.find(',') else {
            // A namespace alone, e.g. `1/admin`.
            nsp = rest;
            rest = "";
            return build(kind, nsp, None, rest);
        };
        nsp = &rest[..comma];
        rest = &rest[comma + 1..];
    }
    let (id, rest) = split_number(rest)?;
    build(kind, nsp, id, rest)
}

fn build<'a>(
    kind: u8,
    nsp: &'a str,
    id: Option<u64>,
    data: &'a str,
) -> Result<SocketPacket<'a>, ProtocolError> {
    let no_id = |p: SocketPacket<'a>| match id {
        Some(_) => err("ack id on a packet type that takes none"),
        None => Ok(p),
    };
    match kind {
        b'0' => no_id(SocketPacket::Connect {
            nsp,
            data: non_empty(data),
        }),
        b'1' => no_id(SocketPacket::Disconnect { nsp }),
        b'2' => {
            if !data.starts_with('[') {
                return err("event data is not a JSON array");
            }
            Ok(SocketPacket::Event { nsp, id, data })
        }
        b'3' => {
            let Some(id) = id else {
                return err("ack without id");
            };
            if !data.starts_with('[') {
                return err("ack data is not a JSON array");
            }
            Ok(SocketPacket::Ack { nsp, id, data })
        }
        b'4' => no_id(SocketPacket::ConnectError {
            nsp,
            data: non_empty(data),
        }),
        other => err(format!("unknown Socket.IO packet type {:?}", other as char)),
    }
}

/// The full text frame of a CONNECT to the default namespace without handshake data.
pub const CONNECT_WITHOUT_AUTH: &str = "40";

/// The full text frame of a CONNECT to the default namespace with `auth` as handshake data:
/// `40{"token":"..."}`.
pub fn encode_connect(auth: &impl Serialize) -> Result<String, ProtocolError> {
    let json = serde_json::to_string(auth).map_err(|e| ProtocolError(e.to_string()))?;
    Ok(format!("40{json}"))
}

/// The full text frame of an event on the default namespace: `42[name,payload]`, or
/// `42<id>[name,payload]` when an ack is requested.
pub fn encode_event(
    name: &str,
    payload: &impl Serialize,
    ack_id: Option<u64>,
) -> Result<String, ProtocolError> {
    let name = serde_json::to_string(name).map_err(|e| ProtocolError(e.to_string()))?;
    let payload = serde_json::to_string(payload).map_err(|e| ProtocolError(e.to_string()))?;
    Ok(match ack_id {
        Some(id) => format!("42{id}[{name},{payload}]"),
        None => format!("42[{name},{payload}]"),
    })
}

/// The full text frame answering an event that asked for ack `id`: `43<id>[...args]`.
pub fn encode_ack(id: u64, args: &impl Serialize) -> Result<String, ProtocolError> {
    let args = serde_json::to_string(args).map_err(|e| ProtocolError(e.to_string()))?;
    if !args.starts_with('[') {
        return err("ack arguments must serialize to a JSON array");
    }
    Ok(format!("43{id}{args}"))
}

/// Splits event data `["name", payload?, ...]` into the name and the first argument.
pub fn split_event(data: &str) -> Result<(Cow<'_, str>, Option<&RawValue>), ProtocolError> {
    let items: Vec<&RawValue> =
        serde_json::from_str(data).map_err(|e| ProtocolError(format!("bad event: {e}")))?;
    let Some(first) = items.first() else {
        return err("event without a name");
    };
    let name: Cow<'_, str> = serde_json::from_str(first.get())
        .map_err(|_| ProtocolError("event name is not a string".into()))?;
    Ok((name, items.get(1).copied()))
}

/// The first argument of ack data `[arg, ...]`.
pub fn first_ack_arg(data: &str) -> Result<Option<&RawValue>, ProtocolError> {
    let items: Vec<&RawValue> =
        serde_json::from_str(data).map_err(|e| ProtocolError(format!("bad ack: {e}")))?;
    Ok(items.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_packets() {
        assert_eq!(decode_engine("2"), Ok(EnginePacket::Ping("")));
        assert_eq!(decode_engine("2probe"), Ok(EnginePacket::Ping("probe")));
        assert_eq!(decode_engine("3"), Ok(EnginePacket::Pong("")));
        assert_eq!(decode_engine("1"), Ok(EnginePacket::Close));
        assert_eq!(decode_engine("5"), Ok(EnginePacket::Upgrade));
        assert_eq!(decode_engine("6"), Ok(EnginePacket::Noop));
        assert_eq!(decode_engine("40"), Ok(EnginePacket::Message("0")));
        assert_eq!(
            decode_engine(r#"0{"sid":"a"}"#),
            Ok(EnginePacket::Open(r#"{"sid":"a"}"#))
        );
        assert!(decode_engine("").is_err());
        assert!(decode_engine("9").is_err());
        assert!(decode_engine("x").is_err());
        assert_eq!(encode_pong(""), "3");
        assert_eq!(encode_pong("probe"), "3probe");
    }

    #[test]
    fn open_packet() {
        let open = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let info = decode_open(open).expect("valid open packet");
        assert_eq!(info.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(info.ping_interval, 25000);
        assert_eq!(info.ping_timeout, 20000);
        assert_eq!(info.max_payload, 1_000_000);
        assert!(decode_open("{").is_err());
        assert!(decode_open("{}").is_err());
    }

    #[test]
    fn connect_and_connect_error() {
        assert_eq!(
            decode_socket(r#"0{"sid":"abc"}"#),
            Ok(SocketPacket::Connect {
                nsp: "/",
                data: Some(r#"{"sid":"abc"}"#)
            })
        );
        assert_eq!(
            decode_socket("0"),
            Ok(SocketPacket::Connect {
                nsp: "/",
                data: None
            })
        );
        assert_eq!(
            decode_socket(r#"0/admin,{"sid":"x"}"#),
            Ok(SocketPacket::Connect {
                nsp: "/admin",
                data: Some(r#"{"sid":"x"}"#)
            })
        );
        assert_eq!(
            decode_socket(r#"4{"message":"unauthorized"}"#),
            Ok(SocketPacket::ConnectError {
                nsp: "/",
                data: Some(r#"{"message":"unauthorized"}"#)
            })
        );
        assert_eq!(
            decode_socket("1"),
            Ok(SocketPacket::Disconnect { nsp: "/" })
        );
        assert_eq!(
            decode_socket("1/admin,"),
            Ok(SocketPacket::Disconnect { nsp: "/admin" })
        );
        assert_eq!(
            decode_socket("1/admin"),
            Ok(SocketPacket::Disconnect { nsp: "/admin" })
        );
    }

    #[test]
    fn events_and_acks() {
        assert_eq!(
            decode_socket(r#"2["message:new",{"id":1}]"#),
            Ok(SocketPacket::Event {
                nsp: "/",
                id: None,
                data: r#"["message:new",{"id":1}]"#
            })
        );
        assert_eq!(
            decode_socket(r#"212["ping",1]"#),
            Ok(SocketPacket::Event {
                nsp: "/",
                id: Some(12),
                data: r#"["ping",1]"#
            })
        );
        assert_eq!(
            decode_socket(r#"2/chat,7["x"]"#),
            Ok(SocketPacket::Event {
                nsp: "/chat",
                id: Some(7),
                data: r#"["x"]"#
            })
        );
        assert_eq!(
            decode_socket(r#"3123[{"success":true}]"#),
            Ok(SocketPacket::Ack {
                nsp: "/",
                id: 123,
                data: r#"[{"success":true}]"#
            })
        );
        assert_eq!(
            decode_socket(r#"51-["upload",{"_placeholder":true,"num":0}]"#),
            Ok(SocketPacket::Binary { attachments: 1 })
        );
        // Malformed packets.
        assert!(decode_socket("").is_err());
        assert!(decode_socket("3[{}]").is_err(), "ack without id");
        assert!(decode_socket("2{}").is_err(), "event data not an array");
        assert!(decode_socket("2").is_err(), "event without data");
        assert!(decode_socket("05").is_err(), "connect with an ack id");
        assert!(decode_socket("9[]").is_err());
        assert!(decode_socket("5[]").is_err(), "binary without count");
        assert!(decode_socket("51[]").is_err(), "binary without dash");
        assert!(decode_socket("399999999999999999999999[]").is_err());
    }

    #[test]
    fn connect_without_auth() {
        let EnginePacket::Message(sio) = decode_engine(CONNECT_WITHOUT_AUTH).expect("engine")
        else {
            panic!("not a message packet");
        };
        assert_eq!(
            decode_socket(sio),
            Ok(SocketPacket::Connect {
                nsp: "/",
                data: None
            })
        );
    }

    #[test]
    fn encode_packets() {
        assert_eq!(
            encode_connect(&json!({"token": "a\"b"})).expect("encodes"),
            r#"40{"token":"a\"b"}"#
        );
        let payload = json!({"conversation_id": 3, "content": "hi"});
        assert_eq!(
            encode_event("message:send", &payload, Some(42)).expect("encodes"),
            r#"4242["message:send",{"content":"hi","conversation_id":3}]"#
        );
        assert_eq!(
            encode_event("typing:start", &json!({"conversation_id": 3}), None).expect("encodes"),
            r#"42["typing:start",{"conversation_id":3}]"#
        );
        assert_eq!(
            encode_ack(5, &json!([{"success": true}])).expect("encodes"),
            r#"435[{"success":true}]"#
        );
        assert!(encode_ack(5, &json!({"success": true})).is_err());
    }

    #[test]
    fn encoded_packets_decode_back() {
        let frame = encode_event("message:send", &json!({"a": 1}), Some(9)).expect("encodes");
        let EnginePacket::Message(sio) = decode_engine(&frame).expect("engine") else {
            panic!("not a message packet");
        };
        let SocketPacket::Event { nsp, id, data } = decode_socket(sio).expect("socket") else {
            panic!("not an event");
        };
        assert_eq!((nsp, id), ("/", Some(9)));
        let (name, arg) = split_event(data).expect("event");
        assert_eq!(name, "message:send");
        assert_eq!(arg.map(RawValue::get), Some(r#"{"a":1}"#));

        let frame = encode_ack(9, &json!([{"success": true}, 2])).expect("encodes");
        let EnginePacket::Message(sio) = decode_engine(&frame).expect("engine") else {
            panic!("not a message packet");
        };
        let SocketPacket::Ack { id, data, .. } = decode_socket(sio).expect("socket") else {
            panic!("not an ack");
        };
        assert_eq!(id, 9);
        let arg = first_ack_arg(data).expect("ack args");
        assert_eq!(arg.map(RawValue::get), Some(r#"{"success":true}"#));
    }

    #[test]
    fn split_events() {
        let (name, arg) =
            split_event(r#"["user:online",{"user_id":1,"username":"a"}]"#).expect("valid event");
        assert_eq!(name, "user:online");
        assert_eq!(
            arg.map(RawValue::get),
            Some(r#"{"user_id":1,"username":"a"}"#)
        );
        let (name, arg) = split_event(r#"["n\u00e9"]"#).expect("escaped name");
        assert_eq!(name, "né");
        assert!(arg.is_none());
        assert!(split_event("[]").is_err());
        assert!(split_event("[1]").is_err());
        assert!(split_event("[\"x\"").is_err());
        assert!(first_ack_arg("[]").expect("empty ack").is_none());
    }
}
