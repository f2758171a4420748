//! Profiles: users gain a display name (shown instead of the username when
//! set), its lower-cased form (what user search matches, lower-cased by the
//! application so both databases fold case alike, beyond ASCII) and a bio.
//! All three are nullable: existing users have none. An index on
//! `avatar_url` serves "is this file someone's profile picture", asked when
//! an image is fetched and by the orphan sweep.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    DisplayName,
    DisplayNameKey,
    Bio,
    AvatarUrl,
}

const AVATAR_INDEX: &str = "idx_users_avatar_url";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            ColumnDef::new(Users::DisplayName)
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new(Users::DisplayNameKey)
                .string_len(256)
                .null()
                .to_owned(),
            ColumnDef::new(Users::Bio).text().null().to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(AVATAR_INDEX)
                    .table(Users::Table)
                    .col(Users::AvatarUrl)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(AVATAR_INDEX)
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Users::Bio, Users::DisplayNameKey, Users::DisplayName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
