//! chat-server binary: parse the configuration and run.
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// With `--features dhat-heap`, every allocation goes through dhat, which
/// writes `dhat-heap.json` (into the working directory) on `SIGUSR1` or when
/// the server stops gracefully; see docs/performance.md for how it is read.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// jemalloc otherwise. With the C library's allocator, memory freed on one
/// thread's arena stayed with the process: the server's RSS grew by what
/// password hashing and traffic had once needed (twice the RSS after
/// registrations and traffic; docs/performance.md, *Where the idle bytes
/// go*), where jemalloc returns freed pages to the system after a short
/// delay.
#[cfg(all(not(feature = "dhat-heap"), not(target_env = "msvc")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    #[cfg(feature = "dhat-heap")]
    write_heap_profile_on_sigusr1(dhat::Profiler::new_heap());
    let config = chat_server::Config::parse();
    if config.generate_vapid_keys {
        let keys = chat_core::push::VapidKeys::generate();
        println!("VAPID_PRIVATE_KEY={}", keys.private_base64());
        println!(
            "# public key (served at /api/push/vapid-public-key): {}",
            keys.public_base64()
        );
        return Ok(());
    }
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    if let Err(err) = chat_server::run(config, listener, chat_server::shutdown_signal()).await {
        tracing::error!("{err:#}");
        return Err(err);
    }
    Ok(())
}

/// Drops the profiler (which writes the profile) on `SIGUSR1`, so that the
/// profile's end is a moment chosen while the sockets are still open: its
/// "at t-end" figures are then what each connection keeps at that moment,
/// e.g. after traffic. Without the signal it is dropped, and written, when
/// the runtime shuts down.
#[cfg(feature = "dhat-heap")]
fn write_heap_profile_on_sigusr1(profiler: dhat::Profiler) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        match signal(SignalKind::user_defined1()) {
            Ok(mut usr1) => {
                usr1.recv().await;
                drop(profiler);
                tracing::info!("heap profile written (dhat-heap.json)");
            }
            Err(err) => tracing::warn!("no SIGUSR1 handler for the heap profile: {err}"),
        }
    });
}
