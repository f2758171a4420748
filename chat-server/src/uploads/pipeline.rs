//! From accepted bytes to a stored upload: deciding what the bytes are
//! (image, voice message or other file) on a blocking thread under the bound
//! on concurrent decoding, then the row (counted against the quota) and the
//! files.
use axum::body::Bytes;
use chat_core::ids::UserId;
use chat_core::model::AttachmentKind;
use sea_orm::{ConnectionTrait, TransactionTrait};
use tokio::sync::OwnedSemaphorePermit;

use super::Uploads;
use super::audio::{self, AudioInfo};
use super::file::{mime_of, sanitize_name};
use super::image::{self, ImageRejection, ProcessedImage, content_address};
use super::names::{StoredKind, stored_name, stored_names};
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::uploads::NewUpload;

/// Which form field carried the upload: `image` takes only images (as it
/// always did); `file` takes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadField {
    /// `image`.
    Image,
    /// `file`.
    File,
}

/// What the uploaded bytes turned out to be, ready to store.
#[derive(Debug)]
pub enum Processed {
    /// A re-encoded image and its thumbnail.
    Image(ProcessedImage),
    /// A voice message, stored as uploaded.
    Audio {
        /// The bytes.
        bytes: Vec<u8>,
        /// Container, codec and duration.
        info: AudioInfo,
    },
    /// Any other file, stored as uploaded.
    File {
        /// The bytes.
        bytes: Vec<u8>,
        /// The type the bytes show.
        mime: &'static str,
    },
}

/// An upload stored for a user: the answer of `POST /api/upload`.
#[derive(Debug, Clone)]
pub struct SavedUpload {
    /// `/uploads/<sha256>.<ext>`.
    pub file_url: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// Its MIME type.
    pub mime: &'static str,
    /// Bytes stored.
    pub size: u64,
    /// The sanitised name it goes by.
    pub name: String,
    /// Images: `/uploads/<sha256>_thumb.<ext>`.
    pub thumbnail_url: Option<String>,
    /// Images: width of the stored image.
    pub width: Option<u32>,
    /// Images: height of the stored image.
    pub height: Option<u32>,
    /// Audio: its length in milliseconds.
    pub duration_ms: Option<u64>,
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
        match self.process(bytes, UploadField::Image, permit).await? {
            Processed::Image(image) => Ok(image),
            _ => Err(ApiError::UnsupportedImage),
        }
    }

    /// Decides what the bytes are and prepares them, on a blocking thread
    /// holding the decoding permit taken before the body was read. Bytes an
    /// image decoder accepts are an image. From the `image` field nothing
    /// else is accepted (415); from `file`, audio of an accepted kind no
    /// longer than the voice limit is a voice message, and everything else
    /// (an image that cannot be decoded or carries markup included) a file.
    pub async fn process(
        &self,
        bytes: Vec<u8>,
        field: UploadField,
        permit: OwnedSemaphorePermit,
    ) -> ApiResult<Processed> {
        let limits = self.limits;
        let max_voice_ms = self.max_voice_seconds.saturating_mul(1000);
        // The permit moves into the task: if the client goes away the decoding still
        // runs to its end, and must keep counting against the bound until then.
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let rejection = match image::process(&bytes, &limits) {
                Ok(image) => return Ok(Processed::Image(image)),
                Err(rejection) => rejection,
            };
            if field == UploadField::Image {
                return Err(rejection);
            }
            if let ImageRejection::Encoding(_) = rejection {
                return Err(rejection);
            }
            Ok(match audio::probe(&bytes) {
                Some(info) if info.duration_ms <= max_voice_ms => Processed::Audio { bytes, info },
                _ => {
                    let mime = mime_of(&bytes);
                    Processed::File { bytes, mime }
                }
            })
        })
        .await
        .map_err(|err| ApiError::Internal(format!("upload task failed: {err}")))?;
        result.map_err(|rejection| match rejection {
            ImageRejection::Unsupported => ApiError::UnsupportedImage,
            ImageRejection::TooLarge => ApiError::ImageTooLarge(limits.max_pixels),
            ImageRejection::Invalid => ApiError::InvalidImage,
            ImageRejection::Encoding(err) => {
                ApiError::Internal(format!("encoding an image: {err}"))
            }
        })
    }

    /// Stores a processed image for `uploader_id` (see [`Uploads::save_upload`]).
    pub async fn save<C: ConnectionTrait + TransactionTrait>(
        &self,
        conn: &C,
        uploader_id: UserId,
        processed: ProcessedImage,
    ) -> ApiResult<SavedUpload> {
        self.save_upload(conn, uploader_id, Processed::Image(processed), None)
            .await
    }

    /// Stores a processed upload for `uploader_id`, under the sanitised
    /// `name` it was uploaded as. The row first, counted against the quota
    /// in the same statement: a crash before the files are stored leaves a
    /// row the orphan sweep removes, never files nothing refers to. A failure
    /// to store the files removes the row again. A file the user uploaded
    /// before keeps its first row, and the name it was first uploaded under.
    pub async fn save_upload<C: ConnectionTrait + TransactionTrait>(
        &self,
        conn: &C,
        uploader_id: UserId,
        processed: Processed,
        name: Option<&str>,
    ) -> ApiResult<SavedUpload> {
        let (saved, objects) = prepare(processed, name);
        let row = NewUpload {
            uploader_id,
            file_url: &saved.file_url,
            thumbnail_url: saved.thumbnail_url.as_deref().unwrap_or(""),
            kind: saved.kind,
            mime: saved.mime,
            name: &saved.name,
            width: saved.width.unwrap_or(0),
            height: saved.height.unwrap_or(0),
            size: saved.size,
            duration_ms: saved.duration_ms,
        };
        let inserted = self.record(conn, &row).await?;
        let stored = async {
            for (object, bytes) in objects {
                self.storage
                    .put(&object, bytes)
                    .await
                    .map_err(|err| ApiError::Internal(format!("storing {object}: {err}")))?;
            }
            Ok::<(), ApiError>(())
        }
        .await;
        if let Err(err) = stored {
            if inserted {
                let _ = store::uploads::delete(conn, uploader_id, &saved.file_url).await;
            }
            return Err(err);
        }
        if inserted {
            return Ok(saved);
        }
        let first_name = store::uploads::name(conn, uploader_id, &saved.file_url).await?;
        Ok(SavedUpload {
            name: first_name.unwrap_or(saved.name),
            ..saved
        })
    }
}

