//! Staff accounts. Emails are unique across Hearth (a person signs in without naming an
//! organization) and stored lower-cased.

use hearth_core::{LocationId, OrgId, UserId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub department_id: Option<LocationId>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: i64,
    pub failed_logins: i32,
    pub locked_until: Option<UtcTime>,
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

const COLUMNS: &str = "id, org_id, email, display_name, role, department_id, password_hash, must_change_password, \
     totp_secret, totp_enabled, totp_last_step, failed_logins, locked_until, active, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub department_id: Option<LocationId>,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub now: UtcTime,
}

/// Fields to change; `None` leaves a field as it is. `department_id: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserChanges<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<&'a str>,
    pub department_id: Option<Option<LocationId>>,
    pub active: Option<bool>,
}

impl Store {
    pub async fn user(&self, org: OrgId, id: UserId) -> Result<UserRow, StoreError> {
        let sql = format!("select {COLUMNS} from users where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// For sign-in only: the one account with this (lower-cased) address, in any organization.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("select {COLUMNS} from users where email = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(p).await)?)
    }

    /// Users of the organization; with `department`, only that department's.
    pub async fn list_users(
        &self,
        org: OrgId,
        department: Option<LocationId>,
    ) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from users where org_id = $1 and ($2 is null or department_id = $2)
             order by display_name, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(department)
            .fetch_all(p)
            .await)?)
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        const SQL: &str = "select count(*) from users";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).fetch_one(p).await)?)
    }

    /// Atomically moves the accepted TOTP step forward; false when `step` was already used (replay).
    pub async fn advance_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        const SQL: &str = "update users set totp_last_step = $2 where id = $1 and totp_last_step < $2";
        let done = on_pool!(self, |p| sqlx::query(SQL)
            .bind(id)
            .bind(step)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}

impl Tx {
    pub async fn create_user(&mut self, org: OrgId, new: &NewUser<'_>) -> Result<UserRow, StoreError> {
        let sql = format!(
            "insert into users (id, org_id, email, display_name, role, department_id, password_hash,
                                must_change_password, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) returning {COLUMNS}"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(new.id)
            .bind(org)
            .bind(new.email)
            .bind(new.display_name)
            .bind(new.role)
            .bind(new.department_id)
            .bind(new.password_hash)
            .bind(new.must_change_password)
            .bind(new.now)
            .fetch_one(c)
            .await)?)
    }

    pub async fn update_user(
        &mut self,
        org: OrgId,
        id: UserId,
        changes: &UserChanges<'_>,
        now: UtcTime,
    ) -> Result<UserRow, StoreError> {
        let sql = format!(
            "update users set display_name = coalesce($3, display_name), role = coalesce($4, role),
                    department_id = case when $5 then $6 else department_id end,
                    active = coalesce($7, active), updated_at = $8
              where org_id = $1 and id = $2 returning {COLUMNS}"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .bind(changes.display_name)
            .bind(changes.role)
            .bind(changes.department_id.is_some())
            .bind(changes.department_id.flatten())
            .bind(changes.active)
            .bind(now)
            .fetch_one(c)
            .await)?)
    }

    pub async fn set_password(
        &mut self,
        org: OrgId,
        id: UserId,
        password_hash: &str,
        must_change: bool,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update users set password_hash = $3, must_change_password = $4, failed_logins = 0,
                                  locked_until = null, updated_at = $5
                            where org_id = $1 and id = $2";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(password_hash)
            .bind(must_change)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Counts a failed sign-in; at `threshold` failures the account locks until `lock_until` and the
    /// count restarts. Returns the lock time if this failure locked the account.
    pub async fn record_login_failure(
        &mut self,
        id: UserId,
        threshold: i32,
        lock_until: UtcTime,
    ) -> Result<Option<UtcTime>, StoreError> {
        const SQL: &str = "update users
               set failed_logins = case when failed_logins + 1 >= $2 then 0 else failed_logins + 1 end,
                   locked_until = case when failed_logins + 1 >= $2 then $3 else locked_until end
             where id = $1
         returning locked_until";
        let locked: Option<UtcTime> = on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(id)
            .bind(threshold)
            .bind(lock_until)
            .fetch_one(c)
            .await)?;
        Ok(locked.filter(|t| *t == lock_until))
    }

    pub async fn record_login_success(&mut self, id: UserId) -> Result<(), StoreError> {
        const SQL: &str = "update users set failed_logins = 0, locked_until = null where id = $1";
        on_tx!(self, |c| sqlx::query(SQL).bind(id).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores a TOTP secret (enrolment started) or enables/disables it.
    pub async fn set_totp(
        &mut self,
        org: OrgId,
        id: UserId,
        secret: Option<&str>,
        enabled: bool,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update users set totp_secret = $3, totp_enabled = $4, updated_at = $5
                            where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(secret)
            .bind(enabled)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Replaces a user's recovery codes with new (hashed) ones.
    pub async fn replace_recovery_codes(
        &mut self,
        org: OrgId,
        user: UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        const DELETE: &str = "delete from recovery_codes where user_id = $1";
        const INSERT: &str = "insert into recovery_codes (org_id, user_id, code_hash) values ($1, $2, $3)";
        on_tx!(self, |c| sqlx::query(DELETE).bind(user).execute(&mut *c).await.map(|_| ()))?;
        for h in hashes {
            on_tx!(self, |c| sqlx::query(INSERT).bind(org).bind(user).bind(h).execute(c).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Spends one recovery code; false when it does not exist or was used.
    pub async fn use_recovery_code(
        &mut self,
        user: UserId,
        hash: &str,
        now: UtcTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "update recovery_codes set used_at = $3 where user_id = $1 and code_hash = $2 and used_at is null";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(user)
            .bind(hash)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

/// A stored TOTP secret, for key rotation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTotpSecret {
    pub org_id: OrgId,
    pub id: UserId,
    pub totp_secret: String,
}

impl Tx {
    /// Replaces a TOTP secret by the same secret encrypted anew (key rotation).
    pub async fn replace_totp_secret(
        &mut self,
        org: OrgId,
        id: UserId,
        secret: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "update users set totp_secret = $3 where org_id = $1 and id = $2 and totp_secret is not null";
        on_tx!(self, |c| sqlx::query(SQL).bind(org).bind(id).bind(secret).execute(c).await.map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// Every user's TOTP secret (all organizations), for key rotation.
    pub async fn totp_secrets(&self) -> Result<Vec<StoredTotpSecret>, StoreError> {
        const SQL: &str =
            "select org_id, id, totp_secret from users where totp_secret is not null order by id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).fetch_all(p).await)?)
    }

    pub async fn unused_recovery_codes(&self, user: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "select count(*) from recovery_codes where user_id = $1 and used_at is null";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).bind(user).fetch_one(p).await)?)
    }
}
