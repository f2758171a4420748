//! The `uploads` table.
use sea_orm::entity::prelude::*;

/// An image a user uploaded, as stored (re-encoded, metadata stripped).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who uploaded it; only they may attach it to a message.
    pub uploader_id: i64,
    /// `/uploads/<sha256 hex>.<ext>`, unique per uploader.
    pub file_url: String,
    /// `/uploads/<sha256 hex>_thumb.<ext>`.
    pub thumbnail_url: String,
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub mime: String,
    /// Width in pixels of the stored original.
    pub width: i32,
    /// Height in pixels of the stored original.
    pub height: i32,
    /// Size in bytes of the stored original.
    pub size: i64,
    /// Upload time.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
