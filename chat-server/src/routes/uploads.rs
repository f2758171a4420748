//! `POST /api/upload` stores an image (re-encoded, with a thumbnail), a
//! voice message or any other file; `GET /uploads/{name}` serves them to the
//! uploader and to the members of conversations where they were posted:
//! images and voice messages inline, every other file only as a download.
//! This module reads the multipart body and answers; deciding what the bytes
//! are, the quota and storage are in [`crate::uploads`].

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_core::ChatError;
use chat_core::model::AttachmentKind;
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::config::Config;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuthUser, Path};
use crate::state::AppState;
use crate::store;
use crate::uploads::file::content_disposition;
use crate::uploads::names::{StoredKind, parse_name};
use crate::uploads::{SavedUpload, UploadField};

/// Room for the multipart framing (boundaries, part headers) around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// How far past the limit a refused upload is still read (and discarded), so
/// that the 413 reaches a client or proxy still sending instead of a reset.
const DRAIN_ALLOWANCE: usize = 8 * 1024 * 1024;

/// Stored uploads never change (their name is their hash), so they may be cached for good.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// `POST /api/upload` and `GET /uploads/{name}`. The upload route has its own
/// body limit (the file plus multipart framing, enforced while reading), instead
/// of the JSON one; the transport limit above it leaves room to drain a refused body.
pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload).layer(DefaultBodyLimit::max(
            upload_body_limit(config.max_file_size).saturating_add(DRAIN_ALLOWANCE),
        )))
        .routes(routes!(serve))
}

/// The body of `POST /api/upload`: one file, in `file` or `image`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Described only: `read_file_field` reads the parts.
struct UploadForm {
    /// Any file (an image, a voice message or any other file; what it is
    /// is decided from its bytes). The part's `filename` is its name.
    #[schema(value_type = String, format = Binary, required = false)]
    file: Option<Vec<u8>>,
    /// An image only (PNG, JPEG, GIF or WebP), instead of `file`.
    #[schema(value_type = String, format = Binary, required = false)]
    image: Option<Vec<u8>>,
}

/// Answer of `POST /api/upload`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadResponse {
    /// `/uploads/<sha256>.<ext>`, to put in an image, audio or file message.
    pub file_url: String,
    /// `image`, `audio` or `file`: the `message_type` to send it with.
    pub kind: AttachmentKind,
    /// Its MIME type, decided from its bytes.
    #[schema(value_type = String)]
    pub mime: &'static str,
    /// Bytes stored.
    pub size: u64,
    /// The sanitised name it goes by.
    pub name: String,
    /// Images: `/uploads/<sha256>_thumb.<ext>`, at most 320 pixels on its longest side.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub thumbnail_url: Option<String>,
    /// Images: width of the stored image.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub width: Option<u32>,
    /// Images: height of the stored image.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub height: Option<u32>,
    /// Audio: its length in milliseconds, read from the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub duration_ms: Option<u64>,
}

#[utoipa::path(
    post,
    path = "/api/upload",
    tag = "uploads",
    operation_id = "upload",
    summary = "Upload an image, a voice message or a file",
    description = "One file of at most `MAX_FILE_SIZE` bytes, in the multipart field `file` (any \
        file) or `image` (images only). Images are re-encoded (metadata dropped, EXIF \
        orientation applied) with a thumbnail; audio of an accepted container and codec, up to \
        `MAX_VOICE_SECONDS`, is a voice message; anything else a file, only ever downloaded. \
        Stored under the SHA-256 of its bytes and counted in the user's quota; post it with a \
        message of its `kind` within `UPLOAD_ORPHAN_HOURS`.",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 201, description = "Stored.", body = UploadResponse),
        (status = 400, description = "Not a multipart body (`invalid_body`); no file, an empty \
            one, or more than one (`validation_failed`, `details.file` or `details.image`).",
            body = ErrorBody),
        (status = 413, description = "The body is too large (`payload_too_large`), the upload \
            would go over the quota (`quota_exceeded`), or the image has too many pixels, too \
            long a side or too many frames (`image_too_large`).", body = ErrorBody),
        (status = 415, description = "Through `image`: not an accepted image \
            (`unsupported_media_type`).", body = ErrorBody),
        (status = 422, description = "An image with a valid header that cannot be decoded \
            (`invalid_image`).", body = ErrorBody),
    )
)]
async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<UploadResponse>)> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::InvalidBody(
            "expected a multipart/form-data body with a `file` (or `image`) file".to_owned(),
        )
    })?;
    let uploads = &state.uploads;
    let db = state.chat.db();
    // What the user may still store bounds how much of the body is read.
    let remaining = uploads.quota_left(db, user.id).await?;
    let permit = uploads.decoding_permit().await?;
    let part = read_file_field(&mut multipart, uploads.max_file_size(), remaining).await?;
    let processed = uploads.process(part.bytes, part.field, permit).await?;
    let saved = uploads
        .save_upload(db, user.id, processed, part.name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UploadResponse::from(saved))))
}

