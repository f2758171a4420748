//! The `uploads` table (one row per file a user uploaded), and the lookups
//! of `messages` and `users.avatar_url` that decide who may view an upload and
//! which uploads nothing refers to any more.
use chat_core::ids::UserId;
use chat_core::model::AttachmentKind;
use std::collections::HashSet;

use chat_core::db::Sql;
use chat_core::entity::upload;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionSession, TransactionTrait,
};

/// An upload row to store.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// Who uploaded it.
    pub uploader_id: UserId,
    /// `/uploads/<sha256>.<ext>`.
    pub file_url: &'a str,
    /// Images: `/uploads/<sha256>_thumb.<ext>`; empty for audio and files.
    pub thumbnail_url: &'a str,
    /// What it is.
    pub kind: AttachmentKind,
    /// Its MIME type.
    pub mime: &'a str,
    /// The sanitised name it was uploaded under.
    pub name: &'a str,
    /// Width of the stored image (0 unless an image).
    pub width: u32,
    /// Height of the stored image (0 unless an image).
    pub height: u32,
    /// Bytes stored.
    pub size: u64,
    /// Audio: its length in milliseconds.
    pub duration_ms: Option<u64>,
}

/// Bytes of the uploads the user has stored.
pub async fn stored_bytes<C: ConnectionTrait>(conn: &C, uploader_id: UserId) -> Result<u64, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM uploads WHERE uploader_id = ",
    )
    .bind(uploader_id);
    let used: i64 = match conn.query_one_raw(sql.build()).await? {
        Some(row) => row.try_get("", "used")?,
        None => 0,
    };
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Stores the row unless the uploader would exceed `quota` bytes (0: no
/// quota) or already has a row for this file; returns whether a row was
/// added. The sum and the insert are one statement, and on PostgreSQL the
/// uploader's `users` row is locked first, in a transaction (a savepoint when
/// `conn` is one already), so concurrent uploads of one user cannot all pass
/// the quota; SQLite has a single writer.
pub async fn insert_within_quota<C: ConnectionTrait + TransactionTrait>(
    conn: &C,
    upload: &NewUpload<'_>,
    quota: u64,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let size = i64::try_from(upload.size).unwrap_or(i64::MAX);
    let quota = i64::try_from(quota).unwrap_or(i64::MAX);
    let mut insert = Sql::new(backend);
    insert
        .push("INSERT INTO uploads (uploader_id, file_url, thumbnail_url, kind, mime, name, duration_ms, width, height, size, created_at) SELECT ")
        .bind(upload.uploader_id)
        .push(", ")
        .bind(upload.file_url)
        .push(", ")
        .bind(upload.thumbnail_url)
        .push(", ")
        .bind(upload.kind.as_str())
        .push(", ")
        .bind(upload.mime)
        .push(", ")
        .bind(upload.name)
        .push(", ")
        .bind(upload.duration_ms.map(|d| i64::try_from(d).unwrap_or(i64::MAX)))
        .push(", ")
        .bind(i32::try_from(upload.width).unwrap_or(i32::MAX))
        .push(", ")
        .bind(i32::try_from(upload.height).unwrap_or(i32::MAX))
        .push(", ")
        .bind(size)
        .push(", ")
        .bind(Utc::now().trunc_subsecs(6))
        .push(" WHERE ")
        .bind(quota)
        .push(" = 0 OR (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = ")
        .bind(upload.uploader_id)
        .push(") + ")
        .bind(size)
        .push(" <= ")
        .bind(quota)
        .push(" ON CONFLICT (uploader_id, file_url) DO NOTHING");
    let inserted = if backend == DbBackend::Postgres {
        let txn = conn.begin().await?;
        let mut lock = Sql::new(backend);
        lock.push("SELECT id FROM users WHERE id = ")
            .bind(upload.uploader_id)
            .push(" FOR UPDATE");
        txn.execute_raw(lock.build()).await?;
        let result = txn.execute_raw(insert.build()).await?;
        txn.commit().await?;
        result.rows_affected()
    } else {
        conn.execute_raw(insert.build()).await?.rows_affected()
    };
    Ok(inserted > 0)
}

/// Whether the uploader has a row for this file.
pub async fn exists<C: ConnectionTrait>(
    conn: &C,
    uploader_id: UserId,
    file_url: &str,
) -> Result<bool, DbErr> {
    let count = upload::Entity::find()
        .filter(upload::Column::UploaderId.eq(uploader_id))
        .filter(upload::Column::FileUrl.eq(file_url))
        .count(conn)
        .await?;
    Ok(count > 0)
}

/// The upload row of `uploader_id` for this file.
async fn row<C: ConnectionTrait>(
    conn: &C,
    uploader_id: UserId,
    file_url: &str,
) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find()
        .filter(upload::Column::UploaderId.eq(uploader_id))
        .filter(upload::Column::FileUrl.eq(file_url))
        .one(conn)
        .await
}

/// The name the uploader's row for this file goes by.
pub async fn name<C: ConnectionTrait>(
    conn: &C,
    uploader_id: UserId,
    file_url: &str,
) -> Result<Option<String>, DbErr> {
    Ok(row(conn, uploader_id, file_url)
        .await?
        .and_then(|row| row.name))
}

/// The MIME type of the uploader's row for this file, if they have one.
pub async fn uploaded_mime<C: ConnectionTrait>(
    conn: &C,
    uploader_id: UserId,
    file_url: &str,
) -> Result<Option<String>, DbErr> {
    Ok(row(conn, uploader_id, file_url).await?.map(|row| row.mime))
}

