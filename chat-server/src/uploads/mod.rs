//! The upload machinery behind the upload routes: where uploads are stored
//! ([`storage`]), how uploaded bytes become stored images ([`image`]), voice
//! messages ([`audio`]) or files ([`file`]), decided and prepared by
//! [`pipeline`] under a bound on concurrent decoding, the per-user
//! [`quota`], the names stored files go by ([`names`]), the removal of
//! uploads nothing refers to ([`sweep`]) and profile pictures ([`avatar`]).
//! The HTTP handlers are in `routes::uploads`.

pub mod audio;
pub mod avatar;
pub mod file;
pub mod image;
pub mod names;
pub mod pipeline;
pub mod quota;
pub mod storage;
pub mod sweep;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::config::Config;

pub use self::image::{ImageKind, ImageLimits, ImageRejection, ProcessedImage};
pub use self::pipeline::{Processed, SavedUpload, UploadField};
pub use self::storage::{LocalStorage, Storage, StoredObject};
pub use self::sweep::{SweepOutcome, sweep_orphans};

/// Longest voice message unless configured otherwise, in seconds.
pub const DEFAULT_MAX_VOICE_SECONDS: u64 = 300;

/// What the upload routes share.
#[derive(Clone)]
pub struct Uploads {
    storage: Arc<dyn Storage>,
    /// Decoding is CPU- and memory-heavy; this bounds how many uploads are
    /// read and decoded at once (see [`decode_permits`]).
    decoding: Arc<Semaphore>,
    permits: usize,
    max_file_size: usize,
    /// Most bytes of stored uploads per user; 0: no quota.
    quota: u64,
    /// Longest voice message; longer audio is stored as a file.
    max_voice_seconds: u64,
    limits: ImageLimits,
}

/// How many uploads may be read and decoded at once: as many as fit in
/// `memory` bytes when each may decode `max_pixels` pixels of 4 bytes, and no
/// more than the cores but one (left to the runtime threads, so a burst of
/// uploads slows down other uploads rather than socket traffic); at least one.
///
/// ```
/// use chat_server::uploads::decode_permits;
/// // 40 megapixels are 160 MB decoded: a 512 MiB budget fits 3 of them.
/// assert_eq!(decode_permits(512 * 1024 * 1024, 40_000_000, 16), 3);
/// assert_eq!(decode_permits(512 * 1024 * 1024, 40_000_000, 2), 1);
/// assert_eq!(decode_permits(1, 40_000_000, 16), 1);
/// ```
pub fn decode_permits(memory: u64, max_pixels: u64, cpus: usize) -> usize {
    let per_decode = max_pixels.saturating_mul(4).max(1);
    let by_memory = usize::try_from(memory / per_decode).unwrap_or(usize::MAX);
    by_memory.min(cpus.saturating_sub(1)).max(1)
}

impl Uploads {
    /// Uploads kept in `storage`, of at most `max_file_size` bytes and
    /// `max_pixels` pixels, decoded at most `permits` at once.
    pub fn new(
        storage: Arc<dyn Storage>,
        max_file_size: usize,
        max_pixels: u64,
        permits: usize,
    ) -> Uploads {
        let permits = permits.max(1);
        Uploads {
            storage,
            decoding: Arc::new(Semaphore::new(permits)),
            permits,
            max_file_size,
            quota: 0,
            max_voice_seconds: DEFAULT_MAX_VOICE_SECONDS,
            limits: ImageLimits::new(max_pixels),
        }
    }

    /// Sets the most bytes of stored images per user (0: no quota).
    pub fn with_quota(mut self, quota: u64) -> Uploads {
        self.quota = quota;
        self
    }

    /// Sets the longest voice message, in seconds.
    pub fn with_max_voice_seconds(mut self, seconds: u64) -> Uploads {
        self.max_voice_seconds = seconds;
        self
    }

    /// Uploads in the configured directory, with the configured limits.
    pub fn from_config(config: &Config) -> anyhow::Result<Uploads> {
        let dir = config.upload_directory();
        let storage = LocalStorage::new(&dir)
            .with_context(|| format!("cannot create upload directory {}", dir.display()))?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let permits = decode_permits(config.upload_decode_memory, config.max_image_pixels, cpus);
        tracing::info!(permits, "uploads decoded at once");
        Ok(Uploads::new(
            Arc::new(storage),
            config.max_file_size,
            config.max_image_pixels,
            permits,
        )
        .with_quota(config.upload_quota_bytes)
        .with_max_voice_seconds(config.max_voice_seconds))
    }

    /// How many uploads are read and decoded at once.
    pub fn decode_permits(&self) -> usize {
        self.permits
    }

    /// The store of the images.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Largest accepted upload, in bytes.
    pub fn max_file_size(&self) -> usize {
        self.max_file_size
    }
}
