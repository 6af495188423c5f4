//! Patients' confirm and cancel requests on their way to the EHR: written in the transaction that
//! processed the reply, claimed with a lease (expired leases are claimed again), settled in one
//! statement. See `migrations/postgres/0014_replies.sql`.

use hearth_core::{AppointmentId, EhrRequestId, InboundMessageId, OrgId, PatientId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EhrRequestRow {
    pub id: EhrRequestId,
    pub org_id: OrgId,
    pub reply_id: InboundMessageId,
    pub appointment_id: AppointmentId,
    pub patient_id: PatientId,
    /// confirm | cancel
    pub kind: String,
    /// webhook | fhir
    pub method: String,
    /// The exact body sent on every attempt.
    pub payload: String,
    /// queued | sending | delivered | failed | dead
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<UtcTime>,
    pub lease_until: Option<UtcTime>,
    pub lease_owner: Option<String>,
    pub response_code: Option<String>,
    pub error_text: Option<String>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    pub delivered_at: Option<UtcTime>,
}

const COLUMNS: &str = "id, org_id, reply_id, appointment_id, patient_id, kind, method, payload, status, attempts, \
     max_attempts, next_attempt_at, lease_until, lease_owner, response_code, error_text, created_at, updated_at, \
     delivered_at";

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct EhrOutcome {
    pub id: EhrRequestId,
    /// delivered | queued (retry at `next_attempt_at`) | failed | dead
    pub status: String,
    pub next_attempt_at: Option<UtcTime>,
    pub response_code: Option<String>,
    pub error_text: Option<String>,
    pub now: UtcTime,
}

impl Tx {
    /// Writes a request; `false` when one for this reply and appointment exists already.
    pub async fn insert_ehr_request(&mut self, r: &EhrRequestRow) -> Result<bool, StoreError> {
        let sql = format!(
            "insert into ehr_requests ({COLUMNS})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             on conflict (reply_id, appointment_id) do nothing"
        );
        let n = on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.org_id)
            .bind(r.reply_id)
            .bind(r.appointment_id)
            .bind(r.patient_id)
            .bind(&r.kind)
            .bind(&r.method)
            .bind(&r.payload)
            .bind(&r.status)
            .bind(r.attempts)
            .bind(r.max_attempts)
            .bind(r.next_attempt_at)
            .bind(r.lease_until)
            .bind(&r.lease_owner)
            .bind(&r.response_code)
            .bind(&r.error_text)
            .bind(r.created_at)
            .bind(r.updated_at)
            .bind(r.delivered_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

impl Store {
    /// Claims due requests for `owner`: queued ones whose time has come and `sending` ones whose
    /// lease expired (their worker stopped: the EHR may have the request, so it is sent again with the
    /// same `request_id`). One statement; PostgreSQL claimers skip each other's rows.
    pub async fn claim_ehr_requests(
        &self,
        owner: &str,
        now: UtcTime,
        lease_until: UtcTime,
        limit: i64,
    ) -> Result<Vec<EhrRequestRow>, StoreError> {
        let sql = |lock: &str| {
            format!(
                "update ehr_requests set status = 'sending', lease_owner = $1, lease_until = $2,
                        attempts = attempts + 1, updated_at = $3
                  where id in (select id from ehr_requests
                                where (status = 'queued' and next_attempt_at <= $3)
                                   or (status = 'sending' and lease_until < $3)
                                order by next_attempt_at limit $4{lock})
                  returning {COLUMNS}"
            )
        };
        Ok(match self {
            Store::Sqlite(p, _) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql("")))
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
            Store::Postgres(p) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql(" for update skip locked")))
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
        })
    }

    /// Records an attempt's outcome, if the request is still leased by `owner` (a worker whose lease
    /// expired and was taken over records nothing). Returns whether it was recorded.
    pub async fn settle_ehr_request(&self, owner: &str, o: &EhrOutcome) -> Result<bool, StoreError> {
        const SQL: &str = "update ehr_requests
                              set status = $3, next_attempt_at = $4, response_code = $5, error_text = $6,
                                  updated_at = $7, lease_owner = null, lease_until = null,
                                  delivered_at = case when $3 = 'delivered' then $7 else delivered_at end
                            where id = $1 and lease_owner = $2 and status = 'sending'";
        let n = on_pool!(self, |p| sqlx::query(SQL)
            .bind(o.id)
            .bind(owner)
            .bind(&o.status)
            .bind(o.next_attempt_at)
            .bind(&o.response_code)
            .bind(&o.error_text)
            .bind(o.now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// When the next queued request is due (the worker sleeps until then).
    pub async fn next_ehr_request_due(&self) -> Result<Option<UtcTime>, StoreError> {
        const SQL: &str = "select min(next_attempt_at) from ehr_requests where status = 'queued'";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).fetch_one(p).await)?)
    }

    /// The requests about an appointment, oldest first.
    pub async fn ehr_requests_about(
        &self,
        org: OrgId,
        appointment: AppointmentId,
    ) -> Result<Vec<EhrRequestRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from ehr_requests where org_id = $1 and appointment_id = $2 order by created_at, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(appointment)
            .fetch_all(p)
            .await)?)
    }

    /// The requests a reply caused.
    pub async fn ehr_requests_of_reply(
        &self,
        org: OrgId,
        reply: InboundMessageId,
    ) -> Result<Vec<EhrRequestRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from ehr_requests where org_id = $1 and reply_id = $2 order by created_at, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(reply)
            .fetch_all(p)
            .await)?)
    }
}
