//! `POST /api/upload` stores an image (re-encoded, with a thumbnail), a
//! voice message or any other file; `GET /uploads/{name}` serves them to the
//! uploader and to the members of conversations where they were posted:
//! images and voice messages inline, every other file only as a download.
//! These modules read the multipart body (`receiving`) and answer
//! (`receiving`, `serving`); deciding what the bytes are, the quota and
//! storage are in [`crate::uploads`].
mod receiving;
mod serving;

use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::state::AppState;

pub use receiving::UploadResponse;

/// `POST /api/upload` and `GET /uploads/{name}`. The upload route has its own
/// body limit (the file plus multipart framing, enforced while reading), instead
/// of the JSON one; the transport limit above it leaves room to drain a refused body.
pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(receiving::router(config))
        .merge(serving::router())
}
