//! Revisions and changeable messages: every change in a conversation takes
//! the conversation's next revision, stamped on the message it changed, so a
//! client that was away catches up with everything changed after the
//! revision it last applied. Existing messages take their `seq` as revision
//! (they have never changed). Messages gain when they were last edited and
//! when they were deleted, and the message they reply to with how many
//! replies they have, and the members they mention (also kept, by
//! conversation and `seq`, in `message_mentions`, which counts each member's
//! unread mentions) and their reactions (each user's in `message_reactions`,
//! the counts on the message); memberships gain the member's mute setting.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    LastRev,
}

#[derive(DeriveIden)]
enum ConversationMembers {
    Table,
    MutedUntil,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ConversationId,
    Id,
    Rev,
    EditedAt,
    DeletedAt,
    ReplyToId,
    ReplyCount,
    Mentions,
    Reactions,
}

#[derive(DeriveIden)]
enum MessageReactions {
    Table,
    MessageId,
    Emoji,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MessageMentions {
    Table,
    ConversationId,
    UserId,
    Seq,
}

const INDEX: &str = "idx_messages_conversation_rev";
const REPLIES_INDEX: &str = "idx_messages_reply_to";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(
                        ColumnDef::new(Conversations::LastRev)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(
                        ColumnDef::new(Messages::Rev)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one thing at a time.
        for column in [Messages::EditedAt, Messages::DeletedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .add_column(ColumnDef::new(column).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Messages::ReplyToId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(
                        ColumnDef::new(Messages::ReplyCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Messages::Mentions).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Messages::Reactions).text().null())
                    .to_owned(),
            )
            .await?;
        // One reaction per user per emoji per message.
        manager
            .create_table(
                Table::create()
                    .table(MessageReactions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MessageReactions::MessageId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageReactions::Emoji)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageReactions::UserId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageReactions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(MessageReactions::MessageId)
                            .col(MessageReactions::Emoji)
                            .col(MessageReactions::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        // Counted per member above their read pointer: the key serves that range.
        manager
            .create_table(
                Table::create()
                    .table(MessageMentions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MessageMentions::ConversationId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageMentions::UserId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageMentions::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(MessageMentions::ConversationId)
                            .col(MessageMentions::UserId)
                            .col(MessageMentions::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        // A thread is read by its parent, oldest reply first.
        manager
            .create_index(
                Index::create()
                    .name(REPLIES_INDEX)
                    .table(Messages::Table)
                    .col(Messages::ReplyToId)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .add_column(
                        ColumnDef::new(ConversationMembers::MutedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE messages SET rev = seq")
            .await?;
        db.execute_unprepared("UPDATE conversations SET last_rev = last_seq")
            .await?;
        // Catch-up reads a conversation's messages by revision; a revision
        // belongs to one change, so to one message.
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::Rev)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageMentions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MessageReactions::Table).to_owned())
            .await?;
        for index in [INDEX, REPLIES_INDEX] {
            manager
                .drop_index(Index::drop().name(index).table(Messages::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .drop_column(ConversationMembers::MutedUntil)
                    .to_owned(),
            )
            .await?;
        for column in [
            Messages::Rev,
            Messages::EditedAt,
            Messages::DeletedAt,
            Messages::ReplyToId,
            Messages::ReplyCount,
            Messages::Mentions,
            Messages::Reactions,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::LastRev)
                    .to_owned(),
            )
            .await
    }
}
