//! What one ingest request knows: the events, patients (and their consent state), appointments,
//! locations and practitioners its events name, read in a few queries up front and kept current as
//! the request goes (an event may create what a later one names). Kept for one request only, so a
//! request rolled back alone leaves nothing behind here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hearth_core::{LocationId, OrgId, PatientId, PractitionerId, UtcTime};
use hearth_store::Tx;
use hearth_store::appointments::AppointmentRow;

use super::wire::{self, WireEvent};
use crate::error::{AppError, FieldError};
use crate::surveys::StatusTriggers;

pub(super) type Key = (String, String);

/// The channel whose consent the state machine looks at.
const CHANNEL: &str = "sms";

#[derive(Default)]
pub(super) struct Seen {
    pub created_patients: Vec<PatientId>,
    /// (source, source_message_id) → the answer stored the first time.
    pub answers: HashMap<Key, String>,
    /// (source, EHR patient id) → the patient, where one exists.
    pub patients: HashMap<Key, PatientId>,
    /// (source, EHR appointment id) → the appointment, where one exists.
    pub appointments: HashMap<Key, AppointmentRow>,
    /// Whether each known patient's latest SMS consent is an opt-out.
    opted_out: HashMap<PatientId, bool>,
    /// Location name → (id, zone), where one exists.
    locations: HashMap<String, (LocationId, String)>,
    /// The EHR's practitioner id → the practitioner, where one exists.
    practitioners: HashMap<String, PractitionerId>,
    zone: Option<String>,
    /// The survey rules of each status (an invitation is rare; looking for one is not).
    pub triggers: StatusTriggers,
}

impl Seen {
    pub async fn prefetch(
        tx: &mut Tx,
        org: OrgId,
        identities: &[Key],
        parsed: &[&Result<WireEvent, Vec<FieldError>>],
    ) -> Result<Self, AppError> {
        let mut seen = Self::default();
        for (source, ids) in by_source(identities.iter().map(|(s, m)| (s.as_str(), m.as_str()))) {
            for row in tx.appointment_events_by_messages(org, source, &ids).await? {
                seen.answers.insert((row.source, row.source_message_id), row.result);
            }
        }
        let events = || {
            identities
                .iter()
                .zip(parsed)
                .filter_map(|((source, _), ev)| Some((source.as_str(), (*ev).as_ref().ok()?)))
        };
        for (source, ids) in by_source(events().map(|(s, ev)| (s, ev.patient_id.as_str()))) {
            for (value, id) in tx.patients_by_identifiers(org, source, &ids).await? {
                seen.patients.insert((source.to_owned(), value), id);
            }
        }
        let appointment_ids = events().map(|(s, ev)| (s, ev.appointment_id.as_deref().unwrap_or_default()));
        for (source, ids) in by_source(appointment_ids) {
            for row in tx.appointments_by_external_ids(org, source, &ids).await? {
                seen.appointments.insert((row.source.clone(), row.external_id.clone()), row);
            }
        }
        let known: Vec<PatientId> =
            seen.patients.values().copied().collect::<BTreeSet<_>>().into_iter().collect();
        let opted_out = tx.opted_out_among(org, &known, CHANNEL).await?;
        seen.opted_out = known.into_iter().map(|p| (p, opted_out.contains(&p))).collect();
        let names: BTreeSet<&str> = events().filter_map(|(_, ev)| ev.location.as_deref()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        for (name, id, zone) in tx.locations_by_names(org, &names).await? {
            seen.locations.insert(name, (id, zone));
        }
        let providers: BTreeSet<&str> =
            events().filter_map(|(_, ev)| Some(ev.provider.as_ref()?.id.as_str())).collect();
        let providers: Vec<&str> = providers.into_iter().collect();
        for (external_id, id) in tx.practitioners_by_external_ids(org, &providers).await? {
            seen.practitioners.insert(external_id, id);
        }
        Ok(seen)
    }

    /// A patient created by this request (it has no consent yet).
    pub fn created(&mut self, key: Key, id: PatientId) {
        self.created_patients.push(id);
        self.patients.insert(key, id);
        self.opted_out.insert(id, false);
    }

    /// Whether the patient's latest SMS consent is an opt-out.
    pub async fn opted_out(&mut self, tx: &mut Tx, org: OrgId, patient: PatientId) -> Result<bool, AppError> {
        if let Some(known) = self.opted_out.get(&patient) {
            return Ok(*known);
        }
        let out = tx.opted_out(org, patient, CHANNEL).await?;
        self.opted_out.insert(patient, out);
        Ok(out)
    }

    /// The patient's consent changed in this request.
    pub fn set_opted_out(&mut self, patient: PatientId, opted_out: bool) {
        self.opted_out.insert(patient, opted_out);
    }

    /// The organization's zone, read once.
    pub async fn zone(&mut self, tx: &mut Tx, org: OrgId) -> Result<String, AppError> {
        if let Some(z) = &self.zone {
            return Ok(z.clone());
        }
        let z = tx.organization_time_zone(org).await?;
        self.zone = Some(z.clone());
        Ok(z)
    }

    /// The location named by an event (created in the organization's zone on first sight) and its zone.
    pub async fn location(
        &mut self,
        tx: &mut Tx,
        org: OrgId,
        name: &str,
        now: UtcTime,
    ) -> Result<(LocationId, String), AppError> {
        if let Some(found) = self.locations.get(name) {
            return Ok(found.clone());
        }
        let zone = self.zone(tx, org).await?;
        let id = LocationId::new();
        let new = hearth_store::locations::NewLocation { id, name, time_zone: &zone, sensitive: false, now };
        tx.create_location(org, &new).await?;
        self.locations.insert(name.to_owned(), (id, zone.clone()));
        Ok((id, zone))
    }

    /// The practitioner an event names (created on first sight).
    pub async fn practitioner(
        &mut self,
        tx: &mut Tx,
        org: OrgId,
        p: &wire::Provider,
        now: UtcTime,
    ) -> Result<PractitionerId, AppError> {
        if let Some(id) = self.practitioners.get(&p.id) {
            return Ok(*id);
        }
        let id = PractitionerId::new();
        let new = hearth_store::practitioners::NewPractitioner {
            id,
            external_id: Some(&p.id),
            given_name: p.first_name.as_deref().unwrap_or(""),
            family_name: p.last_name.as_deref().unwrap_or(&p.id),
            now,
        };
        tx.create_practitioner(org, &new).await?;
        self.practitioners.insert(p.id.clone(), id);
        Ok(id)
    }
}

/// Distinct ids, grouped by source.
fn by_source<'a>(keys: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut m: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (source, id) in keys {
        m.entry(source).or_default().insert(id);
    }
    m.into_iter().map(|(source, ids)| (source, ids.into_iter().collect())).collect()
}
