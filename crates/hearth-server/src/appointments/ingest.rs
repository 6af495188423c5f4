//! Applying EHR events: each valid event finds or creates its patient (by the EHR's patient id),
//! location and practitioner, resolves the local time in the right zone, runs the state machine and
//! stores the new state; every event — applied, stale, ignored or rejected — goes into the history
//! with the answer given, so a replay (same `source_message_id`, or the same event) answers the same
//! and changes nothing. A request is applied whole or not at all, in a commit it may share with concurrent
//! requests: a 202 means all of it is on disk.

use hearth_core::appointment::{
    self, AppointmentState, Event, EventKind, Outcome, Policy, Reminders, Status,
};
use hearth_core::{AppointmentEventId, AppointmentId, OrgId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::appointments::{AppointmentEventRow, AppointmentRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ingest_seen::{Key, Seen};
use super::ingest_writes::Pending;
use super::wire::{self, WireEvent, Zone};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::patients::{self, HumanName, Identifier, PatientRecord, Strictness};
use crate::state::AppState;

/// The answer for one event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResult {
    /// Position in the request.
    pub index: usize,
    /// created | updated | unchanged | stale | ignored | rejected
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub appointment_id: Option<AppointmentId>,
    /// FHIR Appointment.status after the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// pending:k | done | suppressed:reason | expired
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminders: Option<String>,
    /// The messages the event calls for (sent by the messaging module, consent permitting).
    #[serde(default)]
    pub notices: Vec<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// True when this event was received before: the first answer, unchanged.
    #[serde(default)]
    pub replayed: bool,
    /// The appointment's patient (for the reminder scheduler; not part of the answer).
    #[serde(skip)]
    pub patient_id: Option<PatientId>,
    /// The start before this event moved it (for the reschedule notice; not part of the answer).
    #[serde(skip)]
    pub previous_start: Option<UtcTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestReport {
    pub results: Vec<EventResult>,
}

/// Applies `events` in order and answers once they are on disk, in a commit shared with concurrent
/// requests ([`super::group_commit`]). With `dry_run`, answers as if applied and writes nothing.
pub async fn ingest(
    app: &AppState,
    actor: &Actor,
    events: Vec<serde_json::Value>,
    dry_run: bool,
) -> Result<IngestReport, AppError> {
    let batch = Batch::read(events, &app.config.patients.phone_region);
    if !dry_run {
        return super::group_commit::submit(app, actor, batch).await;
    }
    let mut tx = app.store.begin().await?;
    let (report, _) = apply_all(&mut tx, app, actor, batch, app.clock.now()).await?;
    tx.rollback().await?;
    Ok(report)
}

/// A request's events as read before its turn in a commit: identity, parsed form and canonical text of
/// each. Reading (phone numbers, dates, hashes) needs no transaction: done by the request's own task,
/// it runs beside the committer, the one serial stage of ingest, rather than inside its transaction.
pub struct Batch(Vec<ReadEvent>);

struct ReadEvent {
    identity: Key,
    parsed: Result<WireEvent, Vec<FieldError>>,
    payload: String,
}

impl Batch {
    pub fn read(events: Vec<serde_json::Value>, phone_region: &str) -> Self {
        Batch(
            events
                .into_iter()
                .map(|v| {
                    let payload = wire::canonical(&v);
                    ReadEvent {
                        identity: wire::identity(&v, &payload),
                        parsed: wire::parse(&v, phone_region),
                        payload,
                    }
                })
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Applies a batch's events in order inside `tx`; also says which patients were created (for the
/// duplicate check after commit).
pub(super) async fn apply_all(
    tx: &mut Tx,
    app: &AppState,
    actor: &Actor,
    batch: Batch,
    now: UtcTime,
) -> Result<(IngestReport, Vec<PatientId>), AppError> {
    let (identities, parsed): (Vec<Key>, Vec<_>) =
        batch.0.iter().map(|e| (e.identity.clone(), &e.parsed)).unzip();
    let mut seen = Seen::prefetch(tx, actor.org, &identities, &parsed).await?;
    let mut pending = Pending::default();
    let mut results = Vec::with_capacity(batch.0.len());
    for (index, e) in batch.0.into_iter().enumerate() {
        let mut view = Request { tx: &mut *tx, app, actor, now, seen: &mut seen, pending: &mut pending };
        let mut r = one(&mut view, e).await?;
        r.index = index;
        results.push(r);
    }
    pending.flush(tx, app, actor).await?;
    Ok((IngestReport { results }, seen.created_patients))
}

/// One request on its way: the transaction, who sends, when, what it knows and what it has yet to
/// write ([`Pending`]).
struct Request<'a> {
    tx: &'a mut Tx,
    app: &'a AppState,
    actor: &'a Actor,
    now: UtcTime,
    seen: &'a mut Seen,
    pending: &'a mut Pending,
}

impl Request<'_> {
    /// Writes what is held, before a path that reads or writes the database directly.
    async fn flush(&mut self) -> Result<(), AppError> {
        self.pending.flush(self.tx, self.app, self.actor).await
    }
}

fn rejected(errors: Vec<FieldError>) -> EventResult {
    EventResult {
        index: 0,
        result: "rejected".into(),
        appointment_id: None,
        status: None,
        reminders: None,
        notices: vec![],
        reason: "the event is invalid; nothing was changed".into(),
        errors,
        replayed: false,
        patient_id: None,
        previous_start: None,
    }
}

async fn one(r: &mut Request<'_>, event: ReadEvent) -> Result<EventResult, AppError> {
    let ReadEvent { identity: (source, message_id), parsed, payload } = event;
    if let Some(first) = r.seen.answers.get(&(source.clone(), message_id.clone())) {
        let mut r: EventResult = serde_json::from_str(first).map_err(anyhow::Error::from)?;
        r.replayed = true;
        return Ok(r);
    }
    let (result, appointment_id, ev) = match parsed {
        Err(errors) => (rejected(errors), None, None),
        Ok(ev) => {
            let res = apply(r, &source, &ev).await?;
            let id = res.appointment_id;
            (res, id, Some(ev))
        }
    };
    let outcome = match result.result.as_str() {
        "created" | "updated" | "unchanged" => "applied",
        other => other,
    };
    let answer = serde_json::to_string(&result).map_err(anyhow::Error::from)?;
    let event_id = AppointmentEventId::new();
    let now = r.now;
    r.pending.event(AppointmentEventRow {
        id: event_id,
        org_id: r.actor.org,
        appointment_id,
        source: source.clone(),
        source_message_id: message_id.clone(),
        event_type: ev.as_ref().map(|e| e.kind.as_str().to_owned()),
        event_at: ev.as_ref().map(|e| e.event_at.unwrap_or(now)),
        received_at: now,
        payload,
        outcome: outcome.to_owned(),
        reason: result.reason.clone(),
        result: answer.clone(),
    });
    r.seen.answers.insert((source, message_id), answer);
    if let Some(work) = crate::reminders::work_for_change(r.actor.org, &result, Some(event_id), now) {
        r.pending.work(work);
    }
    Ok(result)
}

/// The patient the EHR calls `ev.patient_id`, created on first sight (written with the request's
/// other new patients when it ends).
fn patient(r: &mut Request<'_>, source: &str, ev: &WireEvent) -> Result<PatientId, AppError> {
    let key = (source.to_owned(), ev.patient_id.clone());
    if let Some(id) = r.seen.patients.get(&key) {
        return Ok(*id);
    }
    let record = PatientRecord {
        name: HumanName {
            family: ev.last_name.clone().unwrap_or_default(),
            given: ev.first_name.iter().cloned().collect(),
            ..HumanName::default()
        },
        phones: ev
            .phone
            .iter()
            .map(|p| patients::ContactPoint { value: p.clone(), use_: Some("mobile".into()), problem: None })
            .collect(),
        emails: ev
            .email
            .iter()
            .map(|m| patients::ContactPoint { value: m.clone(), use_: None, problem: None })
            .collect(),
        identifiers: vec![Identifier {
            system: source.to_owned(),
            value: ev.patient_id.clone(),
            sealed: None,
        }],
        preferred_language: ev.language.clone(),
        ..PatientRecord::default()
    };
    let new = patients::prepare_new(r.app, r.actor, record, Strictness::Lenient)?;
    let id = new.id;
    r.pending.patient(new);
    r.seen.created(key, id);
    Ok(id)
}

/// The instant of a local time in its zone; a time skipped by a DST change moves forward (the
/// "compatible" rule), a repeated one takes the earlier instant.
fn to_instant(
    local: jiff::civil::DateTime,
    zone: &Zone,
    fallback: &str,
) -> Result<(UtcTime, String), AppError> {
    let (tz, name) = match zone {
        Zone::Iana(z) => (z.time_zone(), z.as_str().to_owned()),
        Zone::Fixed(o) => (jiff::tz::TimeZone::fixed(*o), wire::offset_text(*o)),
        Zone::Default => {
            let z = hearth_core::TimeZoneName::parse(fallback)
                .map_err(|e| anyhow::anyhow!("stored zone: {e}"))?;
            (z.time_zone(), z.as_str().to_owned())
        }
    };
    let ts = tz.to_ambiguous_timestamp(local).compatible().map_err(|e| {
        AppError::field("appointment_datetime", format!("cannot place this time in {name}: {e}"))
    })?;
    Ok((UtcTime::new(ts), name))
}

fn state_of(row: &AppointmentRow) -> Result<AppointmentState, AppError> {
    Ok(AppointmentState {
        status: Status::parse(&row.status).map_err(|e| anyhow::anyhow!("stored status: {e}"))?,
        reminders: Reminders::parse(&row.reminders).map_err(|e| anyhow::anyhow!("stored reminders: {e}"))?,
        participant_accepted: row.participant_accepted,
        start: Some(row.start_at),
        last_applied_at: row.last_applied_at,
    })
}

#[allow(clippy::too_many_lines)] // one event's whole path, in order
async fn apply(r: &mut Request<'_>, source: &str, ev: &WireEvent) -> Result<EventResult, AppError> {
    let (org, now) = (r.actor.org, r.now);
    let patient_id = patient(r, source, ev)?;
    let opted_out = r.seen.opted_out(r.tx, org, patient_id).await?;
    let event = |start: Option<UtcTime>| {
        let e = Event::new(ev.kind, ev.event_at.unwrap_or(now)).received(now).opted_out(opted_out);
        match start {
            Some(s) => e.with_start(s),
            None => e,
        }
    };
    if matches!(ev.kind, EventKind::OptedIn | EventKind::OptedOut) {
        r.flush().await?;
        return consent(r, patient_id, ev, opted_out, &event(None)).await;
    }
    let external_id = ev.appointment_id.clone().unwrap_or_default();
    let existing = r.seen.appointments.get(&(source.to_owned(), external_id.clone())).cloned();
    let location = match &ev.location {
        Some(name) => Some(r.seen.location(r.tx, org, name, now).await?),
        None => None,
    };
    let practitioner = match &ev.provider {
        Some(p) => Some(r.seen.practitioner(r.tx, org, p, now).await?),
        None => None,
    };
    let fallback = match (&location, &existing) {
        (Some((_, zone)), _) => zone.clone(),
        (None, Some(row)) => row.time_zone.clone(),
        (None, None) => r.seen.zone(r.tx, org).await?,
    };
    let start = match &ev.local_start {
        Some((local, zone)) => match to_instant(*local, zone, &fallback) {
            Ok(s) => Some(s),
            Err(AppError::Fields(errors)) => return Ok(rejected(errors)),
            Err(e) => return Err(e),
        },
        None => None,
    };
    let before = existing.as_ref().map(state_of).transpose()?;
    let decision =
        appointment::apply(before.as_ref(), &event(start.as_ref().map(|s| s.0)), &Policy::default());
    let notices: Vec<String> = decision.notices.iter().map(ToString::to_string).collect();
    let Some(after) = decision.state.clone() else {
        return Ok(EventResult {
            index: 0,
            result: outcome_name(decision.outcome).into(),
            appointment_id: None,
            status: None,
            reminders: None,
            notices,
            reason: decision.reason,
            errors: vec![],
            replayed: false,
            patient_id: None,
            previous_start: None,
        });
    };
    let mut result = EventResult {
        index: 0,
        result: outcome_name(decision.outcome).into(),
        appointment_id: existing.as_ref().map(|r| r.id),
        status: Some(after.status.as_str().to_owned()),
        reminders: Some(after.reminders.as_db_text()),
        notices,
        reason: decision.reason.clone(),
        errors: vec![],
        replayed: false,
        patient_id: None,
        previous_start: None,
    };
    if decision.outcome != Outcome::Applied {
        return Ok(result);
    }
    let mut row = existing.clone().unwrap_or_else(|| AppointmentRow {
        id: AppointmentId::new(),
        org_id: org,
        source: source.to_owned(),
        external_id: external_id.clone(),
        patient_id,
        practitioner_id: None,
        location_id: None,
        appointment_type: None,
        start_at: now,
        time_zone: fallback.clone(),
        duration_minutes: None,
        status: String::new(),
        reminders: String::new(),
        participant_accepted: false,
        last_applied_at: None,
        created_at: now,
        updated_at: now,
    });
    row.patient_id = patient_id;
    if let Some((s, zone)) = &start {
        row.start_at = after.start.unwrap_or(*s);
        row.time_zone.clone_from(zone);
    }
    row.practitioner_id = practitioner.or(row.practitioner_id);
    row.location_id = location.map(|l| l.0).or(row.location_id);
    row.appointment_type = ev.appointment_type.clone().or(row.appointment_type);
    row.duration_minutes = ev.duration_minutes.or(row.duration_minutes);
    after.status.as_str().clone_into(&mut row.status);
    row.reminders = after.reminders.as_db_text();
    row.participant_accepted = after.participant_accepted;
    row.last_applied_at = after.last_applied_at;
    let changed = existing.as_ref().is_none_or(|old| !same_content(old, &row));
    result.result = match (&existing, changed) {
        (None, _) => "created",
        (Some(_), true) => "updated",
        (Some(_), false) => "unchanged",
    }
    .into();
    if changed {
        row.updated_at = now;
        r.pending.appointment(row.clone());
        let before = existing.as_ref().map(|e| e.status.as_str());
        if r.seen.triggers.fires(r.tx, before, &row).await? {
            r.flush().await?;
            r.seen.triggers.invite(r.tx, r.app, before, &row, now).await?;
        }
        r.seen.appointments.insert((row.source.clone(), row.external_id.clone()), row.clone());
    }
    result.appointment_id = Some(row.id);
    result.patient_id = Some(row.patient_id);
    result.previous_start = existing.as_ref().map(|e| e.start_at).filter(|s| *s != row.start_at);
    Ok(result)
}

/// Applies a fact that names an appointment Hearth already has (an integration's arrival or
/// discharge) and records it in that appointment's history. `None` when there is no such appointment.
#[allow(clippy::too_many_arguments)] // the event's identity and content, spelled out
pub(crate) async fn apply_fact(
    tx: &mut Tx,
    org: OrgId,
    source: &str,
    external_id: &str,
    kind: EventKind,
    message_id: &str,
    payload: &str,
    now: UtcTime,
) -> Result<Option<EventResult>, AppError> {
    let Some(mut row) = tx.appointment_by_external_id(org, source, external_id).await? else {
        return Ok(None);
    };
    let opted_out = tx.opted_out(org, row.patient_id, "sms").await?;
    let event = Event::new(kind, now).received(now).opted_out(opted_out);
    let decision = appointment::apply(Some(&state_of(&row)?), &event, &Policy::default());
    let mut result = EventResult {
        index: 0,
        result: outcome_name(decision.outcome).into(),
        appointment_id: Some(row.id),
        status: Some(row.status.clone()),
        reminders: Some(row.reminders.clone()),
        notices: decision.notices.iter().map(ToString::to_string).collect(),
        reason: decision.reason.clone(),
        errors: vec![],
        replayed: false,
        patient_id: None,
        previous_start: None,
    };
    if let (Outcome::Applied, Some(after)) = (decision.outcome, decision.state) {
        after.status.as_str().clone_into(&mut row.status);
        row.reminders = after.reminders.as_db_text();
        row.participant_accepted = after.participant_accepted;
        row.last_applied_at = after.last_applied_at;
        row.updated_at = now;
        tx.save_appointment(&row).await?;
        result.status = Some(row.status.clone());
        result.reminders = Some(row.reminders.clone());
        result.patient_id = Some(row.patient_id);
    }
    let event_id = AppointmentEventId::new();
    tx.insert_appointment_event(&AppointmentEventRow {
        id: event_id,
        org_id: org,
        appointment_id: Some(row.id),
        source: source.to_owned(),
        source_message_id: message_id.to_owned(),
        event_type: Some(kind.as_str().to_owned()),
        event_at: Some(now),
        received_at: now,
        payload: payload.to_owned(),
        outcome: if decision.outcome == Outcome::Applied { "applied".into() } else { result.result.clone() },
        reason: result.reason.clone(),
        result: serde_json::to_string(&result).map_err(anyhow::Error::from)?,
    })
    .await?;
    crate::reminders::queue_change(tx, org, &result, Some(event_id), now).await?;
    Ok(Some(result))
}

fn same_content(a: &AppointmentRow, b: &AppointmentRow) -> bool {
    AppointmentRow { updated_at: b.updated_at, last_applied_at: b.last_applied_at, ..a.clone() } == *b
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Applied => "updated",
        Outcome::Stale { .. } => "stale",
        Outcome::Ignored => "ignored",
        Outcome::Rejected => "rejected",
    }
}

/// OPTED-IN / OPTED-OUT: a consent ledger entry (source `ehr`), applied to each of the patient's
/// open appointments. Reads and writes the database directly: the caller flushes first.
async fn consent(
    r: &mut Request<'_>,
    patient_id: PatientId,
    ev: &WireEvent,
    was_opted_out: bool,
    event: &Event,
) -> Result<EventResult, AppError> {
    let (org, now) = (r.actor.org, r.now);
    let opted_in = ev.kind == EventKind::OptedIn;
    let address = ev.phone.clone().unwrap_or_default();
    r.tx.append_consent(
        org,
        &hearth_store::patients::ConsentRow {
            id: hearth_core::ConsentId::new(),
            patient_id,
            channel: "sms".into(),
            address,
            opted_in,
            source: "ehr".into(),
            words: Some(ev.kind.as_str().to_owned()),
            recorded_at: now,
        },
    )
    .await?;
    r.seen.set_opted_out(patient_id, !opted_in);
    let mut notices: Vec<String> =
        appointment::consent_notice(ev.kind, was_opted_out).iter().map(ToString::to_string).collect();
    let mut touched = 0;
    for mut row in r.tx.open_appointments_of(org, patient_id).await? {
        let decision = appointment::apply(Some(&state_of(&row)?), event, &Policy::default());
        if let (Outcome::Applied, Some(after)) = (decision.outcome, decision.state) {
            row.reminders = after.reminders.as_db_text();
            row.updated_at = now;
            r.tx.save_appointment(&row).await?;
            r.seen.appointments.insert((row.source.clone(), row.external_id.clone()), row.clone());
            touched += 1;
            notices.extend(decision.notices.iter().map(ToString::to_string));
        }
    }
    Ok(EventResult {
        index: 0,
        result: "updated".into(),
        appointment_id: None,
        status: None,
        reminders: None,
        notices,
        reason: format!(
            "the patient {} by the EHR; reminders of {touched} open appointment(s) changed",
            if opted_in { "opted in" } else { "opted out" }
        ),
        errors: vec![],
        replayed: false,
        patient_id: Some(patient_id),
        previous_start: None,
    })
}
