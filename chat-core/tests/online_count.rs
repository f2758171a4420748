//! Online counts over real sockets (sio-client against the engine served by
//! axum): a group's `online_count` follows its members connecting and leaving
//! (several tabs of one user count once), only members hear
//! `conversation:online_count`, and a burst of connects is coalesced to at
//! most one event a second with the final count last.
mod common;

use std::time::{Duration, Instant};

use chat_core::ChatConfig;
use chat_core::ids::{ConversationId, UserId};
use chat_core::service::CreateGroup;
use serde_json::Value;
use sio_client::{Client, Event};

const EVENT: &str = "conversation:online_count";

fn generous() -> ChatConfig {
    ChatConfig {
        events_per_second: 10_000,
        events_burst: 10_000,
        sockets_per_user: 64,
        ..ChatConfig::default()
    }
}

/// The counts of `group` among `events`, in order.
fn counts_of(events: &[Event], group: ConversationId) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.name == EVENT && e.data["conversation_id"] == group.get())
        .filter_map(|e| e.data["online_count"].as_i64())
        .collect()
}

/// Reads `client`'s events until `group`'s count is `want`; returns the
/// counts heard on the way.
async fn until_count(client: &mut Client, group: ConversationId, want: i64) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut heard = Vec::new();
    loop {
        let events = client.events_within(Duration::from_millis(200)).await;
        heard.extend(counts_of(&events, group));
        if heard.last() == Some(&want) {
            return heard;
        }
        assert!(
            Instant::now() < deadline,
            "online count never reached {want}; heard {heard:?}"
        );
    }
}

async fn group(
    chat: &chat_core::ChatHandle,
    creator: UserId,
    members: Vec<UserId>,
    public: bool,
) -> ConversationId {
    chat.create_group(
        creator,
        CreateGroup {
            name: "team".into(),
            member_ids: members,
            is_public: public,
        },
    )
    .await
    .expect("group")
    .id
}

#[tokio::test]
async fn the_count_follows_members_connecting_and_several_tabs_count_once() {
    let common::Served {
        addr,
        chat,
        db: _db,
    } = common::serve(generous()).await;
    let chat = &chat;
    let (alice, alice_token) = common::user(chat, "alice").await;
    let (bob, bob_token) = common::user(chat, "bob").await;
    let (carol, _) = common::user(chat, "carol").await;
    let (_dave, dave_token) = common::user(chat, "dave").await;
    let team = group(chat, alice, vec![bob, carol], false).await;
    let direct = chat
        .get_or_create_direct(alice, bob)
        .await
        .expect("direct")
        .0
        .id;
    assert_eq!(chat.online_count(team).await.expect("count"), Some(0));
    assert_eq!(
        chat.online_count(direct).await.expect("count"),
        None,
        "direct conversations have no online count"
    );
    let view = chat.conversation(alice, team).await.expect("view");
    assert_eq!(view.online_count, Some(0));
    let view = chat.conversation(alice, direct).await.expect("view");
    assert_eq!(view.online_count, None);

    let mut observer = Client::connect(addr, &alice_token).await.expect("alice");
    let mut outsider = Client::connect(addr, &dave_token).await.expect("dave");
    assert_eq!(until_count(&mut observer, team, 1).await, vec![1]);
    let tab1 = Client::connect(addr, &bob_token).await.expect("bob 1");
    let tab2 = Client::connect(addr, &bob_token).await.expect("bob 2");
    until_count(&mut observer, team, 2).await;
    // Bob's second tab adds nothing, and closing one of two changes nothing.
    tab2.close().await;
    let quiet = observer.events_within(Duration::from_millis(1500)).await;
    assert_eq!(counts_of(&quiet, team), Vec::<i64>::new(), "{quiet:?}");
    assert_eq!(chat.online_count(team).await.expect("count"), Some(2));
    tab1.close().await;
    until_count(&mut observer, team, 1).await;
    assert_eq!(chat.online_count(team).await.expect("count"), Some(1));
    let view = chat.conversation(alice, team).await.expect("view");
    assert_eq!(view.online_count, Some(1));

    let overheard = outsider.events_within(Duration::from_millis(300)).await;
    assert!(
        overheard.iter().all(|e| e.name != EVENT),
        "a non-member hears no online count: {overheard:?}"
    );
}

#[tokio::test]
async fn public_rooms_carry_their_online_count() {
    let common::Served {
        addr,
        chat,
        db: _db,
    } = common::serve(generous()).await;
    let chat = &chat;
    let (alice, alice_token) = common::user(chat, "alice").await;
    let (bob, _) = common::user(chat, "bob").await;
    let room = group(chat, alice, vec![], true).await;
    let _alice = Client::connect(addr, &alice_token).await.expect("alice");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rooms = chat.public_rooms(bob, None, 0).await.expect("rooms");
        let listed = rooms
            .iter()
            .find(|r| r.conversation.id == room)
            .expect("listed");
        if listed.conversation.online_count == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "room count: {:?}",
            listed.conversation.online_count
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_burst_of_connects_is_coalesced_to_an_event_a_second() {
    let common::Served {
        addr,
        chat,
        db: _db,
    } = common::serve(generous()).await;
    let chat = &chat;
    let (alice, alice_token) = common::user(chat, "alice").await;
    let mut members = Vec::new();
    for n in 0..60 {
        members.push(common::user(chat, &format!("member{n}")).await);
    }
    let room = group(chat, alice, members.iter().map(|m| m.0).collect(), true).await;
    let mut observer = Client::connect(addr, &alice_token).await.expect("alice");
    until_count(&mut observer, room, 1).await;

    let started = Instant::now();
    let mut sockets = Vec::new();
    for (_, token) in &members {
        sockets.push(Client::connect(addr, token).await.expect("member"));
    }
    let mut heard = until_count(&mut observer, room, 61).await;
    for socket in sockets {
        socket.close().await;
    }
    heard.extend(until_count(&mut observer, room, 1).await);
    let elapsed = started.elapsed();
    // Nothing more follows the final count.
    let after = observer.events_within(Duration::from_millis(1500)).await;
    assert_eq!(counts_of(&after, room), Vec::<i64>::new());
    let bound = elapsed.as_secs() as usize + 2;
    assert!(
        heard.len() <= bound,
        "{} events in {elapsed:?} (at most {bound}): {heard:?}",
        heard.len()
    );
    assert_eq!(chat.online_count(room).await.expect("count"), Some(1));
    let json: Value =
        serde_json::to_value(chat.conversation(alice, room).await.expect("view")).expect("json");
    assert_eq!(json["online_count"], 1);
}