impl From<SavedUpload> for UploadResponse {
    fn from(saved: SavedUpload) -> Self {
        UploadResponse {
            file_url: saved.file_url,
            kind: saved.kind,
            mime: saved.mime,
            size: saved.size,
            name: saved.name,
            thumbnail_url: saved.thumbnail_url,
            width: saved.width,
            height: saved.height,
            duration_ms: saved.duration_ms,
        }
    }
}

/// The most an upload body may carry: the file and its multipart framing.
fn upload_body_limit(max_file_size: usize) -> usize {
    max_file_size.saturating_add(MULTIPART_OVERHEAD)
}

/// The one file of an upload body.
struct FilePart {
    /// `file` or `image`.
    field: UploadField,
    /// The name the client gave it, as sent.
    name: Option<String>,
    bytes: Vec<u8>,
}

/// Reads the one `file` (or `image`) file of at most `max` bytes, and of at
/// most `remaining` (the user's quota left) when given: reading stops there,
/// so an upload over the quota is never buffered whole. A body over a limit
/// is read to its end (up to the drain allowance, and discarded) before the 413.
async fn read_file_field(
    multipart: &mut Multipart,
    max: usize,
    remaining: Option<u64>,
) -> ApiResult<FilePart> {
    let body_limit = upload_body_limit(max);
    let quota_limit = remaining.map_or(usize::MAX, |r| usize::try_from(r).unwrap_or(usize::MAX));
    let mut part: Option<FilePart> = None;
    let mut total = 0usize;
    let mut refused: Option<ApiError> = None;
    loop {
        // Once refused, the rest of the body is only read and discarded.
        let draining = refused.is_some();
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) if draining => break,
            Err(err) => return Err(multipart_error(err)),
        };
        let kind = match field.name() {
            Some("file") => Some(UploadField::File),
            Some("image") => Some(UploadField::Image),
            _ => None,
        };
        let keep = !draining && kind.is_some() && part.is_none();
        if !draining && !keep && (kind.is_some() || field.file_name().is_some()) {
            // Answered once the body is read: a client still sending gets the
            // answer rather than a reset connection.
            refused = Some(ChatError::field("file", "exactly one file is accepted").into());
        }
        let name = field.file_name().map(str::to_owned);
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
        if let (true, None, Some(field)) = (keep, &refused, kind) {
            part = Some(FilePart {
                field,
                name,
                bytes: buf,
            });
        }
    }
    if let Some(err) = refused {
        return Err(err);
    }
    match part {
        None => Err(ChatError::field("file", "is required").into()),
        Some(part) if part.bytes.is_empty() => {
            let field = match part.field {
                UploadField::File => "file",
                UploadField::Image => "image",
            };
            Err(ChatError::field(field, "is empty").into())
        }
        Some(part) => Ok(part),
    }
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::InvalidBody(err.body_text())
    }
}

