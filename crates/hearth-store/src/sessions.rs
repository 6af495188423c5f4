//! Staff sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of the
//! database does not let anyone sign in.

use hearth_core::{OrgId, UserId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub csrf_token: String,
    pub mfa_passed: bool,
    pub created_at: UtcTime,
    pub last_seen_at: UtcTime,
    pub expires_at: UtcTime,
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub csrf_token: &'a str,
    pub mfa_passed: bool,
    pub now: UtcTime,
    pub expires_at: UtcTime,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

impl Tx {
    pub async fn create_session(&mut self, s: &NewSession<'_>) -> Result<(), StoreError> {
        const SQL: &str =
            "insert into sessions (token_hash, org_id, user_id, csrf_token, mfa_passed, created_at,
                                                 last_seen_at, expires_at, ip, user_agent)
                           values ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(s.token_hash)
            .bind(s.org_id)
            .bind(s.user_id)
            .bind(s.csrf_token)
            .bind(s.mfa_passed)
            .bind(s.now)
            .bind(s.expires_at)
            .bind(s.ip)
            .bind(s.user_agent)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn pass_mfa(&mut self, token_hash: &str) -> Result<(), StoreError> {
        const SQL: &str = "update sessions set mfa_passed = true where token_hash = $1";
        on_tx!(self, |c| sqlx::query(SQL).bind(token_hash).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        const SQL: &str = "delete from sessions where token_hash = $1";
        let n =
            on_tx!(self, |c| sqlx::query(SQL).bind(token_hash).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Ends every session of a user (password reset, deactivation), optionally keeping one.
    pub async fn delete_user_sessions(
        &mut self,
        user: UserId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "delete from sessions where user_id = $1 and ($2 is null or token_hash <> $2)";
        Ok(on_tx!(self, |c| sqlx::query(SQL)
            .bind(user)
            .bind(keep)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Store {
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        const SQL: &str =
            "select token_hash, org_id, user_id, csrf_token, mfa_passed, created_at, last_seen_at,
                                  expires_at from sessions where token_hash = $1";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(token_hash).fetch_optional(p).await)?)
    }

    pub async fn touch_session(&self, token_hash: &str, now: UtcTime) -> Result<(), StoreError> {
        const SQL: &str = "update sessions set last_seen_at = $2 where token_hash = $1";
        on_pool!(self, |p| sqlx::query(SQL).bind(token_hash).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes sessions past their absolute expiry or idle longer than `idle_since`.
    pub async fn purge_sessions(&self, now: UtcTime, idle_since: UtcTime) -> Result<u64, StoreError> {
        const SQL: &str = "delete from sessions where expires_at <= $1 or last_seen_at < $2";
        Ok(on_pool!(self, |p| sqlx::query(SQL)
            .bind(now)
            .bind(idle_since)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
