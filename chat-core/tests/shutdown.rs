//! Closing an engine's sockets while presence changes are still being
//! announced: the last announcements find the namespace closed and are
//! dropped, without a panic in any of the engine's tasks.
//!
//! Alone in its test binary: it counts panics with a process-wide hook.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chat_core::ChatConfig;
use sio_client::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_sockets_with_presence_to_announce_panics_nowhere() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let common::Served {
        addr,
        chat,
        db: _db,
    } = common::serve(ChatConfig::default()).await;
    let mut sockets = Vec::new();
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        users.push(common::user(&chat, name).await);
    }
    // Everyone shares a direct conversation with alice: each one's going
    // offline is announced to somebody.
    for (other, _) in &users[1..] {
        chat.get_or_create_direct(users[0].0, *other)
            .await
            .expect("direct conversation");
    }
    for (_, token) in &users {
        sockets.push(Client::connect(addr, token).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Alice leaves: her going offline waits in the presence writer's batch,
    // for the others, who are still online, when the server closes.
    sockets.remove(0).close().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    chat.close_sockets().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(sockets);
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a task panicked while the sockets closed"
    );
}
