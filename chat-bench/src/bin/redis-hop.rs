//! redis-hop: the Redis hop of a cross-instance broadcast, measured on its own.
//!
//! A broadcast on several instances is one `SPUBLISH` of the adapter's envelope on one sharded
//! channel, copied by Redis to every instance's subscriber connection (docs/scaling.md, section
//! 4). This tool does exactly that with nothing else around it: one publisher sends payloads of
//! `--size` bytes at `--rate` per second for `--duration` seconds, each stamped with the time it
//! was sent, to `--subscribers` subscriber connections (`SSUBSCRIBE`, as the adapter does), and
//! reports:
//!
//! - the hop: publish to receipt, p50 / p99 / max over every copy received, and copies lost;
//! - the publisher's round trip (`SPUBLISH` sent to its reply);
//! - Redis's own CPU per publish (`INFO cpu` before and after, divided by the publishes) and
//!   its `cmdstat_spublish` microseconds per call (`INFO commandstats`).
//!
//! ```sh
//! redis-hop --rate 1000 --duration 10 --size 500 --subscribers 3
//! ```
//!
//! The report is one JSON object on standard output; progress goes to standard error.
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chat_bench::stats::{LatencySummary, now_us, sample_us};
use clap::Parser;
use fred::prelude::{Builder, ClientLike, Config, EventInterface, PubsubInterface};
use fred::types::InfoKind;
use serde::Serialize;
use serde_json::json;
use tokio::task::JoinHandle;

/// Options.
#[derive(Debug, Parser)]
#[command(
    name = "redis-hop",
    about = "The Redis hop of a cross-instance broadcast, on its own"
)]
struct Args {
    /// Redis to measure.
    #[arg(long, default_value = chat_bench::cli::DEFAULT_REDIS_URL)]
    redis_url: String,
    /// Publishes per second (1..=100000).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Seconds of publishing (at most 300).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Bytes per payload (32..=65536): ~500 is a `message:new` in the adapter's envelope.
    #[arg(long, default_value_t = 500)]
    size: usize,
    /// Subscriber connections, one per simulated instance (1..=12).
    #[arg(long, default_value_t = 3)]
    subscribers: usize,
}

impl Args {
    fn check(&self) -> Result<()> {
        if !(self.rate.is_finite() && self.rate >= 1.0 && self.rate <= 100_000.0) {
            bail!("--rate must be in 1..=100000");
        }
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 300.0) {
            bail!("--duration must be in (0, 300] seconds");
        }
        if !(32..=65_536).contains(&self.size) {
            bail!("--size must be in 32..=65536 bytes");
        }
        if !(1..=12).contains(&self.subscribers) {
            bail!("--subscribers must be in 1..=12");
        }
        Ok(())
    }
}

/// What one subscriber received.
#[derive(Debug, Default)]
struct Received {
    hops_us: Vec<u32>,
    seqs: Vec<u64>,
}

/// Redis's counters that the run reads before and after.
#[derive(Debug, Clone, Copy, Default)]
struct RedisCounters {
    /// Seconds of CPU, user plus system, of the Redis process (main thread and the rest).
    cpu_s: f64,
    spublish_calls: u64,
    spublish_usec: u64,
}

/// The fields of an `INFO` answer, `name:value` per line.
fn info_fields(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .collect()
}

