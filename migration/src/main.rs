//! `migration` command line: `DATABASE_URL=... migration up|down|status|fresh`.
use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
