//! The `conversations` table.
use sea_orm::entity::prelude::*;

/// A direct conversation, a group or a public room.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `direct` or `group`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    /// Group name; `None` for direct conversations.
    pub name: Option<String>,
    /// Public rooms can be listed and joined by anyone.
    pub is_public: bool,
    /// Creator.
    pub created_by: Option<i64>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Highest message `seq` handed out so far.
    pub last_seq: i64,
    /// Time of the last message (creation time before the first one).
    pub last_message_at: DateTimeUtc,
    /// `"<low id>:<high id>"` for direct conversations.
    pub direct_key: Option<String>,
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
