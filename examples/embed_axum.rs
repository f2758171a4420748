//! chat-core in a plain axum app with its own authentication; `-- --smoke` checks itself.
use anyhow::ensure;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router, extract::State, routing::post};
use chat_core::entity::user;
use chat_core::ids::UserId;
use chat_core::model::Message;
use chat_core::service::{CreateGroup, HistoryQuery, SendMessage};
use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator, Identity};
use chat_core::{ChatCore, ChatHandle};
use examples::{find_or_create_user, open_database, smoke_requested};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

/// The user id set by the gateway in front of this app. Safe only behind a gateway that
/// authenticates every request and strips any client-sent `x-user-id`: else anyone is anyone.
fn gateway_user(headers: &HeaderMap) -> Option<UserId> {
    headers.get("x-user-id")?.to_str().ok()?.trim().parse().ok()
}

/// Sockets are identified by the same header as HTTP requests.
struct GatewayAuth(DatabaseConnection);

impl Authenticator for GatewayAuth {
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let user_id = gateway_user(req.headers).ok_or(AuthError::Missing)?;
            // Typing and presence events carry the username: look it up once per socket.
            let user = user::Entity::find_by_id(user_id.get()).one(&self.0).await;
            let user = user.map_err(|e| AuthError::Unavailable(e.to_string()))?;
            let username = user.ok_or(AuthError::Invalid)?.username;
            Ok(Identity {
                user_id,
                username,
                session_id: None,
                expires_at: None,
            })
        })
    }
}

/// Errors use the same `{error, code}` body as chat-server's API.
fn api_error(status: u16, code: &str, error: String) -> (StatusCode, Json<Value>) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "error": error, "code": code })))
}

/// `POST /send` `{conversation_id, content, ...}`: same rules and events as `message:send`.
async fn send(
    State(chat): State<ChatHandle>,
    headers: HeaderMap,
    Json(request): Json<SendMessage>,
) -> Result<(StatusCode, Json<Message>), (StatusCode, Json<Value>)> {
    let anonymous = || api_error(401, "unauthorized", "no x-user-id".into());
    let sender = gateway_user(&headers).ok_or_else(anonymous)?;
    let sent = chat.send_message(sender, request, None).await;
    let sent = sent.map_err(|e| api_error(e.status(), e.code(), e.public_message()))?;
    Ok((StatusCode::CREATED, Json(sent.message)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let db = open_database().await?;
    let auth = GatewayAuth(db.conn.clone());
    let (socket_layer, chat) = ChatCore::builder(db.conn).authenticator(auth).build();
    let alice = find_or_create_user(&chat, "alice").await?;
    let bob = find_or_create_user(&chat, "bob").await?;
    let app = Router::new().route("/send", post(send));
    let app = app.with_state(chat.clone()).layer(socket_layer);
    let port: u16 = std::env::var("PORT").map_or(Ok(0), |p| p.parse())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let serve = axum::serve(listener, app);
    if !smoke_requested() {
        let (a, b) = (alice.id, bob.id);
        println!("listening on http://{addr} (users: alice={a}, bob={b})");
        let ctrl_c = async { tokio::signal::ctrl_c().await.unwrap_or_default() };
        return Ok(serve.with_graceful_shutdown(ctrl_c).await?);
    }
    tokio::spawn(serve.into_future()); // stops when main returns
    let group = CreateGroup {
        name: "smoke".into(),
        member_ids: vec![bob.typed_id()],
        is_public: false,
    };
    let group = chat.create_group(alice.typed_id(), group).await?;
    let (http, url) = (reqwest::Client::new(), format!("http://{addr}/send"));
    let body = json!({ "conversation_id": group.id, "content": "hello from bob" });
    let anonymous = http.post(&url).json(&body).send().await?.status();
    ensure!(anonymous == 401, "without x-user-id: {anonymous}");
    let response = http.post(&url).header("x-user-id", bob.id).json(&body);
    let response = response.send().await?;
    let status = response.status();
    ensure!(status == 201, "POST /send: {status}");
    let sent: Message = response.json().await?;
    let page = chat.history(alice.typed_id(), group.id, HistoryQuery::default());
    ensure!(page.await?.messages.first() == Some(&sent), "missing");
    println!("embed_axum smoke ok: POST /send {status}, in history; anonymous {anonymous}");
    Ok(())
}
