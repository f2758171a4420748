//! `bench-chart <latency|memory|instances> --title T --out chart.svg report.json...`: draws the
//! JSON reports of `chat-bench --out` as an SVG chart (see `chat_bench::chart`).
use std::path::PathBuf;

use anyhow::{Context, Result};
use chat_bench::chart::{ChartKind, draw, points};
use clap::Parser;

/// Draws chat-bench reports as an SVG chart.
#[derive(Parser)]
#[command(name = "bench-chart")]
struct Args {
    /// `latency` (p50/p99 against offered load), `memory` (KiB per idle connection against
    /// connections) or `instances` (deliveries/s against instances).
    kind: ChartKind,
    /// The chart's title.
    #[arg(long)]
    title: String,
    /// Where to write the SVG.
    #[arg(long)]
    out: PathBuf,
    /// Reports written by `chat-bench --out`, one point each.
    #[arg(required = true)]
    reports: Vec<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        reports.push(
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
        );
    }
    let drawn = points(args.kind, &reports)?;
    draw(args.kind, &args.title, &drawn, &args.out)?;
    println!("{}: {} points", args.out.display(), drawn.len());
    Ok(())
}
