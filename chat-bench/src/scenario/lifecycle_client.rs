//! A `lifecycle` client: carries out the operations the scheduler hands it on the recent messages
//! of its conversations (its own for edits and deletes), and counts its acks and the events it
//! receives.
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use sio_client::protocol::{
    EnginePacket, SocketPacket, decode_engine, decode_socket, encode_event, encode_pong,
    first_ack_arg, split_event,
};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::MAX_ERRORS_KEPT;
use super::lifecycle_ops::{Cmd, Event, LifeShared, Op, Tally};
use super::lifecycle_targets::{Conv, EMOJI, Planned};
use super::setup::Group;
use super::wire::AckBody;
use crate::client::{self, Ws};
use crate::mix::OpKind;
use crate::stats::{now_us, sample_us};

struct Pending {
    op: Op,
    sent_us: u64,
    conv: usize,
    reaction: Option<(i64, usize)>,
}

pub(super) struct LifeClient {
    pub(super) index: usize,
    user_id: i64,
    convs: Vec<Conv>,
    next_ack: u64,
    pending: HashMap<u64, Pending>,
    /// Rotates targets and emoji.
    turn: usize,
    /// Reaction operations so far: every other one takes a reaction back, when there is one.
    reactions: u64,
    sent: u64,
    pub(super) tally: Tally,
}

#[derive(Deserialize)]
struct EventFields {
    conversation_id: i64,
    /// `message:new`: the message's id and sender.
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    sender_id: Option<i64>,
    /// `message:deleted`.
    #[serde(default)]
    message_id: Option<i64>,
}

impl LifeClient {
    /// Client `index` of user `user_id`, in the groups that seat it.
    pub(super) fn new(index: usize, user_id: i64, groups: &[Group]) -> Self {
        let convs = groups
            .iter()
            .filter(|g| g.members.contains(&index))
            .map(|g| Conv {
                id: g.id,
                receivers: g.members.len() as u64 - 1,
                recent: VecDeque::new(),
                mine: BTreeSet::new(),
                in_flight: BTreeSet::new(),
            })
            .collect();
        Self {
            index,
            user_id,
            convs,
            next_ack: 1,
            pending: HashMap::new(),
            turn: 0,
            reactions: 0,
            sent: 0,
            tally: Tally::default(),
        }
    }

    fn conv_index(&self, id: i64) -> Option<usize> {
        self.convs.iter().position(|c| c.id == id)
    }

    fn error(&mut self, e: impl std::fmt::Display) {
        if self.tally.errors.len() < MAX_ERRORS_KEPT {
            self.tally
                .errors
                .push(format!("client {}: {e}", self.index));
        }
    }

    /// The target of a drawn operation; `None` when there is nothing to act on.
    fn choose(&mut self, conv: usize, kind: OpKind) -> Option<Planned> {
        self.turn = self.turn.wrapping_add(1);
        if matches!(kind, OpKind::React) {
            self.reactions += 1;
        }
        self.convs[conv].choose(kind, self.turn, self.reactions)
    }

    async fn perform(&mut self, ws: &mut Ws, shared: &LifeShared, cmd: Cmd) -> Result<()> {
        let Some(conv) = self.conv_index(cmd.conversation_id) else {
            bail!(
                "asked to act in conversation {}, not one of ours",
                cmd.conversation_id
            );
        };
        let planned = match self.choose(conv, cmd.kind) {
            Some(planned) => planned,
            None => {
                self.tally.substituted += 1;
                Planned::Send
            }
        };
        let n = self.sent;
        let ack = self.next_ack;
        let ts = now_us();
        let content = |what: &str| {
            let mut content = format!("{ts} {}.{n}{what} ", self.index);
            let pad = shared.content_size.saturating_sub(content.len());
            content.push_str(&shared.padding[..pad.min(shared.padding.len())]);
            content
        };
        let (op, frame, reaction) = match planned {
            Planned::Send => {
                let client_id = format!("{}-{}-{n}", shared.run_id, self.index);
                let payload = json!({
                    "conversation_id": cmd.conversation_id,
                    "content": content(""),
                    "client_id": client_id,
                });
                let frame = encode_event("message:send", &payload, Some(ack))?;
                (Op::Send, frame, None)
            }
            Planned::Edit(id) => {
                let payload = json!({ "message_id": id, "content": content(" edited") });
                (
                    Op::Edit,
                    encode_event("message:edit", &payload, Some(ack))?,
                    None,
                )
            }
            Planned::Delete(id) => {
                let payload = json!({ "message_id": id });
                (
                    Op::Delete,
                    encode_event("message:delete", &payload, Some(ack))?,
                    None,
                )
            }
            Planned::React {
                message_id,
                emoji,
                add,
            } => {
                let (op, name) = if add {
                    (Op::ReactAdd, "reaction:add")
                } else {
                    (Op::ReactRemove, "reaction:remove")
                };
                let payload = json!({ "message_id": message_id, "emoji": EMOJI[emoji] });
                (
                    op,
                    encode_event(name, &payload, Some(ack))?,
                    Some((message_id, emoji)),
                )
            }
        };
        self.next_ack += 1;
        self.sent += 1;
        self.tally.ops.entry(op).or_default().sent += 1;
        self.pending.insert(
            ack,
            Pending {
                op,
                sent_us: ts,
                conv,
                reaction,
            },
        );
        shared.pending_acks.fetch_add(1, Ordering::Relaxed);
        ws.send(Message::text(frame)).await.context("send")?;
        Ok(())
    }

