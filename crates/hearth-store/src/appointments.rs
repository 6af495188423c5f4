//! Appointments and the history of every event received about them. `(source, external_id)` is the
//! EHR's key for an appointment; `(source, source_message_id)` makes ingest idempotent.

use hearth_core::{AppointmentEventId, AppointmentId, LocationId, OrgId, PatientId, PractitionerId, UtcTime};

use std::collections::HashSet;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use crate::multi_row::{
    KeyLookup, fetch_by_keys, json_array, json_list, placeholders, rows_per_statement, values_list,
};
use crate::{Store, StoreError, Tx};

/// Rows in flight between the database and a streamed export (back-pressure beyond that).
const STREAM_BUFFER: usize = 256;

const FILTER_SQL: &str = "org_id = $1 and ($2 is null or status = $2) and ($3 is null or start_at >= $3)
       and ($4 is null or start_at < $4) and ($5 is null or practitioner_id = $5)
       and ($6 is null or location_id = $6) and ($7 is null or patient_id = $7)";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: AppointmentId,
    pub org_id: OrgId,
    pub source: String,
    pub external_id: String,
    pub patient_id: PatientId,
    pub practitioner_id: Option<PractitionerId>,
    pub location_id: Option<LocationId>,
    pub appointment_type: Option<String>,
    pub start_at: UtcTime,
    /// An IANA name, or a fixed offset (`+05:30`) when the EHR sent one.
    pub time_zone: String,
    pub duration_minutes: Option<i32>,
    /// FHIR Appointment.status.
    pub status: String,
    /// `pending:k | done | suppressed:reason | expired`.
    pub reminders: String,
    pub participant_accepted: bool,
    pub last_applied_at: Option<UtcTime>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

pub(crate) const COLUMNS: &str = "id, org_id, source, external_id, patient_id, practitioner_id, location_id, appointment_type,
     start_at, time_zone, duration_minutes, status, reminders, participant_accepted, last_applied_at, created_at,
     updated_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppointmentEventRow {
    pub id: AppointmentEventId,
    pub org_id: OrgId,
    pub appointment_id: Option<AppointmentId>,
    pub source: String,
    pub source_message_id: String,
    pub event_type: Option<String>,
    pub event_at: Option<UtcTime>,
    pub received_at: UtcTime,
    /// The event as received.
    pub payload: String,
    /// applied | stale | ignored | rejected
    pub outcome: String,
    pub reason: String,
    /// The JSON answer given the first time (returned again on a replay).
    pub result: String,
}

const EVENT_COLUMNS: &str = "id, org_id, appointment_id, source, source_message_id, event_type, event_at,
     received_at, payload, outcome, reason, result";

/// An event of a patient-experience integration, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IntegrationEventRow {
    pub id: hearth_core::IntegrationEventId,
    pub org_id: OrgId,
    pub source_system: String,
    pub event_code: String,
    pub encounter_id: String,
    pub patient_identifier: String,
    pub payload: String,
    pub received_at: UtcTime,
    pub mapped_to: Option<String>,
    pub appointment_id: Option<AppointmentId>,
    /// applied | stale | ignored | kept
    pub outcome: String,
    pub reason: String,
}

const INTEGRATION_COLUMNS: &str =
    "id, org_id, source_system, event_code, encounter_id, patient_identifier, payload,
     received_at, mapped_to, appointment_id, outcome, reason";

/// Filters for listing appointments; every one optional.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    pub status: Option<String>,
    pub from: Option<UtcTime>,
    pub to: Option<UtcTime>,
    pub practitioner: Option<PractitionerId>,
    pub location: Option<LocationId>,
    pub patient: Option<PatientId>,
    pub limit: i64,
    pub offset: i64,
}

