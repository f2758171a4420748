//! A bot that posts into a public room through the `ChatHandle`, with no socket
//! and no HTTP of its own, and answers whoever mentions it: a 👀 reaction and a
//! reply in the thread of their message.
//!
//! `cargo run -p examples --example room_bot -- [--room lobby] [--interval 10]`
//! posts until Ctrl-C; `-- --smoke` posts 3 messages, checks them in history,
//! answers a guest's mention and exits.
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use chat_core::ids::{ConversationId, UserId};
use chat_core::model::{Conversation, Message};
use chat_core::service::{CreateGroup, HistoryQuery, ReactionRequest, SendMessage};
use chat_core::{ChatCore, ChatHandle};
use examples::{find_or_create_user, open_database, smoke_requested};

struct Options {
    room: String,
    interval: Duration,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        room: "lobby".to_owned(),
        interval: Duration::from_secs(10),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--room" => options.room = args.next().context("--room needs a name")?,
            "--interval" => {
                let secs: u64 = args.next().context("--interval needs seconds")?.parse()?;
                ensure!(secs > 0, "--interval must be at least 1 second");
                options.interval = Duration::from_secs(secs);
            }
            "--smoke" => {}
            other => bail!("unknown argument {other:?} (expected --room, --interval, --smoke)"),
        }
    }
    Ok(options)
}

/// The public room called `name`, created on first use, with the bot as a member.
async fn public_room(chat: &ChatHandle, bot: UserId, name: &str) -> anyhow::Result<Conversation> {
    let mut offset = 0;
    let found = loop {
        let page = chat.public_rooms(bot, Some(100), offset).await?;
        if page.is_empty() {
            break None;
        }
        offset += page.len() as u64;
        if let Some(summary) = page
            .into_iter()
            .find(|r| r.conversation.name.as_deref() == Some(name))
        {
            break Some(summary.conversation);
        }
    };
    let room = match found {
        Some(room) => room,
        None => {
            let room = CreateGroup {
                name: name.to_owned(),
                member_ids: Vec::new(),
                is_public: true,
            };
            chat.create_group(bot, room).await?
        }
    };
    // A no-op for a member; otherwise the room sees "room_bot joined".
    Ok(chat.join_room(bot, room.id).await?)
}

async fn post(
    chat: &ChatHandle,
    bot: UserId,
    room: ConversationId,
    n: u64,
) -> anyhow::Result<Message> {
    let text = SendMessage::text(room, format!("Tick #{n}: the room bot is alive."));
    // No origin socket: every member's sockets get `message:new`.
    Ok(chat.send_message(bot, text, None).await?.message)
}

/// Answers the messages after `after_seq` that mention the bot: reacts with 👀
/// and replies in their thread. Returns the seq to continue after.
async fn answer_mentions(
    chat: &ChatHandle,
    bot: UserId,
    room: ConversationId,
    after_seq: i64,
) -> anyhow::Result<i64> {
    let since = HistoryQuery {
        after_seq: Some(after_seq),
        limit: Some(100),
        ..Default::default()
    };
    let page = chat.history(bot, room, since).await?;
    for message in page.messages.iter().filter(|m| m.mentions.contains(&bot)) {
        let seen = ReactionRequest {
            message_id: message.id,
            emoji: "👀".to_owned(),
        };
        chat.add_reaction(bot, seen, None).await?;
        let answer = SendMessage {
            reply_to: Some(message.id),
            ..SendMessage::text(
                room,
                format!("Hi {}, the room bot is here.", message.sender.username),
            )
        };
        chat.send_message(bot, answer, None).await?;
    }
    Ok(page.messages.last().map_or(after_seq, |m| m.seq))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let options = options()?;
    let db = open_database().await?;
    // The bot needs only the handle. Inside a server, use that server's handle instead:
    // a second engine on the same database stores the messages but cannot reach the
    // server's sockets unless both share an adapter.
    let (_socket_layer, chat) = ChatCore::builder(db.conn.clone()).build();
    let bot = find_or_create_user(&chat, "room_bot").await?.typed_id();
    let room = public_room(&chat, bot, &options.room).await?;

    if smoke_requested() {
        let mut sent = Vec::new();
        for n in 1..=3 {
            sent.push(post(&chat, bot, room.id, n).await?);
        }
        let since = HistoryQuery {
            after_seq: Some(room.last_seq),
            ..Default::default()
        };
        let page = chat.history(bot, room.id, since).await?;
        // Others may post meanwhile: ours must all be there, in the order sent.
        let ours = page.messages.iter().filter(|m| sent.contains(m));
        ensure!(
            ours.eq(sent.iter()),
            "history does not hold the 3 messages in order"
        );
        // A guest mentions the bot; the bot reacts and answers in the thread.
        let guest = find_or_create_user(&chat, "room_guest").await?.typed_id();
        chat.join_room(guest, room.id).await?;
        let question = SendMessage::text(room.id, "@room_bot are you there?");
        let question = chat.send_message(guest, question, None).await?.message;
        ensure!(question.mentions == [bot], "the mention names the bot");
        answer_mentions(&chat, bot, room.id, sent[2].seq).await?;
        let thread = chat.replies(guest, question.id, None, None).await?;
        ensure!(
            thread.messages.iter().any(|m| m.sender_id == bot),
            "the bot answered in the thread"
        );
        let page = chat
            .history(guest, room.id, HistoryQuery::default())
            .await?;
        let reacted = page.messages.iter().find(|m| m.id == question.id);
        ensure!(
            reacted.is_some_and(|m| m.reactions.iter().any(|r| r.emoji == "👀")),
            "the bot reacted to the mention"
        );
        let seqs: Vec<i64> = sent.iter().map(|m| m.seq).collect();
        println!(
            "room_bot smoke ok: 3 messages (seq {seqs:?}) posted to room #{} {:?}, all in history; \
             a mention answered with 👀 and a reply in its thread",
            room.id, options.room
        );
        return Ok(());
    }

    println!(
        "room_bot posting to public room #{} {:?} every {:?}, in {}; Ctrl-C stops",
        room.id, options.room, options.interval, db.description
    );
    let mut ticker = tokio::time::interval(options.interval);
    // Listen once, before the loop, so a Ctrl-C during a post is not missed.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut answered_up_to = room.last_seq;
    for n in 1.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut ctrl_c => break,
        }
        // A failed post (say, the database restarting) should not end the bot.
        if let Err(err) = post(&chat, bot, room.id, n).await {
            tracing::error!("posting tick #{n} failed: {err:#}");
        }
        match answer_mentions(&chat, bot, room.id, answered_up_to).await {
            Ok(seq) => answered_up_to = seq,
            Err(err) => tracing::error!("answering mentions failed: {err:#}"),
        }
    }
    Ok(())
}
