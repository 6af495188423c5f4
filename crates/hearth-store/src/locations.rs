//! Locations: the sites and departments of an organization, each with its own IANA time zone (the
//! zone an appointment's local wall-clock time is read in).

use hearth_core::{LocationId, OrgId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LocationRow {
    pub id: LocationId,
    pub org_id: OrgId,
    pub name: String,
    pub time_zone: String,
    /// Messages about appointments here use the minimal variant: no practitioner, appointment type
    /// or location details (a clinic whose name alone says too much).
    pub sensitive: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

#[derive(Debug, Clone)]
pub struct NewLocation<'a> {
    pub id: LocationId,
    pub name: &'a str,
    pub time_zone: &'a str,
    pub sensitive: bool,
    pub now: UtcTime,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LocationChanges<'a> {
    pub name: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub sensitive: Option<bool>,
}

impl Tx {
    pub async fn create_location(
        &mut self,
        org: OrgId,
        new: &NewLocation<'_>,
    ) -> Result<LocationRow, StoreError> {
        const SQL: &str =
            "insert into locations (id, org_id, name, time_zone, sensitive, created_at, updated_at)
                           values ($1, $2, $3, $4, $5, $6, $6)
                           returning id, org_id, name, time_zone, sensitive, created_at, updated_at";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL)
            .bind(new.id)
            .bind(org)
            .bind(new.name)
            .bind(new.time_zone)
            .bind(new.sensitive)
            .bind(new.now)
            .fetch_one(c)
            .await)?)
    }

    pub async fn update_location(
        &mut self,
        org: OrgId,
        id: LocationId,
        changes: &LocationChanges<'_>,
        now: UtcTime,
    ) -> Result<LocationRow, StoreError> {
        const SQL: &str = "update locations
                              set name = coalesce($3, name), time_zone = coalesce($4, time_zone),
                                  sensitive = coalesce($6, sensitive), updated_at = $5
                            where org_id = $1 and id = $2
                        returning id, org_id, name, time_zone, sensitive, created_at, updated_at";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL)
            .bind(org)
            .bind(id)
            .bind(changes.name)
            .bind(changes.time_zone)
            .bind(now)
            .bind(changes.sensitive)
            .fetch_one(c)
            .await)?)
    }
}

impl Store {
    pub async fn location(&self, org: OrgId, id: LocationId) -> Result<LocationRow, StoreError> {
        const SQL: &str = "select id, org_id, name, time_zone, sensitive, created_at, updated_at
                           from locations where org_id = $1 and id = $2";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(id).fetch_one(p).await)?)
    }

    pub async fn list_locations(&self, org: OrgId) -> Result<Vec<LocationRow>, StoreError> {
        const SQL: &str = "select id, org_id, name, time_zone, sensitive, created_at, updated_at
                           from locations where org_id = $1 order by name, id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }
}
