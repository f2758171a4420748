//! `POST /api/upload` stores a re-encoded image and its thumbnail;
//! `GET /uploads/{name}` serves them to the uploader and to the members of
//! conversations where the image was posted. This module reads the multipart
//! body and answers; the decoding, quota and storage are in [`crate::uploads`].

use axum::Router;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chat_core::ChatError;
use serde::Serialize;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Path};
use crate::state::AppState;
use crate::store;
use crate::uploads::SavedUpload;
use crate::uploads::names::parse_name;

/// Room for the multipart framing (boundaries, part headers) around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// How far past the limit a refused upload is still read (and discarded), so
/// that the 413 reaches a client or proxy still sending instead of a reset.
const DRAIN_ALLOWANCE: usize = 8 * 1024 * 1024;

/// Stored images never change (their name is their hash), so they may be cached for good.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

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
    let remaining = uploads.quota_left(db, user.id).await?;
    let permit = uploads.decoding_permit().await?;
    let bytes = read_image_field(&mut multipart, uploads.max_file_size(), remaining).await?;
    let processed = uploads.decode(bytes, permit).await?;
    let saved = uploads.save(db, user.id, processed).await?;
    Ok((StatusCode::CREATED, axum::Json(UploadResponse::from(saved))))
}

impl From<SavedUpload> for UploadResponse {
    fn from(saved: SavedUpload) -> Self {
        UploadResponse {
            file_url: saved.file_url,
            thumbnail_url: saved.thumbnail_url,
            width: saved.width,
            height: saved.height,
            size: saved.size,
            mime: saved.mime,
        }
    }
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

async fn serve(
    State(state): State<AppState>,
    user: AuthUser,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = parse_name(&name).ok_or(ApiError::NotFound)?;
    // The uploader may view an image, and so may the members of every
    // conversation where a message carrying it was posted.
    if !store::uploads::may_view(state.chat.db(), user.id, &file.original_url()).await? {
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
        .storage()
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

#[cfg(test)]
mod tests {
    use super::*;

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
