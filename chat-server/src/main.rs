//! chat-server binary: parse the configuration and run.
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// With `--features dhat-heap`, every allocation goes through dhat, which
/// writes `dhat-heap.json` (into the working directory) when the server
/// stops gracefully; see docs/performance.md for how it is read.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
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
