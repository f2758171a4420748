//! The scenarios: setup through the REST API, simulated clients, pacing and accounting.
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt, stream};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Account, Api, WireMessage};
use crate::client::{self, ConnectConfig, Login, Ws};
use crate::protocol::{
    EnginePacket, SocketPacket, decode_engine, decode_socket, encode_event, encode_pong,
    first_ack_arg, split_event,
};
use crate::server::{self, CpuMeter, ServerKind};
use crate::stats::{LatencySummary, SeqSet, now_us, sample_us};

const PASSWORD: &str = "bench-password-1";
const MAX_ERRORS_KEPT: usize = 10;

/// The server instances of a run; client (and user) `i` talks to instance `i % n`, so the members
/// of a group sit on different instances.
#[derive(Debug, Clone)]
pub struct Instances {
    apis: Vec<Api>,
    connects: Vec<ConnectConfig>,
}

impl Instances {
    /// One REST client and one connection setting per instance, in the same order.
    pub fn new(apis: Vec<Api>, connects: Vec<ConnectConfig>) -> Result<Self> {
        if apis.is_empty() || apis.len() != connects.len() {
            bail!("need one REST client and one connection setting per instance");
        }
        Ok(Self { apis, connects })
    }

    /// How many instances.
    pub fn len(&self) -> usize {
        self.apis.len()
    }

    /// Never: [`Instances::new`] refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
    }

    /// The instance client `i` uses.
    pub fn of(&self, i: usize) -> usize {
        i % self.apis.len()
    }

    /// REST client for client (or user) `i`.
    pub fn api(&self, i: usize) -> &Api {
        &self.apis[self.of(i)]
    }

    /// Connection settings for client `i`.
    pub fn connect(&self, i: usize) -> &ConnectConfig {
        &self.connects[self.of(i)]
    }
}

/// What every scenario needs: the server and the knobs of setup.
#[derive(Debug, Clone)]
pub struct Env {
    /// chat-server or the bare socketioxide server.
    pub kind: ServerKind,
    /// The server instances.
    pub instances: Instances,
    /// Unique id of this run (usernames, client ids).
    pub run_id: String,
    /// Registrations in flight.
    pub register_concurrency: usize,
    /// Handshakes in flight.
    pub connect_concurrency: usize,
    /// The server processes (memory and CPU are summed over them); empty when unknown.
    pub server_pids: Vec<u32>,
}

impl Env {
    /// `chat-server x3` and the like, for summaries.
    fn target(&self) -> String {
        format!("{} x{}", self.kind.label(), self.instances.len())
    }
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("chat-bench: {}", msg.as_ref());
}