    /// Handles one text frame; false when the server ended the session.
    async fn on_frame(&mut self, ws: &mut Ws, shared: &LifeShared, text: &str) -> Result<bool> {
        match decode_engine(text)? {
            EnginePacket::Ping(data) => ws
                .send(Message::text(encode_pong(data)))
                .await
                .context("pong")?,
            EnginePacket::Close => return Ok(false),
            EnginePacket::Message(sio) => match decode_socket(sio)? {
                SocketPacket::Event { data, .. } => {
                    let (name, arg) = split_event(data)?;
                    match (Event::parse(&name), arg) {
                        (Some(event), Some(arg)) => {
                            let fields: EventFields = serde_json::from_str(arg.get())
                                .with_context(|| format!("{name} payload"))?;
                            self.on_event(shared, event, &fields);
                        }
                        _ => self.tally.other_events += 1,
                    }
                }
                SocketPacket::Ack { id, data, .. } => self.on_ack(shared, id, data)?,
                SocketPacket::Disconnect { .. } => {
                    self.tally.server_disconnects += 1;
                    return Ok(false);
                }
                _ => {}
            },
            _ => {}
        }
        Ok(true)
    }

    fn on_event(&mut self, shared: &LifeShared, event: Event, fields: &EventFields) {
        self.tally.received[event.index()] += 1;
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        shared.last_event_us.fetch_max(now_us(), Ordering::Relaxed);
        let Some(conv) = self.conv_index(fields.conversation_id) else {
            return;
        };
        let conv = &mut self.convs[conv];
        match (event, fields.id, fields.message_id) {
            (Event::New, Some(id), _) => {
                let own = fields.sender_id == Some(self.user_id);
                conv.remember(id, own, shared.recent);
            }
            (Event::Deleted, _, Some(id)) => conv.forget(id),
            _ => {}
        }
    }

    fn on_ack(&mut self, shared: &LifeShared, id: u64, data: &str) -> Result<()> {
        let now = now_us();
        let Some(p) = self.pending.remove(&id) else {
            return Ok(());
        };
        shared.pending_acks.fetch_sub(1, Ordering::Relaxed);
        let body: Option<AckBody> = first_ack_arg(data)?
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .context("ack payload")?;
        let conv = &mut self.convs[p.conv];
        if let Some(reaction) = p.reaction {
            conv.in_flight.remove(&reaction);
        }
        let tally = self.tally.ops.entry(p.op).or_default();
        let code = match body {
            Some(AckBody {
                success: true,
                message,
                ..
            }) => {
                tally.acked += 1;
                tally.ack_us.push(sample_us(p.sent_us, now));
                self.tally.expected[p.op.event().index()] += conv.receivers;
                shared.expected.fetch_add(conv.receivers, Ordering::Relaxed);
                if let (Op::Send, Some(message)) = (p.op, message) {
                    conv.remember(message.id, true, shared.recent);
                }
                return Ok(());
            }
            Some(AckBody { code, .. }) => code.unwrap_or_else(|| "no_code".to_owned()),
            None => "empty_ack".to_owned(),
        };
        *tally.failed.entry(code).or_default() += 1;
        // Not toggled after all (unless the message is gone meanwhile).
        if let Some((message_id, emoji)) = p.reaction
            && conv.recent.iter().any(|&(m, _)| m == message_id)
        {
            if p.op == Op::ReactAdd {
                conv.mine.remove(&(message_id, emoji));
            } else {
                conv.mine.insert((message_id, emoji));
            }
        }
        Ok(())
    }
}

