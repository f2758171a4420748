//! Small helpers for hand-written SQL that runs on PostgreSQL and SQLite alike.
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

/// Builds a statement from SQL written with `$1, $2, ...` placeholders; SQLite
/// gets the equivalent `?1, ?2, ...`.
pub(crate) fn stmt<I>(backend: DbBackend, sql: &str, values: I) -> Statement
where
    I: IntoIterator<Item = Value>,
{
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$first, $first+1, ...`: `count` placeholders for an `IN (...)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Current time at the precision both databases store (microseconds), so the
/// value acked to a client equals the one read back from history.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Runs `sql` and returns the single `i64` column of every row.
pub(crate) async fn query_ids<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<i64>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(conn.get_database_backend(), sql, values))
        .await?;
    rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect()
}
