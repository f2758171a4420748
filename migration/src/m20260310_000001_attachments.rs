//! Files and voice messages. An upload gains its `kind` (`image`, `audio` or
//! `file`), the sanitised name it was uploaded under and, for audio, its
//! duration; a message gains the `attachment` it carries, as JSON fixed at
//! sending (erased with the message's content when it is deleted). Files and
//! audio have no thumbnail: their `thumbnail_url` is empty. On PostgreSQL
//! `mime` widens to hold every registered type name (SQLite does not
//! enforce lengths).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Kind,
    Name,
    DurationMs,
    Mime,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Attachment,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every upload so far is an image.
        let columns = [
            ColumnDef::new(Uploads::Kind)
                .string_len(16)
                .not_null()
                .default("image")
                .to_owned(),
            ColumnDef::new(Uploads::Name)
                .string_len(255)
                .null()
                .to_owned(),
            ColumnDef::new(Uploads::DurationMs)
                .big_integer()
                .null()
                .to_owned(),
        ];
        // SQLite adds one column per ALTER TABLE.
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Uploads::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(ColumnDef::new(Messages::Attachment).text().null())
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(Uploads::Table)
                        .modify_column(ColumnDef::new(Uploads::Mime).string_len(255).not_null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::Attachment)
                    .to_owned(),
            )
            .await?;
        for column in [Uploads::DurationMs, Uploads::Name, Uploads::Kind] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Uploads::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
