//! [`ChatLayer`]: the tower layer the engine is served through: Socket.IO on
//! `/socket.io`, with each handshake request compacted on the way in (see
//! [`compact_handshake`]).
use std::task::{Context, Poll};

use http::Request;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::layer::SocketIoLayer;
use tower::{Layer, Service};

use super::compact_handshake;

/// Serves the chat over Socket.IO on `/socket.io`; returned by
/// [`ChatCoreBuilder::build`](crate::ChatCoreBuilder::build). Every request it
/// sees first goes through [`compact_handshake`], so an open socket keeps a
/// small copy of its handshake rather than the HTTP connection's read buffer.
///
/// ```
/// # let db = sea_orm::DatabaseConnection::default();
/// let (layer, _chat): (chat_core::socket::ChatLayer, _) = chat_core::ChatCore::builder(db).build();
/// let app: axum::Router = axum::Router::new().layer(layer);
/// # let _ = app;
/// ```
pub struct ChatLayer<A: Adapter = LocalAdapter> {
    socket_io: SocketIoLayer<A>,
}

// By hand: a derive would ask for `A: Clone`, which adapters are not.
impl<A: Adapter> Clone for ChatLayer<A> {
    fn clone(&self) -> Self {
        ChatLayer {
            socket_io: self.socket_io.clone(),
        }
    }
}

impl<A: Adapter> ChatLayer<A> {
    pub(crate) fn new(socket_io: SocketIoLayer<A>) -> Self {
        ChatLayer { socket_io }
    }
}

impl<S: Clone, A: Adapter> Layer<S> for ChatLayer<A> {
    type Service = CompactHandshake<<SocketIoLayer<A> as Layer<S>>::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        CompactHandshake(self.socket_io.layer(inner))
    }
}

/// The service of a [`ChatLayer`]: compacts each request, then hands it on.
#[derive(Clone)]
pub struct CompactHandshake<S>(S);

impl<S, B> Service<Request<B>> for CompactHandshake<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.0.call(compact_handshake(request))
    }
}
