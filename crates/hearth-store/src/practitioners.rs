//! Practitioners: the clinicians patients see. `external_id` is the EHR's provider id, unique per
//! organization, so a feed that names the same provider again updates rather than duplicates.

use hearth_core::{OrgId, PractitionerId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PractitionerRow {
    pub id: PractitionerId,
    pub org_id: OrgId,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

#[derive(Debug, Clone)]
pub struct NewPractitioner<'a> {
    pub id: PractitionerId,
    pub external_id: Option<&'a str>,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub now: UtcTime,
}

impl Tx {
    pub async fn create_practitioner(
        &mut self,
        org: OrgId,
        new: &NewPractitioner<'_>,
    ) -> Result<PractitionerRow, StoreError> {
        const SQL: &str = "insert into practitioners
                               (id, org_id, external_id, given_name, family_name, active, created_at, updated_at)
                           values ($1, $2, $3, $4, $5, true, $6, $6)
                           returning id, org_id, external_id, given_name, family_name, active, created_at, updated_at";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL)
            .bind(new.id)
            .bind(org)
            .bind(new.external_id)
            .bind(new.given_name)
            .bind(new.family_name)
            .bind(new.now)
            .fetch_one(c)
            .await)?)
    }
}

impl Store {
    pub async fn practitioner(&self, org: OrgId, id: PractitionerId) -> Result<PractitionerRow, StoreError> {
        const SQL: &str =
            "select id, org_id, external_id, given_name, family_name, active, created_at, updated_at
                           from practitioners where org_id = $1 and id = $2";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(id).fetch_one(p).await)?)
    }

    pub async fn list_practitioners(&self, org: OrgId) -> Result<Vec<PractitionerRow>, StoreError> {
        const SQL: &str =
            "select id, org_id, external_id, given_name, family_name, active, created_at, updated_at
                           from practitioners where org_id = $1 order by family_name, given_name, id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }
}
