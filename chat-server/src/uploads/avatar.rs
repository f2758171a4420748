//! Turning one of a user's uploaded images into their avatar: the square
//! crops of [`image::avatar`](super::image::avatar) are stored as an upload
//! of the user (file `/uploads/<sha256>.<ext>` at 256 px, its `_thumb` at
//! 64 px). `users.avatar_url` names the 256 px file; the orphan sweep keeps an
//! upload row and both its files while a profile names either of them.
use axum::body::to_bytes;
use chat_core::error::FieldErrors;
use chat_core::ids::UserId;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::Uploads;
use super::image::{self, ImageKind, ImageRejection};
use super::names::{StoredKind, parse_name};
use crate::error::{ApiError, ApiResult};
use crate::store;

/// The 422 of an `avatar` that is not an image the caller uploaded.
fn not_usable(message: &str) -> ApiError {
    let mut fields = FieldErrors::new();
    fields.insert("avatar".to_owned(), vec![message.to_owned()]);
    ApiError::UnusableFields(fields)
}

impl Uploads {
    /// Makes the avatar of `user_id` from `file_url`, the `file_url` of an
    /// image they uploaded; returns the URL of the 256 px variant. Anything
    /// else (someone else's upload, a file that is not an image, a URL that
    /// names no upload) is 422 `validation_failed` on `avatar`.
    pub async fn make_avatar<C: ConnectionTrait + TransactionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
        file_url: &str,
    ) -> ApiResult<String> {
        const NOT_YOURS: &str = "must be the file_url of an image you uploaded";
        let name = file_url
            .strip_prefix("/uploads/")
            .and_then(parse_name)
            .filter(|name| name.stem == name.hash)
            .ok_or_else(|| not_usable(NOT_YOURS))?;
        let mime = store::uploads::uploaded_mime(conn, user_id, file_url)
            .await?
            .ok_or_else(|| not_usable(NOT_YOURS))?;
        let is_image = match name.kind {
            StoredKind::Image(kind) => mime == kind.mime() && is_image_mime(&mime),
            StoredKind::Audio(_) | StoredKind::File => false,
        };
        if !is_image {
            return Err(not_usable("must be an image (PNG, JPEG, GIF or WebP)"));
        }
        let stored_name = file_url.trim_start_matches("/uploads/").to_owned();
        // Decoding is bounded like uploads: the permit before the bytes are read.
        let permit = self.decoding_permit().await?;
        let object = self
            .storage
            .get(&stored_name)
            .await
            .map_err(|err| ApiError::Internal(format!("reading {stored_name}: {err}")))?
            .ok_or_else(|| not_usable("this image is no longer stored"))?;
        let limit = usize::try_from(object.len).unwrap_or(usize::MAX);
        let bytes = to_bytes(object.body, limit)
            .await
            .map_err(|err| ApiError::Internal(format!("reading {stored_name}: {err}")))?;
        let limits = self.limits;
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            image::avatar::avatar(&bytes, &limits)
        })
        .await
        .map_err(|err| ApiError::Internal(format!("avatar task failed: {err}")))?
        .map_err(|rejection| match rejection {
            ImageRejection::Encoding(err) => {
                ApiError::Internal(format!("encoding an avatar: {err}"))
            }
            _ => not_usable("must be an image (PNG, JPEG, GIF or WebP)"),
        })?;
        let saved = self.save(conn, user_id, processed).await?;
        Ok(saved.file_url)
    }
}

/// Whether uploads of this MIME type are images we decode.
fn is_image_mime(mime: &str) -> bool {
    [
        ImageKind::Png,
        ImageKind::Jpeg,
        ImageKind::Gif,
        ImageKind::WebP,
    ]
    .iter()
    .any(|kind| kind.mime() == mime)
}
