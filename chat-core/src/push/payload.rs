//! What a notification says: the JSON a service worker's `push` event
//! reads, encrypted for the device.
use serde::Serialize;

use crate::ids::{ConversationId, MessageId};
use crate::store::push::Claimed;

/// Most characters of a message a preview shows.
const PREVIEW_CHARS: usize = 200;

/// The payload of a notification (`event.data.json()` in the service
/// worker). Well under the 4 KB push services take, encrypted.
///
/// ```
/// use chat_core::push::PushPayload;
/// # let payload: PushPayload = serde_json::from_value(serde_json::json!({
/// #   "type": "message", "conversation_id": 12, "conversation_name": "team", "sender_name": "Alice",
/// #   "title": "team", "body": "Alice: New message", "count": 1, "mentioned": false,
/// #   "message_id": 99, "seq": 7, "url": "/?conversation=12"})).unwrap();
/// assert_eq!(payload.url, "/?conversation=12");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PushPayload {
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The conversation to open on click.
    pub conversation_id: ConversationId,
    /// The group's name; `null` for a direct conversation.
    pub conversation_name: Option<String>,
    /// Who wrote the latest message (display name, else username).
    pub sender_name: String,
    /// The notification's title: the sender in a direct conversation, the
    /// group's name otherwise.
    pub title: String,
    /// "New message", "3 new messages", or with previews on the text of
    /// the latest message (a group's prefixed with its sender).
    pub body: String,
    /// Messages this notification stands for.
    pub count: i64,
    /// One of them mentions the recipient.
    pub mentioned: bool,
    /// The latest message.
    pub message_id: MessageId,
    /// Its `seq` in the conversation.
    pub seq: i64,
    /// Where the app shows the conversation.
    pub url: String,
}

impl PushPayload {
    pub(crate) fn of(row: &Claimed, preview: bool) -> Self {
        let sender_name = row
            .sender_display_name
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| row.sender_username.clone());
        let group = row.conversation_kind == "group";
        let conversation_name = if group {
            row.conversation_name.clone()
        } else {
            None
        };
        let title = conversation_name
            .clone()
            .unwrap_or_else(|| sender_name.clone());
        let generic = if row.count > 1 {
            format!("{} new messages", row.count)
        } else if row.mentioned {
            "You were mentioned".to_owned()
        } else {
            "New message".to_owned()
        };
        // A call's summary ("Missed voice call") is the server's own words,
        // not something a person wrote: shown whatever the preview setting.
        let text = row
            .content
            .as_ref()
            .filter(|(_, kind)| preview || (row.count == 1 && kind == "call"))
            .map(|(text, kind)| describe(text, kind));
        let body = match text {
            Some(text) if group => format!("{sender_name}: {text}"),
            Some(text) => text,
            None if group => format!("{sender_name}: {generic}"),
            None => generic,
        };
        PushPayload {
            kind: "message".to_owned(),
            conversation_id: row.conversation_id,
            conversation_name,
            sender_name,
            title,
            body,
            count: row.count,
            mentioned: row.mentioned,
            message_id: row.message_id,
            seq: row.seq,
            url: format!("/?conversation={}", row.conversation_id),
        }
    }
}

/// A message as one line of a notification.
fn describe(text: &str, kind: &str) -> String {
    let text: String = text.chars().take(PREVIEW_CHARS).collect();
    match kind {
        "image" if text.is_empty() => "Photo".to_owned(),
        "file" if text.is_empty() => "File".to_owned(),
        "audio" => "Voice message".to_owned(),
        _ if text.is_empty() => "New message".to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::{c, m};
    use crate::store::push::SubscriptionRow;

    fn row(kind: &str, count: i64) -> Claimed {
        Claimed {
            id: 1,
            conversation_id: c(12),
            message_id: m(99),
            count,
            mentioned: false,
            revision: 1,
            attempts: 0,
            subscription: SubscriptionRow {
                endpoint: String::new(),
                p256dh: String::new(),
                auth: String::new(),
            },
            sender_username: "alice".into(),
            sender_display_name: Some("Alice".into()),
            conversation_kind: kind.into(),
            conversation_name: (kind == "group").then(|| "team".into()),
            content: Some(("the launch moved to friday".into(), "text".into())),
            seq: 7,
        }
    }

    #[test]
    fn the_text_is_left_out_unless_previews_are_on() {
        let direct = PushPayload::of(&row("direct", 1), false);
        assert_eq!(
            (direct.title.as_str(), direct.body.as_str()),
            ("Alice", "New message")
        );
        assert_eq!(direct.conversation_name, None);
        let group = PushPayload::of(&row("group", 3), false);
        assert_eq!(group.title, "team");
        assert_eq!(group.body, "Alice: 3 new messages");
        assert!(
            !serde_json::to_string(&group)
                .unwrap_or_default()
                .contains("friday")
        );
        let shown = PushPayload::of(&row("group", 1), true);
        assert_eq!(shown.body, "Alice: the launch moved to friday");
        assert_eq!(shown.url, "/?conversation=12");
    }

    #[test]
    fn attachments_are_named_and_a_missed_call_says_so_without_previews() {
        let with = |text: &str, kind: &str, preview: bool| {
            let mut row = row("direct", 1);
            row.content = Some((text.into(), kind.into()));
            PushPayload::of(&row, preview).body
        };
        assert_eq!(with("", "audio", true), "Voice message");
        assert_eq!(with("", "image", true), "Photo");
        assert_eq!(
            with("Missed video call", "call", false),
            "Missed video call"
        );
        assert_eq!(with("secret plans", "text", false), "New message");
    }
}
