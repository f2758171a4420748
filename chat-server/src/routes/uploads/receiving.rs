//! `POST /api/upload`: reads the one file of a multipart body, bounded by
//! the size limit and the user's quota while reading, and answers with what
//! was stored.
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use chat_core::ChatError;
use chat_core::model::AttachmentKind;
use serde::Serialize;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::config::Config;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::AuthUser;
use crate::state::AppState;
use crate::uploads::{SavedUpload, UploadField};

/// Room for the multipart framing (boundaries, part headers) around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// How far past the limit a refused upload is still read (and discarded), so
/// that the 413 reaches a client or proxy still sending instead of a reset.
const DRAIN_ALLOWANCE: usize = 8 * 1024 * 1024;

/// `POST /api/upload`, under its own body limit.
pub(super) fn router(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload).layer(DefaultBodyLimit::max(
        upload_body_limit(config.max_file_size).saturating_add(DRAIN_ALLOWANCE),
    )))
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
