//! The organization's directory: the organization itself, its locations (sites and departments,
//! each with an IANA time zone) and its practitioners.

use hearth_core::{LocationId, OrgId, PractitionerId, TimeZoneName, UtcTime};
use hearth_store::StoreError;
use hearth_store::locations::{LocationChanges, LocationRow, NewLocation};
use hearth_store::organizations::OrganizationRow;
use hearth_store::practitioners::{NewPractitioner, PractitionerRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganizationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
}

impl From<&OrganizationRow> for OrganizationView {
    fn from(r: &OrganizationRow) -> Self {
        Self { id: r.id, name: r.name.clone(), time_zone: r.time_zone.clone() }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: LocationId,
    pub name: String,
    /// IANA time zone, e.g. America/New_York.
    pub time_zone: String,
    /// Appointment messages for this location use the minimal variant: no practitioner, appointment
    /// type or location name, whatever the template's options say (docs/notifications.md).
    pub sensitive: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
}

impl From<&LocationRow> for LocationView {
    fn from(r: &LocationRow) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            time_zone: r.time_zone.clone(),
            sensitive: r.sensitive,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocationInput {
    pub name: String,
    /// IANA time zone; default: the organization's.
    pub time_zone: Option<String>,
    /// Minimal appointment messages for this location (default false).
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocationInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub sensitive: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PractitionerView {
    #[schema(value_type = String, format = Uuid)]
    pub id: PractitionerId,
    /// The EHR's id for this provider.
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub active: bool,
}

impl From<&PractitionerRow> for PractitionerView {
    fn from(r: &PractitionerRow) -> Self {
        Self {
            id: r.id,
            external_id: r.external_id.clone(),
            given_name: r.given_name.clone(),
            family_name: r.family_name.clone(),
            active: r.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePractitionerInput {
    pub given_name: String,
    pub family_name: String,
    pub external_id: Option<String>,
}

pub async fn organization(app: &AppState, actor: &Actor) -> Result<OrganizationView, AppError> {
    Ok(OrganizationView::from(&app.store.organization(actor.org).await?))
}

fn check_name(field: &str, name: &str, errors: &mut Vec<FieldError>) -> String {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(field, "expected 1 to 200 characters"));
    }
    name
}

fn check_zone(raw: &str, errors: &mut Vec<FieldError>) -> Option<TimeZoneName> {
    TimeZoneName::parse(raw).map_err(|e| errors.push(FieldError::new("time_zone", e.to_string()))).ok()
}

pub async fn list_locations(app: &AppState, actor: &Actor) -> Result<Vec<LocationView>, AppError> {
    Ok(app.store.list_locations(actor.org).await?.iter().map(LocationView::from).collect())
}

pub async fn location(app: &AppState, actor: &Actor, id: LocationId) -> Result<LocationView, AppError> {
    Ok(LocationView::from(&app.store.location(actor.org, id).await?))
}

fn name_taken(e: StoreError) -> AppError {
    match e {
        StoreError::Unique(_) => AppError::field("name", "another location already has this name"),
        e => e.into(),
    }
}

pub async fn create_location(
    app: &AppState,
    actor: &Actor,
    input: CreateLocationInput,
) -> Result<LocationView, AppError> {
    let mut errors = Vec::new();
    let name = check_name("name", &input.name, &mut errors);
    let zone = match &input.time_zone {
        Some(z) => check_zone(z, &mut errors).map(|z| z.as_str().to_owned()),
        None => Some(app.store.organization(actor.org).await?.time_zone),
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let new = NewLocation {
        id: LocationId::new(),
        name: &name,
        time_zone: zone.as_deref().unwrap_or("UTC"),
        sensitive: input.sensitive,
        now,
    };
    let row = tx.create_location(actor.org, &new).await.map_err(name_taken)?;
    let view = LocationView::from(&row);
    audit::record(
        &mut tx,
        now,
        actor,
        "location.create",
        Some(("location", row.id.to_string())),
        None,
        snapshot(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update_location(
    app: &AppState,
    actor: &Actor,
    id: LocationId,
    input: UpdateLocationInput,
) -> Result<LocationView, AppError> {
    let mut errors = Vec::new();
    let name = input.name.as_deref().map(|n| check_name("name", n, &mut errors));
    let zone = input.time_zone.as_deref().and_then(|z| check_zone(z, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let before = LocationView::from(&app.store.location(actor.org, id).await?);
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let changes = LocationChanges {
        name: name.as_deref(),
        time_zone: zone.as_ref().map(TimeZoneName::as_str),
        sensitive: input.sensitive,
    };
    let after =
        LocationView::from(&tx.update_location(actor.org, id, &changes, now).await.map_err(name_taken)?);
    audit::record(
        &mut tx,
        now,
        actor,
        "location.update",
        Some(("location", id.to_string())),
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn list_practitioners(app: &AppState, actor: &Actor) -> Result<Vec<PractitionerView>, AppError> {
    Ok(app.store.list_practitioners(actor.org).await?.iter().map(PractitionerView::from).collect())
}

pub async fn practitioner(
    app: &AppState,
    actor: &Actor,
    id: PractitionerId,
) -> Result<PractitionerView, AppError> {
    Ok(PractitionerView::from(&app.store.practitioner(actor.org, id).await?))
}

pub async fn create_practitioner(
    app: &AppState,
    actor: &Actor,
    input: CreatePractitionerInput,
) -> Result<PractitionerView, AppError> {
    let mut errors = Vec::new();
    let given = check_name("given_name", &input.given_name, &mut errors);
    let family = check_name("family_name", &input.family_name, &mut errors);
    let external = input.external_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if external.is_some_and(|e| e.chars().count() > 100) {
        errors.push(FieldError::new("external_id", "expected at most 100 characters"));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let new = NewPractitioner {
        id: PractitionerId::new(),
        external_id: external,
        given_name: &given,
        family_name: &family,
        now,
    };
    let row = tx.create_practitioner(actor.org, &new).await.map_err(|e| match e {
        StoreError::Unique(_) => {
            AppError::field("external_id", "another practitioner already has this EHR id")
        }
        e => e.into(),
    })?;
    let view = PractitionerView::from(&row);
    audit::record(
        &mut tx,
        now,
        actor,
        "practitioner.create",
        Some(("practitioner", row.id.to_string())),
        None,
        snapshot(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}
