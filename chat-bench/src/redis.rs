//! The little the generator asks of Redis for multi-instance runs: that it
//! answers before the servers start, and removing the run's keys afterwards.
use std::time::Duration;

use anyhow::{Context, Result};
use fred::prelude::{Builder, ClientLike, Config, KeysInterface};
use fred::types::scan::Scanner;
use futures_util::TryStreamExt;

/// The glob patterns covering a chat-server run's keys: chat-core writes its keys as
/// `{prefix}:...` (a Redis Cluster hash tag) and the socket adapter uses `prefix:...`.
pub fn key_patterns(prefix: &str) -> [String; 2] {
    [format!("{{{prefix}}}:*"), format!("{prefix}:*")]
}

async fn connect(url: &str) -> Result<fred::clients::Client> {
    let config = Config::from_url(url).with_context(|| format!("invalid Redis URL {url}"))?;
    let client = Builder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_secs(3))
        .build()
        .context("Redis client")?;
    client.init().await.context("connecting to Redis")?;
    Ok(client)
}

/// Fails unless Redis at `url` answers.
pub async fn ping(url: &str) -> Result<()> {
    let client = connect(url).await?;
    let _: String = client.ping(None).await.context("PING")?;
    client.quit().await.ok();
    Ok(())
}

/// Deletes every key matching `patterns` (SCAN, then DEL page by page); returns how many.
pub async fn delete_matching(url: &str, patterns: &[String]) -> Result<u64> {
    let client = connect(url).await?;
    let mut deleted = 0u64;
    for pattern in patterns {
        let mut pages = client.scan(pattern.as_str(), Some(1000), None);
        while let Some(mut page) = pages.try_next().await.context("SCAN")? {
            if let Some(keys) = page.take_results()
                && !keys.is_empty()
            {
                let n: u64 = client.del(keys).await.context("DEL")?;
                deleted += n;
            }
        }
    }
    client.quit().await.ok();
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::key_patterns;

    #[test]
    fn patterns_cover_both_key_styles() {
        assert_eq!(
            key_patterns("cb-1"),
            ["{cb-1}:*".to_owned(), "cb-1:*".to_owned()]
        );
    }
}
