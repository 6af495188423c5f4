//! Appointment pages: the day's appointments by location and practitioner, and one appointment's
//! timeline (every event received, with its outcome and the reason).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hearth_core::{AppointmentId, LocationId, PractitionerId};
use serde::Deserialize;

use super::{Nav, Page, error_page};
use crate::appointments::{self, AppointmentHistory, AppointmentQuery, AppointmentView};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::web::ApiPath;
use crate::{directory, patients};

#[derive(Debug, Default, Deserialize)]
pub struct DayForm {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub practitioner: String,
}

/// One line of the day.
pub struct Line {
    pub a: AppointmentView,
    pub time: String,
    pub patient: String,
}

/// The day's appointments of one location, by practitioner.
pub struct LocationGroup {
    pub location: String,
    pub practitioners: Vec<(String, Vec<Line>)>,
}

#[derive(Template)]
#[template(path = "appointments/day.html")]
pub struct DayPage {
    pub nav: Nav,
    pub f: DayForm,
    pub date: String,
    pub zone: String,
    pub locations: Vec<(String, String)>,
    pub practitioners: Vec<(String, String)>,
    pub groups: Vec<LocationGroup>,
    pub total: usize,
    pub errors: Vec<FieldError>,
    /// May send EHR events: the schedule upload and the simulator.
    pub can_ingest: bool,
}

fn practitioner_label(p: &directory::PractitionerView) -> String {
    format!("{} {}", p.given_name, p.family_name).trim().to_owned()
}

