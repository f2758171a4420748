//! The `uploads` table. The host stores the files and writes the rows;
//! [`ChatHandle::send_message`](crate::ChatHandle::send_message) checks that an
//! image message's `file_url` is one of the sender's uploads.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::upload;
//! use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
//!
//! let mine = upload::Entity::find()
//!     .filter(upload::Column::UploaderId.eq(7))
//!     .order_by_desc(upload::Column::CreatedAt)
//!     .all(chat.db())
//!     .await?;
//! # let _ = mine; Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// An image a user uploaded, as stored (re-encoded, metadata stripped).
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::upload;
/// use sea_orm::{ActiveValue::Set, EntityTrait};
///
/// let now = chrono::Utc::now();
/// let row = upload::ActiveModel {
///     uploader_id: Set(7),
///     file_url: Set("/uploads/9f86d081.png".to_owned()),
///     thumbnail_url: Set("/uploads/9f86d081_thumb.png".to_owned()),
///     mime: Set("image/png".to_owned()),
///     width: Set(640),
///     height: Set(480),
///     size: Set(48_213),
///     created_at: Set(now),
///     ..Default::default()
/// };
/// // The same image uploaded twice keeps its first row.
/// upload::Entity::insert(row)
///     .on_conflict_do_nothing_on([upload::Column::UploaderId, upload::Column::FileUrl])
///     .exec_without_returning(chat.db())
///     .await?;
/// # Ok(()) }
/// ```
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
    /// Images: `/uploads/<sha256 hex>_thumb.<ext>`; empty for audio and files.
    pub thumbnail_url: String,
    /// Decided from the bytes: `image/png`, `audio/ogg`, `application/pdf`, ...
    pub mime: String,
    /// Width in pixels of the stored original (0 unless an image).
    pub width: i32,
    /// Height in pixels of the stored original (0 unless an image).
    pub height: i32,
    /// Size in bytes of the stored original.
    pub size: i64,
    /// Upload time.
    pub created_at: DateTimeUtc,
    /// `image`, `audio` or `file` (see [`AttachmentKind`](crate::model::AttachmentKind)).
    pub kind: String,
    /// The sanitised name it was uploaded under (`None` for images uploaded
    /// before names were kept).
    pub name: Option<String>,
    /// Audio: its length in milliseconds.
    pub duration_ms: Option<i64>,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::upload::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
