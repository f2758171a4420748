//! The one road from a client event to its handler.
//!
//! [`ClientEvents::on`] registers a handler behind [`Charged`], an extractor
//! that, before anything else, takes one event from the sender's budget
//! ([`ChatHandle::check_event_rate`]) and only then decodes the payload,
//! straight from the packet's text into the handler's payload type (no
//! `serde_json::Value` tree: unknown fields and extra arguments are skipped
//! without being stored). Over budget, the payload is not even looked at.
//! Whatever the handler returns answers the ack.
//!
//! Adding a client event: write
//! `async fn on_x<A: Adapter>(caller: Caller<A>, payload: P) -> ChatResult<Ack>`
//! with `P: Deserialize` (an object) and `Ack: Serialize` (flattened into
//! `{success: true, ..}`), then add `client.on(X, module::on_x::<A>)`
//! to `client_events` in `socket/events.rs`. There is no other way to register a
//! client event: `client_events` only gets a [`ClientEvents`], not the socket.
//! The events form one [`EventTable`] per engine; each socket has a single
//! [`Dispatcher`] that looks the event up in it.
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;

use super::reply;
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::protocol::AckError;
use crate::socket::auth::Identity;

/// Who sent an event, on which socket, to which engine. Built only by
/// [`Charged`], so a handler that has one has been charged for its event.
pub(crate) struct Caller<A: Adapter> {
    pub(crate) socket: SocketRef<A>,
    /// The same socket, for reading the engine's state.
    pub(crate) state_of: Arc<Socket<A>>,
    pub(crate) chat: ChatHandle,
    pub(crate) identity: Identity,
}

impl<A: Adapter> Caller<A> {
    /// The sender of an event, charged one event of their budget.
    fn charge(socket: &Arc<Socket<A>>) -> ChatResult<Self> {
        // Both are in place before any handler is registered.
        let mut no_value = Value::Str("".into(), None);
        let Extension(identity) =
            Extension::<Identity>::from_message_parts(socket, &mut no_value, &None)
                .map_err(|e| ChatError::Adapter(e.to_string()))?;
        let State(chat) = State::<ChatHandle>::from_message_parts(socket, &mut no_value, &None)
            .map_err(|e| ChatError::Adapter(e.to_string()))?;
        chat.check_event_rate(identity.user_id)?;
        Ok(Caller {
            socket: SocketRef::from(socket.clone()),
            state_of: socket.clone(),
            chat,
            identity,
        })
    }
}

impl<A: Adapter> Caller<A> {
    /// A value of the engine's socket.io state (e.g. the authenticator).
    pub(crate) fn state<T: Clone + Send + Sync + 'static>(&self) -> ChatResult<T> {
        let mut no_value = Value::Str("".into(), None);
        State::<T>::from_message_parts(&self.state_of, &mut no_value, &None)
            .map(|State(value)| value)
            .map_err(|e| ChatError::Adapter(e.to_string()))
    }
}

/// Extractor: the event charged to its sender, then its payload decoded as
/// `T`; or why not (`rate_limited`, `invalid_payload`).
pub(crate) struct Charged<A: Adapter, T>(pub(crate) ChatResult<(Caller<A>, T)>);

impl<A: Adapter, T: DeserializeOwned> FromMessageParts<A> for Charged<A, T> {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let charged = Caller::charge(socket).and_then(|caller| {
            let Ok(TryData(payload)) =
                TryData::<Object<T>>::from_message_parts(socket, value, ack_id);
            match payload {
                Ok(Object(payload)) => Ok((caller, payload)),
                Err(err) => Err(refused_id::<A, T>(socket, value, ack_id)
                    .unwrap_or_else(|| ChatError::InvalidPayload(err.to_string()))),
            }
        });
        Ok(Charged(charged))
    }
}

/// When a payload failed to decode because of an id that is not positive,
/// the `validation_failed` naming its field (e.g. `conversation_id`), as a
/// hand check would have answered; `None` for any other failure. Only bad
/// payloads pay for this second, located decoding.
fn refused_id<A: Adapter, T: DeserializeOwned>(
    socket: &Arc<Socket<A>>,
    value: &mut Value,
    ack_id: &Option<i64>,
) -> Option<ChatError> {
    let Ok(TryData(tree)) = TryData::<serde_json::Value>::from_message_parts(socket, value, ack_id);
    let err = serde_path_to_error::deserialize::<_, Object<T>>(tree.ok()?).err()?;
    crate::ids::refusal(&err.path().to_string(), &err.inner().to_string())
}

