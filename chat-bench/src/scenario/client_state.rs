//! A simulated client's state and what it does with each frame: sending messages, recording
//! deliveries and acks, catching up after a reconnect. [`Shared`] is what the clients, the
//! scheduler and the drain share.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use sio_client::protocol::{
    EnginePacket, SocketPacket, decode_engine, decode_socket, encode_event, encode_pong,
    first_ack_arg, split_event,
};
use tokio_tungstenite::tungstenite::Message;

use super::setup::Group;
use super::traffic::TrafficPlan;
use super::wire::{AckBody, BarePayload, Delivery, SendPayload, room_name};
use super::{Env, Instances, MAX_ERRORS_KEPT};
use crate::client::{Login, Ws};
use crate::stats::{SeqSet, now_us, sample_us};

/// State shared by the clients, the scheduler and the drain.
pub(super) struct Shared {
    pub(super) run_id: String,
    pub(super) instances: Instances,
    /// The bare server: `send` with a seq chosen here instead of `message:send`.
    pub(super) bare: bool,
    pub(super) padding: String,
    pub(super) content_size: usize,
    pub(super) connected: Vec<AtomicBool>,
    /// Send commands handed to clients and not yet taken by them.
    pub(super) queued: AtomicI64,
    pub(super) pending_acks: AtomicI64,
    pub(super) expected: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) last_delivery_us: AtomicU64,
}

pub(super) enum Cmd {
    /// Send one message; `seq` is the number the scheduler gave it in its room (bare server),
    /// none when the chat server numbers it.
    Send {
        conversation_id: i64,
        seq: Option<u64>,
    },
    Drop {
        down: Duration,
    },
}

/// Serializable: a `--procs` part sends its clients' state back for the accounting.
#[derive(Serialize, Deserialize)]
pub(super) struct ConvState {
    pub(super) id: i64,
    /// Its room on the bare server.
    pub(super) room: String,
    /// Other sockets in the conversation (each ack adds this many expected deliveries).
    pub(super) receivers: u64,
    /// Seqs received as `message:new`.
    pub(super) socket: SeqSet,
    /// Seqs held: received, fetched, or sent by this client.
    pub(super) held: SeqSet,
}

#[derive(Default, Serialize, Deserialize)]
pub(super) struct ClientTally {
    pub(super) acked: Vec<(i64, u64)>,
    pub(super) e2e_us: Vec<u32>,
    pub(super) ack_us: Vec<u32>,
    pub(super) duplicates: u64,
    pub(super) foreign: u64,
    pub(super) other_events: u64,
    pub(super) ack_failed: BTreeMap<String, u64>,
    pub(super) ack_abandoned: u64,
    pub(super) ack_unanswered: u64,
    pub(super) reconnects: u64,
    pub(super) recovered: u64,
    pub(super) overlap: u64,
    pub(super) unexpected_disconnects: u64,
    pub(super) server_disconnects: u64,
    pub(super) sent: u64,
    /// Send commands discarded (queued while away, or left when the run stopped).
    pub(super) unsent: u64,
    pub(super) errors: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ClientState {
    pub(super) index: usize,
    pub(super) user_id: i64,
    pub(super) login: Login,
    pub(super) convs: Vec<ConvState>,
    pub(super) next_ack: u64,
    /// Ack id -> (send time, conversation index, seq given by the scheduler).
    pub(super) pending: HashMap<u64, (u64, usize, Option<u64>)>,
    pub(super) tally: ClientTally,
    /// Set when the last frame was the server's Socket.IO DISCONNECT.
    pub(super) disconnected_by_server: bool,
}

impl Shared {
    /// The state of a run about to start: nobody connected, nothing queued or counted yet.
    pub(super) fn new(env: &Env, plan: &TrafficPlan, bare: bool) -> Self {
        Self {
            run_id: env.run_id.clone(),
            instances: env.instances.clone(),
            bare,
            padding: "x".repeat(plan.content_size),
            content_size: plan.content_size,
            connected: (0..plan.users).map(|_| AtomicBool::new(false)).collect(),
            queued: AtomicI64::new(0),
            pending_acks: AtomicI64::new(0),
            expected: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            last_delivery_us: AtomicU64::new(0),
        }
    }
}

impl ConvState {
    /// Each client's conversations (client `m` is in the groups that seat it), nothing held yet.
    pub(super) fn per_client(groups: &[Group], users: usize) -> Vec<Vec<ConvState>> {
        let mut convs_of: Vec<Vec<ConvState>> = (0..users).map(|_| Vec::new()).collect();
        for g in groups {
            for &m in &g.members {
                convs_of[m].push(ConvState {
                    id: g.id,
                    room: room_name(g.id),
                    receivers: g.members.len() as u64 - 1,
                    socket: SeqSet::default(),
                    held: SeqSet::default(),
                });
            }
        }
        convs_of
    }
}

impl ClientState {
    fn conv_index(&self, id: i64) -> Option<usize> {
        self.convs.iter().position(|c| c.id == id)
    }

    pub(super) fn error(&mut self, e: impl std::fmt::Display) {
        if self.tally.errors.len() < MAX_ERRORS_KEPT {
            self.tally
                .errors
                .push(format!("client {}: {e}", self.index));
        }
    }

