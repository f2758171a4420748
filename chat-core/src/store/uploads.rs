//! Uploads as messages refer to them.
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use crate::entity::upload;
use crate::ids::UserId;

/// Whether `uploader` uploaded the file at `file_url`.
pub(crate) async fn is_uploaded_by<C: ConnectionTrait>(
    conn: &C,
    file_url: &str,
    uploader: UserId,
) -> Result<bool, DbErr> {
    let count = upload::Entity::find()
        .filter(upload::Column::FileUrl.eq(file_url))
        .filter(upload::Column::UploaderId.eq(uploader))
        .count(conn)
        .await?;
    Ok(count > 0)
}