/// The handler of one client event, as the engine calls it.
type Handler<A> = Box<dyn Fn(Arc<Socket<A>>, Value, Option<i64>) + Send + Sync>;

/// Every client event's handler, built once per engine (see
/// `socket/events.rs`) and kept in the engine's state. Sockets share it
/// through one [`Dispatcher`] each, instead of a handler map of their own
/// per socket (~1.3 KB each with this protocol's events).
pub(crate) struct ClientEvents<A: Adapter> {
    handlers: HashMap<&'static str, Handler<A>>,
}

impl<A: Adapter> ClientEvents<A> {
    pub(crate) fn new() -> Self {
        ClientEvents {
            handlers: HashMap::new(),
        }
    }

    /// Handles `event` with `handler`, which gets the charged caller and the
    /// decoded payload; its result answers the ack.
    pub(crate) fn on<T, R, F, Fut>(&mut self, event: &'static str, handler: F)
    where
        T: DeserializeOwned + Send + Sync + 'static,
        R: Serialize,
        F: Fn(Caller<A>, T) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ChatResult<R>> + Send + 'static,
    {
        let answer = move |Charged(charged): Charged<A, T>, ack: AckSender<A>| {
            let handler = handler.clone();
            async move {
                let result = match charged {
                    Ok((caller, payload)) => handler(caller, payload).await,
                    Err(err) => Err(err),
                };
                reply(ack, result);
            }
        };
        self.handlers.insert(event, erase(answer));
    }

    /// The table, ready for the engine's state.
    pub(crate) fn build(self) -> EventTable<A> {
        EventTable(Arc::new(self.handlers))
    }
}

fn erase<A: Adapter, T: Send + Sync + 'static>(handler: impl MessageHandler<A, T>) -> Handler<A> {
    Box::new(move |socket, value, ack_id| handler.call(socket, value, ack_id))
}

/// The engine's client events, shared by every socket (socket.io state).
pub(crate) struct EventTable<A: Adapter>(Arc<HashMap<&'static str, Handler<A>>>);

impl<A: Adapter> Clone for EventTable<A> {
    fn clone(&self) -> Self {
        EventTable(self.0.clone())
    }
}

/// A socket's one message handler: finds the event in the engine's
/// [`EventTable`] and runs its handler, as the engine would have from a map
/// of the socket's own; unknown events go to [`on_unknown_event`].
pub(crate) struct Dispatcher;

/// Marks [`Dispatcher`]'s own implementation of the engine's handler trait.
pub(crate) struct Dispatch;

impl<A: Adapter> MessageHandler<A, Dispatch> for Dispatcher {
    fn call(&self, socket: Arc<Socket<A>>, mut value: Value, ack_id: Option<i64>) {
        let table = State::<EventTable<A>>::from_message_parts(&socket, &mut value, &ack_id);
        let event = Event::from_message_parts(&socket, &mut value, &ack_id);
        match (table, event) {
            (Ok(State(table)), Ok(Event(event))) => match table.0.get(event.as_str()) {
                Some(handler) => handler(socket, value, ack_id),
                None => MessageHandler::call(&on_unknown_event::<A>, socket, value, ack_id),
            },
            (Err(_), _) => tracing::error!("client events are not in the engine's state"),
            (_, Err(err)) => {
                tracing::debug!(%err, "event without a name");
                MessageHandler::call(&on_unknown_event::<A>, socket, value, ack_id);
            }
        }
    }
}

/// Unknown events never disconnect: they get a failed ack when one was asked
/// for (`rate_limited` over budget, else `unknown_event`).
async fn on_unknown_event<A: Adapter>(ChargedUnread(charged): ChargedUnread<A>, ack: AckSender<A>) {
    let answer = match charged {
        Ok(caller) => {
            tracing::debug!(sid = %caller.socket.id, "unknown event");
            AckError::new("unknown_event", "unknown event")
        }
        Err(err) => AckError::from(&err),
    };
    if let Err(err) = ack.send(&answer) {
        tracing::debug!(%err, "ack not sent");
    }
}

/// Extractor for events whose payload is never read: only the charge.
struct ChargedUnread<A: Adapter>(ChatResult<Caller<A>>);

impl<A: Adapter> FromMessageParts<A> for ChargedUnread<A> {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(ChargedUnread(Caller::charge(socket)))
    }
}

/// A payload that must be a JSON object (an array would otherwise fill a
/// struct's fields by position).
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Object<T>, M::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }
}