/// Deletes the uploader's row for this file.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    uploader_id: UserId,
    file_url: &str,
) -> Result<(), DbErr> {
    upload::Entity::delete_many()
        .filter(upload::Column::UploaderId.eq(uploader_id))
        .filter(upload::Column::FileUrl.eq(file_url))
        .exec(conn)
        .await?;
    Ok(())
}

/// Who may download an upload, and under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewable {
    /// The name the upload goes by: the viewer's own upload's, or the
    /// sender's of a message carrying it (`None` for images uploaded before
    /// names were kept).
    pub name: Option<String>,
}

/// `Some` when the user uploaded the file, or is a member of a conversation
/// where a message carrying it was posted, or it is someone's profile
/// picture (profiles are public to signed-in users).
pub async fn may_view<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    file_url: &str,
) -> Result<Option<Viewable>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    push_may_view(&mut sql, user_id, file_url);
    match conn.query_one_raw(sql.build()).await? {
        Some(row) => Ok(Some(Viewable {
            name: row.try_get_by_index(0)?,
        })),
        None => Ok(None),
    }
}

/// Appends the access query of [`may_view`]: its `messages` branch finds the
/// file's messages through the partial index on `file_url`.
fn push_may_view(sql: &mut Sql, user_id: UserId, file_url: &str) {
    sql.push("SELECT u.name FROM uploads u WHERE u.file_url = ")
        .bind(file_url)
        .push(" AND u.uploader_id = ")
        .bind(user_id)
        .push(
            " UNION ALL \
             SELECT su.name FROM messages m \
             JOIN conversation_members cm ON cm.conversation_id = m.conversation_id \
             LEFT JOIN uploads su ON su.file_url = m.file_url AND su.uploader_id = m.sender_id \
             WHERE m.file_url = ",
        )
        .bind(file_url)
        .push(" AND cm.user_id = ")
        .bind(user_id)
        // Profile pictures are public to signed-in users.
        .push(" UNION ALL SELECT NULL FROM users WHERE avatar_url = ")
        .bind(file_url)
        .push(" LIMIT 1");
}

/// Deletes at most `limit` uploads created before `cutoff` that no message
/// (`messages.file_url`) and no profile (`users.avatar_url`, original or
/// thumbnail) refers to; returns the `(file_url, thumbnail_url)` of each.
pub async fn delete_orphans<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM uploads WHERE id IN (SELECT u.id FROM uploads u WHERE u.created_at < ")
        .bind(cutoff)
        .push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_url = u.file_url) \
               AND u.file_url NOT IN (SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL) \
               AND u.thumbnail_url NOT IN (SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL) \
               LIMIT {limit}) \
             RETURNING file_url, thumbnail_url"
        ));
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("", "file_url")?,
                row.try_get("", "thumbnail_url")?,
            ))
        })
        .collect()
}

/// Profile pictures that are uploads.
pub async fn avatar_urls<C: ConnectionTrait>(conn: &C) -> Result<HashSet<String>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT DISTINCT avatar_url FROM users WHERE avatar_url LIKE ")
        .bind("/uploads/%");
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// Whether an upload row or a message still carries the file.
pub async fn file_referenced<C: ConnectionTrait>(conn: &C, file_url: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT 1 FROM uploads WHERE file_url = ")
        .bind(file_url)
        .push(" UNION ALL SELECT 1 FROM messages WHERE file_url = ")
        .bind(file_url)
        .push(" LIMIT 1");
    Ok(conn.query_one_raw(sql.build()).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::testing::TestDb;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::Database;

    /// Most messages carry no file: the partial index on `messages.file_url`
    /// holds only those that do, and still serves the access check.
    #[tokio::test]
    async fn the_access_check_finds_a_files_messages_by_index() {
        let test_db = TestDb::new().await;
        let db = Database::connect(&test_db.url).await.expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        let ts = "'2026-01-01T00:00:00Z'";
        let mut script = vec![
            format!(
                "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
                 VALUES ('ann', 'ann', 'ann@x.io', '', 'offline', {ts})"
            ),
            format!(
                "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) \
                 VALUES ('group', 'g', false, 1, {ts}, 5000, 5000, {ts})"
            ),
            format!(
                "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq) \
                 VALUES (1, 1, {ts}, 0, 0)"
            ),
        ];
        for first in (1..=5000).step_by(500) {
            let rows: Vec<String> = (first..first + 500)
                .map(|s| {
                    let file = if s % 500 == 0 {
                        format!("'/uploads/f{s}.bin'")
                    } else {
                        "NULL".to_owned()
                    };
                    format!("(1, {s}, {s}, 1, 'hello', 'text', {file}, {ts})")
                })
                .collect();
            script.push(format!(
                "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, file_url, created_at) VALUES {}",
                rows.join(", ")
            ));
        }
        script.push("ANALYZE".to_owned());
        for statement in script {
            db.execute_unprepared(&statement).await.expect("seed");
        }
        let backend = db.get_database_backend();
        let mut explain = Sql::new(backend);
        explain.push(chat_core::testing::explain(backend));
        push_may_view(
            &mut explain,
            UserId::try_from(1).expect("id"),
            "/uploads/f500.bin",
        );
        let plan = chat_core::testing::plan_of(&db, explain.build()).await;
        assert!(
            plan.contains("idx_messages_file_url"),
            "the access check should find the messages by index:\n{plan}"
        );
        assert_eq!(
            may_view(&db, UserId::try_from(1).expect("id"), "/uploads/f500.bin")
                .await
                .expect("query")
                .map(|v| v.name),
            Some(None),
            "a member may view a file posted in the conversation"
        );
    }
}
