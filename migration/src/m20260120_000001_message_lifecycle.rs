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
        add_column(
            manager,
            Conversations::Table,
            counter(Conversations::LastRev),
        )
        .await?;
        for column in [
            counter(Messages::Rev),
            ColumnDef::new(Messages::EditedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Messages::DeletedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Messages::ReplyToId)
                .big_integer()
                .null()
                .to_owned(),
            counter(Messages::ReplyCount),
            ColumnDef::new(Messages::Mentions).text().null().to_owned(),
            ColumnDef::new(Messages::Reactions).text().null().to_owned(),
        ] {
            add_column(manager, Messages::Table, column).await?;
        }
        add_column(
            manager,
            ConversationMembers::Table,
            ColumnDef::new(ConversationMembers::MutedUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        )
        .await?;
        // One reaction per user per emoji per message.
        manager
            .create_table(
                Table::create()
                    .table(MessageReactions::Table)
                    .if_not_exists()
                    .col(id(MessageReactions::MessageId))
                    .col(
                        ColumnDef::new(MessageReactions::Emoji)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(id(MessageReactions::UserId))
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
                    .col(id(MessageMentions::ConversationId))
                    .col(id(MessageMentions::UserId))
                    .col(id(MessageMentions::Seq))
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
        for table in [
            MessageMentions::Table.into_iden(),
            MessageReactions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for index in [INDEX, REPLIES_INDEX] {
            manager
                .drop_index(Index::drop().name(index).table(Messages::Table).to_owned())
                .await?;
        }
        drop_column(
            manager,
            ConversationMembers::Table,
            ConversationMembers::MutedUntil,
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
            drop_column(manager, Messages::Table, column).await?;
        }
        drop_column(manager, Conversations::Table, Conversations::LastRev).await
    }
}

/// A count that starts at 0.
fn counter(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

/// A non-null id-like column.
fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

/// Adds one column: SQLite alters one thing per statement.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

/// Drops one column.
async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}
