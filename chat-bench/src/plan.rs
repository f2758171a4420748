//! Checking a command line before anything starts: the bounds of each scenario, the open-file
//! limit, and the traffic plan of fanout, groups, churn and lifecycle.
use anyhow::{Result, bail};

use crate::cli::{
    Cli, MAX_CONNECTIONS, MAX_DURATION_S, MAX_IDLE_CONNECTIONS, RESERVED_FILES, Scenario,
    SearchArgs, TrafficArgs,
};
use crate::scenario::TrafficPlan;
use crate::server::{self, FileLimit};

/// Checks the scenario's options and the open-file limit; returns the traffic plan (none for
/// `idle`).
pub fn check_scenario(cli: &Cli) -> Result<Option<TrafficPlan>> {
    let plan = match &cli.scenario {
        Scenario::Idle(a) => {
            check_idle(a.connections)?;
            None
        }
        Scenario::Fanout(a) => Some(traffic_plan(
            "fanout",
            (1, a.members),
            Some(a.members),
            a.rate,
            a.duration,
            &a.traffic,
        )),
        Scenario::Groups(a) => Some(traffic_plan(
            "groups",
            (a.groups, a.members),
            a.users,
            a.rate,
            a.duration,
            &a.traffic,
        )),
        Scenario::Search(a) => {
            check_search(a)?;
            None
        }
        Scenario::Part(_) => None,
        Scenario::Lifecycle(a) => {
            if a.recent == 0 || a.recent > 1000 {
                bail!("--recent must be 1..=1000");
            }
            Some(traffic_plan(
                "lifecycle",
                (a.groups, a.members),
                a.users,
                a.rate,
                a.duration,
                &a.traffic,
            ))
        }
        Scenario::Churn(a) => {
            if !(0.0..=1.0).contains(&a.share) || a.interval <= 0.0 || a.down < 0.0 {
                bail!("--share must be in 0..1, --interval positive, --down not negative");
            }
            Some(TrafficPlan {
                churn: Some((a.share, a.interval, a.down)),
                ..traffic_plan(
                    "churn",
                    (a.groups, a.members),
                    a.users,
                    a.rate,
                    a.duration,
                    &a.traffic,
                )
            })
        }
    };
    if let Some(p) = &plan {
        check_traffic(p.users, p.rate, p.duration)?;
        if p.procs > 1 && (p.churn.is_some() || p.name == "lifecycle") {
            bail!("--procs applies to fanout and groups only");
        }
        if p.procs > p.users {
            bail!(
                "--procs {} for {} clients: at most one process per client",
                p.procs,
                p.users
            );
        }
    }
    let connections = match (&cli.scenario, &plan) {
        (Scenario::Idle(a), _) => a.connections,
        (_, Some(p)) => p.users,
        (_, None) => 0,
    };
    check_open_files(connections, server::open_file_limit())?;

    Ok(plan)
}

pub fn check_idle(connections: usize) -> Result<()> {
    if connections == 0 || connections > MAX_IDLE_CONNECTIONS {
        bail!(
            "--connections must be 1..={MAX_IDLE_CONNECTIONS} per process; run several \
             generators for more (scripts/connections.sh)"
        );
    }
    Ok(())
}

pub fn check_traffic(users: usize, rate: f64, duration: f64) -> Result<()> {
    if users > MAX_CONNECTIONS {
        bail!("{users} connections asked, at most {MAX_CONNECTIONS} per process");
    }
    if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
        bail!("--rate must be in (0, 1000000]");
    }
    if !(duration.is_finite() && duration > 0.0 && duration <= MAX_DURATION_S) {
        bail!("--duration must be in (0, {MAX_DURATION_S}] seconds");
    }
    Ok(())
}

