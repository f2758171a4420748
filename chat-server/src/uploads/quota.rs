//! The per-user quota of stored image bytes (UPLOAD_QUOTA_BYTES; 0: none).
//! It bounds how much of an upload body is read, and the row of a new upload
//! is only stored when it fits.
use chat_core::ids::UserId;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::Uploads;
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::uploads::NewUpload;

impl Uploads {
    /// The quota: most bytes of stored images per user (0: no quota).
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Bytes the user may still store, or `None` without a quota.
    pub async fn quota_left<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: UserId,
    ) -> ApiResult<Option<u64>> {
        Ok(match self.quota {
            0 => None,
            quota => Some(quota.saturating_sub(store::uploads::stored_bytes(conn, user_id).await?)),
        })
    }

    /// Stores the upload's row if it fits the uploader's quota; returns
    /// whether a row was added (`false`: the user had uploaded this image
    /// before, and the first row stands). Over the quota: `QuotaExceeded`.
    pub async fn record<C: ConnectionTrait + TransactionTrait>(
        &self,
        conn: &C,
        upload: &NewUpload<'_>,
    ) -> ApiResult<bool> {
        if store::uploads::insert_within_quota(conn, upload, self.quota).await? {
            return Ok(true);
        }
        if store::uploads::exists(conn, upload.uploader_id, upload.file_url).await? {
            Ok(false)
        } else {
            Err(ApiError::QuotaExceeded)
        }
    }
}
