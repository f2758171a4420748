//! `--procs`: the clients spread over several generator processes, against a spawned bare
//! socketioxide server. The coordinating process holds no client, so every delivery counted here
//! was received and counted by the other processes and sent back for the accounting.
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn report_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "chat-bench-procs-{name}-{}.json",
        std::process::id()
    ))
}

/// Runs chat-bench with `args` and returns its JSON report.
fn run(name: &str, args: &[&str]) -> Value {
    let out = report_path(name);
    let output = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--spawn-server", "--out"])
        .arg(&out)
        .args(args)
        .output()
        .expect("chat-bench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chat-bench failed: {stderr}");
    let text = std::fs::read_to_string(&out).expect("report written");
    let _ = std::fs::remove_file(&out);
    serde_json::from_str(&text).expect("report is JSON")
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn assert_all_delivered(report: &Value, sent: u64, receivers: u64) {
    let r = &report["results"];
    assert_eq!(num(r, "sent"), sent, "{r}");
    assert_eq!(num(r, "acked"), sent, "{r}");
    assert_eq!(num(r, "expected_deliveries"), sent * receivers, "{r}");
    assert_eq!(num(r, "delivered"), sent * receivers, "{r}");
    assert_eq!(num(r, "socket_delivered"), sent * receivers, "{r}");
    assert_eq!(num(r, "lost"), 0, "{r}");
    assert_eq!(num(r, "duplicates"), 0, "{r}");
    assert_eq!(num(r, "foreign_received"), 0, "{r}");
    assert_eq!(num(&r["e2e_latency"], "count"), sent * receivers, "{r}");
    assert_eq!(num(&r["ack_latency"], "count"), sent, "{r}");
    assert_eq!(
        num(&r["setup"], "connections"),
        num(&report["traffic"], "users")
    );
}

#[test]
fn fanout_over_three_processes_counts_every_delivery_once() {
    let report = run(
        "fanout",
        &[
            "fanout", "--bare", "-r", "12", "-x", "200", "-t", "2", "--procs", "3",
        ],
    );
    assert_eq!(num(&report["traffic"], "procs"), 3);
    assert!(
        report["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("(3 processes)"),
        "{}",
        report["summary"]
    );
    // 200 msg/s for 2 s from the 12 members in turn, each to the 11 others.
    assert_all_delivered(&report, 400, 11);
}

#[test]
fn groups_over_two_processes_count_every_delivery_once() {
    // 20 groups of 4 over 40 users: every group has members in both processes.
    let report = run(
        "groups",
        &[
            "groups", "--bare", "-c", "20", "-m", "4", "--users", "40", "-x", "300", "-t", "2",
            "--procs", "2",
        ],
    );
    assert_all_delivered(&report, 600, 3);
}

#[test]
fn procs_is_refused_where_it_does_not_apply() {
    for args in [
        &["churn", "--procs", "2"][..],
        &["lifecycle", "--procs", "2"][..],
        &["fanout", "-r", "3", "--procs", "4"][..],
        &["fanout", "--procs", "17"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
            .args(["--url", "http://127.0.0.1:9"])
            .args(args)
            .output()
            .expect("chat-bench runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains("procs"), "{args:?}: {stderr}");
    }
}
