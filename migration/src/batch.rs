//! Running a migration's statements as one batch.
use sea_orm_migration::prelude::*;

/// Runs the statements as one batch, so on one connection: on SQLite a
/// pooled connection that did not run a `DROP` may still hold the old
/// schema when it parses the `CREATE` that follows ("index already exists").
pub(crate) async fn run_batch(
    manager: &SchemaManager<'_>,
    statements: &[&str],
) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&statements.join(";\n"))
        .await?;
    Ok(())
}
