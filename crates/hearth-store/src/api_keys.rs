//! API keys for integrations: only a SHA-256 of the key is stored; the key itself is shown once.

use hearth_core::{ApiKeyId, OrgId, UserId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_by: Option<UserId>,
    pub created_at: UtcTime,
    pub last_used_at: Option<UtcTime>,
    pub revoked_at: Option<UtcTime>,
}

const COLUMNS: &str = "id, org_id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at";

#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub id: ApiKeyId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a str,
    pub created_by: Option<UserId>,
    pub now: UtcTime,
}

impl Tx {
    pub async fn create_api_key(&mut self, org: OrgId, k: &NewApiKey<'_>) -> Result<ApiKeyRow, StoreError> {
        let sql = format!(
            "insert into api_keys (id, org_id, name, prefix, key_hash, scopes, created_by, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(k.id)
            .bind(org)
            .bind(k.name)
            .bind(k.prefix)
            .bind(k.key_hash)
            .bind(k.scopes)
            .bind(k.created_by)
            .bind(k.now)
            .fetch_one(c)
            .await)?)
    }

    pub async fn revoke_api_key(
        &mut self,
        org: OrgId,
        id: ApiKeyId,
        now: UtcTime,
    ) -> Result<ApiKeyRow, StoreError> {
        let sql = format!(
            "update api_keys set revoked_at = coalesce(revoked_at, $3) where org_id = $1 and id = $2 returning {COLUMNS}"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .bind(now)
            .fetch_one(c)
            .await)?)
    }
}

impl Store {
    /// For authentication only: the key with this hash, in any organization.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("select {COLUMNS} from api_keys where key_hash = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key_hash)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn api_key(&self, org: OrgId, id: ApiKeyId) -> Result<ApiKeyRow, StoreError> {
        let sql = format!("select {COLUMNS} from api_keys where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    pub async fn list_api_keys(&self, org: OrgId) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!("select {COLUMNS} from api_keys where org_id = $1 order by created_at desc, id");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).fetch_all(p).await)?)
    }

    /// Records use, at most once a minute per key (a write per request would serialize SQLite).
    pub async fn touch_api_key(
        &self,
        id: ApiKeyId,
        now: UtcTime,
        not_since: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update api_keys set last_used_at = $2
                            where id = $1 and (last_used_at is null or last_used_at < $3)";
        on_pool!(self, |p| sqlx::query(SQL).bind(id).bind(now).bind(not_since).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