/// The task of one client: performs what the scheduler hands it and reads its socket until told
/// to stop (a client the server disconnects is not reconnected: it is counted and stops).
pub(super) async fn run_client(
    mut client: LifeClient,
    mut ws: Ws,
    shared: std::sync::Arc<LifeShared>,
    mut rx: mpsc::Receiver<Cmd>,
    mut stop: watch::Receiver<bool>,
) -> LifeClient {
    let i = client.index;
    shared.connected[i].store(true, Ordering::Relaxed);
    let lost = loop {
        tokio::select! {
            _ = stop.changed() => break None,
            cmd = rx.recv() => match cmd {
                Some(cmd) => {
                    shared.queued.fetch_sub(1, Ordering::Relaxed);
                    if let Err(e) = client.perform(&mut ws, &shared, cmd).await {
                        break Some(format!("{e:#}"));
                    }
                }
                None => break None,
            },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => match client.on_frame(&mut ws, &shared, &t).await {
                    Ok(true) => {}
                    Ok(false) => break Some("the server ended the session".to_owned()),
                    Err(e) => break Some(format!("{e:#}")),
                },
                Some(Ok(Message::Close(_))) | None => break Some("connection closed".to_owned()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("read: {e}")),
            }
        }
    };
    shared.connected[i].store(false, Ordering::Relaxed);
    match lost {
        None => client::close(ws).await,
        // Counted as such when its DISCONNECT arrived.
        Some(_) if client.tally.server_disconnects > 0 => {}
        Some(e) => {
            client.tally.unexpected_disconnects += 1;
            client.error(e);
        }
    }
    while rx.try_recv().is_ok() {
        shared.queued.fetch_sub(1, Ordering::Relaxed);
        client.tally.unsent += 1;
    }
    client.tally.ack_unanswered = client.pending.len() as u64;
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> LifeClient {
        let group = Group {
            id: 7,
            members: vec![0, 1, 2],
        };
        LifeClient::new(0, 100, &[group])
    }

    #[test]
    fn operations_act_on_recent_messages() {
        let mut c = client();
        assert_eq!(c.convs[0].receivers, 2);
        // Nothing sent yet: edits, deletes and reactions have no target.
        for kind in [OpKind::Edit, OpKind::Delete, OpKind::React] {
            assert!(c.choose(0, kind).is_none(), "{kind:?}");
        }
        c.convs[0].remember(1, false, 3);
        assert!(c.choose(0, OpKind::Edit).is_none(), "not ours");
        assert!(matches!(
            c.choose(0, OpKind::React),
            Some(Planned::React {
                message_id: 1,
                add: true,
                ..
            })
        ));
        for id in 2..=4 {
            c.convs[0].remember(id, true, 3);
        }
        let kept: Vec<i64> = c.convs[0].recent.iter().map(|&(m, _)| m).collect();
        assert_eq!(kept, [2, 3, 4], "the latest 3");
        assert!(c.convs[0].mine.is_empty(), "forgotten with its message");
        assert!(matches!(
            c.choose(0, OpKind::Edit),
            Some(Planned::Edit(2..=4))
        ));
        assert!(matches!(
            c.choose(0, OpKind::Delete),
            Some(Planned::Delete(2))
        ));
        let kept: Vec<i64> = c.convs[0].recent.iter().map(|&(m, _)| m).collect();
        assert_eq!(kept, [3, 4], "deleted, so no longer a target");
    }

    #[test]
    fn reactions_alternate_and_never_overlap() {
        let mut c = client();
        c.convs[0].remember(5, false, 10);
        // Nothing to take back while the reactions are in flight: four different ones added.
        let mut added = Vec::new();
        for _ in 0..EMOJI.len() {
            match c.choose(0, OpKind::React) {
                Some(Planned::React {
                    message_id: 5,
                    emoji,
                    add: true,
                }) => added.push(emoji),
                _ => panic!("expected an added reaction"),
            }
        }
        added.sort_unstable();
        assert_eq!(added, [0, 1, 2, 3]);
        assert!(c.choose(0, OpKind::React).is_none(), "all in flight");
        // Acked: every other operation takes the oldest back.
        c.convs[0].in_flight.clear();
        assert!(matches!(
            c.choose(0, OpKind::React),
            Some(Planned::React {
                message_id: 5,
                emoji: 0,
                add: false
            })
        ));
        assert!(!c.convs[0].mine.contains(&(5, 0)));
    }
}
