//! [`Sql`]: hand-written statements for PostgreSQL and SQLite, with every
//! value bound as a parameter and rendered in the backend's placeholder style.
use std::fmt::Write;

use sea_orm::{DbBackend, Statement, Value};

/// A statement under construction: SQL text is appended with
/// [`push`](Sql::push), values with [`bind`](Sql::bind), which writes the
/// next placeholder in the backend's style (`$1, $2, ...` on PostgreSQL,
/// `?1, ?2, ...` on SQLite). Values never enter the text, and the text is
/// never rewritten afterwards.
///
/// ```
/// use chat_core::db::Sql;
/// use sea_orm::DbBackend;
///
/// let mut sql = Sql::new(DbBackend::Sqlite);
/// sql.push("SELECT id FROM users WHERE id IN (").bind_list([3i64, 9]).push(") AND status = ").bind("online");
/// let statement = sql.build();
/// assert_eq!(statement.sql, "SELECT id FROM users WHERE id IN (?1, ?2) AND status = ?3");
///
/// let statement = Sql::new(DbBackend::Postgres).push("SELECT $$ || name FROM t WHERE id = ").bind(7i64).build();
/// assert_eq!(statement.sql, "SELECT $$ || name FROM t WHERE id = $1"); // text stays as written
/// ```
#[derive(Debug, Clone)]
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// An empty statement for `backend`.
    ///
    /// ```
    /// let mut sql = chat_core::db::Sql::new(sea_orm::DbBackend::Postgres);
    /// assert!(sql.build().sql.is_empty());
    /// ```
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// The backend the statement is written for, to choose between dialects.
    ///
    /// ```
    /// use sea_orm::DbBackend;
    /// let sql = chat_core::db::Sql::new(DbBackend::Sqlite);
    /// assert_eq!(sql.backend(), DbBackend::Sqlite);
    /// ```
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Appends SQL text as it is.
    ///
    /// ```
    /// let mut sql = chat_core::db::Sql::new(sea_orm::DbBackend::Postgres);
    /// sql.push("SELECT 1");
    /// assert_eq!(sql.build().sql, "SELECT 1");
    /// ```
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds a value: appends the next placeholder.
    ///
    /// ```
    /// let mut sql = chat_core::db::Sql::new(sea_orm::DbBackend::Postgres);
    /// sql.push("SELECT * FROM messages WHERE conversation_id = ").bind(42i64).push(" LIMIT ").bind(51i64);
    /// let statement = sql.build();
    /// assert_eq!(statement.sql, "SELECT * FROM messages WHERE conversation_id = $1 LIMIT $2");
    /// assert_eq!(statement.values.map(|v| v.0.len()), Some(2));
    /// ```
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        let n = self.values.len();
        // Writing to a String cannot fail.
        let _ = match self.backend {
            DbBackend::Postgres => write!(self.text, "${n}"),
            _ => write!(self.text, "?{n}"),
        };
        self
    }

    /// Binds every value, separated by commas (for `IN (...)` lists).
    ///
    /// ```
    /// let mut sql = chat_core::db::Sql::new(sea_orm::DbBackend::Postgres);
    /// sql.push("(").bind_list([1i64, 2, 3]).push(")");
    /// assert_eq!(sql.build().sql, "($1, $2, $3)");
    /// ```
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self
    }

    /// The finished statement; the builder is left empty (no copy is made).
    ///
    /// ```
    /// let mut sql = chat_core::db::Sql::new(sea_orm::DbBackend::Sqlite);
    /// sql.push("DELETE FROM uploads WHERE id = ").bind(5i64);
    /// let statement = sql.build();
    /// assert_eq!(statement.sql, "DELETE FROM uploads WHERE id = ?1");
    /// ```
    pub fn build(&mut self) -> Statement {
        Statement::from_sql_and_values(
            self.backend,
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.values),
        )
    }
}
