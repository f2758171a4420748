//! The `users` columns the server changes itself (password, e-mail
//! verification) and the `account_tokens` table (e-mail verification and
//! password reset tokens, stored as hashes).
use chat_core::entity::{account_token, user};
use chat_core::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

/// The user registered with this (normalized) e-mail address.
pub async fn find_user_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(conn)
        .await
}

/// Marks the user's e-mail address verified at `at`.
pub async fn set_email_verified<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(at))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Replaces the user's password hash.
pub async fn set_password_hash<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    password_hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the account tokens that expired by `now`, used or not; returns how many.
pub async fn delete_expired_tokens<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let deleted = account_token::Entity::delete_many()
        .filter(account_token::Column::ExpiresAt.lte(now))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}

/// The user's newest token for `purpose` created after `since`.
pub async fn latest_token_since<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    purpose: &str,
    since: DateTime<Utc>,
) -> Result<Option<account_token::Model>, DbErr> {
    account_token::Entity::find()
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::CreatedAt.gt(since))
        .order_by_desc(account_token::Column::CreatedAt)
        .one(conn)
        .await
}

/// Stores a new, unused token (its hash) for `purpose`.
pub async fn insert_token<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    purpose: &str,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    account_token::ActiveModel {
        user_id: Set(user_id),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(created_at),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The token with this hash, if it was issued for `purpose`.
pub async fn find_token<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    purpose: &str,
) -> Result<Option<account_token::Model>, DbErr> {
    account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(token_hash))
        .filter(account_token::Column::Purpose.eq(purpose))
        .one(conn)
        .await
}

/// Deletes one token.
pub async fn delete_token<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    account_token::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Marks the token used at `at` unless it already was; returns whether this
/// call marked it (a conditional update: concurrent uses see one winner).
pub async fn mark_token_used<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let used = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(at))
        .filter(account_token::Column::Id.eq(id))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Marks every unused token of the user for `purpose` used at `at`.
pub async fn use_up_tokens<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    purpose: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(at))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
