//! Subscribing a new socket to the rooms of its user's conversations.
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use crate::fanout::{conversation_room, session_room, user_room};
use crate::socket::auth::Identity;
use crate::{ChatHandle, ChatResult};

/// Conversation ids read per query on connect.
const JOIN_PAGE: u64 = 1000;

/// Joins the socket to its user's and session's rooms, then to the room of
/// every conversation of the user, reading the ids in keyset pages of
/// [`JOIN_PAGE`] so no single query or buffer grows with the membership
/// count. Fan-out relies on these rooms, so every conversation is joined,
/// however many pages it takes.
///
/// The user room comes first: a membership added while the pages are read is
/// either in a later page or joined through the user room by
/// `after_members_added`; joining a room twice is harmless.
pub(crate) async fn join_rooms<A: Adapter>(
    socket: &SocketRef<A>,
    chat: &ChatHandle,
    identity: &Identity,
) -> ChatResult<()> {
    let mut rooms = vec![user_room(identity.user_id)];
    if let Some(session) = &identity.session_id {
        rooms.push(session_room(session));
    }
    socket.join(rooms);
    let mut after = None;
    loop {
        let ids = chat
            .conversation_ids_after(identity.user_id, after, JOIN_PAGE)
            .await?;
        let Some(&last) = ids.last() else { break };
        let full = ids.len() as u64 == JOIN_PAGE;
        socket.join(ids.into_iter().map(conversation_room).collect::<Vec<_>>());
        if !full {
            break;
        }
        after = Some(last);
    }
    Ok(())
}
