//! Image sharing: `POST /api/upload` stores a re-encoded image and its
//! thumbnail; `GET /uploads/{name}` serves them to the uploader and to the
//! members of conversations where the image was posted.

pub mod image;
pub mod storage;
pub mod sweep;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chat_core::ChatError;
use chat_core::entity::upload;
use chrono::SubsecRound;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
    TransactionTrait,
};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Path};
use crate::state::AppState;

pub use self::image::{ImageKind, ImageLimits, ImageRejection, ProcessedImage};
pub use self::storage::{LocalStorage, Storage, StoredObject};
pub use self::sweep::{SweepOutcome, sweep_orphans};

/// Room for the multipart framing (boundaries, part headers) around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// How far past the limit a refused upload is still read (and discarded), so
/// that the 413 reaches a client or proxy still sending instead of a reset.
const DRAIN_ALLOWANCE: usize = 8 * 1024 * 1024;

/// Stored images never change (their name is their hash), so they may be cached for good.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// What the upload routes share.
#[derive(Clone)]
pub struct Uploads {
    storage: Arc<dyn Storage>,
    /// Decoding is CPU- and memory-heavy; this bounds how many uploads are
    /// read and decoded at once (see [`decode_permits`]).
    decoding: Arc<Semaphore>,
    permits: usize,
    max_file_size: usize,
    /// Most bytes of stored images per user; 0: no quota.
    quota: u64,
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
            limits: ImageLimits::new(max_pixels),
        }
    }

    /// Sets the most bytes of stored images per user (0: no quota).
    pub fn with_quota(mut self, quota: u64) -> Uploads {
        self.quota = quota;
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
        .with_quota(config.upload_quota_bytes))
    }

    /// How many uploads are read and decoded at once.
    pub fn decode_permits(&self) -> usize {
        self.permits
    }

    /// The store of the images.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }
}

/// `POST /api/upload` and `GET /uploads/{name}`. The upload route has its own
/// body limit (the file plus multipart framing, enforced while reading), instead
/// of the JSON one; the transport limit above it leaves room to drain a refused body.
pub fn router(config: &Config) -> Router<AppState> {
    Router::new()
        .route(
            "/api/upload",
            post(upload).layer(DefaultBodyLimit::max(
                upload_body_limit(config.max_file_size).saturating_add(DRAIN_ALLOWANCE),
            )),
        )
        .route("/uploads/{name}", get(serve))
}

/// Answer of `POST /api/upload`.
#[derive(Debug, Serialize)]
pub struct UploadResponse {
    /// `/uploads/<sha256>.<ext>`, to put in an image message.
    pub file_url: String,
    /// `/uploads/<sha256>_thumb.<ext>`, at most 320 pixels on its longest side.
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

async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<UploadResponse>)> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::InvalidBody("expected a multipart/form-data body with an `image` file".to_owned())
    })?;
    let uploads = &state.uploads;
    let db = state.chat.db();
    // What the user may still store bounds how much of the body is read.
    let remaining = match uploads.quota {
        0 => None,
        quota => Some(quota.saturating_sub(stored_bytes(db, user.id).await?)),
    };
    // Taken before the body is read: at most `permits` bodies are buffered
    // and decoded at once, whatever the number of uploads under way.
    let permit = uploads
        .decoding
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Internal("decoding semaphore closed".to_owned()))?;
    let bytes = read_image_field(&mut multipart, uploads.max_file_size, remaining).await?;
    let processed = decode(uploads, bytes, permit).await?;

    let name = format!("{}.{}", processed.hash, processed.kind.extension());
    let thumb_name = format!("{}_thumb.{}", processed.hash, processed.kind.extension());
    let size = processed.original.len() as u64;
    let response = UploadResponse {
        file_url: format!("/uploads/{name}"),
        thumbnail_url: format!("/uploads/{thumb_name}"),
        width: processed.width,
        height: processed.height,
        size,
        mime: processed.kind.mime(),
    };
    // The row first, counted against the quota in the same statement: a
    // crash before the files are stored leaves a row the orphan sweep
    // removes, never files nothing refers to.
    let inserted = insert_row(db, user.id, &response, uploads.quota).await?;
    let stored = async {
        uploads
            .storage
            .put(&name, Bytes::from(processed.original))
            .await
            .map_err(|err| ApiError::Internal(format!("storing {name}: {err}")))?;
        uploads
            .storage
            .put(&thumb_name, Bytes::from(processed.thumbnail))
            .await
            .map_err(|err| ApiError::Internal(format!("storing {thumb_name}: {err}")))
    }
    .await;
    if let Err(err) = stored {
        if inserted {
            let _ = upload::Entity::delete_many()
                .filter(upload::Column::UploaderId.eq(user.id))
                .filter(upload::Column::FileUrl.eq(response.file_url.as_str()))
                .exec(db)
                .await;
        }
        return Err(err);
    }
    Ok((StatusCode::CREATED, axum::Json(response)))
}

