//! Web Push: the devices that asked for notifications, and the outbox of
//! notifications still to send.
//!
//! `push_subscriptions` holds one row per device (its push service endpoint,
//! unique, and its encryption keys), owned by a user and the login session
//! that subscribed it, so ending the session drops it (index on
//! `session_id`); the index on `user_id` serves "this user's devices", read
//! when messages are stored.
//!
//! `push_outbox` holds one pending notification per device and conversation
//! (the unique key collapses a burst into one row whose count grows),
//! written in the transaction that stores the message. `revision` grows with
//! every message folded in, so a sender that claimed the row knows whether
//! more arrived while it was sending. The index on `due_at` serves the
//! senders' claim of rows that are due.
//!
//! Members gain `mute_mentions`: a muted group still notifies its mentions
//! unless this is set too.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ConversationMembers {
    Table,
    MuteMentions,
}

#[derive(DeriveIden)]
enum PushSubscriptions {
    Table,
    Id,
    UserId,
    SessionId,
    Endpoint,
    P256dh,
    Auth,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PushOutbox {
    Table,
    Id,
    SubscriptionId,
    ConversationId,
    MessageId,
    SenderId,
    MessageCount,
    Mentioned,
    Revision,
    Attempts,
    DueAt,
    ClaimedUntil,
    CreatedAt,
}

const SUBSCRIPTION_USER_INDEX: &str = "idx_push_subscriptions_user";
const SUBSCRIPTION_SESSION_INDEX: &str = "idx_push_subscriptions_session";
const OUTBOX_KEY: &str = "uq_push_outbox_subscription_conversation";
const OUTBOX_DUE_INDEX: &str = "idx_push_outbox_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .add_column(boolean(ConversationMembers::MuteMentions).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PushSubscriptions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushSubscriptions::Id))
                    .col(big_integer(PushSubscriptions::UserId))
                    .col(string_len_null(PushSubscriptions::SessionId, 64))
                    .col(string_len_uniq(PushSubscriptions::Endpoint, 2048))
                    .col(string_len(PushSubscriptions::P256dh, 128))
                    .col(string_len(PushSubscriptions::Auth, 64))
                    .col(timestamp_with_time_zone(PushSubscriptions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PushSubscriptions::Table, PushSubscriptions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (SUBSCRIPTION_USER_INDEX, PushSubscriptions::UserId),
            (SUBSCRIPTION_SESSION_INDEX, PushSubscriptions::SessionId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PushSubscriptions::Table)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PushOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PushOutbox::Id))
                    .col(big_integer(PushOutbox::SubscriptionId))
                    .col(big_integer(PushOutbox::ConversationId))
                    .col(big_integer(PushOutbox::MessageId))
                    .col(big_integer(PushOutbox::SenderId))
                    .col(big_integer(PushOutbox::MessageCount))
                    .col(boolean(PushOutbox::Mentioned))
                    .col(big_integer(PushOutbox::Revision))
                    .col(integer(PushOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(PushOutbox::DueAt))
                    .col(timestamp_with_time_zone_null(PushOutbox::ClaimedUntil))
                    .col(timestamp_with_time_zone(PushOutbox::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PushOutbox::Table, PushOutbox::SubscriptionId)
                            .to(PushSubscriptions::Table, PushSubscriptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PushOutbox::Table, PushOutbox::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OUTBOX_KEY)
                    .table(PushOutbox::Table)
                    .col(PushOutbox::SubscriptionId)
                    .col(PushOutbox::ConversationId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OUTBOX_DUE_INDEX)
                    .table(PushOutbox::Table)
                    .col(PushOutbox::DueAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes go with their tables.
        manager
            .drop_table(Table::drop().table(PushOutbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PushSubscriptions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .drop_column(ConversationMembers::MuteMentions)
                    .to_owned(),
            )
            .await
    }
}
