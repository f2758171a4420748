//! User rows: creation, lookup by id or login, search, existence checks.
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryResult,
};

use super::{ids, now, sql};
use crate::entity::user;
use crate::ids::UserId;
use crate::model::User;

/// A public profile from a row with `id, username, display_name, bio,
/// avatar_url, status, last_seen`.
pub(crate) fn user_from_row(row: &QueryResult) -> Result<User, DbErr> {
    Ok(User {
        id: row.try_get("", "id")?,
        username: row.try_get("", "username")?,
        display_name: row.try_get("", "display_name")?,
        bio: row.try_get("", "bio")?,
        avatar_url: row.try_get("", "avatar_url")?,
        status: row.try_get("", "status")?,
        last_seen: row.try_get("", "last_seen")?,
    })
}

/// Inserts a user (offline, no avatar); a duplicate username key or e-mail
/// fails with a unique violation.
pub(crate) async fn insert<C: ConnectionTrait>(
    conn: &C,
    username: String,
    email: String,
    password_hash: String,
) -> Result<user::Model, DbErr> {
    let username_key = username.to_lowercase();
    user::ActiveModel {
        username: Set(username),
        username_key: Set(username_key),
        email: Set(email),
        password_hash: Set(password_hash),
        avatar_url: Set(None),
        status: Set("offline".to_owned()),
        last_seen: Set(None),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// The user whose lower-cased username is `username_key`.
pub(crate) async fn by_username_key<C: ConnectionTrait>(
    conn: &C,
    username_key: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username_key))
        .one(conn)
        .await
}

/// The user whose lower-cased username or e-mail is `key`.
pub(crate) async fn by_login<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::UsernameKey.eq(key))
                .add(user::Column::Email.eq(key)),
        )
        .one(conn)
        .await
}

/// The user's row.
pub(crate) async fn by_id<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(user_id).one(conn).await
}

/// The ids of the users with these lower-cased usernames.
pub(crate) async fn ids_by_username_keys<C: ConnectionTrait>(
    conn: &C,
    keys: &[String],
) -> Result<Vec<UserId>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT id FROM users WHERE username_key IN (")
        .bind_list(keys.iter().cloned())
        .push(")");
    ids(conn, q).await
}

/// Which of `user_ids` exist (in chunks: any number of ids).
pub(crate) async fn existing_ids<C: ConnectionTrait>(
    conn: &C,
    user_ids: &[UserId],
) -> Result<Vec<UserId>, DbErr> {
    let mut found = Vec::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(500) {
        let mut q = sql(conn);
        q.push("SELECT id FROM users WHERE id IN (")
            .bind_list(chunk.iter().copied())
            .push(")");
        found.extend(ids::<_, UserId>(conn, q).await?);
    }
    Ok(found)
}

/// Users whose username key or display name key contains `needle` (already
/// lower-cased), prefix matches of either first, `except` left out.
pub(crate) async fn search<C: ConnectionTrait>(
    conn: &C,
    needle: &str,
    except: UserId,
    limit: u64,
    offset: u64,
) -> Result<Vec<User>, DbErr> {
    let escaped: String = needle
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let mut q = sql(conn);
    let anywhere = format!("%{escaped}%");
    let prefix = format!("{escaped}%");
    q.push(
        "SELECT id, username, display_name, bio, avatar_url, status, last_seen FROM users \
         WHERE (username_key LIKE ",
    )
    .bind(anywhere.clone())
    .push(" ESCAPE '\\' OR display_name_key LIKE ")
    .bind(anywhere)
    .push(" ESCAPE '\\') AND id <> ")
    .bind(except)
    .push(" ORDER BY CASE WHEN username_key LIKE ")
    .bind(prefix.clone())
    .push(" ESCAPE '\\' OR display_name_key LIKE ")
    .bind(prefix)
    .push(" ESCAPE '\\' THEN 0 ELSE 1 END, username_key LIMIT ")
    .bind(limit as i64)
    .push(" OFFSET ")
    .bind(offset as i64);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(user_from_row).collect()
}

/// Sets the profile fields of a user (and the search key of the display
/// name); the updated row, `None` when there is no such user.
pub(crate) async fn update_profile<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    display_name: Option<String>,
    bio: Option<String>,
    avatar_url: Option<String>,
) -> Result<Option<user::Model>, DbErr> {
    let display_name_key = display_name.as_deref().map(str::to_lowercase);
    let updated = user::Entity::update_many()
        .col_expr(user::Column::DisplayName, Expr::value(display_name))
        .col_expr(user::Column::DisplayNameKey, Expr::value(display_name_key))
        .col_expr(user::Column::Bio, Expr::value(bio))
        .col_expr(user::Column::AvatarUrl, Expr::value(avatar_url))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }
    by_id(conn, user_id).await
}
