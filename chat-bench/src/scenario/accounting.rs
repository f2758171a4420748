//! Accounting of a traffic run: what every client holds compared with what was acknowledged
//! (deliveries, losses, duplicates), and the latency summaries.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::MAX_ERRORS_KEPT;
use super::client_state::ClientState;
use super::setup::Group;
use super::setup::Setup;
use crate::stats::{LatencySummary, SeqSet};

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
    /// Server VmRSS at the end of `--hold`, with the connections still open, KiB.
    pub server_rss_held_kib: Option<u64>,
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

pub(super) const LOST_SAMPLE: usize = 20;

/// Compares what every client holds with what was acknowledged.
pub(super) fn account(
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
