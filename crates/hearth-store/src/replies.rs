//! Patient replies: what each inbound message meant and what was done about it, the staff inbox, and
//! the lookups reply processing needs (the patients of a number, the prompts sent to it). See
//! `migrations/postgres/0014_replies.sql`.

use hearth_core::{AppointmentId, InboundMessageId, MessageId, OrgId, PatientId, UserId, UtcTime};

use crate::outbox::HistoryRow;
use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReplyRow {
    /// The inbound message's id.
    pub id: InboundMessageId,
    pub org_id: OrgId,
    pub channel: String,
    pub from_address: String,
    pub body: String,
    pub received_at: UtcTime,
    /// opt_out | opt_in | help | confirm | cancel | other
    pub kind: String,
    pub normalized: String,
    pub reads_as_opt_out: bool,
    pub outcome: String,
    pub patients_on_number: i32,
    pub patient_id: Option<PatientId>,
    pub appointment_id: Option<AppointmentId>,
    pub prompt_message_id: Option<MessageId>,
    /// None (handled automatically) | open | assigned | done
    pub inbox_status: Option<String>,
    pub assigned_to: Option<UserId>,
    pub assigned_at: Option<UtcTime>,
    pub done_at: Option<UtcTime>,
    pub done_by: Option<UserId>,
    pub updated_at: UtcTime,
}

const COLUMNS: &str = "id, org_id, channel, from_address, body, received_at, kind, normalized, reads_as_opt_out, \
     outcome, patients_on_number, patient_id, appointment_id, prompt_message_id, inbox_status, assigned_to, \
     assigned_at, done_at, done_by, updated_at";

/// A patient reachable at a phone number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NumberPatientRow {
    pub id: PatientId,
    pub given_names: String,
    pub family_name: String,
    pub preferred_language: Option<String>,
}

/// An outbound message that may have asked for a reply (a reminder or booking notice).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromptRow {
    pub id: MessageId,
    pub patient_id: Option<PatientId>,
    pub channel: String,
    pub purpose: String,
    pub language: String,
    pub cause_type: Option<String>,
    pub cause_id: Option<String>,
    pub status: String,
    pub created_at: UtcTime,
    pub sent_at: Option<UtcTime>,
}

/// Which inbox items to list.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Any of these statuses (`open`, `assigned`, `done`).
    pub statuses: Vec<String>,
    pub assigned_to: Option<UserId>,
    pub limit: i64,
    pub offset: i64,
}

/// A staff change of an inbox item.
#[derive(Debug, Clone)]
pub struct InboxChange {
    pub status: String,
    pub assigned_to: Option<UserId>,
    pub assigned_at: Option<UtcTime>,
    pub done_at: Option<UtcTime>,
    pub done_by: Option<UserId>,
    pub now: UtcTime,
}