fn rate(count: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        (count / secs * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// Setup figures common to all scenarios.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Setup {
    /// Users registered.
    pub users: usize,
    /// Seconds spent registering.
    pub register_s: f64,
    /// Registrations per second.
    pub registrations_per_s: f64,
    /// Groups created.
    pub groups: usize,
    /// Connections attempted.
    pub connections: usize,
    /// Connections that failed.
    pub connect_failures: usize,
    /// Seconds from the first connect to the last one established.
    pub connect_s: f64,
    /// Connections established per second.
    pub connects_per_s: f64,
}

async fn register_users(env: &Env, n: usize, setup: &mut Setup) -> Result<Vec<Account>> {
    progress(format!("registering {n} users"));
    let t0 = Instant::now();
    let results: Vec<Result<Account>> = stream::iter(0..n)
        .map(|i| {
            let api = env.instances.api(i).clone();
            let name = format!("cb{}u{i}", env.run_id);
            async move { api.register(&name, PASSWORD).await }
        })
        .buffered(env.register_concurrency.max(1))
        .collect()
        .await;
    let accounts = results.into_iter().collect::<Result<Vec<_>>>()?;
    setup.users = n;
    setup.register_s = round3(t0.elapsed().as_secs_f64());
    setup.registrations_per_s = rate(n as f64, setup.register_s);
    Ok(accounts)
}

async fn connect_all(
    env: &Env,
    logins: &[Login],
    setup: &mut Setup,
) -> (Vec<Result<Ws>>, Option<String>) {
    connect_each(env, logins, setup, |ws| ws).await
}

/// Connects every login in order and hands each socket to `keep` as soon as it is established
/// (so a long connect phase can keep the first sockets alive meanwhile).
async fn connect_each<T>(
    env: &Env,
    logins: &[Login],
    setup: &mut Setup,
    mut keep: impl FnMut(Ws) -> T,
) -> (Vec<Result<T>>, Option<String>) {
    progress(format!(
        "connecting {} sockets to {} instance(s)",
        logins.len(),
        env.instances.len()
    ));
    let t0 = Instant::now();
    let conns: Vec<Result<T>> = stream::iter(logins.iter().enumerate())
        .map(|(i, login)| client::connect(env.instances.connect(i), i, login))
        .buffered(env.connect_concurrency.max(1))
        .map(|c| c.map(&mut keep))
        .collect()
        .await;
    let secs = t0.elapsed().as_secs_f64();
    let ok = conns.iter().filter(|c| c.is_ok()).count();
    let first_error = conns
        .iter()
        .find_map(|c| c.as_ref().err())
        .map(|e| format!("{e:#}"));
    setup.connections = logins.len();
    setup.connect_failures = logins.len() - ok;
    setup.connect_s = round3(secs);
    setup.connects_per_s = rate(ok as f64, secs);
    (conns, first_error)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// idle

/// Results of `idle`.
#[derive(Debug, Clone, Serialize)]
pub struct IdleResults {
    /// Setup figures (connects per second among them).
    pub setup: Setup,
    /// Server VmRSS before connecting (summed over instances), KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server VmRSS with every connection open (summed over instances), KiB.
    pub server_rss_after_kib: Option<u64>,
    /// (after - before) / connections, KiB.
    pub server_kib_per_connection: Option<f64>,
    /// This program's VmRSS growth per connection, KiB.
    pub bench_kib_per_connection: Option<f64>,
    /// Connections still open when the run ended.
    pub alive_at_end: usize,
    /// First connection error, if any.
    pub first_error: Option<String>,
}

/// K idle connections over U users.
pub async fn idle(env: &Env, args: &crate::cli::IdleArgs) -> Result<(IdleResults, String)> {
    let k = args.connections;
    let users = args.users.unwrap_or(k.min(100)).clamp(1, k.max(1));
    let mut setup = Setup::default();
    let accounts = register_users(env, users, &mut setup).await?;
    let logins: Vec<Login> = (0..k)
        .map(|i| Login {
            token: Some(accounts[i % accounts.len()].token.clone()),
            rooms: Vec::new(),
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_before = server::rss_kib_sum(&env.server_pids);
    let bench_before = server::rss_kib(std::process::id());

    let (stop_tx, stop_rx) = watch::channel(false);
    // Each socket is held (its pings answered) from the moment it is established: opening
    // thousands takes longer than the server's ping interval plus timeout (45 s by default).
    let (conns, first_error) = connect_each(env, &logins, &mut setup, |ws| {
        tokio::spawn(hold(ws, stop_rx.clone()))
    })
    .await;
    let holders: Vec<_> = conns.into_iter().flatten().collect();
    let opened = holders.len();
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(0.0))).await;
    let server_after = server::rss_kib_sum(&env.server_pids);
    let bench_after = server::rss_kib(std::process::id());
    let _ = stop_tx.send(true);
    let mut alive = 0;
    for h in holders {
        alive += usize::from(h.await.unwrap_or(false));
    }

    let per = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if opened > 0 => Some(round3((a as f64 - b as f64) / opened as f64)),
        _ => None,
    };
    let results = IdleResults {
        server_rss_before_kib: server_before,
        server_rss_after_kib: server_after,
        server_kib_per_connection: per(server_before, server_after),
        bench_kib_per_connection: per(bench_before, bench_after),
        alive_at_end: alive,
        first_error,
        setup,
    };
    let mem = match (
        results.server_rss_before_kib,
        results.server_rss_after_kib,
        results.server_kib_per_connection,
    ) {
        (Some(b), Some(a), Some(p)) => format!(
            "server RSS {:.1} -> {:.1} MiB = {p:.1} KiB/connection",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        ),
        _ => "server RSS unknown (no server pid)".to_owned(),
    };
    let summary = format!(
        "idle: {}, {opened}/{k} connections ({users} users) in {:.2} s = {:.0} connects/s; \
         {mem}; generator {:.1} KiB/connection; {} failed, {alive} alive at end",
        env.target(),
        results.setup.connect_s,
        results.setup.connects_per_s,
        results.bench_kib_per_connection.unwrap_or(0.0),
        results.setup.connect_failures,
    );
    Ok((results, summary))
}

/// Keeps an idle connection open (answering pings) until `stop`; true if it was still open.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                client::close(ws).await;
                return true;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let pong = match decode_engine(&t) {
                        Ok(EnginePacket::Ping(data)) => Some(encode_pong(data)),
                        Ok(EnginePacket::Close) => return false,
                        _ => None,
                    };
                    if let Some(pong) = pong
                        && ws.send(Message::text(pong)).await.is_err()
                    {
                        return false;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// traffic: fanout, groups, churn

/// A group and the clients (indices) in it.
#[derive(Debug, Clone)]
struct Group {
    id: i64,
    members: Vec<usize>,
}

/// How the traffic of a run is shaped.
#[derive(Debug, Clone)]
pub struct TrafficPlan {
    /// Scenario name for the report.
    pub name: &'static str,
    /// Number of groups.
    pub groups: usize,
    /// Members per group.
    pub members: usize,
    /// Users, one connection each.
    pub users: usize,
    /// Messages per second over all groups.
    pub rate: f64,
    /// Seconds of sending.
    pub duration: f64,
    /// Content bytes.
    pub content_size: usize,
    /// Seconds to wait for stragglers.
    pub drain: f64,
    /// Seconds between connecting and sending.
    pub settle: f64,
    /// Churn: (share, interval s, down s).
    pub churn: Option<(f64, f64, f64)>,
}

/// Results of fanout, groups and churn.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrafficResults {
    /// Setup figures.
    pub setup: Setup,
    /// Target messages per second.
    pub target_rate: f64,
    /// Seconds of sending.
    pub duration_s: f64,
    /// Messages sent.
    pub sent: u64,
    /// Messages the schedule called for that were not sent: no member of the group connected, or
    /// queued for a client that was then dropped, or still queued when the run stopped.
    pub skipped: u64,
    /// Messages sent per second.
    pub sent_per_s: f64,
    /// Messages acknowledged with success.
    pub acked: u64,
    /// Failed acks by code.
    pub ack_failed: BTreeMap<String, u64>,
    /// Acks still outstanding at the end.
    pub ack_unanswered: u64,
    /// Acks abandoned because their client was dropped (churn).
    pub ack_abandoned: u64,
    /// Acknowledged messages times the other sockets of their conversation.
    pub expected_deliveries: u64,
    /// Expected deliveries the clients hold at the end (socket or catch-up).
    pub delivered: u64,
    /// Expected deliveries missing at the end.
    pub lost: u64,
    /// Lost deliveries by `<sender's instance>-><receiver's instance>`, to tell whether they
    /// cross instances.
    pub lost_by_instances: BTreeMap<String, u64>,
    /// The first lost deliveries, to tell a pattern (one receiver, one conversation, ...).
    pub lost_sample: Vec<LostDelivery>,
    /// delivered / expected, percent.
    pub delivery_pct: f64,
    /// Expected deliveries that arrived as `message:new`.
    pub socket_delivered: u64,
    /// socket_delivered / expected, percent.
    pub socket_delivery_pct: f64,
    /// `message:new` received more than once by the same client (same conversation and seq).
    pub duplicates: u64,
    /// `message:new` with a seq that no successful ack announced.
    pub unacked_received: u64,
    /// `message:new` for a conversation the client is not in.
    pub foreign_received: u64,
    /// Messages found by `after_seq` catch-up that the socket had not delivered.
    pub recovered_by_catch_up: u64,
    /// Catch-up messages also delivered later by the socket (harmless, dropped by id).
    pub catch_up_overlap: u64,
    /// Reconnections made (churn).
    pub reconnects: u64,
    /// Connections lost without being asked to.
    pub unexpected_disconnects: u64,
    /// Sockets the server disconnected (its outgoing queue for them was full);
    /// each reconnected at once and caught up with `after_seq`.
    pub server_disconnects: u64,
    /// First `message:new` receipts per second, from the first send to the last receipt.
    pub delivered_per_s: f64,
    /// Send (timestamp in the content) to `message:new`.
    pub e2e_latency: LatencySummary,
    /// Send to ack.
    pub ack_latency: LatencySummary,
    /// Seconds spent waiting for stragglers after the last send.
    pub drain_s: f64,
    /// Server CPU during sending and drain (summed over instances), percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// This program's CPU during sending and drain, percent of one core.
    pub bench_cpu_pct: Option<f64>,
    /// Server VmRSS before sending (summed over instances), KiB.
    pub server_rss_start_kib: Option<u64>,
    /// Server VmRSS at the end (summed over instances), KiB.
    pub server_rss_end_kib: Option<u64>,
    /// Other server events received (presence, ...).
    pub other_events: u64,
    /// First errors seen by clients.
    pub errors: Vec<String>,
}

/// One expected delivery that never arrived.
#[derive(Debug, Clone, Serialize)]
pub struct LostDelivery {
    /// Conversation (room).
    pub conversation_id: i64,
    /// The message's number in it.
    pub seq: u64,
    /// Sending client.
    pub sender: usize,
    /// The instance the sender was connected to.
    pub sender_instance: usize,
    /// Client that did not receive it.
    pub receiver: usize,
    /// The instance the receiver was connected to.
    pub receiver_instance: usize,
}

const LOST_SAMPLE: usize = 20;

/// State shared by the clients, the scheduler and the drain.
struct Shared {
    run_id: String,
    instances: Instances,
    /// The bare server: `send` with a seq chosen here instead of `message:send`.
    bare: bool,
    padding: String,
    content_size: usize,
    connected: Vec<AtomicBool>,
    /// Send commands handed to clients and not yet taken by them.
    queued: AtomicI64,
    pending_acks: AtomicI64,
    expected: AtomicU64,
    delivered: AtomicU64,
    last_delivery_us: AtomicU64,
}

enum Cmd {
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

/// The bare server's room for a conversation.
fn room_name(conversation_id: i64) -> String {
    conversation_id.to_string()
}

struct ConvState {
    id: i64,
    /// Its room on the bare server.
    room: String,
    /// Other sockets in the conversation (each ack adds this many expected deliveries).
    receivers: u64,
    /// Seqs received as `message:new`.
    socket: SeqSet,
    /// Seqs held: received, fetched, or sent by this client.
    held: SeqSet,
}

#[derive(Default)]
struct ClientTally {
    acked: Vec<(i64, u64)>,
    e2e_us: Vec<u32>,
    ack_us: Vec<u32>,
    duplicates: u64,
    foreign: u64,
    other_events: u64,
    ack_failed: BTreeMap<String, u64>,
    ack_abandoned: u64,
    ack_unanswered: u64,
    reconnects: u64,
    recovered: u64,
    overlap: u64,
    unexpected_disconnects: u64,
    server_disconnects: u64,
    sent: u64,
    /// Send commands discarded (queued while away, or left when the run stopped).
    unsent: u64,
    errors: Vec<String>,
}

struct ClientState {
    index: usize,
    user_id: i64,
    login: Login,
    convs: Vec<ConvState>,
    next_ack: u64,
    /// Ack id -> (send time, conversation index, seq given by the scheduler).
    pending: HashMap<u64, (u64, usize, Option<u64>)>,
    tally: ClientTally,
    /// Set when the last frame was the server's Socket.IO DISCONNECT.
    disconnected_by_server: bool,
}

#[derive(Serialize)]
struct SendPayload<'a> {
    conversation_id: i64,
    content: &'a str,
    client_id: &'a str,
}

/// What the bare server relays: the fields a `message:new` of the chat server is counted by.
#[derive(Serialize)]
struct BarePayload<'a> {
    room: &'a str,
    conversation_id: i64,
    seq: u64,
    content: &'a str,
}