impl Tx {
    /// The integration event already received with this key, if any.
    pub async fn integration_event(
        &mut self,
        org: OrgId,
        source: &str,
        code: &str,
        encounter: &str,
    ) -> Result<Option<IntegrationEventRow>, StoreError> {
        let sql = format!(
            "select {INTEGRATION_COLUMNS} from integration_events
              where org_id = $1 and source_system = $2 and event_code = $3 and encounter_id = $4"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(source)
            .bind(code)
            .bind(encounter)
            .fetch_optional(c)
            .await)?)
    }

    pub async fn insert_integration_event(&mut self, e: &IntegrationEventRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into integration_events ({INTEGRATION_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.id)
            .bind(e.org_id)
            .bind(&e.source_system)
            .bind(&e.event_code)
            .bind(&e.encounter_id)
            .bind(&e.patient_identifier)
            .bind(&e.payload)
            .bind(e.received_at)
            .bind(&e.mapped_to)
            .bind(e.appointment_id)
            .bind(&e.outcome)
            .bind(&e.reason)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The events among `message_ids` (all of `source`) received before: the prefetch of a batch.
    pub async fn appointment_events_by_messages(
        &mut self,
        org: OrgId,
        source: &str,
        message_ids: &[&str],
    ) -> Result<Vec<AppointmentEventRow>, StoreError> {
        let lookup = KeyLookup {
            columns: EVENT_COLUMNS,
            from: "appointment_events",
            scope_sql: "org_id = $1 and source = $2",
            key: "source_message_id",
        };
        fetch_by_keys(self, &lookup, org, source, message_ids).await
    }

    /// The appointments among `external_ids` (all of `source`): the prefetch of a batch.
    pub async fn appointments_by_external_ids(
        &mut self,
        org: OrgId,
        source: &str,
        external_ids: &[&str],
    ) -> Result<Vec<AppointmentRow>, StoreError> {
        let lookup = KeyLookup {
            columns: COLUMNS,
            from: "appointments",
            scope_sql: "org_id = $1 and source = $2",
            key: "external_id",
        };
        fetch_by_keys(self, &lookup, org, source, external_ids).await
    }

    /// The patients (followed to their survivor when merged) among the identifier `values` of
    /// `system`, as (value, patient): the prefetch of a batch.
    pub async fn patients_by_identifiers(
        &mut self,
        org: OrgId,
        system: &str,
        values: &[&str],
    ) -> Result<Vec<(String, PatientId)>, StoreError> {
        let lookup = KeyLookup {
            columns: "i.value, coalesce(p.merged_into, p.id)",
            from: "patient_identifiers i join patients p on p.org_id = i.org_id and p.id = i.patient_id",
            scope_sql: "i.org_id = $1 and i.system = $2",
            key: "i.value",
        };
        fetch_by_keys(self, &lookup, org, system, values).await
    }

    pub async fn appointment_by_external_id(
        &mut self,
        org: OrgId,
        source: &str,
        external_id: &str,
    ) -> Result<Option<AppointmentRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from appointments where org_id = $1 and source = $2 and external_id = $3"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(source)
            .bind(external_id)
            .fetch_optional(c)
            .await)?)
    }

    /// The patient's appointments that are not in a terminal status.
    pub async fn open_appointments_of(
        &mut self,
        org: OrgId,
        patient: PatientId,
    ) -> Result<Vec<AppointmentRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from appointments where org_id = $1 and patient_id = $2
               and status not in ('cancelled', 'noshow', 'entered-in-error', 'fulfilled') order by start_at, id"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(patient)
            .fetch_all(c)
            .await)?)
    }

    /// Inserts the appointment, or replaces the row with the same id.
    pub async fn save_appointment(&mut self, a: &AppointmentRow) -> Result<(), StoreError> {
        self.save_appointments(std::slice::from_ref(a)).await
    }

    /// Inserts the appointments, or replaces the rows with the same ids (each id at most once).
    pub async fn save_appointments(&mut self, rows: &[AppointmentRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(rows_per_statement(17)) {
            let sql = format!(
                "insert into appointments ({COLUMNS}) values {}
                 on conflict (id) do update set
                   patient_id = excluded.patient_id, practitioner_id = excluded.practitioner_id,
                   location_id = excluded.location_id, appointment_type = excluded.appointment_type,
                   start_at = excluded.start_at, time_zone = excluded.time_zone,
                   duration_minutes = excluded.duration_minutes, status = excluded.status,
                   reminders = excluded.reminders, participant_accepted = excluded.participant_accepted,
                   last_applied_at = excluded.last_applied_at, updated_at = excluded.updated_at",
                values_list(self, chunk.len(), 17)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in chunk {
                    q = q
                        .bind(a.id)
                        .bind(a.org_id)
                        .bind(&a.source)
                        .bind(&a.external_id)
                        .bind(a.patient_id)
                        .bind(a.practitioner_id)
                        .bind(a.location_id)
                        .bind(&a.appointment_type)
                        .bind(a.start_at)
                        .bind(&a.time_zone)
                        .bind(a.duration_minutes)
                        .bind(&a.status)
                        .bind(&a.reminders)
                        .bind(a.participant_accepted)
                        .bind(a.last_applied_at)
                        .bind(a.created_at)
                        .bind(a.updated_at);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    pub async fn insert_appointment_event(&mut self, e: &AppointmentEventRow) -> Result<(), StoreError> {
        self.insert_appointment_events(std::slice::from_ref(e)).await
    }

    pub async fn insert_appointment_events(
        &mut self,
        rows: &[AppointmentEventRow],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(rows_per_statement(12)) {
            let sql = format!(
                "insert into appointment_events ({EVENT_COLUMNS}) values {}",
                values_list(self, chunk.len(), 12)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for e in chunk {
                    q = q
                        .bind(e.id)
                        .bind(e.org_id)
                        .bind(e.appointment_id)
                        .bind(&e.source)
                        .bind(&e.source_message_id)
                        .bind(&e.event_type)
                        .bind(e.event_at)
                        .bind(e.received_at)
                        .bind(&e.payload)
                        .bind(&e.outcome)
                        .bind(&e.reason)
                        .bind(&e.result);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Which of `patients` have an opt-out as their latest consent on `channel`: the prefetch of a
    /// batch (see [`Tx::opted_out`]).
    pub async fn opted_out_among(
        &mut self,
        org: OrgId,
        patients: &[PatientId],
        channel: &str,
    ) -> Result<HashSet<PatientId>, StoreError> {
        let mut out = HashSet::new();
        // On SQLite the list is one JSON array, as in `fetch_by_keys` (no numbered parameters).
        let sqlite = matches!(self, Tx::Sqlite(_));
        for chunk in patients.chunks(IN_LIST_CHUNK) {
            let list = if sqlite { json_list(3) } else { placeholders(3, chunk.len()) };
            let sql = format!(
                "select patient_id, opted_in from consents where org_id = $1 and channel = $2
                   and patient_id in ({list}) order by patient_id, recorded_at desc, id desc"
            );
            let rows: Vec<(PatientId, bool)> = on_tx!(self, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).bind(channel);
                if sqlite {
                    q = q.bind(json_array(chunk.iter().map(ToString::to_string)));
                } else {
                    for p in chunk {
                        q = q.bind(*p);
                    }
                }
                q.fetch_all(c).await
            })?;
            let mut previous = None;
            for (patient, opted_in) in rows {
                if previous != Some(patient) && !opted_in {
                    out.insert(patient);
                }
                previous = Some(patient);
            }
        }
        Ok(out)
    }

    /// The locations among `names`, as (name, id, zone): the prefetch of a batch.
    pub async fn locations_by_names(
        &mut self,
        org: OrgId,
        names: &[&str],
    ) -> Result<Vec<(String, LocationId, String)>, StoreError> {
        let mut out = Vec::new();
        for chunk in names.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "select name, id, time_zone from locations where org_id = $1 and name in ({})",
                placeholders(2, chunk.len())
            );
            let rows: Vec<(String, LocationId, String)> = on_tx!(self, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org);
                for n in chunk {
                    q = q.bind(*n);
                }
                q.fetch_all(c).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The practitioners among the EHR's `external_ids`, as (external id, id): the prefetch of a batch.
    pub async fn practitioners_by_external_ids(
        &mut self,
        org: OrgId,
        external_ids: &[&str],
    ) -> Result<Vec<(String, PractitionerId)>, StoreError> {
        let mut out = Vec::new();
        for chunk in external_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "select external_id, id from practitioners where org_id = $1 and external_id in ({})",
                placeholders(2, chunk.len())
            );
            let rows: Vec<(String, PractitionerId)> = on_tx!(self, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(c).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Whether the patient's latest consent on `channel` is an opt-out.
    pub async fn opted_out(
        &mut self,
        org: OrgId,
        patient: PatientId,
        channel: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "select opted_in from consents where org_id = $1 and patient_id = $2 and channel = $3
                            order by recorded_at desc, id desc limit 1";
        let latest: Option<bool> = on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(patient)
            .bind(channel)
            .fetch_optional(c)
            .await)?;
        Ok(latest == Some(false))
    }

    pub async fn location_id_by_name(
        &mut self,
        org: OrgId,
        name: &str,
    ) -> Result<Option<(LocationId, String)>, StoreError> {
        const SQL: &str = "select id, time_zone from locations where org_id = $1 and name = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL).bind(org).bind(name).fetch_optional(c).await)?)
    }

    pub async fn practitioner_id_by_external_id(
        &mut self,
        org: OrgId,
        external_id: &str,
    ) -> Result<Option<PractitionerId>, StoreError> {
        const SQL: &str = "select id from practitioners where org_id = $1 and external_id = $2";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL).bind(org).bind(external_id).fetch_optional(c).await)?)
    }

    pub async fn organization_time_zone(&mut self, org: OrgId) -> Result<String, StoreError> {
        const SQL: &str = "select time_zone from organizations where id = $1";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL).bind(org).fetch_one(c).await)?)
    }
}

