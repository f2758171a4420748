//! Blocking: a row per user a user blocked. The primary key (blocker_id,
//! blocked_id) serves "whom did this user block" and makes a second block of
//! the same user a no-op; the index on (blocked_id, blocker_id) serves the
//! reverse, "who blocked this user". Both sides go with their user.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UserBlocks {
    Table,
    BlockerId,
    BlockedId,
    CreatedAt,
}

const REVERSE_INDEX: &str = "idx_user_blocks_blocked";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserBlocks::Table)
                    .if_not_exists()
                    .col(user(UserBlocks::BlockerId))
                    .col(user(UserBlocks::BlockedId))
                    .col(
                        ColumnDef::new(UserBlocks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(UserBlocks::BlockerId)
                            .col(UserBlocks::BlockedId),
                    )
                    .foreign_key(&mut cascade(UserBlocks::BlockerId))
                    .foreign_key(&mut cascade(UserBlocks::BlockedId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(REVERSE_INDEX)
                    .table(UserBlocks::Table)
                    .col(UserBlocks::BlockedId)
                    .col(UserBlocks::BlockerId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The index goes with its table.
        manager
            .drop_table(Table::drop().table(UserBlocks::Table).to_owned())
            .await
    }
}

/// A non-null user id column.
fn user(column: UserBlocks) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

/// `column` references a user and goes when the user does.
fn cascade(column: UserBlocks) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(UserBlocks::Table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}