/// Refuses a run whose connections (one open file each) do not fit under the open-file limit
/// (`None`: unknown, not checked).
pub fn check_open_files(connections: usize, limit: Option<FileLimit>) -> Result<()> {
    let Some(FileLimit {
        soft: Some(soft),
        hard,
    }) = limit
    else {
        return Ok(());
    };
    let needed = connections as u64 + RESERVED_FILES;
    if needed <= soft {
        return Ok(());
    }
    let advice = match hard {
        Some(hard) if hard < needed => format!(
            "the hard limit is {hard}: open fewer connections per process (-k) and run several \
             generators"
        ),
        Some(hard) => format!(
            "raise the soft limit to the hard one ({hard}) in the shell that starts chat-bench: \
             `ulimit -n {hard}`"
        ),
        None => format!("raise it in the shell that starts chat-bench: `ulimit -n {needed}`"),
    };
    bail!(
        "{connections} connections need about {needed} open files, but this process may hold \
         {soft} (soft RLIMIT_NOFILE, `ulimit -n`); {advice}"
    )
}

/// A traffic scenario of `groups` groups of `members` (seated from `users` users).
pub fn traffic_plan(
    name: &'static str,
    (groups, members): (usize, usize),
    users: Option<usize>,
    rate: f64,
    duration: f64,
    traffic: &TrafficArgs,
) -> TrafficPlan {
    TrafficPlan {
        name,
        groups,
        members,
        // Each registration costs the server an argon2id hash.
        users: users.unwrap_or((groups * members).min(250)),
        rate,
        duration,
        content_size: traffic.content_size,
        drain: traffic.drain,
        settle: traffic.settle,
        hold: traffic.hold,
        churn: None,
        procs: usize::from(traffic.procs),
    }
}

/// Bounds of `search`: a data set this machine writes in minutes, statements within SQLite's
/// limit of bound values.
fn check_search(a: &SearchArgs) -> Result<()> {
    if a.messages == 0 || a.messages > 10_000_000 {
        bail!("--messages must be 1..=10000000");
    }
    if a.conversations == 0 || a.conversations > 1_000_000 || a.conversations as u64 > a.messages {
        bail!("--conversations must be 1..=1000000 and at most --messages");
    }
    if a.member_of == 0 || a.member_of > a.conversations {
        bail!("--member-of must be 1..=--conversations");
    }
    if !(4..=100_000).contains(&a.users) {
        bail!("--users must be 4..=100000");
    }
    if !(100..=100_000).contains(&a.vocabulary) {
        bail!("--vocabulary must be 100..=100000");
    }
    if a.searches == 0 || a.searches > 100_000 {
        bail!("--searches must be 1..=100000");
    }
    if a.batch == 0 || a.batch > 4000 {
        bail!("--batch must be 1..=4000");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn idle_goes_further_than_traffic() {
        let idle = Cli::try_parse_from(["chat-bench", "idle", "-k", "18000"]).expect("parses");
        let Scenario::Idle(a) = idle.scenario else {
            panic!("not idle");
        };
        assert_eq!(a.connections, MAX_IDLE_CONNECTIONS);
        assert!(check_idle(a.connections).is_ok());
        assert!(check_idle(MAX_IDLE_CONNECTIONS + 1).is_err());
        assert!(check_idle(0).is_err());
        assert!(check_traffic(MAX_CONNECTIONS, 100.0, 10.0).is_ok());
        assert!(check_traffic(MAX_CONNECTIONS + 1, 100.0, 10.0).is_err());
    }

    #[test]
    fn connections_must_fit_the_open_file_limit() {
        let limit = |soft, hard| Some(FileLimit { soft, hard });
        assert!(check_open_files(18_000, limit(Some(20_000), Some(20_000))).is_ok());
        assert!(check_open_files(18_000, limit(None, None)).is_ok());
        assert!(check_open_files(18_000, None).is_ok());
        assert!(check_open_files(900, limit(Some(1024), Some(1024))).is_ok());
        let err = |k, soft, hard| {
            format!(
                "{}",
                check_open_files(k, limit(soft, hard)).expect_err("refused")
            )
        };
        let raise = err(18_000, Some(1024), Some(20_000));
        assert!(
            raise.contains("1024") && raise.contains("ulimit -n 20000"),
            "{raise}"
        );
        let fewer = err(18_000, Some(10_000), Some(10_000));
        assert!(fewer.contains("fewer connections"), "{fewer}");
        let unlimited = err(5_000, Some(1024), None);
        assert!(unlimited.contains("ulimit -n 5100"), "{unlimited}");
    }
}
