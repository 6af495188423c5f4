//! Organizations: the tenants. The only table without an `org_id`, because it is the org.

use hearth_core::{OrgId, UtcTime};

use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganizationRow {
    pub id: OrgId,
    pub name: String,
    /// The default IANA zone for locations that do not say otherwise.
    pub time_zone: String,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

#[derive(Debug, Clone)]
pub struct NewOrganization<'a> {
    pub id: OrgId,
    pub name: &'a str,
    pub time_zone: &'a str,
    pub now: UtcTime,
}

impl Store {
    pub async fn create_organization(
        &self,
        new: &NewOrganization<'_>,
    ) -> Result<OrganizationRow, StoreError> {
        const SQL: &str = "insert into organizations (id, name, time_zone, created_at, updated_at)
                           values ($1, $2, $3, $4, $4)
                           returning id, name, time_zone, created_at, updated_at";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL)
            .bind(new.id)
            .bind(new.name)
            .bind(new.time_zone)
            .bind(new.now)
            .fetch_one(p)
            .await)?)
    }

    pub async fn organization(&self, id: OrgId) -> Result<OrganizationRow, StoreError> {
        const SQL: &str =
            "select id, name, time_zone, created_at, updated_at from organizations where id = $1";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(id).fetch_one(p).await)?)
    }

    /// Every organization, oldest first (for operators; tenant-facing code never lists other tenants).
    pub async fn list_organizations(&self) -> Result<Vec<OrganizationRow>, StoreError> {
        const SQL: &str = "select id, name, time_zone, created_at, updated_at from organizations order by id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).fetch_all(p).await)?)
    }
}
