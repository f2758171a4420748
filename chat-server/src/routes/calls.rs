//! `/api/calls/...`: what browsers need to set up a call's media (the
//! signalling runs over the socket, in chat-core).
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::calls::IceServer;
use crate::error::ErrorBody;
use crate::extract::AuthUser;
use crate::state::AppState;

/// Call routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ice_servers))
}

/// What `new RTCPeerConnection({iceServers})` takes.
#[derive(Serialize, utoipa::ToSchema)]
struct IceServers {
    /// STUN servers, then TURN servers with the caller's credentials.
    ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop being accepted (`null` without TURN).
    expires_at: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get,
    path = "/api/calls/ice-servers",
    tag = "calls",
    operation_id = "calls_ice_servers",
    summary = "ICE servers for a call",
    description = "The STUN and TURN servers of this deployment. TURN entries carry short-lived \
        credentials of the caller (TURN REST scheme: `username` is `<unix expiry>:<user id>`, \
        `credential` base64(HMAC-SHA1(TURN_SECRET, username))); fetch them before each call.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The servers (possibly none).", body = IceServers),
        (status = 401, description = "No valid credentials (`unauthorized`).", body = ErrorBody),
    )
)]
async fn ice_servers(State(state): State<AppState>, user: AuthUser) -> axum::Json<IceServers> {
    let (ice_servers, expires_at) = state.ice.servers_for(user.id, Utc::now());
    axum::Json(IceServers {
        ice_servers,
        expires_at,
    })
}