/// The answer for a processed upload, and the objects to store for it.
fn prepare(processed: Processed, name: Option<&str>) -> (SavedUpload, Vec<(String, Bytes)>) {
    let named = |fallback: &str| name.map_or_else(|| fallback.to_owned(), sanitize_name);
    match processed {
        Processed::Image(image) => {
            let (original, thumb) = stored_names(&image.hash, image.kind);
            let saved = SavedUpload {
                file_url: format!("/uploads/{original}"),
                kind: AttachmentKind::Image,
                mime: image.kind.mime(),
                size: image.original.len() as u64,
                name: named(&format!("image.{}", image.kind.extension())),
                thumbnail_url: Some(format!("/uploads/{thumb}")),
                width: Some(image.width),
                height: Some(image.height),
                duration_ms: None,
            };
            let objects = vec![
                (original, Bytes::from(image.original)),
                (thumb, Bytes::from(image.thumbnail)),
            ];
            (saved, objects)
        }
        Processed::Audio { bytes, info } => {
            let object = stored_name(&content_address(&bytes), StoredKind::Audio(info.kind));
            let saved = SavedUpload {
                file_url: format!("/uploads/{object}"),
                kind: AttachmentKind::Audio,
                mime: info.kind.mime(),
                size: bytes.len() as u64,
                name: named(&format!("voice.{}", info.kind.extension())),
                thumbnail_url: None,
                width: None,
                height: None,
                duration_ms: Some(info.duration_ms),
            };
            (saved, vec![(object, Bytes::from(bytes))])
        }
        Processed::File { bytes, mime } => {
            let object = stored_name(&content_address(&bytes), StoredKind::File);
            let saved = SavedUpload {
                file_url: format!("/uploads/{object}"),
                kind: AttachmentKind::File,
                mime,
                size: bytes.len() as u64,
                name: named("file"),
                thumbnail_url: None,
                width: None,
                height: None,
                duration_ms: None,
            };
            (saved, vec![(object, Bytes::from(bytes))])
        }
    }
}
