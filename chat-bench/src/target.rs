//! Where a run's servers come from: started by this program (one or several instances, or the
//! bare server) or already running, decided from the server options together.
use anyhow::{Result, bail};

use crate::cli::{Common, DEFAULT_REDIS_URL, split_urls};
use crate::server::{self, RedisSetup, ServerKind, SpawnOptions};

/// The servers a run measures: started by this program, or already running.
pub enum Target {
    Spawn(SpawnOptions),
    Running(Vec<String>),
}

/// Checks the server options together and decides what to start or where to connect.
pub fn plan_target(
    common: &Common,
    kind: ServerKind,
    run_id: &str,
    server_cpus: Option<String>,
) -> Result<Target> {
    let instances = usize::from(common.instances);
    if !common.spawn_server {
        let urls = split_urls(&common.url);
        if urls.is_empty() {
            bail!("--url names no server");
        }
        if kind == ServerKind::Bare && urls.len() > 1 {
            bail!("the bare server keeps its rooms in its process: give it one --url");
        }
        if instances > 1 {
            bail!("--instances applies to --spawn-server; list running instances in --url");
        }
        return Ok(Target::Running(urls));
    }
    let postgres = common
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    if kind == ServerKind::Bare {
        if instances > 1 {
            bail!(
                "--bare runs one instance: the bare server keeps its rooms in its process (no \
                 adapter between instances)"
            );
        }
        if common.database_url.is_some() || common.redis_url.is_some() {
            bail!("--bare uses neither a database nor Redis: drop --database-url and --redis-url");
        }
    } else if instances > 1 && !postgres {
        bail!(
            "--instances {instances} needs one database they all share: give --database-url \
             postgres://... (a SQLite file cannot be shared between server processes)"
        );
    }
    let redis_url = match (&common.redis_url, kind, instances) {
        (Some(url), ServerKind::Chat, _) => Some(url.clone()),
        (None, ServerKind::Chat, n) if n > 1 => Some(DEFAULT_REDIS_URL.to_owned()),
        _ => None,
    };
    Ok(Target::Spawn(SpawnOptions {
        kind,
        binary: common
            .server_bin
            .clone()
            .unwrap_or_else(|| server::default_binary(kind)),
        instances,
        database_url: common.database_url.clone(),
        redis: redis_url.map(|url| RedisSetup {
            url,
            prefix: format!("cb-{run_id}"),
        }),
        // Every instance gets the same list: on a small machine the generator keeps its own core
        // and the instances share what a single server had, so the figures stay comparable.
        cpus: server_cpus,
        env: common.server_env.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use anyhow::anyhow;
    use clap::Parser;

    fn target(args: &[&str]) -> Result<Target> {
        let cli = Cli::try_parse_from(args).map_err(|e| anyhow!("{e}"))?;
        let kind = if cli.common.bare {
            ServerKind::Bare
        } else {
            ServerKind::Chat
        };
        plan_target(&cli.common, kind, "run1", Some("1".into()))
    }

    const PG: &str = "postgres://postgres@127.0.0.1:5432/b";

    #[test]
    fn several_instances_need_postgres_and_get_redis() {
        let Target::Spawn(opts) = target(&[
            "chat-bench",
            "--spawn-server",
            "--instances",
            "3",
            "--database-url",
            PG,
            "fanout",
        ])
        .expect("valid") else {
            panic!("not spawned");
        };
        assert_eq!((opts.instances, opts.kind), (3, ServerKind::Chat));
        assert_eq!(opts.cpus.as_deref(), Some("1"));
        let redis = opts.redis.expect("Redis for several instances");
        assert_eq!(
            (redis.url.as_str(), redis.prefix.as_str()),
            (DEFAULT_REDIS_URL, "cb-run1")
        );
        for db in [&[][..], &["--database-url", "sqlite:///tmp/x.db"][..]] {
            let mut args = vec!["chat-bench", "--spawn-server", "--instances", "2"];
            args.extend_from_slice(db);
            args.push("groups");
            let err = target(&args).err().expect("refused");
            assert!(format!("{err}").contains("postgres"), "{err}");
        }
    }

    #[test]
    fn one_instance_uses_redis_only_when_asked() {
        let Target::Spawn(opts) = target(&["chat-bench", "--spawn-server", "idle"]).expect("valid")
        else {
            panic!("not spawned");
        };
        assert!(opts.redis.is_none() && opts.database_url.is_none());
        let Target::Spawn(opts) = target(&[
            "chat-bench",
            "--spawn-server",
            "--redis-url",
            "redis://127.0.0.1:6380",
            "idle",
        ])
        .expect("valid") else {
            panic!("not spawned");
        };
        assert_eq!(
            opts.redis.map(|r| r.url).as_deref(),
            Some("redis://127.0.0.1:6380")
        );
    }

    #[test]
    fn bare_runs_alone() {
        let Target::Spawn(opts) =
            target(&["chat-bench", "--spawn-server", "--bare", "fanout"]).expect("valid")
        else {
            panic!("not spawned");
        };
        assert_eq!((opts.kind, opts.instances), (ServerKind::Bare, 1));
        assert!(opts.redis.is_none());
        for extra in [
            &["--instances", "3", "--database-url", PG][..],
            &["--database-url", PG][..],
            &["--redis-url", DEFAULT_REDIS_URL][..],
        ] {
            let mut args = vec!["chat-bench", "--spawn-server", "--bare"];
            args.extend_from_slice(extra);
            args.push("fanout");
            assert!(target(&args).is_err(), "{args:?}");
        }
        assert!(
            target(&[
                "chat-bench",
                "--bare",
                "--url",
                "http://a:1,http://a:2",
                "fanout"
            ])
            .is_err()
        );
    }

    #[test]
    fn running_servers_from_a_url_list() {
        let Target::Running(urls) =
            target(&["chat-bench", "--url", "http://a:1,http://a:2/", "groups"]).expect("valid")
        else {
            panic!("spawned");
        };
        assert_eq!(urls, vec!["http://a:1", "http://a:2"]);
        assert!(target(&["chat-bench", "--instances", "2", "groups"]).is_err());
        assert!(target(&["chat-bench", "--url", ",", "groups"]).is_err());
    }
}
