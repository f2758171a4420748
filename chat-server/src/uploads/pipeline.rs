//! From accepted bytes to a stored image: decoding on a blocking thread under
//! the bound on concurrent decoding, then the row (counted against the quota)
//! and the files.
use axum::body::Bytes;
use chat_core::ids::UserId;
use sea_orm::{ConnectionTrait, TransactionTrait};
use tokio::sync::OwnedSemaphorePermit;

use super::Uploads;
use super::image::{self, ImageRejection, ProcessedImage};
use super::names::stored_names;
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::uploads::NewUpload;

/// An image stored for a user.
#[derive(Debug, Clone)]
pub struct SavedUpload {
    /// `/uploads/<sha256>.<ext>`.
    pub file_url: String,
    /// `/uploads/<sha256>_thumb.<ext>`.
    pub thumbnail_url: String,
    /// Width of the stored image.
    pub width: u32,
    /// Height of the stored image.
    pub height: u32,
    /// Bytes of the stored image.
    pub size: u64,
    /// Its MIME type.
    pub mime: &'static str,
}

impl Uploads {
    /// Waits for one of the decoding permits. Taken before the body is read:
    /// at most `permits` bodies are buffered and decoded at once, whatever
    /// the number of uploads under way.
    pub async fn decoding_permit(&self) -> ApiResult<OwnedSemaphorePermit> {
        self.decoding
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("decoding semaphore closed".to_owned()))
    }

    /// Runs the image pipeline on a blocking thread, holding the decoding
    /// permit taken before the body was read.
    pub async fn decode(
        &self,
        bytes: Vec<u8>,
        permit: OwnedSemaphorePermit,
    ) -> ApiResult<ProcessedImage> {
        let limits = self.limits;
        // The permit moves into the task: if the client goes away the decoding still
        // runs to its end, and must keep counting against the bound until then.
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            image::process(&bytes, &limits)
        })
        .await
        .map_err(|err| ApiError::Internal(format!("image task failed: {err}")))?;
        result.map_err(|rejection| match rejection {
            ImageRejection::Unsupported => ApiError::UnsupportedImage,
            ImageRejection::TooLarge => ApiError::ImageTooLarge(limits.max_pixels),
            ImageRejection::Invalid => ApiError::InvalidImage,
            ImageRejection::Encoding(err) => {
                ApiError::Internal(format!("encoding an image: {err}"))
            }
        })
    }

    /// Stores a processed image for `uploader_id`. The row first, counted
    /// against the quota in the same statement: a crash before the files are
    /// stored leaves a row the orphan sweep removes, never files nothing
    /// refers to. A failure to store the files removes the row again.
    pub async fn save<C: ConnectionTrait + TransactionTrait>(
        &self,
        conn: &C,
        uploader_id: UserId,
        processed: ProcessedImage,
    ) -> ApiResult<SavedUpload> {
        let (name, thumb_name) = stored_names(&processed.hash, processed.kind);
        let saved = SavedUpload {
            file_url: format!("/uploads/{name}"),
            thumbnail_url: format!("/uploads/{thumb_name}"),
            width: processed.width,
            height: processed.height,
            size: processed.original.len() as u64,
            mime: processed.kind.mime(),
        };
        let row = NewUpload {
            uploader_id,
            file_url: &saved.file_url,
            thumbnail_url: &saved.thumbnail_url,
            mime: saved.mime,
            width: saved.width,
            height: saved.height,
            size: saved.size,
        };
        let inserted = self.record(conn, &row).await?;
        let stored = async {
            self.storage
                .put(&name, Bytes::from(processed.original))
                .await
                .map_err(|err| ApiError::Internal(format!("storing {name}: {err}")))?;
            self.storage
                .put(&thumb_name, Bytes::from(processed.thumbnail))
                .await
                .map_err(|err| ApiError::Internal(format!("storing {thumb_name}: {err}")))
        }
        .await;
        if let Err(err) = stored {
            if inserted {
                let _ = store::uploads::delete(conn, uploader_id, &saved.file_url).await;
            }
            return Err(err);
        }
        Ok(saved)
    }
}
