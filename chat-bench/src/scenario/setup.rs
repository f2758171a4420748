//! Setup common to the scenarios: registering users, seating them in groups, and connecting
//! their sockets, with the figures of each step.
use std::time::Instant;

use anyhow::Result;
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use super::traffic::TrafficPlan;
use super::wire::room_name;
use super::{Env, progress, rate, round3};
use crate::api::Account;
use crate::client::{self, Login, Ws};
use crate::server::ServerKind;

pub(super) const PASSWORD: &str = "bench-password-1";

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

pub(super) async fn register_users(env: &Env, n: usize, setup: &mut Setup) -> Result<Vec<Account>> {
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

pub(super) async fn connect_all(
    env: &Env,
    logins: &[Login],
    setup: &mut Setup,
) -> (Vec<Result<Ws>>, Option<String>) {
    connect_each(env, logins, setup, |ws| ws).await
}

/// Connects every login in order and hands each socket to `keep` as soon as it is established
/// (so a long connect phase can keep the first sockets alive meanwhile).
pub(super) async fn connect_each<T>(
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

/// A group and the clients (indices) in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Group {
    pub(super) id: i64,
    pub(super) members: Vec<usize>,
}

/// Builds the groups: group g seats users g*M .. g*M+M-1 (modulo the number of users).
pub(super) fn seat_groups(groups: usize, members: usize, users: usize) -> Vec<Vec<usize>> {
    (0..groups)
        .map(|g| (0..members).map(|j| (g * members + j) % users).collect())
        .collect()
}

/// Seats the users in the plan's groups: on the chat server, registers the users and creates the
/// groups; on the bare server, numbers users and rooms. Returns the user ids, each client's login
/// and the groups.
pub(super) async fn seat(
    env: &Env,
    plan: &TrafficPlan,
    setup: &mut Setup,
) -> Result<(Vec<i64>, Vec<Login>, Vec<Group>)> {
    let bare = env.kind == ServerKind::Bare;
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
        let accounts = register_users(env, plan.users, setup).await?;
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
    Ok((user_ids, logins, groups))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::Api;
    use crate::client::ConnectConfig;
    use crate::scenario::Instances;

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
