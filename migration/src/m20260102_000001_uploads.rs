//! Uploaded images, and the index that lets image access be checked by `file_url`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    FileUrl,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    UploaderId,
    /// `/uploads/<sha256 of the stored bytes>.<ext>`: the same image uploaded twice has
    /// the same URL, so it is unique per uploader rather than globally.
    FileUrl,
    ThumbnailUrl,
    Mime,
    Width,
    Height,
    /// Bytes of the stored (re-encoded) original.
    Size,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Uploads::Id))
                    .col(big_integer(Uploads::UploaderId))
                    .col(string_len(Uploads::FileUrl, 128))
                    .col(string_len(Uploads::ThumbnailUrl, 128))
                    .col(string_len(Uploads::Mime, 32))
                    .col(integer(Uploads::Width))
                    .col(integer(Uploads::Height))
                    .col(big_integer(Uploads::Size))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Uploads::Table, Uploads::UploaderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Sending an image message checks (uploader, file_url); re-uploading the same
        // image conflicts here and keeps the first row.
        manager
            .create_index(
                Index::create()
                    .name("uq_uploads_uploader_file_url")
                    .table(Uploads::Table)
                    .col(Uploads::UploaderId)
                    .col(Uploads::FileUrl)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // Serving an image looks up the messages that carry its URL.
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_file_url")
                    .table(Messages::Table)
                    .col(Messages::FileUrl)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_messages_file_url")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Uploads::Table).to_owned())
            .await?;
        Ok(())
    }
}
