//! Ended login sessions (`revoked_sessions`).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::sql;

use crate::ids::UserId;

/// Whether the user exists and, with a session, that session was not ended.
pub(crate) async fn is_active<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    session_id: Option<&str>,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT (SELECT COUNT(*) FROM users WHERE id = ")
        .bind(user_id);
    match session_id {
        Some(session) => q
            .push("), (SELECT COUNT(*) FROM revoked_sessions WHERE session_id = ")
            .bind(session)
            .push(")"),
        None => q.push(")"),
    };
    let Some(row) = conn.query_one_raw(q.build()).await? else {
        return Ok(false);
    };
    let users: i64 = row.try_get_by_index(0)?;
    let revoked: i64 = match session_id {
        Some(_) => row.try_get_by_index(1)?,
        None => 0,
    };
    Ok(users > 0 && revoked == 0)
}

/// Records one ended session (again: nothing changes).
pub(crate) async fn revoke<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("INSERT INTO revoked_sessions (session_id, revoked_at) VALUES (")
        .bind(session_id)
        .push(", ")
        .bind(at)
        .push(") ON CONFLICT (session_id) DO NOTHING");
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Records as ended every session of the user with a refresh token that has
/// not expired.
pub(crate) async fn revoke_all_of_user<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    revoke_all_of_user_but(conn, user_id, None, at).await
}

/// Like [`revoke_all_of_user`], leaving out the session `keep`.
pub(crate) async fn revoke_all_of_user_but<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    keep: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    // `WHERE` before `ON CONFLICT` keeps SQLite from reading it as a join.
    let mut q = sql(conn);
    q.push("INSERT INTO revoked_sessions (session_id, revoked_at) SELECT DISTINCT family_id, ")
        .bind(at)
        .push(" FROM refresh_tokens WHERE user_id = ")
        .bind(user_id)
        .push(" AND expires_at > ")
        .bind(at);
    if let Some(keep) = keep {
        q.push(" AND family_id <> ").bind(keep);
    }
    q.push(" ON CONFLICT (session_id) DO NOTHING");
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Forgets sessions ended before `before`.
pub(crate) async fn prune<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM revoked_sessions WHERE revoked_at < ")
        .bind(before);
    conn.execute_raw(q.build()).await?;
    Ok(())
}