pub async fn day(
    State(app): State<AppState>,
    auth: Authorized<perms::AppointmentRead>,
    form: Result<Query<DayForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let f = form.map(|Query(f)| f).unwrap_or_default();
    match day_page(&app, &auth, f).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn day_page(
    app: &AppState,
    auth: &Authorized<perms::AppointmentRead>,
    f: DayForm,
) -> Result<DayPage, AppError> {
    let org = app.store.organization(auth.actor.org).await?;
    let zone = hearth_core::TimeZoneName::parse(&org.time_zone)
        .map_err(|e| anyhow::anyhow!("organization zone: {e}"))?;
    let today = app.clock.now().get().to_zoned(zone.time_zone()).date();
    let mut errors = Vec::new();
    let date = if f.date.trim().is_empty() {
        today
    } else {
        f.date.trim().parse::<jiff::civil::Date>().unwrap_or_else(|_| {
            errors.push(FieldError::new("date", "expected a date as YYYY-MM-DD"));
            today
        })
    };
    let bound = |d: jiff::civil::Date| {
        d.to_zoned(zone.time_zone()).map(|z| z.timestamp().to_string()).map_err(|e| anyhow::anyhow!("{e}"))
    };
    let next = date.tomorrow().map_err(|e| anyhow::anyhow!("{e}"))?;
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let query = AppointmentQuery {
        from: Some(bound(date)?),
        to: Some(bound(next)?),
        location: some(&f.location),
        practitioner: some(&f.practitioner),
        limit: Some(1000),
        ..AppointmentQuery::default()
    };
    let found = match appointments::list(app, &auth.actor, &query).await {
        Ok(found) => found,
        Err(AppError::Fields(f)) => {
            errors.extend(f);
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let locations = directory::list_locations(app, &auth.actor).await?;
    let practitioners = directory::list_practitioners(app, &auth.actor).await?;
    let location_names: HashMap<LocationId, String> =
        locations.iter().map(|l| (l.id, l.name.clone())).collect();
    let practitioner_names: HashMap<PractitionerId, String> =
        practitioners.iter().map(|p| (p.id, practitioner_label(p))).collect();
    let ids: Vec<_> = found.iter().map(|a| a.patient_id).collect();
    let names = if ids.is_empty() { HashMap::new() } else { patients::names(app, &auth.actor, &ids).await? };
    let total = found.len();
    let mut by_place: BTreeMap<String, BTreeMap<String, Vec<Line>>> = BTreeMap::new();
    for a in found {
        let place = a
            .location_id
            .and_then(|l| location_names.get(&l).cloned())
            .unwrap_or_else(|| "No location".into());
        let who = a
            .practitioner_id
            .and_then(|p| practitioner_names.get(&p).cloned())
            .unwrap_or_else(|| "No practitioner".into());
        let time = a.local_start.get(11..16).unwrap_or(&a.local_start).to_owned();
        let patient = names.get(&a.patient_id).cloned().unwrap_or_default();
        by_place.entry(place).or_default().entry(who).or_default().push(Line { a, time, patient });
    }
    Ok(DayPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/appointments"),
        date: date.to_string(),
        zone: zone.as_str().to_owned(),
        locations: locations.iter().map(|l| (l.id.to_string(), l.name.clone())).collect(),
        practitioners: practitioners.iter().map(|p| (p.id.to_string(), practitioner_label(p))).collect(),
        groups: by_place
            .into_iter()
            .map(|(location, ps)| LocationGroup { location, practitioners: ps.into_iter().collect() })
            .collect(),
        total,
        errors,
        can_ingest: auth.actor.grants(hearth_core::Permission::IngestWrite),
        f,
    })
}

#[derive(Template)]
#[template(path = "appointments/timeline.html")]
pub struct TimelinePage {
    pub nav: Nav,
    pub h: AppointmentHistory,
    pub patient: String,
    pub location: String,
    pub practitioner: String,
    /// When the appointment is, local: `2026-11-23 23:00`.
    pub when: String,
    /// When each event was received, local to the appointment, in order.
    pub received: Vec<String>,
    /// Reminder decisions with local times: (start, k, offset, due, send, decision, why).
    pub reminders: Vec<[String; 7]>,
    /// Messages about the appointment: (local time, purpose, channel, status, reason, id).
    pub messages: Vec<[String; 6]>,
    /// The patient's replies about it and the requests they sent to the EHR.
    pub replies: crate::replies::AppointmentReplies,
}

/// An RFC 3339 instant shown local to `zone`, to the minute.
fn local(rfc3339: &str, zone: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| rfc3339.to_owned(), |t| readable(&appointments::local_time(t.into(), zone), 16))
}

/// `2026-11-23T23:00:00.123` → `2026-11-23 23:00:00` (or to the minute with `len` 16).
fn readable(local: &str, len: usize) -> String {
    local.replacen('T', " ", 1).chars().take(len).collect()
}

pub async fn timeline(
    State(app): State<AppState>,
    auth: Authorized<perms::AppointmentRead>,
    ApiPath(id): ApiPath<AppointmentId>,
) -> Response {
    match timeline_page(&app, &auth, id).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn timeline_page(
    app: &AppState,
    auth: &Authorized<perms::AppointmentRead>,
    id: AppointmentId,
) -> Result<TimelinePage, AppError> {
    let h = appointments::history(app, &auth.actor, id).await?;
    let names = patients::names(app, &auth.actor, &[h.appointment.patient_id]).await?;
    let location = match h.appointment.location_id {
        Some(l) => {
            directory::list_locations(app, &auth.actor).await?.into_iter().find(|x| x.id == l).map(|x| x.name)
        }
        None => None,
    };
    let practitioner = match h.appointment.practitioner_id {
        Some(p) => directory::list_practitioners(app, &auth.actor)
            .await?
            .into_iter()
            .find(|x| x.id == p)
            .map(|x| practitioner_label(&x)),
        None => None,
    };
    let received =
        h.events.iter().map(|e| appointments::local_time(e.received_at, &h.appointment.time_zone)).collect();
    let zone = h.appointment.time_zone.clone();
    let reminders = h
        .reminders
        .iter()
        .map(|d| {
            let why = [d.reason.clone(), d.moved_by.as_ref().map(|m| format!("moved by {m}"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            let why = if why.is_empty() { "—".to_owned() } else { why };
            [
                local(&d.start, &zone),
                d.k.to_string(),
                d.offset.clone(),
                local(&d.due, &zone),
                d.send.as_deref().map_or_else(|| "—".into(), |s| local(s, &zone)),
                d.decision.clone(),
                why,
            ]
        })
        .collect();
    let messages = h
        .messages
        .iter()
        .map(|m| {
            [
                local(&m.at, &zone),
                m.purpose.replace('_', " "),
                m.channel.clone(),
                m.status.clone(),
                m.status_reason.clone().unwrap_or_default(),
                m.id.to_string(),
            ]
        })
        .collect();
    let replies = crate::replies::timeline::of_appointment(app, &auth.actor, id).await?;
    Ok(TimelinePage {
        reminders,
        messages,
        nav: Nav::new(&auth.actor, &auth.csrf, "/appointments"),
        replies,
        patient: names.get(&h.appointment.patient_id).cloned().unwrap_or_default(),
        location: location.unwrap_or_else(|| "—".into()),
        practitioner: practitioner.unwrap_or_else(|| "—".into()),
        received,
        when: readable(&h.appointment.local_start, 16),
        h,
    })
}