    pub(super) async fn send(
        &mut self,
        ws: &mut Ws,
        shared: &Shared,
        conversation_id: i64,
        seq: Option<u64>,
    ) -> Result<()> {
        let Some(conv) = self.conv_index(conversation_id) else {
            bail!("asked to send to conversation {conversation_id}, not one of ours");
        };
        let n = self.tally.sent;
        let ack = self.next_ack;
        let ts = now_us();
        let mut content = format!("{ts} {}.{n} ", self.index);
        let pad = shared.content_size.saturating_sub(content.len());
        content.push_str(&shared.padding[..pad.min(shared.padding.len())]);
        let frame = match seq {
            Some(seq) if shared.bare => encode_event(
                "send",
                &BarePayload {
                    room: &self.convs[conv].room,
                    conversation_id,
                    seq,
                    content: &content,
                },
                Some(ack),
            )?,
            _ => {
                let client_id = format!("{}-{}-{n}", shared.run_id, self.index);
                encode_event(
                    "message:send",
                    &SendPayload {
                        conversation_id,
                        content: &content,
                        client_id: &client_id,
                    },
                    Some(ack),
                )?
            }
        };
        self.next_ack += 1;
        self.tally.sent += 1;
        self.pending.insert(ack, (ts, conv, seq));
        shared.pending_acks.fetch_add(1, Ordering::Relaxed);
        ws.send(Message::text(frame)).await.context("send")?;
        Ok(())
    }

    /// Handles one text frame; false when the server ended the session.
    pub(super) async fn on_frame(
        &mut self,
        ws: &mut Ws,
        shared: &Shared,
        text: &str,
    ) -> Result<bool> {
        match decode_engine(text)? {
            EnginePacket::Ping(data) => ws
                .send(Message::text(encode_pong(data)))
                .await
                .context("pong")?,
            EnginePacket::Close => return Ok(false),
            EnginePacket::Message(sio) => match decode_socket(sio)? {
                SocketPacket::Event { data, .. } => {
                    let (name, arg) = split_event(data)?;
                    match (name.as_ref(), arg) {
                        ("message:new", Some(arg)) => {
                            let msg: Delivery<'_> =
                                serde_json::from_str(arg.get()).context("message:new payload")?;
                            self.on_message(shared, &msg);
                        }
                        _ => self.tally.other_events += 1,
                    }
                }
                SocketPacket::Ack { id, data, .. } => self.on_ack(shared, id, data)?,
                SocketPacket::Disconnect { .. } => {
                    self.disconnected_by_server = true;
                    return Ok(false);
                }
                _ => {}
            },
            _ => {}
        }
        Ok(true)
    }

    fn on_message(&mut self, shared: &Shared, msg: &Delivery<'_>) {
        let now = now_us();
        let Some(i) = self.conv_index(msg.conversation_id) else {
            self.tally.foreign += 1;
            return;
        };
        let seq = u64::try_from(msg.seq).unwrap_or(0);
        let conv = &mut self.convs[i];
        if !conv.socket.insert(seq) {
            self.tally.duplicates += 1;
            return;
        }
        if !conv.held.insert(seq) {
            self.tally.overlap += 1;
            return;
        }
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
        let sent_us = msg
            .content
            .split(' ')
            .next()
            .and_then(|t| t.parse::<u64>().ok());
        if let Some(sent_us) = sent_us {
            self.tally.e2e_us.push(sample_us(sent_us, now));
        }
    }

    fn on_ack(&mut self, shared: &Shared, id: u64, data: &str) -> Result<()> {
        let now = now_us();
        let Some((sent_us, conv, assigned)) = self.pending.remove(&id) else {
            return Ok(());
        };
        shared.pending_acks.fetch_sub(1, Ordering::Relaxed);
        let body: Option<AckBody> = first_ack_arg(data)?
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .context("ack payload")?;
        // The chat server numbers a message in its ack; the bare server just acknowledges the
        // number the scheduler gave.
        let numbered = match &body {
            Some(AckBody {
                success: true,
                message: Some(msg),
                ..
            }) => Some((msg.conversation_id, u64::try_from(msg.seq).unwrap_or(0))),
            Some(AckBody {
                success: true,
                message: None,
                ..
            }) => assigned.map(|seq| (self.convs[conv].id, seq)),
            _ => None,
        };
        match (numbered, body) {
            (Some((conversation_id, seq)), _) => {
                self.tally.ack_us.push(sample_us(sent_us, now));
                self.tally.acked.push((conversation_id, seq));
                let conv = &mut self.convs[conv];
                conv.held.insert(seq);
                shared.expected.fetch_add(conv.receivers, Ordering::Relaxed);
            }
            (None, Some(AckBody { code, .. })) => {
                let code = code.unwrap_or_else(|| "no_code".to_owned());
                *self.tally.ack_failed.entry(code).or_default() += 1;
            }
            (None, None) => *self.tally.ack_failed.entry("empty_ack".into()).or_default() += 1,
        }
        Ok(())
    }

    pub(super) fn abandon_pending(&mut self, shared: &Shared) {
        let n = self.pending.len() as u64;
        self.pending.clear();
        self.tally.ack_abandoned += n;
        shared.pending_acks.fetch_sub(n as i64, Ordering::Relaxed);
    }

    /// After a reconnect: fetch every conversation's messages above the contiguous prefix held.
    pub(super) async fn catch_up(&mut self, shared: &Shared) -> Result<()> {
        for conv in &mut self.convs {
            let known = conv.held.contiguous();
            let token = self.login.token.as_deref().unwrap_or_default();
            let messages = shared
                .instances
                .api(self.index)
                .messages_after(token, conv.id, known)
                .await?;
            for m in messages {
                let seq = u64::try_from(m.seq).unwrap_or(0);
                if conv.held.insert(seq) && m.sender_id != self.user_id {
                    self.tally.recovered += 1;
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}
