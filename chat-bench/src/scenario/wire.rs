//! What the simulated clients send and the fields they read back: `message:send` (or the bare
//! server's `send`), `message:new` and acks.
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::api::WireMessage;

/// The bare server's room for a conversation.
pub(super) fn room_name(conversation_id: i64) -> String {
    conversation_id.to_string()
}

#[derive(Serialize)]
pub(super) struct SendPayload<'a> {
    pub(super) conversation_id: i64,
    pub(super) content: &'a str,
    pub(super) client_id: &'a str,
}

/// What the bare server relays: the fields a `message:new` of the chat server is counted by.
#[derive(Serialize)]
pub(super) struct BarePayload<'a> {
    pub(super) room: &'a str,
    pub(super) conversation_id: i64,
    pub(super) seq: u64,
    pub(super) content: &'a str,
}

/// The fields of a `message:new` (from either server) that delivery is counted by.
#[derive(Deserialize)]
pub(super) struct Delivery<'a> {
    pub(super) conversation_id: i64,
    pub(super) seq: i64,
    #[serde(default, borrow)]
    pub(super) content: Cow<'a, str>,
}

#[derive(Deserialize)]
pub(super) struct AckBody {
    pub(super) success: bool,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default)]
    pub(super) code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sio_client::protocol::{
        EnginePacket, SocketPacket, decode_engine, decode_socket, encode_event, split_event,
    };

    fn delivery_of(frame: &str) -> (String, i64, i64, String) {
        let EnginePacket::Message(sio) = decode_engine(frame).expect("engine packet") else {
            panic!("not a message packet");
        };
        let SocketPacket::Event { data, .. } = decode_socket(sio).expect("socket packet") else {
            panic!("not an event");
        };
        let (name, arg) = split_event(data).expect("event");
        let arg = arg.expect("payload");
        let d: Delivery<'_> = serde_json::from_str(arg.get()).expect("delivery fields");
        (
            name.into_owned(),
            d.conversation_id,
            d.seq,
            d.content.into_owned(),
        )
    }

    #[test]
    fn bare_payload_is_counted_like_a_chat_message() {
        let payload = BarePayload {
            room: &room_name(7),
            conversation_id: 7,
            seq: 3,
            content: "1700000000000000 4.2 xx",
        };
        let sent = encode_event("send", &payload, Some(5)).expect("encodes");
        assert_eq!(
            sent,
            r#"425["send",{"room":"7","conversation_id":7,"seq":3,"content":"1700000000000000 4.2 xx"}]"#
        );
        // bare-server relays the object as it came.
        let relayed = encode_event("message:new", &payload, None).expect("encodes");
        assert_eq!(
            delivery_of(&relayed),
            ("message:new".into(), 7, 3, "1700000000000000 4.2 xx".into())
        );
        // A chat-server message has more fields, and content may need unescaping.
        let chat = r#"42["message:new",{"id":9,"conversation_id":7,"seq":4,"sender_id":2,"content":"1 a\"b","created_at":"2025-01-01T00:00:00Z"}]"#;
        assert_eq!(
            delivery_of(chat),
            ("message:new".into(), 7, 4, "1 a\"b".into())
        );
    }
}
