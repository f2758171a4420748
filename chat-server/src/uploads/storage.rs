//! Where stored uploads live. Names are content addresses (the SHA-256 of the
//! bytes), so an object never changes once written and writing the same name
//! twice is a no-op; that is what lets several instances share one directory
//! (or, behind the same trait, an object store) without coordination.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

/// A stored object opened for reading.
pub struct StoredObject {
    /// Length in bytes.
    pub len: u64,
    /// The bytes, streamed.
    pub body: Body,
}

/// A store of immutable, content-addressed objects.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores `bytes` under `name` unless an object of that name exists (it then
    /// holds the same bytes). Returns once the object is durable.
    async fn put(&self, name: &str, bytes: Bytes) -> io::Result<()>;

    /// Opens the object, or `None` when there is none.
    async fn get(&self, name: &str) -> io::Result<Option<StoredObject>>;

    /// Removes the object; removing one that does not exist is no error.
    async fn delete(&self, name: &str) -> io::Result<()>;

    /// The object's file, when the store keeps objects as local files (they
    /// are then served with ranges); `None` otherwise.
    fn local_path(&self, _name: &str) -> Option<PathBuf> {
        None
    }
}

/// Objects as files in one local (or mounted, shared) directory.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    dir: PathBuf,
}

impl LocalStorage {
    /// Uses `dir`, creating it when missing.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<LocalStorage> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(LocalStorage { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Callers only pass validated names; this keeps a bad one from ever
    /// reaching outside the directory all the same.
    fn path(&self, name: &str) -> io::Result<PathBuf> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if plain {
            Ok(self.dir.join(name))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid object name",
            ))
        }
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn put(&self, name: &str, bytes: Bytes) -> io::Result<()> {
        let path = self.path(name)?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(());
        }
        // Written aside and renamed, so a reader (or a crash) never sees half a file.
        let tmp = self
            .dir
            .join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        written
    }

    async fn get(&self, name: &str) -> io::Result<Option<StoredObject>> {
        let path = self.path(name)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let len = file.metadata().await?.len();
        Ok(Some(StoredObject {
            len,
            body: Body::from_stream(ReaderStream::new(file)),
        }))
    }

    fn local_path(&self, name: &str) -> Option<PathBuf> {
        self.path(name).ok()
    }

    async fn delete(&self, name: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(name)?).await {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}