impl Tx {
    /// Marks an inbound message processed, unless it already is: the one statement that makes
    /// processing happen exactly once (the transaction doing the work starts with it; a second
    /// processor finds nothing to claim). `false` when it was processed already.
    pub async fn claim_inbound(
        &mut self,
        id: InboundMessageId,
        outcome: &str,
        now: UtcTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "update inbound_messages set processed_at = $2, outcome = $3
                            where id = $1 and processed_at is null";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .bind(outcome)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn insert_reply(&mut self, r: &ReplyRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into replies ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                    $15, $16, $17, $18, $19, $20)"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.org_id)
            .bind(&r.channel)
            .bind(&r.from_address)
            .bind(&r.body)
            .bind(r.received_at)
            .bind(&r.kind)
            .bind(&r.normalized)
            .bind(r.reads_as_opt_out)
            .bind(&r.outcome)
            .bind(r.patients_on_number)
            .bind(r.patient_id)
            .bind(r.appointment_id)
            .bind(r.prompt_message_id)
            .bind(&r.inbox_status)
            .bind(r.assigned_to)
            .bind(r.assigned_at)
            .bind(r.done_at)
            .bind(r.done_by)
            .bind(r.updated_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Links a reply to the appointments it was about.
    pub async fn insert_reply_appointments(
        &mut self,
        org: OrgId,
        reply: InboundMessageId,
        appointments: &[AppointmentId],
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "insert into reply_appointments (org_id, reply_id, appointment_id) values ($1, $2, $3)
                           on conflict (reply_id, appointment_id) do nothing";
        for a in appointments {
            on_tx!(self, |c| sqlx::query(SQL).bind(org).bind(reply).bind(*a).execute(c).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Cancels every queued message on `channel` to `address` (a STOP), with the reason in each
    /// message's history, except the confirmations of earlier opt-outs (purpose `opt_out`). Returns
    /// their ids.
    pub async fn cancel_queued_to(
        &mut self,
        org: OrgId,
        channel: &str,
        address: &str,
        reason: &str,
        now: UtcTime,
    ) -> Result<Vec<MessageId>, StoreError> {
        const SQL: &str =
            "update messages set status = 'canceled', status_reason = $4, next_attempt_at = null,
                                  updated_at = $5
                            where org_id = $1 and to_address = $2 and channel = $3 and status = 'queued'
                              and purpose <> 'opt_out'
                            returning id";
        let ids: Vec<MessageId> = on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(address)
            .bind(channel)
            .bind(reason)
            .bind(now)
            .fetch_all(c)
            .await)?;
        let history: Vec<HistoryRow> = ids
            .iter()
            .map(|id| HistoryRow {
                org_id: org,
                message_id: *id,
                at: now,
                from_status: Some("queued".into()),
                to_status: "canceled".into(),
                source: "worker".into(),
                reason: Some(reason.to_owned()),
                applied: true,
            })
            .collect();
        if !history.is_empty() {
            self.insert_history(&history).await?;
        }
        Ok(ids)
    }

    /// One reply, locked for the rest of the transaction on PostgreSQL (SQLite's write transaction
    /// already excludes other writers).
    pub async fn reply_for_update(
        &mut self,
        org: OrgId,
        id: InboundMessageId,
    ) -> Result<ReplyRow, StoreError> {
        let sql = format!("select {COLUMNS} from replies where org_id = $1 and id = $2");
        Ok(match self {
            Tx::Sqlite(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).bind(id).fetch_one(&mut **t).await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{sql} for update")))
                    .bind(org)
                    .bind(id)
                    .fetch_one(&mut **t)
                    .await?
            }
        })
    }

    /// Writes a staff change of an inbox item.
    pub async fn update_inbox(
        &mut self,
        org: OrgId,
        id: InboundMessageId,
        ch: &InboxChange,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "update replies set inbox_status = $3, assigned_to = $4, assigned_at = $5, done_at = $6,
                                  done_by = $7, updated_at = $8
                            where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(&ch.status)
            .bind(ch.assigned_to)
            .bind(ch.assigned_at)
            .bind(ch.done_at)
            .bind(ch.done_by)
            .bind(ch.now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// The patients (active or inactive; not merged or deleted) with this phone number, oldest first.
    pub async fn patients_with_phone(
        &self,
        org: OrgId,
        phone: &str,
    ) -> Result<Vec<NumberPatientRow>, StoreError> {
        const SQL: &str = "select distinct p.id, p.given_names, p.family_name, p.preferred_language
                             from patient_contacts c join patients p on p.org_id = c.org_id and p.id = c.patient_id
                            where c.org_id = $1 and c.kind = 'phone' and c.value = $2
                              and p.status in ('active', 'inactive')
                            order by p.id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(phone).fetch_all(p).await)?)
    }

    /// The messages sent (or delivered) to `address` since `since` for one of `purposes`, newest
    /// first: the prompts a reply may answer.
    pub async fn prompts_to(
        &self,
        org: OrgId,
        address: &str,
        purposes: &[&str],
        since: UtcTime,
        limit: i64,
    ) -> Result<Vec<PromptRow>, StoreError> {
        let list = (0..purposes.len()).map(|i| format!("${}", i + 5)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "select id, patient_id, channel, purpose, language, cause_type, cause_id, status, created_at, sent_at
               from messages
              where org_id = $1 and to_address = $2 and created_at >= $3 and status in ('sent', 'delivered')
                and purpose in ({list})
              order by created_at desc, id desc limit $4"
        );
        Ok(on_pool!(self, |p| {
            let mut q =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).bind(address).bind(since).bind(limit);
            for purpose in purposes {
                q = q.bind(*purpose);
            }
            q.fetch_all(p).await
        })?)
    }

    /// Whether the latest consent entry for `address` on `channel`, whoever's it is, is an opt-out.
    pub async fn address_opted_out(
        &self,
        org: OrgId,
        channel: &str,
        address: &str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "select opted_in from consents where org_id = $1 and channel = $2 and address = $3
             order by recorded_at desc, id desc limit 1";
        let latest: Option<bool> = on_pool!(self, |p| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(channel)
            .bind(address)
            .fetch_optional(p)
            .await)?;
        Ok(latest == Some(false))
    }

    /// The value of a patient's identifier in `system` (the EHR's id for the patient), if any.
    pub async fn patient_identifier(
        &self,
        org: OrgId,
        patient: PatientId,
        system: &str,
    ) -> Result<Option<String>, StoreError> {
        const SQL: &str = "select value from patient_identifiers
                            where org_id = $1 and patient_id = $2 and system = $3 order by value limit 1";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(patient)
            .bind(system)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn reply(&self, org: OrgId, id: InboundMessageId) -> Result<ReplyRow, StoreError> {
        let sql = format!("select {COLUMNS} from replies where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// Inbox items, newest first.
    pub async fn list_inbox(&self, org: OrgId, f: &InboxFilter) -> Result<Vec<ReplyRow>, StoreError> {
        let statuses = if f.statuses.is_empty() {
            vec!["open".to_owned(), "assigned".to_owned()]
        } else {
            f.statuses.clone()
        };
        let list = (0..statuses.len()).map(|i| format!("${}", i + 5)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "select {COLUMNS} from replies
              where org_id = $1 and inbox_status in ({list}) and ($2 is null or assigned_to = $2)
              order by received_at desc, id desc limit $3 offset $4"
        );
        Ok(on_pool!(self, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(org)
                .bind(f.assigned_to)
                .bind(f.limit)
                .bind(f.offset);
            for s in &statuses {
                q = q.bind(s);
            }
            q.fetch_all(p).await
        })?)
    }

    /// Inbox items per status: (status, count).
    pub async fn inbox_counts(&self, org: OrgId) -> Result<Vec<(String, i64)>, StoreError> {
        const SQL: &str = "select inbox_status, count(*) from replies
                            where org_id = $1 and inbox_status is not null group by inbox_status";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }

    /// The latest replies from one number, newest first (the conversation around an inbox item).
    pub async fn replies_from(
        &self,
        org: OrgId,
        from_address: &str,
        limit: i64,
    ) -> Result<Vec<ReplyRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from replies where org_id = $1 and from_address = $2
              order by received_at desc, id desc limit $3"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(from_address)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// The replies about an appointment, oldest first.
    pub async fn replies_about(
        &self,
        org: OrgId,
        appointment: AppointmentId,
    ) -> Result<Vec<ReplyRow>, StoreError> {
        let cols = COLUMNS.split(", ").map(|c| format!("r.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "select {cols} from reply_appointments ra join replies r on r.id = ra.reply_id
              where ra.org_id = $1 and ra.appointment_id = $2 order by r.received_at, r.id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(appointment)
            .fetch_all(p)
            .await)?)
    }

    /// The appointments a reply was about.
    pub async fn reply_appointment_ids(
        &self,
        org: OrgId,
        reply: InboundMessageId,
    ) -> Result<Vec<AppointmentId>, StoreError> {
        const SQL: &str = "select appointment_id from reply_appointments where org_id = $1 and reply_id = $2
                            order by appointment_id";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).bind(org).bind(reply).fetch_all(p).await)?)
    }

    /// Messages caused by (`cause_type`, `cause_id`) to `address`, oldest first (e.g. staff answers
    /// to an inbox item).
    pub async fn messages_caused_by(
        &self,
        org: OrgId,
        address: &str,
        cause_type: &str,
        cause_id: &str,
    ) -> Result<Vec<MessageId>, StoreError> {
        const SQL: &str = "select id from messages
                            where org_id = $1 and to_address = $2 and cause_type = $3 and cause_id = $4
                            order by created_at, id";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(address)
            .bind(cause_type)
            .bind(cause_id)
            .fetch_all(p)
            .await)?)
    }

    /// Reply receipts not processed yet and received before `before`, oldest first (recovery after a
    /// crash, or a processing task that failed).
    pub async fn unprocessed_replies(
        &self,
        before: UtcTime,
        limit: i64,
    ) -> Result<Vec<crate::inbound::InboundRow>, StoreError> {
        let rows = self.unprocessed_inbound("reply", limit).await?;
        Ok(rows.into_iter().filter(|r| r.received_at <= before).collect())
    }
}