/// Bytes of the images the user has stored.
async fn stored_bytes(db: &sea_orm::DatabaseConnection, user_id: i64) -> ApiResult<u64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM uploads WHERE uploader_id = $1",
            [user_id.into()],
        ))
        .await?;
    let used: i64 = match row {
        Some(row) => row.try_get("", "used")?,
        None => 0,
    };
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Stores the upload's row unless the user would exceed `quota` (0: none);
/// returns whether a row was added (`false`: the user had uploaded this image
/// before, and the first row stands). The sum and the insert are one
/// statement, and on PostgreSQL the user's row is locked first, so
/// concurrent uploads of one user cannot all pass the quota.
async fn insert_row(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    upload: &UploadResponse,
    quota: u64,
) -> ApiResult<bool> {
    let backend = db.get_database_backend();
    let size = i64::try_from(upload.size).unwrap_or(i64::MAX);
    let quota = i64::try_from(quota).unwrap_or(i64::MAX);
    let insert = statement(
        backend,
        "INSERT INTO uploads (uploader_id, file_url, thumbnail_url, mime, width, height, size, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
         WHERE $9 = 0 OR (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = $1) + $7 <= $9 \
         ON CONFLICT (uploader_id, file_url) DO NOTHING",
        [
            user_id.into(),
            upload.file_url.clone().into(),
            upload.thumbnail_url.clone().into(),
            upload.mime.into(),
            i32::try_from(upload.width).unwrap_or(i32::MAX).into(),
            i32::try_from(upload.height).unwrap_or(i32::MAX).into(),
            size.into(),
            chrono::Utc::now().trunc_subsecs(6).into(),
            quota.into(),
        ],
    );
    let inserted = if backend == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute_raw(statement(
            backend,
            "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            [user_id.into()],
        ))
        .await?;
        let result = txn.execute_raw(insert).await?;
        txn.commit().await?;
        result.rows_affected()
    } else {
        db.execute_raw(insert).await?.rows_affected()
    };
    if inserted > 0 {
        return Ok(true);
    }
    let existing = upload::Entity::find()
        .filter(upload::Column::UploaderId.eq(user_id))
        .filter(upload::Column::FileUrl.eq(upload.file_url.as_str()))
        .count(db)
        .await?;
    if existing > 0 {
        Ok(false)
    } else {
        Err(ApiError::QuotaExceeded)
    }
}

/// A statement written with `$n` placeholders, for either database.
fn statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The most an upload body may carry: the file and its multipart framing.
fn upload_body_limit(max_file_size: usize) -> usize {
    max_file_size.saturating_add(MULTIPART_OVERHEAD)
}

/// Reads the one `image` file of at most `max` bytes, and of at most
/// `remaining` (the user's quota left) when given: reading stops there, so an
/// upload over the quota is never buffered whole. A body over a limit is read
/// to its end (up to the drain allowance, and discarded) before the 413.
async fn read_image_field(
    multipart: &mut Multipart,
    max: usize,
    remaining: Option<u64>,
) -> ApiResult<Vec<u8>> {
    let body_limit = upload_body_limit(max);
    let quota_limit = remaining.map_or(usize::MAX, |r| usize::try_from(r).unwrap_or(usize::MAX));
    let mut image: Option<Vec<u8>> = None;
    let mut total = 0usize;
    let mut refused: Option<ApiError> = None;
    loop {
        let too_large = refused.is_some();
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) if too_large => break,
            Err(err) => return Err(multipart_error(err)),
        };
        let keep = !too_large && field.name() == Some("image") && image.is_none();
        if !too_large && !keep && (field.name() == Some("image") || field.file_name().is_some()) {
            return Err(ChatError::field("image", "exactly one file is accepted").into());
        }
        // Other form fields are read and ignored; the body limit bounds them.
        let mut buf = Vec::new();
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(_) if refused.is_some() => break,
                Err(err) => return Err(multipart_error(err)),
            };
            total = total.saturating_add(chunk.len());
            if refused.is_none() {
                let kept = buf.len().saturating_add(chunk.len());
                if total > body_limit || (keep && kept > max) {
                    refused = Some(ApiError::PayloadTooLarge);
                } else if keep && kept > quota_limit {
                    refused = Some(ApiError::QuotaExceeded);
                }
                if refused.is_some() {
                    buf = Vec::new();
                }
            }
            if keep && refused.is_none() {
                buf.extend_from_slice(&chunk);
            }
        }
        if keep && refused.is_none() {
            image = Some(buf);
        }
    }
    if let Some(err) = refused {
        return Err(err);
    }
    match image {
        None => Err(ChatError::field("image", "is required").into()),
        Some(bytes) if bytes.is_empty() => Err(ChatError::field("image", "is empty").into()),
        Some(bytes) => Ok(bytes),
    }
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::InvalidBody(err.body_text())
    }
}

