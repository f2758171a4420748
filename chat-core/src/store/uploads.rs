//! Uploads as messages refer to them.
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entity::upload;
use crate::ids::UserId;
use crate::model::{Attachment, AttachmentKind};

/// The attachment `file_url` is, when `uploader` uploaded it.
pub(crate) async fn uploaded_attachment<C: ConnectionTrait>(
    conn: &C,
    file_url: &str,
    uploader: UserId,
) -> Result<Option<Attachment>, DbErr> {
    let row = upload::Entity::find()
        .filter(upload::Column::FileUrl.eq(file_url))
        .filter(upload::Column::UploaderId.eq(uploader))
        .one(conn)
        .await?;
    Ok(row.map(|row| attachment(&row)))
}

/// An upload row as messages carry it.
fn attachment(row: &upload::Model) -> Attachment {
    let kind = AttachmentKind::parse(&row.kind).unwrap_or(AttachmentKind::File);
    let image = kind == AttachmentKind::Image;
    let name = row.name.clone().unwrap_or_else(|| {
        // Images uploaded before names were kept go by their stored name.
        row.file_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    Attachment {
        url: row.file_url.clone(),
        kind,
        mime: row.mime.clone(),
        size: row.size,
        name,
        width: image.then_some(row.width),
        height: image.then_some(row.height),
        thumbnail_url: (image && !row.thumbnail_url.is_empty()).then(|| row.thumbnail_url.clone()),
        duration_ms: row.duration_ms,
    }
}
