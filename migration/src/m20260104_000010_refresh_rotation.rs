//! Refresh-token rotation details: when and by which client a token was
//! rotated (a lost answer can then be retried within a grace period), and
//! when its login session started (sessions have an absolute lifetime).
//! Also an index to purge expired account tokens.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    CreatedAt,
    /// Start of the login session, copied to every token of the family.
    SessionStartedAt,
    /// Set when the token was rotated (revoked_at is also set by logouts).
    RotatedAt,
    /// SHA-256 of the rotating client's address key and User-Agent.
    RotatedBy,
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            timestamp_with_time_zone_null(RefreshTokens::SessionStartedAt),
            timestamp_with_time_zone_null(RefreshTokens::RotatedAt),
            string_len_null(RefreshTokens::RotatedBy, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshTokens::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // Sessions from before this migration count from their current token.
        manager
            .exec_stmt(
                Query::update()
                    .table(RefreshTokens::Table)
                    .value(
                        RefreshTokens::SessionStartedAt,
                        Expr::col(RefreshTokens::CreatedAt),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_tokens_expires")
                    .table(AccountTokens::Table)
                    .col(AccountTokens::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_account_tokens_expires")
                    .table(AccountTokens::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            RefreshTokens::RotatedBy,
            RefreshTokens::RotatedAt,
            RefreshTokens::SessionStartedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
