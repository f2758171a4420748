//! Who reacted to a message is listed per emoji in the order they reacted:
//! the primary key (message_id, emoji, user_id) orders each emoji's rows by
//! user, so an index on (message_id, emoji, created_at, user_id) lets the
//! first users of each emoji be read in order, from the index alone.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageReactions {
    Table,
    MessageId,
    Emoji,
    CreatedAt,
    UserId,
}

const INDEX: &str = "idx_message_reactions_order";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(MessageReactions::Table)
                    .col(MessageReactions::MessageId)
                    .col(MessageReactions::Emoji)
                    .col(MessageReactions::CreatedAt)
                    .col(MessageReactions::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(MessageReactions::Table)
                    .to_owned(),
            )
            .await
    }
}
