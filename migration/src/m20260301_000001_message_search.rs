//! Full-text search of messages, kept in step with every write in the
//! transaction that makes it, and filled for the messages already stored.
//!
//! Text and image captions are indexed; system messages and deleted messages
//! are not. Words are runs of letters and digits, matched without case and,
//! where possible, without accents, with no stemming or stop words, so every
//! language is searched word for word.
//!
//! - **PostgreSQL**: a stored generated `tsvector` column, `search_vector`,
//!   with a GIN index. It is computed in the statement that inserts, edits or
//!   erases a message, so it can never lag behind. Punctuation (ASCII, and
//!   common quotes, dashes and CJK marks by name, since a `C` locale
//!   classifies no other character) becomes a space first: the default
//!   parser would otherwise index `example.com`, `a/b` or `«word»` as single
//!   words that no query word equals. The text-search
//!   configuration `chat_search` is a copy of `simple` (lower-cased, no stop
//!   words), with `unaccent` before it when the extension can be created;
//!   `unaccent` is a trusted extension (PostgreSQL 13+), so the database's
//!   owner may create it without being a superuser. When it cannot be
//!   created (an older server, no CREATE privilege, not installed) the
//!   migration keeps plain `simple` and accents stay significant there
//!   rather than failing the deployment.
//! - **SQLite**: an FTS5 table, `messages_fts` (rowid = message id), tokenized by `unicode61`
//!   with diacritics removed, kept in step by triggers on `messages` (the writer's batches,
//!   edits and erasures each fire them in their own transaction). It stores no copy of the text
//!   (`content = ''`; rows are removed by rowid, `contentless_delete`), and `secure-delete` is
//!   on, so the words of an erased message leave the index at once, as the erased content leaves
//!   the row. Each row also holds its conversation as a token (`c<id>`, column
//!   `conversation`): a search ANDs the caller's conversations into the full-text query, so a
//!   common word costs the caller's matches rather than every match in the database. Prefix
//!   indexes of 2 to 4 characters keep the word being typed cheap.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

// The comment `created unaccent` on the configuration marks that this
// migration created the extension, so that `down` removes it only then.
const POSTGRES_UP: &[&str] = &[
    // Its own subtransaction: a refusal leaves the migration's transaction usable.
    "DO $$ BEGIN \
       IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN \
         CREATE EXTENSION unaccent; \
         CREATE TEXT SEARCH CONFIGURATION chat_search (COPY = pg_catalog.simple); \
         COMMENT ON TEXT SEARCH CONFIGURATION chat_search IS 'created unaccent'; \
       END IF; \
     EXCEPTION WHEN OTHERS THEN \
       RAISE NOTICE 'message search keeps accents: unaccent cannot be created (%)', SQLERRM; \
     END $$",
    "DO $$ BEGIN \
       IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'chat_search') THEN \
         CREATE TEXT SEARCH CONFIGURATION chat_search (COPY = pg_catalog.simple); \
       END IF; \
       IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN \
         ALTER TEXT SEARCH CONFIGURATION chat_search \
           ALTER MAPPING FOR word, numword, hword, numhword, hword_part, hword_numpart \
           WITH unaccent, simple; \
       END IF; \
     END $$",
    "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ( \
       CASE WHEN message_type <> 'system' AND deleted_at IS NULL \
       THEN to_tsvector('chat_search'::regconfig, regexp_replace(content, '[[:punct:]«»“”‘’„‚‹›…–—¡¿·•、。，！？：；（）「」『』【】《》〈〉]+', ' ', 'g')) \
       END) STORED",
    "CREATE INDEX idx_messages_search ON messages USING gin (search_vector)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_messages_search",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector",
    "DO $$ DECLARE created boolean; BEGIN \
       SELECT obj_description(oid, 'pg_ts_config') = 'created unaccent' INTO created \
         FROM pg_ts_config WHERE cfgname = 'chat_search'; \
       DROP TEXT SEARCH CONFIGURATION IF EXISTS chat_search; \
       IF created THEN \
         BEGIN DROP EXTENSION IF EXISTS unaccent; \
         EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'unaccent kept: %', SQLERRM; END; \
       END IF; \
     END $$",
];

/// Rows the index holds, as a condition on a row of `messages`.
macro_rules! indexed {
    ($row:literal) => {
        concat!(
            $row,
            ".message_type <> 'system' AND ",
            $row,
            ".deleted_at IS NULL"
        )
    };
}

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, conversation, content = '', \
     contentless_delete = 1, prefix = '2 3 4', tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)",
    concat!(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN ",
        indexed!("new"),
        " BEGIN INSERT INTO messages_fts (rowid, content, conversation) \
         VALUES (new.id, new.content, 'c' || new.conversation_id); END"
    ),
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages \
     BEGIN DELETE FROM messages_fts WHERE rowid = old.id; END",
    concat!(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, message_type, deleted_at \
         ON messages BEGIN DELETE FROM messages_fts WHERE rowid = old.id; \
         INSERT INTO messages_fts (rowid, content, conversation) \
         SELECT new.id, new.content, 'c' || new.conversation_id WHERE ",
        indexed!("new"),
        "; END"
    ),
    concat!(
        "INSERT INTO messages_fts (rowid, content, conversation) \
         SELECT id, content, 'c' || conversation_id FROM messages m WHERE ",
        indexed!("m")
    ),
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TABLE IF EXISTS messages_fts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}

/// Runs the statements of the connection's backend, in order.
async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "message search supports PostgreSQL and SQLite, not {other:?}"
            )));
        }
    };
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_marker_is_the_one_the_statements_write_and_read() {
        let marker = "IS 'created unaccent'";
        assert!(super::POSTGRES_UP[0].contains(marker));
        assert!(super::POSTGRES_DOWN[2].contains("= 'created unaccent'"));
    }
}