#[utoipa::path(
    get,
    path = "/uploads/{name}",
    tag = "uploads",
    operation_id = "download_upload",
    summary = "Download an upload",
    description = "Served to its uploader and to the members of every conversation where it was \
        posted (an avatar in use: to every signed-in user); to anyone else, 404 as for a name \
        that does not exist. Images and voice messages come inline with their type; every other \
        file as `application/octet-stream`, `Content-Disposition: attachment`. Immutable: \
        `ETag`, `Cache-Control: private, max-age=31536000, immutable`; ranges are served.",
    params(("name" = String, Path, description = "`<sha256>.<ext>`, or \
        `<sha256>_thumb.<ext>` for an image's thumbnail or an avatar's 64 px variant.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The bytes.", content(
            (Binary = "image/png"), (Binary = "image/jpeg"), (Binary = "image/gif"),
            (Binary = "image/webp"), (Binary = "audio/ogg"), (Binary = "audio/webm"),
            (Binary = "audio/mp4"), (Binary = "audio/mpeg"),
            (Binary = "application/octet-stream"),
        )),
        (status = 206, description = "The range asked for (`Range`).", content(
            (Binary = "image/png"), (Binary = "image/jpeg"), (Binary = "image/gif"),
            (Binary = "image/webp"), (Binary = "audio/ogg"), (Binary = "audio/webm"),
            (Binary = "audio/mp4"), (Binary = "audio/mpeg"),
            (Binary = "application/octet-stream"),
        )),
        (status = 304, description = "`If-None-Match` names it: unchanged."),
        (status = 404, description = "No such upload, or one the caller may not see \
            (`not_found`).", body = ErrorBody),
        (status = 416, description = "A `Range` outside the file; no body."),
    )
)]
async fn serve(
    State(state): State<AppState>,
    user: AuthUser,
    Path(name): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let file = parse_name(&name).ok_or(ApiError::NotFound)?;
    // The uploader may download an upload, and so may the members of every
    // conversation where a message carrying it was posted.
    let Some(viewable) =
        store::uploads::may_view(state.chat.db(), user.id, &file.original_url()).await?
    else {
        return Err(ApiError::NotFound);
    };
    let etag = format!("\"{}\"", file.stem);
    let etag_value =
        HeaderValue::from_str(&etag).map_err(|_| ApiError::Internal("invalid ETag".to_owned()))?;
    let cache_control = HeaderValue::from_static(CACHE_CONTROL);
    if if_none_match(request.headers(), &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, cache_control),
            ],
        )
            .into_response());
    }
    let mut response = match state.uploads.storage().local_path(&name) {
        // From a local directory, ranges are served too: players seek in voice messages.
        Some(path) => {
            let response = ServeFile::new(path)
                .oneshot(request)
                .await
                .map_err(|err| ApiError::Internal(format!("reading {name}: {err}")))?;
            if response.status() == StatusCode::NOT_FOUND {
                tracing::warn!(%name, "an upload row has no stored file");
                return Err(ApiError::NotFound);
            }
            response.map(axum::body::Body::new)
        }
        None => {
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
            let mut response = Response::new(object.body);
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(object.len));
            response
        }
    };
    let (content_type, disposition) = match file.kind {
        StoredKind::Image(kind) => (
            kind.mime(),
            content_disposition("inline", &format!("image.{}", kind.extension())),
        ),
        StoredKind::Audio(kind) => (
            kind.mime(),
            content_disposition(
                "inline",
                &viewable
                    .name
                    .unwrap_or_else(|| format!("voice.{}", kind.extension())),
            ),
        ),
        // Whatever its name or bytes claim, a file is only ever saved, never shown.
        StoredKind::File => (
            "application/octet-stream",
            content_disposition("attachment", viewable.name.as_deref().unwrap_or("file")),
        ),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|_| ApiError::Internal("invalid Content-Disposition".to_owned()))?,
    );
    // Opened directly (not through <img> or <audio>), the response can still run nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::ETAG, etag_value);
    Ok(response)
}

/// The schema of a binary response body: any bytes.
struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

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
