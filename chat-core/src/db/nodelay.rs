//! `TCP_NODELAY` on pooled PostgreSQL connections: a workaround, kept here
//! and nowhere else.
//!
//! sqlx 0.9.0 stopped setting `TCP_NODELAY` on its sockets
//! (<https://github.com/transact-rs/sqlx/issues/4335>), and offers no option
//! for it. With Nagle's algorithm on, any statement spanning more than one TCP
//! segment (a batch of messages, a long message) waits for the server's
//! delayed ACK, about 40 ms per statement, and the group-commit writers stall
//! (measured in docs/performance.md: e2e p50 2.95 ms with, 5.76 ms without).
//!
//! sqlx does not hand out its sockets, so the socket is found among the
//! process's open descriptors by its two ports and changed through a
//! duplicate. **Remove this module** (and its call in
//! [`tune_connect_options`](super::tune_connect_options)) once the sqlx in
//! `Cargo.lock` sets `TCP_NODELAY` itself again or offers a connect option for
//! it; the test below then still passes without it. Unix-domain sockets
//! (`host=/var/run/postgresql`) need none of this.
use sea_orm::sqlx::PgConnection;

/// sqlx's `after_connect` hook: sets `TCP_NODELAY` on the new connection's
/// socket. A failure is logged, never fatal: the connection works, only slower.
pub(super) async fn after_connect(conn: &mut PgConnection) -> Result<(), sea_orm::sqlx::Error> {
    // NULL on a Unix-domain socket, where Nagle does not apply.
    let ports: (Option<i32>, Option<i32>) =
        sea_orm::sqlx::query_as("SELECT inet_client_port(), inet_server_port()")
            .fetch_one(conn)
            .await?;
    let (Some(local), Some(remote)) = ports else {
        return Ok(());
    };
    let (Ok(local), Ok(remote)) = (u16::try_from(local), u16::try_from(remote)) else {
        return Ok(());
    };
    // The search walks every open descriptor: off the runtime threads.
    match tokio::task::spawn_blocking(move || socket::set_on_connection(local, remote)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::warn!(%err, "cannot set TCP_NODELAY on a database connection"),
        Err(err) => tracing::warn!(%err, "TCP_NODELAY task failed"),
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod socket {
    use std::os::fd::RawFd;

    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    /// Sets `TCP_NODELAY` on this process's TCP socket from local port `local`
    /// to remote port `remote`; false when there is no such socket.
    pub(super) fn set_on_connection(local: u16, remote: u16) -> std::io::Result<bool> {
        with_socket(local, remote, |socket| socket.set_tcp_nodelay(true))?
            .transpose()
            .map(|found| found.is_some())
    }

    #[cfg(test)]
    pub(super) fn is_set(local: u16, remote: u16) -> Option<bool> {
        with_socket(local, remote, |socket| socket.tcp_nodelay().ok())
            .ok()
            .flatten()
            .flatten()
    }

    /// Each candidate is looked at through a duplicate (`pidfd_getfd`): socket
    /// options belong to the socket, and a duplicate cannot be invalidated by
    /// another thread closing the original.
    fn with_socket<R>(
        local: u16,
        remote: u16,
        f: impl FnOnce(&socket2::Socket) -> R,
    ) -> std::io::Result<Option<R>> {
        let port = |addr: std::io::Result<socket2::SockAddr>| {
            addr.ok().and_then(|a| a.as_socket()).map(|a| a.port())
        };
        let this_process = pidfd_open(getpid(), PidfdFlags::empty())?;
        for entry in std::fs::read_dir("/proc/self/fd")? {
            let entry = entry?;
            let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
                continue;
            };
            let is_socket = std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
            if !is_socket {
                continue;
            }
            let Ok(duplicate) = pidfd_getfd(&this_process, fd, PidfdGetfdFlags::empty()) else {
                continue;
            };
            let socket = socket2::Socket::from(duplicate);
            if port(socket.local_addr()) == Some(local) && port(socket.peer_addr()) == Some(remote)
            {
                return Ok(Some(f(&socket)));
            }
        }
        Ok(None)
    }
}

#[cfg(not(target_os = "linux"))]
mod socket {
    pub(super) fn set_on_connection(_local: u16, _remote: u16) -> std::io::Result<bool> {
        Ok(false)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use sea_orm::ConnectOptions;

    use super::socket;
    use crate::db::tune_connect_options;
    use crate::testing::TestDb;

    /// Every pooled PostgreSQL connection over TCP has Nagle's algorithm off.
    #[tokio::test]
    async fn postgres_connections_over_tcp_get_nodelay() {
        let Some(test_db) = TestDb::postgres().await else {
            return;
        };
        let mut options = ConnectOptions::new(test_db.url.clone());
        tune_connect_options(&mut options)
            .min_connections(3)
            .max_connections(3)
            .sqlx_logging(false);
        let db = sea_orm::Database::connect(options).await.expect("connect");
        let pool = db.get_postgres_connection_pool();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.acquire().await.expect("acquire"));
        }
        for conn in &mut held {
            let (local, remote): (i32, i32) =
                sea_orm::sqlx::query_as("SELECT inet_client_port(), inet_server_port()")
                    .fetch_one(&mut **conn)
                    .await
                    .expect("ports");
            let local = u16::try_from(local).expect("port");
            let remote = u16::try_from(remote).expect("port");
            assert_eq!(
                socket::is_set(local, remote),
                Some(true),
                "connection from port {local}"
            );
        }
        drop(held);
        db.close().await.expect("close");
    }
}
