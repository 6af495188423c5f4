//! Reminder scheduling: the rules, the work queue of changes still to plan, and the planner's
//! decisions. See `migrations/postgres/0013_reminders.sql`.

use hearth_core::{
    AppointmentEventId, AppointmentId, MessageId, OrgId, OutreachWorkId, PatientId, ReminderDecisionId,
    UtcTime,
};

use crate::appointments::{AppointmentRow, COLUMNS as APPOINTMENT_COLUMNS};
use crate::multi_row::{rows_per_statement, values_list};
use crate::outbox::{COLUMNS as MESSAGE_COLUMNS, MessageRow};
use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RuleRow {
    pub org_id: OrgId,
    /// `organization`, `location` or `appointment_type`.
    pub scope: String,
    /// `''` for the organization, else the location id or the appointment type.
    pub scope_key: String,
    /// JSON of `hearth_core::outreach::Rule`.
    pub rule: String,
    pub updated_at: UtcTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkRow {
    pub id: OutreachWorkId,
    pub org_id: OrgId,
    pub patient_id: PatientId,
    pub appointment_id: Option<AppointmentId>,
    pub event_id: Option<AppointmentEventId>,
    /// Comma-separated notice names (`booking_confirmation`, …); empty = re-plan only.
    pub notices: String,
    /// The start before a reschedule (for its notice).
    pub previous_start: Option<UtcTime>,
    pub created_at: UtcTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DecisionRow {
    pub id: ReminderDecisionId,
    pub org_id: OrgId,
    pub appointment_id: AppointmentId,
    pub k: i32,
    pub start_at: UtcTime,
    pub patient_id: PatientId,
    pub offset_text: String,
    pub due_at: UtcTime,
    pub send_at: Option<UtcTime>,
    /// `send`, `skipped` or `dropped`.
    pub decision: String,
    pub reason: Option<String>,
    pub moved_by: Option<String>,
    pub message_id: Option<MessageId>,
    pub decided_at: UtcTime,
}

const WORK_COLUMNS: &str =
    "id, org_id, patient_id, appointment_id, event_id, notices, previous_start, created_at";
const DECISION_COLUMNS: &str = "id, org_id, appointment_id, k, start_at, patient_id, offset_text, due_at, send_at, \
                                decision, reason, moved_by, message_id, decided_at";

impl Tx {
    /// Queues a change for the scheduler (in the change's transaction).
    pub async fn queue_outreach(&mut self, w: &WorkRow) -> Result<(), StoreError> {
        self.queue_outreach_many(std::slice::from_ref(w)).await
    }

    /// Queues changes for the scheduler, a few statements for all of them.
    pub async fn queue_outreach_many(&mut self, rows: &[WorkRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(rows_per_statement(8)) {
            let sql = format!(
                "insert into outreach_work ({WORK_COLUMNS}) values {}",
                values_list(self, chunk.len(), 8)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for w in chunk {
                    q = q
                        .bind(w.id)
                        .bind(w.org_id)
                        .bind(w.patient_id)
                        .bind(w.appointment_id)
                        .bind(w.event_id)
                        .bind(&w.notices)
                        .bind(w.previous_start)
                        .bind(w.created_at);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Queues a re-plan of every patient with an appointment starting after `now` (optionally only
    /// those at one location or of one type): a rule changed. Returns how many were queued.
    pub async fn queue_replan_all(
        &mut self,
        org: OrgId,
        location: Option<&str>,
        appointment_type: Option<&str>,
        now: UtcTime,
    ) -> Result<u64, StoreError> {
        let patients: Vec<(PatientId,)> = {
            const SQL: &str = "select distinct patient_id from appointments
                where org_id = $1 and start_at > $2
                  and (cast($3 as text) is null or cast(location_id as text) = cast($3 as text))
                  and (cast($4 as text) is null or appointment_type = cast($4 as text))";
            on_tx!(self, |c| sqlx::query_as(SQL)
                .bind(org)
                .bind(now)
                .bind(location)
                .bind(appointment_type)
                .fetch_all(c)
                .await)?
        };
        for (p,) in &patients {
            self.queue_outreach(&WorkRow {
                id: OutreachWorkId::new(),
                org_id: org,
                patient_id: *p,
                appointment_id: None,
                event_id: None,
                notices: String::new(),
                previous_start: None,
                created_at: now,
            })
            .await?;
        }
        Ok(patients.len() as u64)
    }

    /// Takes the oldest queued change and every other queued change of the same patient, deleting
    /// them (the caller plans and commits; a rollback puts them back). On PostgreSQL other workers
    /// skip the rows this one holds, and the patient is locked for the transaction so two workers
    /// never plan one patient at once. `None` when nothing is queued.
    pub async fn take_outreach_work(
        &mut self,
        now: UtcTime,
    ) -> Result<Option<(OrgId, PatientId, Vec<WorkRow>)>, StoreError> {
        let first: Option<(OrgId, PatientId)> = match self {
            Tx::Sqlite(t) => {
                sqlx::query_as(
                    "select org_id, patient_id from outreach_work where created_at <= $1 order by created_at, id limit 1",
                )
                .bind(now)
                .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                let row: Option<(OrgId, PatientId)> = sqlx::query_as(
                    "select org_id, patient_id from outreach_work where created_at <= $1 order by created_at, id
                      limit 1 for update skip locked",
                )
                .bind(now)
                .fetch_optional(&mut **t)
                .await?;
                if let Some((_, p)) = row {
                    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 7))")
                        .bind(p)
                        .execute(&mut **t)
                        .await?;
                }
                row
            }
        };
        let Some((org, patient)) = first else { return Ok(None) };
        let sql = format!(
            "delete from outreach_work where org_id = $1 and patient_id = $2 returning {WORK_COLUMNS}"
        );
        let mut rows: Vec<WorkRow> = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(patient)
            .fetch_all(c)
            .await)?;
        rows.sort_by_key(|r| (r.created_at, r.id));
        Ok(Some((org, patient, rows)))
    }

    /// Puts a patient's queued changes back until `until` (planning them failed; retried then).
    pub async fn defer_outreach_work(
        &mut self,
        org: OrgId,
        patient: PatientId,
        until: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update outreach_work set created_at = $3 where org_id = $1 and patient_id = $2";
        on_tx!(self, |c| sqlx::query(SQL).bind(org).bind(patient).bind(until).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// When the next queued change is due (`None`: nothing queued).
    pub async fn next_outreach_work(&mut self) -> Result<Option<UtcTime>, StoreError> {
        const SQL: &str = "select min(created_at) from outreach_work";
        let (t,): (Option<UtcTime>,) = on_tx!(self, |c| sqlx::query_as(SQL).fetch_one(c).await)?;
        Ok(t)
    }

    /// The patient's appointments starting after `after`, earliest first.
    pub async fn upcoming_appointments_of(
        &mut self,
        org: OrgId,
        patient: PatientId,
        after: UtcTime,
    ) -> Result<Vec<AppointmentRow>, StoreError> {
        let sql = format!(
            "select {APPOINTMENT_COLUMNS} from appointments where org_id = $1 and patient_id = $2 and start_at > $3
              order by start_at, id"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(patient)
            .bind(after)
            .fetch_all(c)
            .await)?)
    }

    /// The patient's messages that matter to planning: everything still queued, and everything
    /// created or sent since `since`.
    pub async fn planning_messages(
        &mut self,
        org: OrgId,
        patient: PatientId,
        since: UtcTime,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "select {MESSAGE_COLUMNS} from messages where org_id = $1 and patient_id = $2
               and (status = 'queued' or created_at >= $3 or sent_at >= $3) order by created_at, id"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(patient)
            .bind(since)
            .fetch_all(c)
            .await)?)
    }

    /// Moves a still-queued message to a new time, text and cause (a re-plan). `false` when it is no
    /// longer queued (a worker took it): it stands as it went.
    #[allow(clippy::too_many_arguments)] // the columns a re-plan may change
    pub async fn replan_queued_message(
        &mut self,
        org: OrgId,
        id: MessageId,
        next_attempt_at: UtcTime,
        valid_until: Option<UtcTime>,
        body: &str,
        segments: i32,
        cause: (&str, &str),
        now: UtcTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "update messages set next_attempt_at = $3, valid_until = $4, body = $5, segments = $6,
                cause_type = $7, cause_id = $8, updated_at = $9
             where org_id = $1 and id = $2 and status = 'queued'";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(next_attempt_at)
            .bind(valid_until)
            .bind(body)
            .bind(segments)
            .bind(cause.0)
            .bind(cause.1)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Cancels a message that is still queued, with `reason`. `false` when a worker took it first.
    pub async fn cancel_queued_message(
        &mut self,
        org: OrgId,
        id: MessageId,
        reason: &str,
        now: UtcTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "update messages set status = 'canceled', status_reason = $3, next_attempt_at = null,
                updated_at = $4
             where org_id = $1 and id = $2 and status = 'queued'";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(reason)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records (or replaces) the planner's decisions.
    pub async fn save_reminder_decisions(&mut self, rows: &[DecisionRow]) -> Result<(), StoreError> {
        let sql = format!(
            "insert into reminder_decisions ({DECISION_COLUMNS})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             on conflict (appointment_id, k, start_at) do update set offset_text = excluded.offset_text,
                due_at = excluded.due_at, send_at = excluded.send_at, decision = excluded.decision,
                reason = excluded.reason, moved_by = excluded.moved_by, message_id = excluded.message_id,
                decided_at = excluded.decided_at, patient_id = excluded.patient_id"
        );
        for d in rows {
            on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(d.id)
                .bind(d.org_id)
                .bind(d.appointment_id)
                .bind(d.k)
                .bind(d.start_at)
                .bind(d.patient_id)
                .bind(&d.offset_text)
                .bind(d.due_at)
                .bind(d.send_at)
                .bind(&d.decision)
                .bind(&d.reason)
                .bind(&d.moved_by)
                .bind(d.message_id)
                .bind(d.decided_at)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    /// Decisions about the given appointments (any start).
    pub async fn reminder_decisions_of(
        &mut self,
        org: OrgId,
        appointments: &[AppointmentId],
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let mut out = Vec::new();
        let sql = format!(
            "select {DECISION_COLUMNS} from reminder_decisions where org_id = $1 and appointment_id = $2
              order by start_at, k"
        );
        for a in appointments {
            let rows: Vec<DecisionRow> = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(org)
                .bind(a)
                .fetch_all(c)
                .await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The organization's rules (all scopes).
    pub async fn reminder_rules_in(&mut self, org: OrgId) -> Result<Vec<RuleRow>, StoreError> {
        const SQL: &str =
            "select org_id, scope, scope_key, rule, updated_at from reminder_rules where org_id = $1
                             order by scope, scope_key";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL).bind(org).fetch_all(c).await)?)
    }

    /// Inserts or replaces a rule.
    pub async fn put_reminder_rule(&mut self, r: &RuleRow) -> Result<(), StoreError> {
        const SQL: &str = "insert into reminder_rules (org_id, scope, scope_key, rule, updated_at)
             values ($1, $2, $3, $4, $5)
             on conflict (org_id, scope, scope_key) do update set rule = excluded.rule, updated_at = excluded.updated_at";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(r.org_id)
            .bind(&r.scope)
            .bind(&r.scope_key)
            .bind(&r.rule)
            .bind(r.updated_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Deletes a rule; `false` when there was none.
    pub async fn delete_reminder_rule(
        &mut self,
        org: OrgId,
        scope: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "delete from reminder_rules where org_id = $1 and scope = $2 and scope_key = $3";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(scope)
            .bind(key)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

impl Store {
    /// The organization's rules (all scopes).
    pub async fn reminder_rules(&self, org: OrgId) -> Result<Vec<RuleRow>, StoreError> {
        const SQL: &str =
            "select org_id, scope, scope_key, rule, updated_at from reminder_rules where org_id = $1
                             order by scope, scope_key";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }

    /// Decisions about one appointment, every start it had, newest start first.
    pub async fn reminder_decisions(
        &self,
        org: OrgId,
        appointment: AppointmentId,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let sql = format!(
            "select {DECISION_COLUMNS} from reminder_decisions where org_id = $1 and appointment_id = $2
              order by start_at desc, k"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(appointment)
            .fetch_all(p)
            .await)?)
    }

    /// How many changes wait for the scheduler.
    pub async fn outreach_backlog(&self) -> Result<i64, StoreError> {
        const SQL: &str = "select count(*) from outreach_work";
        let (n,): (i64,) = on_pool!(self, |p| sqlx::query_as(SQL).fetch_one(p).await)?;
        Ok(n)
    }
}