/// Runs the image pipeline on a blocking thread, holding the decoding permit
/// taken before the body was read.
async fn decode(
    uploads: &Uploads,
    bytes: Vec<u8>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> ApiResult<ProcessedImage> {
    let limits = uploads.limits;
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
        ImageRejection::Encoding(err) => ApiError::Internal(format!("encoding an image: {err}")),
    })
}

/// A valid stored-file name: `<64 hex digits>[_thumb].<png|jpg|gif|webp>`.
struct FileName<'a> {
    /// The name without its extension: the ETag.
    stem: &'a str,
    /// The 64 hex digits.
    hash: &'a str,
    kind: ImageKind,
}

fn parse_name(name: &str) -> Option<FileName<'_>> {
    let (stem, ext) = name.split_once('.')?;
    let kind = ImageKind::from_extension(ext)?;
    let hash = stem.strip_suffix("_thumb").unwrap_or(stem);
    let hex = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some(FileName { stem, hash, kind })
}

async fn serve(
    State(state): State<AppState>,
    user: AuthUser,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = parse_name(&name).ok_or(ApiError::NotFound)?;
    let file_url = format!("/uploads/{}.{}", file.hash, file.kind.extension());
    if !may_view(&state, user.id, &file_url).await? {
        return Err(ApiError::NotFound);
    }
    let etag = format!("\"{}\"", file.stem);
    let etag_value =
        HeaderValue::from_str(&etag).map_err(|_| ApiError::Internal("invalid ETag".to_owned()))?;
    let cache_control = HeaderValue::from_static(CACHE_CONTROL);
    if if_none_match(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, cache_control),
            ],
        )
            .into_response());
    }
    let object = state
        .uploads
        .storage
        .get(&name)
        .await
        .map_err(|err| ApiError::Internal(format!("reading {name}: {err}")))?;
    let Some(object) = object else {
        tracing::warn!(%name, "an upload row has no stored file");
        return Err(ApiError::NotFound);
    };
    let disposition = format!("inline; filename=\"image.{}\"", file.kind.extension());
    let mut response = Response::new(object.body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.kind.mime()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.len));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|_| ApiError::Internal("invalid Content-Disposition".to_owned()))?,
    );
    // Opened directly (not through <img>), the response can still run nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ETAG, etag_value);
    Ok(response)
}

/// Whether `etag` is among the `If-None-Match` validators (weak ones compare
/// equal too, as RFC 9110 asks for this header).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The uploader may view an image, and so may the members of every
/// conversation where a message carrying it was posted.
async fn may_view(state: &AppState, user_id: i64, file_url: &str) -> ApiResult<bool> {
    let db = state.chat.db();
    let backend = db.get_database_backend();
    let sql = "SELECT 1 FROM uploads u WHERE u.file_url = $1 AND u.uploader_id = $2 \
               UNION ALL \
               SELECT 1 FROM messages m \
               JOIN conversation_members cm ON cm.conversation_id = m.conversation_id \
               WHERE m.file_url = $1 AND cm.user_id = $2 \
               LIMIT 1";
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [file_url.into(), user_id.into()],
        ))
        .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let hash = "a".repeat(64);
        assert!(parse_name(&format!("{hash}.png")).is_some());
        assert!(parse_name(&format!("{hash}_thumb.webp")).is_some());
        assert!(parse_name(&format!("{hash}.PNG")).is_none());
        assert!(parse_name(&format!("{hash}.svg")).is_none());
        assert!(parse_name(&format!("{}.png", "A".repeat(64))).is_none());
        assert!(parse_name(&format!("{hash}.png.png")).is_none());
        assert!(parse_name(&format!("{hash}_thumb_thumb.png")).is_none());
        assert!(parse_name("../../etc/passwd").is_none());
        assert!(parse_name("").is_none());
    }

    #[test]
    fn etags() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(if_none_match(&headers, "\"abc\""));
        assert!(!if_none_match(&headers, "\"ab\""));
    }
}