/// `calls=..,usec=..` of a `cmdstat_<command>` value.
fn cmdstat(value: &str) -> (u64, u64) {
    let mut calls = 0;
    let mut usec = 0;
    for part in value.split(',') {
        match part.split_once('=') {
            Some(("calls", v)) => calls = v.parse().unwrap_or(0),
            Some(("usec", v)) => usec = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    (calls, usec)
}

async fn counters(client: &fred::clients::Client) -> Result<RedisCounters> {
    let cpu: String = client.info(Some(InfoKind::Cpu)).await.context("INFO cpu")?;
    let stats: String = client
        .info(Some(InfoKind::CommandStats))
        .await
        .context("INFO commandstats")?;
    let cpu = info_fields(&cpu);
    let seconds = |name: &str| {
        cpu.get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (spublish_calls, spublish_usec) = info_fields(&stats)
        .get("cmdstat_spublish")
        .map_or((0, 0), |v| cmdstat(v));
    Ok(RedisCounters {
        cpu_s: seconds("used_cpu_user") + seconds("used_cpu_sys"),
        spublish_calls,
        spublish_usec,
    })
}

/// A payload of `size` bytes: `<sent at, us> <seq> ` then padding.
fn payload(seq: u64, size: usize) -> String {
    let mut text = format!("{} {} ", now_us(), seq);
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// `(sent at, seq)` of a payload.
fn stamp(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.splitn(3, ' ');
    let sent = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some((sent, seq))
}

async fn subscribe(config: &Config, channel: &str) -> Result<JoinHandle<Received>> {
    let client = Builder::from_config(config.clone())
        .build_subscriber_client()
        .context("subscriber client")?;
    client.init().await.context("connecting a subscriber")?;
    client
        .ssubscribe(channel.to_owned())
        .await
        .context("SSUBSCRIBE")?;
    let mut messages = client.message_rx();
    let channel = channel.to_owned();
    Ok(tokio::spawn(async move {
        let mut received = Received::default();
        while let Ok(message) = messages.recv().await {
            let at = now_us();
            if *message.channel != *channel {
                continue;
            }
            let Some(text) = message.value.as_string() else {
                continue;
            };
            if text == "end" {
                break;
            }
            if let Some((sent, seq)) = stamp(&text) {
                received.hops_us.push(sample_us(sent, at));
                received.seqs.push(seq);
            }
        }
        client.quit().await.ok();
        received
    }))
}

#[derive(Debug, Serialize)]
struct Report {
    rate: f64,
    duration_s: f64,
    size: usize,
    subscribers: usize,
    published: u64,
    copies_expected: u64,
    copies_received: u64,
    copies_lost: u64,
    copies_duplicated: u64,
    hop: LatencySummary,
    publish_round_trip: LatencySummary,
    redis_cpu_us_per_publish: f64,
    redis_cpu_share: f64,
    spublish_usec_per_call: f64,
}

async fn run(args: Args) -> Result<Report> {
    args.check()?;
    let config = Config::from_url(&args.redis_url)
        .with_context(|| format!("invalid Redis URL {}", args.redis_url))?;
    let publisher = Builder::from_config(config.clone())
        .build()
        .context("publisher client")?;
    publisher.init().await.context("connecting to Redis")?;
    let channel = format!("redis-hop:{}:{}", std::process::id(), now_us());
    let mut subscribers = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        subscribers.push(subscribe(&config, &channel).await?);
    }

    let total = (args.rate * args.duration).round().max(1.0) as u64;
    eprintln!(
        "publishing {total} payloads of {} bytes at {}/s to {} subscribers",
        args.size, args.rate, args.subscribers
    );
    let before = counters(&publisher).await?;
    let started = tokio::time::Instant::now();
    let mut round_trips = Vec::with_capacity(total as usize);
    for seq in 0..total {
        let due = started + Duration::from_secs_f64(seq as f64 / args.rate);
        tokio::time::sleep_until(due).await;
        let text = payload(seq, args.size);
        let sent = now_us();
        let _: i64 = publisher
            .spublish(channel.as_str(), text)
            .await
            .context("SPUBLISH")?;
        round_trips.push(sample_us(sent, now_us()));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = counters(&publisher).await?;
    // Everything published before this marker reaches a subscriber before it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _: i64 = publisher
        .spublish(channel.as_str(), "end")
        .await
        .context("SPUBLISH")?;

    let mut hops = Vec::new();
    let mut received = 0u64;
    let mut duplicated = 0u64;
    for subscriber in subscribers {
        let got = tokio::time::timeout(Duration::from_secs(10), subscriber)
            .await
            .context("a subscriber did not hear the end of the run")?
            .context("subscriber task")?;
        let mut seqs = got.seqs;
        let heard = seqs.len() as u64;
        seqs.sort_unstable();
        seqs.dedup();
        duplicated += heard - seqs.len() as u64;
        received += seqs.len() as u64;
        hops.extend(got.hops_us);
    }
    publisher.quit().await.ok();

    let published = total;
    let expected = published * args.subscribers as u64;
    let cpu_us = (after.cpu_s - before.cpu_s).max(0.0) * 1e6;
    let calls = after.spublish_calls.saturating_sub(before.spublish_calls);
    let usec = after.spublish_usec.saturating_sub(before.spublish_usec);
    Ok(Report {
        rate: args.rate,
        duration_s: (elapsed * 100.0).round() / 100.0,
        size: args.size,
        subscribers: args.subscribers,
        published,
        copies_expected: expected,
        copies_received: received,
        copies_lost: expected.saturating_sub(received),
        copies_duplicated: duplicated,
        hop: LatencySummary::from_us(&mut hops),
        publish_round_trip: LatencySummary::from_us(&mut round_trips),
        redis_cpu_us_per_publish: (cpu_us / published as f64 * 10.0).round() / 10.0,
        redis_cpu_share: (cpu_us / 1e6 / elapsed * 1000.0).round() / 1000.0,
        spublish_usec_per_call: if calls == 0 {
            0.0
        } else {
            (usec as f64 / calls as f64 * 100.0).round() / 100.0
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            println!("{}", json!(report));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("redis-hop: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_stamp_and_size() {
        let text = payload(42, 200);
        assert_eq!(text.len(), 200);
        let (sent, seq) = stamp(&text).expect("stamped");
        assert_eq!(seq, 42);
        assert!(sent > 0);
    }

    #[test]
    fn info_answers_are_read() {
        let stats = "# Commandstats\r\ncmdstat_spublish:calls=10,usec=25,usec_per_call=2.50,rejected_calls=0\r\n";
        let fields = info_fields(stats);
        assert_eq!(
            fields.get("cmdstat_spublish").map(|v| cmdstat(v)),
            Some((10, 25))
        );
    }

    #[test]
    fn bounds_are_checked() {
        let args = Args::parse_from(["redis-hop", "--subscribers", "13"]);
        assert!(args.check().is_err());
        let args = Args::parse_from(["redis-hop", "--rate", "0"]);
        assert!(args.check().is_err());
        assert!(Args::parse_from(["redis-hop"]).check().is_ok());
    }
}
