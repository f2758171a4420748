//! The `refresh_tokens` table: one row per refresh token (stored as a hash),
//! grouped in families, one family per login session.
use chat_core::entity::refresh_token;
use chat_core::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Its user.
    pub user_id: UserId,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The login session it belongs to.
    pub family_id: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When its login session started.
    pub session_started_at: DateTime<Utc>,
}

/// Stores a new, unrevoked refresh token.
pub async fn insert<C: ConnectionTrait>(conn: &C, token: NewRefreshToken) -> Result<(), DbErr> {
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        user_id: Set(token.user_id),
        token_hash: Set(token.token_hash),
        family_id: Set(token.family_id),
        expires_at: Set(token.expires_at),
        revoked_at: Set(None),
        created_at: Set(token.created_at),
        session_started_at: Set(Some(token.session_started_at)),
        rotated_at: Set(None),
        rotated_by: Set(None),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// The token with this hash.
pub async fn find_by_hash<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(conn)
        .await
}

/// The token with this id.
pub async fn find_by_id<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find_by_id(id).one(conn).await
}

/// Revokes the token as rotated at `at` by the client `fingerprint`, unless it
/// was already revoked; returns whether this call did it (only one concurrent
/// refresh may rotate a token).
pub async fn rotate<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    at: DateTime<Utc>,
    fingerprint: &str,
) -> Result<bool, DbErr> {
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(at))
        .col_expr(
            refresh_token::Column::RotatedBy,
            Expr::value(fingerprint.to_owned()),
        )
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(rotated.rows_affected == 1)
}

/// Revokes, at `at`, the tokens of a login session not revoked yet.
pub async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    family_id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes, at `at`, every token of the user not revoked yet, but those of
/// the login session `keep`.
pub async fn revoke_user_but<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    keep: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::FamilyId.ne(keep))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes, at `at`, every token of the user not revoked yet.
pub async fn revoke_user<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(at))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
