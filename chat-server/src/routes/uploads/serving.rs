//! `GET /uploads/{name}`: an upload, to those who may see it, with the
//! headers that keep it from running anything and let it be cached for good.
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuthUser, Path};
use crate::state::AppState;
use crate::store;
use crate::uploads::file::content_disposition;
use crate::uploads::names::{StoredKind, parse_name};

/// Stored uploads never change (their name is their hash), so they may be cached for good.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// `GET /uploads/{name}`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(serve))
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