/// The fields of a `message:new` (from either server) that delivery is counted by.
#[derive(Deserialize)]
struct Delivery<'a> {
    conversation_id: i64,
    seq: i64,
    #[serde(default, borrow)]
    content: Cow<'a, str>,
}

#[derive(Deserialize)]
struct AckBody {
    success: bool,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    code: Option<String>,
}

impl ClientState {
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

    async fn send(
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
    async fn on_frame(&mut self, ws: &mut Ws, shared: &Shared, text: &str) -> Result<bool> {
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

    fn abandon_pending(&mut self, shared: &Shared) {
        let n = self.pending.len() as u64;
        self.pending.clear();
        self.tally.ack_abandoned += n;
        shared.pending_acks.fetch_sub(n as i64, Ordering::Relaxed);
    }

    /// After a reconnect: fetch every conversation's messages above the contiguous prefix held.
    async fn catch_up(&mut self, shared: &Shared) -> Result<()> {
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

enum Outcome {
    Stop,
    Lost(String),
    Drop(Duration),
    /// The server disconnected the socket (Socket.IO DISCONNECT).
    Disconnected,
}

async fn run_client(
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

fn discard_queued(rx: &mut mpsc::Receiver<Cmd>, shared: &Shared, tally: &mut ClientTally) {
    while let Ok(cmd) = rx.try_recv() {
        if let Cmd::Send { .. } = cmd {
            shared.queued.fetch_sub(1, Ordering::Relaxed);
            tally.unsent += 1;
        }
    }
}

/// Builds the groups: group g seats users g*M .. g*M+M-1 (modulo the number of users).
fn seat_groups(groups: usize, members: usize, users: usize) -> Vec<Vec<usize>> {
    (0..groups)
        .map(|g| (0..members).map(|j| (g * members + j) % users).collect())
        .collect()
}

/// Runs fanout, groups or churn.
pub async fn traffic(env: &Env, plan: &TrafficPlan) -> Result<(TrafficResults, String)> {
    if plan.members < 2 || plan.groups == 0 || plan.users < plan.members {
        bail!(
            "need at least one group of at least 2 members, and at least as many users as members"
        );
    }
    let bare = env.kind == ServerKind::Bare;
    let mut setup = Setup::default();
    let seats = seat_groups(plan.groups, plan.members, plan.users);
    let (user_ids, tokens, groups) = if bare {
        // Nothing to register or create: a conversation is just a room named by its id.
        let groups: Vec<Group> = seats
            .into_iter()
            .zip(1i64..)
            .map(|(members, id)| Group { id, members })
            .collect();
        let ids: Vec<i64> = (1i64..).take(plan.users).collect();
        (ids, vec![None; plan.users], groups)
    } else {
        let accounts = register_users(env, plan.users, &mut setup).await?;
        progress(format!("creating {} groups", plan.groups));
        let created: Vec<Result<i64>> = stream::iter(seats.iter().enumerate())
            .map(|(g, members)| {
                let api = env.instances.api(members[0]).clone();
                let creator = accounts[members[0]].clone();
                let ids: Vec<i64> = members[1..].iter().map(|&m| accounts[m].id).collect();
                let name = format!("bench {} {g}", env.run_id);
                async move { api.create_group(&creator, &name, &ids).await }
            })
            .buffered(env.register_concurrency.max(1) * 2)
            .collect()
            .await;
        let groups: Vec<Group> = created
            .into_iter()
            .zip(seats)
            .map(|(id, members)| id.map(|id| Group { id, members }))
            .collect::<Result<_>>()?;
        let ids = accounts.iter().map(|a| a.id).collect();
        let tokens = accounts.into_iter().map(|a| Some(a.token)).collect();
        (ids, tokens, groups)
    };
    setup.groups = groups.len();

    let mut rooms_of: Vec<Vec<String>> = vec![Vec::new(); plan.users];
    if bare {
        for g in &groups {
            for &m in &g.members {
                rooms_of[m].push(room_name(g.id));
            }
        }
    }
    let logins: Vec<Login> = tokens
        .into_iter()
        .zip(rooms_of)
        .map(|(token, rooms)| Login { token, rooms })
        .collect();
    let (conns, first_error) = connect_all(env, &logins, &mut setup).await;
    if setup.connect_failures > 0 {
        bail!(
            "{} of {} connections failed: {}",
            setup.connect_failures,
            setup.connections,
            first_error.unwrap_or_default()
        );
    }

    let shared = Arc::new(Shared {
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
    });
    let mut convs_of: Vec<Vec<ConvState>> = (0..plan.users).map(|_| Vec::new()).collect();
    for g in &groups {
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders = Vec::with_capacity(plan.users);
    let mut tasks = Vec::with_capacity(plan.users);
    let clients = conns.into_iter().zip(convs_of).zip(user_ids).zip(logins);
    for (i, (((ws, convs), user_id), login)) in clients.enumerate() {
        let ws = ws?;
        let (tx, rx) = mpsc::channel(1024);
        let state = ClientState {
            index: i,
            user_id,
            login,
            convs,
            next_ack: 1,
            pending: HashMap::new(),
            tally: ClientTally::default(),
            disconnected_by_server: false,
        };
        senders.push(tx);
        tasks.push(tokio::spawn(run_client(
            state,
            ws,
            shared.clone(),
            rx,
            stop_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs_f64(plan.settle.max(0.0))).await;

    // Sending.
    progress(format!(
        "sending {} msg/s for {} s into {} group(s) of {}",
        plan.rate, plan.duration, plan.groups, plan.members
    ));
    let rss_start = server::rss_kib_sum(&env.server_pids);
    let server_cpu = CpuMeter::start(&env.server_pids);
    let bench_cpu = CpuMeter::start(&[std::process::id()]);
    let start_us = now_us();
    let duration = Duration::from_secs_f64(plan.duration);
    let churner = plan.churn.map(|(share, interval, down)| {
        tokio::spawn(churn_rounds(
            shared.clone(),
            senders.clone(),
            share,
            Duration::from_secs_f64(interval),
            Duration::from_secs_f64(down),
            duration,
        ))
    });
    let skipped = schedule(&shared, &groups, &senders, plan.rate, duration).await;
    if let Some(churner) = churner {
        let _ = churner.await;
    }

    // Drain: until every handed message was sent and acked and every expected delivery is held,
    // or the drain time ends.
    let drain_start = Instant::now();
    let drain_limit = Duration::from_secs_f64(plan.drain.max(0.0));
    while drain_start.elapsed() < drain_limit {
        let pending =
            shared.pending_acks.load(Ordering::Relaxed) + shared.queued.load(Ordering::Relaxed);
        let expected = shared.expected.load(Ordering::Relaxed);
        let delivered = shared.delivered.load(Ordering::Relaxed);
        if pending <= 0 && delivered >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain_s = drain_start.elapsed().as_secs_f64();
    let server_cpu_pct = server_cpu.and_then(|m| m.percent());
    let bench_cpu_pct = bench_cpu.and_then(|m| m.percent());
    let rss_end = server::rss_kib_sum(&env.server_pids);
    let _ = stop_tx.send(true);
    drop(senders);
    let mut clients = Vec::with_capacity(tasks.len());
    for t in tasks {
        clients.push(t.await.context("client task")?);
    }
    let last_delivery_us = shared.last_delivery_us.load(Ordering::Relaxed);

    let mut r = account(&groups, clients, |i| env.instances.of(i));
    r.setup = setup;
    r.target_rate = plan.rate;
    r.duration_s = plan.duration;
    r.skipped += skipped;
    r.sent_per_s = rate(r.sent as f64, plan.duration);
    r.drain_s = round3(drain_s);
    r.server_cpu_pct = server_cpu_pct;
    r.bench_cpu_pct = bench_cpu_pct;
    r.server_rss_start_kib = rss_start;
    r.server_rss_end_kib = rss_end;
    let span_s = last_delivery_us.saturating_sub(start_us) as f64 / 1e6;
    r.delivered_per_s = rate(r.e2e_latency.count as f64, span_s);

    let failed: u64 = r.ack_failed.values().sum();
    let churn = if plan.churn.is_some() {
        format!(
            ", socket-only {:.3}%, {} reconnects, {} recovered by catch-up",
            r.socket_delivery_pct, r.reconnects, r.recovered_by_catch_up
        )
    } else {
        String::new()
    };
    let summary = format!(
        "{}: {}, {} group(s) x {} members ({} connections), {} msg/s x {} s: sent {} \
         ({:.1}/s), acked {} ({} failed), delivered {}/{} ({:.3}%{churn}), {:.0} deliveries/s, \
         e2e p50 {:.2} p99 {:.2} max {:.2} ms, ack p50 {:.2} p99 {:.2} ms, lost {}, dup {}, \
         disconnected by the server {}, server CPU {}, generator CPU {}",
        plan.name,
        env.target(),
        plan.groups,
        plan.members,
        r.setup.connections,
        plan.rate,
        plan.duration,
        r.sent,
        r.sent_per_s,
        r.acked,
        failed,
        r.delivered,
        r.expected_deliveries,
        r.delivery_pct,
        r.delivered_per_s,
        r.e2e_latency.p50_ms,
        r.e2e_latency.p99_ms,
        r.e2e_latency.max_ms,
        r.ack_latency.p50_ms,
        r.ack_latency.p99_ms,
        r.lost,
        r.duplicates,
        r.server_disconnects,
        pct(r.server_cpu_pct),
        pct(r.bench_cpu_pct),
    );
    Ok((r, summary))
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "?".to_owned(), |p| format!("{p:.0}%"))
}

/// Open-loop pacing: every millisecond, hand out the messages due by now. Returns how many could
/// not be handed to a connected client.
async fn schedule(
    shared: &Shared,
    groups: &[Group],
    senders: &[mpsc::Sender<Cmd>],
    rate: f64,
    duration: Duration,
) -> u64 {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut sent, mut skipped, mut k) = (0u64, 0u64, 0u64);
    // The bare server does not number messages: each room's numbers are handed out here, in
    // order, as the chat server would.
    let mut next_seq = vec![1u64; groups.len()];
    loop {
        tick.tick().await;
        let elapsed = start.elapsed().min(duration);
        let due = (elapsed.as_secs_f64() * rate) as u64;
        while sent + skipped < due {
            let gi = (k % groups.len() as u64) as usize;
            let g = &groups[gi];
            let turn = (k / groups.len() as u64) as usize;
            k += 1;
            let n = g.members.len();
            let sender = (0..n)
                .map(|j| g.members[(turn + j) % n])
                .find(|&m| shared.connected[m].load(Ordering::Relaxed));
            // Counted before the hand-off, so the client never sees it negative.
            shared.queued.fetch_add(1, Ordering::Relaxed);
            let handed = sender.is_some_and(|m| {
                senders[m]
                    .try_send(Cmd::Send {
                        conversation_id: g.id,
                        seq: shared.bare.then_some(next_seq[gi]),
                    })
                    .is_ok()
            });
            if handed {
                sent += 1;
                next_seq[gi] += 1;
            } else {
                shared.queued.fetch_sub(1, Ordering::Relaxed);
                skipped += 1;
            }
        }
        if elapsed >= duration {
            return skipped;
        }
    }
}

/// Every `interval`, drops a random `share` of the connected clients for `down`, as long as they
/// can be back before sending ends.
async fn churn_rounds(
    shared: Arc<Shared>,
    senders: Vec<mpsc::Sender<Cmd>>,
    share: f64,
    interval: Duration,
    down: Duration,
    duration: Duration,
) {
    let start = Instant::now();
    let mut round = 1u32;
    loop {
        let at = interval * round;
        if at + down + Duration::from_secs(2) > duration {
            return;
        }
        tokio::time::sleep_until((start + at).into()).await;
        let mut candidates: Vec<usize> = (0..senders.len())
            .filter(|&i| shared.connected[i].load(Ordering::Relaxed))
            .collect();
        candidates.shuffle(&mut rand::rng());
        let n = ((senders.len() as f64) * share.clamp(0.0, 1.0)).round() as usize;
        progress(format!("churn round {round}: dropping {n} clients"));
        for &i in candidates.iter().take(n) {
            let _ = senders[i].try_send(Cmd::Drop { down });
        }
        round += 1;
    }
}

/// Compares what every client holds with what was acknowledged.
fn account(
    groups: &[Group],
    clients: Vec<ClientState>,
    instance_of: impl Fn(usize) -> usize,
) -> TrafficResults {
    let mut r = TrafficResults::default();
    let mut acked_by_conv: HashMap<i64, Vec<(u64, usize)>> = HashMap::new();
    let mut acked_sets: HashMap<i64, SeqSet> = HashMap::new();
    for c in &clients {
        for &(conv, seq) in &c.tally.acked {
            acked_by_conv.entry(conv).or_default().push((seq, c.index));
            acked_sets.entry(conv).or_default().insert(seq);
        }
    }
    let mut e2e = Vec::new();
    let mut ack = Vec::new();
    for g in groups {
        let Some(acked) = acked_by_conv.get(&g.id) else {
            continue;
        };
        for &m in &g.members {
            let Some(conv) = clients[m].convs.iter().find(|c| c.id == g.id) else {
                continue;
            };
            for &(seq, sender) in acked {
                if sender == m {
                    continue;
                }
                r.expected_deliveries += 1;
                let held = conv.held.contains(seq);
                r.delivered += u64::from(held);
                if !held {
                    let pair = format!("{}->{}", instance_of(sender), instance_of(m));
                    *r.lost_by_instances.entry(pair).or_default() += 1;
                }
                if !held && r.lost_sample.len() < LOST_SAMPLE {
                    r.lost_sample.push(LostDelivery {
                        conversation_id: g.id,
                        seq,
                        sender,
                        sender_instance: instance_of(sender),
                        receiver: m,
                        receiver_instance: instance_of(m),
                    });
                }
                r.socket_delivered += u64::from(conv.socket.contains(seq));
            }
        }
    }
    for c in clients {
        for conv in &c.convs {
            let acked = acked_sets.get(&conv.id);
            // Seqs the socket delivered that no ack announced.
            r.unacked_received += conv
                .socket
                .iter()
                .filter(|&seq| !acked.is_some_and(|a| a.contains(seq)))
                .count() as u64;
        }
        let t = c.tally;
        r.acked += t.acked.len() as u64;
        r.sent += t.sent;
        r.skipped += t.unsent;
        r.duplicates += t.duplicates;
        r.foreign_received += t.foreign;
        r.other_events += t.other_events;
        for (code, n) in t.ack_failed {
            *r.ack_failed.entry(code).or_default() += n;
        }
        r.ack_abandoned += t.ack_abandoned;
        r.ack_unanswered += t.ack_unanswered;
        r.reconnects += t.reconnects;
        r.recovered_by_catch_up += t.recovered;
        r.catch_up_overlap += t.overlap;
        r.unexpected_disconnects += t.unexpected_disconnects;
        r.server_disconnects += t.server_disconnects;
        for e in t.errors {
            if r.errors.len() < MAX_ERRORS_KEPT {
                r.errors.push(e);
            }
        }
        e2e.extend(t.e2e_us);
        ack.extend(t.ack_us);
    }
    r.lost = r.expected_deliveries - r.delivered;
    let share = |n: u64| {
        if r.expected_deliveries == 0 {
            100.0
        } else {
            (n as f64 / r.expected_deliveries as f64 * 1e5).round() / 1e3
        }
    };
    r.delivery_pct = share(r.delivered);
    r.socket_delivery_pct = share(r.socket_delivered);
    r.e2e_latency = LatencySummary::from_us(&mut e2e);
    r.ack_latency = LatencySummary::from_us(&mut ack);
    r
}

/// Summarizes a traffic run's parameters for the report.
pub fn traffic_params(plan: &TrafficPlan) -> serde_json::Value {
    serde_json::json!({
        "groups": plan.groups,
        "members": plan.members,
        "users": plan.users,
        "rate": plan.rate,
        "duration_s": plan.duration,
        "content_size": plan.content_size,
        "churn": plan.churn.map(|(share, interval, down)| serde_json::json!({
            "share": share, "interval_s": interval, "down_s": down
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn group_members_sit_on_different_instances() {
        let cfg = ConnectConfig {
            addr: "127.0.0.1:1".parse().expect("address"),
            ws_url: String::new(),
            source_ips: 0,
            read_buffer: 4096,
            timeout: Duration::from_secs(1),
        };
        let api = Api::new("http://127.0.0.1:1").expect("client");
        let three = Instances::new(vec![api.clone(); 3], vec![cfg.clone(); 3]).expect("three");
        assert!(Instances::new(vec![api.clone(); 2], vec![cfg; 3]).is_err());
        assert!(Instances::new(Vec::new(), Vec::new()).is_err());
        assert_eq!(three.len(), 3);
        for group in seat_groups(200, 5, 250) {
            let mut on: Vec<usize> = group.iter().map(|&m| three.of(m)).collect();
            on.sort_unstable();
            on.dedup();
            assert_eq!(on.len(), 3, "group {group:?} is not spread");
        }
    }
}