impl Store {
    pub async fn appointment(&self, org: OrgId, id: AppointmentId) -> Result<AppointmentRow, StoreError> {
        let sql = format!("select {COLUMNS} from appointments where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// Appointments by start time, then id; paged.
    pub async fn list_appointments(
        &self,
        org: OrgId,
        f: &AppointmentFilter,
    ) -> Result<Vec<AppointmentRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from appointments where {FILTER_SQL} order by start_at, id limit $8 offset $9"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(&f.status)
            .bind(f.from)
            .bind(f.to)
            .bind(f.practitioner)
            .bind(f.location)
            .bind(f.patient)
            .bind(f.limit.clamp(1, 1000))
            .bind(f.offset.max(0))
            .fetch_all(p)
            .await)?)
    }

    /// Every event received about an appointment, in the order received.
    pub async fn appointment_events(
        &self,
        org: OrgId,
        appointment: AppointmentId,
    ) -> Result<Vec<AppointmentEventRow>, StoreError> {
        let sql = format!(
            "select {EVENT_COLUMNS} from appointment_events where org_id = $1 and appointment_id = $2
              order by received_at, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(appointment)
            .fetch_all(p)
            .await)?)
    }

    /// Every appointment matching `f` (limit and offset ignored), streamed: rows arrive through a
    /// bounded channel as the database yields them, so an export of any size runs in constant memory.
    pub fn stream_appointments(
        &self,
        org: OrgId,
        f: AppointmentFilter,
    ) -> mpsc::Receiver<Result<AppointmentRow, StoreError>> {
        self.stream(
            format!("select {COLUMNS} from appointments where {FILTER_SQL} order by start_at, id"),
            org,
            f,
        )
    }

    /// Every event received about the appointments matching `f`, streamed like `stream_appointments`.
    pub fn stream_appointment_events(
        &self,
        org: OrgId,
        f: AppointmentFilter,
    ) -> mpsc::Receiver<Result<AppointmentEventRow, StoreError>> {
        let columns =
            EVENT_COLUMNS.split(", ").map(|c| format!("e.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.stream(
            format!(
                "select {columns} from appointment_events e
                  where e.org_id = $1 and e.appointment_id in (select id from appointments where {FILTER_SQL})
                  order by e.received_at, e.id"
            ),
            org,
            f,
        )
    }

    /// Runs `sql` (binding `org` and the filter as `FILTER_SQL` numbers them) and streams its rows.
    fn stream<T>(
        &self,
        sql: String,
        org: OrgId,
        f: AppointmentFilter,
    ) -> mpsc::Receiver<Result<T, StoreError>>
    where
        T: Send + Unpin + 'static,
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let store = self.clone();
        tokio::spawn(async move {
            on_pool!(&store, |p| {
                let mut rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
                    .bind(org)
                    .bind(&f.status)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.practitioner)
                    .bind(f.location)
                    .bind(f.patient)
                    .fetch(p);
                while let Some(row) = rows.next().await {
                    if tx.send(row.map_err(StoreError::from)).await.is_err() {
                        break; // the client went away
                    }
                }
            });
        });
        rx
    }
}

/// Values per `in (…)` list: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const IN_LIST_CHUNK: usize = 500;
