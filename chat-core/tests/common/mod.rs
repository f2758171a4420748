//! What the socket-level tests share: an engine served on `127.0.0.1:0` with
//! a throwaway database, and users whose token names them.
use std::net::SocketAddr;

use chat_core::ids::UserId;
use chat_core::service::NewUser;
use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator, Identity};
use chat_core::testing::TestDb;
use chat_core::{ChatConfig, ChatCore, ChatHandle};
use migration::{Migrator, MigratorTrait};
use sea_orm::Database;

/// Token `user:<id>:<name>` is that user.
pub struct TestTokens;

impl Authenticator for TestTokens {
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let token = req.token.ok_or(AuthError::Missing)?;
            let mut parts = token.splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("user"), Some(id), Some(name)) => Ok(Identity {
                    user_id: id.parse().map_err(|_| AuthError::Invalid)?,
                    username: name.to_owned(),
                    session_id: None,
                    expires_at: None,
                }),
                _ => Err(AuthError::Invalid),
            }
        })
    }
}

/// An engine with `config` on a migrated database, served over HTTP.
pub struct Served {
    pub addr: SocketAddr,
    pub chat: ChatHandle,
    pub db: TestDb,
}

pub async fn serve(config: ChatConfig) -> Served {
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let (layer, chat) = ChatCore::builder(db)
        .config(config)
        .authenticator(TestTokens)
        .build();
    let app = axum::Router::<()>::new().layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served {
        addr,
        chat,
        db: test_db,
    }
}

/// A new user's id and the token that names them.
pub async fn user(chat: &ChatHandle, name: &str) -> (UserId, String) {
    let id = chat
        .create_user(NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: String::new(),
        })
        .await
        .expect("create user")
        .typed_id();
    (id, format!("user:{id}:{name}"))
}
