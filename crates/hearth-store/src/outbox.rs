//! The durable outbox: messages, their send attempts and status history, and the pacing buckets of
//! the senders. Enqueue runs inside the caller's transaction; a claim is one statement (PostgreSQL:
//! `for update skip locked`, SQLite: the single writer) committed before any network call; outcomes
//! are recorded in short transactions of their own. See `docs/outbox.md`.

use hearth_core::{MessageAttemptId, MessageId, OrgId, PatientId, UtcTime};

use crate::multi_row::{placeholders, values_list};
use crate::{Store, StoreError, Tx};

/// Bind parameters per multi-row insert, kept well under both backends' limits.
const MAX_ROWS_PER_INSERT: usize = 500;
/// Outcomes per set-based update (12 bind parameters each).
const OUTCOMES_PER_UPDATE: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub org_id: OrgId,
    pub patient_id: Option<PatientId>,
    pub channel: String,
    pub to_address: String,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub language: String,
    pub purpose: String,
    pub dedup_key: String,
    pub cause_type: Option<String>,
    pub cause_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    /// The pacing key: `provider:from` (`from` = `default` when the provider's default sender is used).
    pub sender: String,
    pub segments: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<UtcTime>,
    pub lease_until: Option<UtcTime>,
    pub lease_owner: Option<String>,
    pub valid_until: Option<UtcTime>,
    pub provider: Option<String>,
    pub provider_id: Option<String>,
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    pub sent_at: Option<UtcTime>,
}

pub(crate) const COLUMNS: &str =
    "id, org_id, patient_id, channel, to_address, from_address, subject, body, language, purpose,
     dedup_key, cause_type, cause_id, status, status_reason, sender, segments, attempts, max_attempts,
     next_attempt_at, lease_until, lease_owner, valid_until, provider, provider_id, error_code, error_text,
     created_at, updated_at, sent_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: MessageAttemptId,
    pub org_id: OrgId,
    pub message_id: MessageId,
    pub attempt: i32,
    pub provider: String,
    pub worker: String,
    pub started_at: UtcTime,
    pub finished_at: UtcTime,
    pub latency_ms: i32,
    /// accepted | transient | rejected
    pub outcome: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub provider_id: Option<String>,
}

const ATTEMPT_COLUMNS: &str = "id, org_id, message_id, attempt, provider, worker, started_at, finished_at,
     latency_ms, outcome, code, detail, provider_id";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub org_id: OrgId,
    pub message_id: MessageId,
    pub at: UtcTime,
    pub from_status: Option<String>,
    pub to_status: String,
    /// enqueue | worker | provider | staff | reconcile
    pub source: String,
    pub reason: Option<String>,
    /// False for a provider report that was kept but did not move the message (stale).
    pub applied: bool,
}

const HISTORY_COLUMNS: &str = "org_id, message_id, at, from_status, to_status, source, reason, applied";

/// Filters for listing messages; every one optional.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub patient: Option<PatientId>,
    /// Created at or after.
    pub from: Option<UtcTime>,
    /// Created before.
    pub to: Option<UtcTime>,
    pub limit: i64,
    pub offset: i64,
}

/// What one claim asks for.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub owner: &'a str,
    pub now: UtcTime,
    pub lease_until: UtcTime,
    pub limit: i64,
    /// Only this sender's messages (a paced sender).
    pub sender: Option<&'a str>,
    /// Never these senders' messages (the paced ones, claimed through their buckets).
    pub exclude_senders: &'a [String],
}

/// A sender's token bucket: `per_second` tokens flow in, at most `burst` wait.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub per_second: f64,
    pub burst: f64,
    /// Each message costs its segments (else 1).
    pub by_segments: bool,
}

/// The result of one send (or reconciliation) to write back.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub org_id: OrgId,
    pub message_id: MessageId,
    /// The status the message must be in for the outcome to apply (`sending` or `unknown`).
    pub from_status: &'static str,
    pub status: String,
    pub reason: Option<String>,
    pub provider: Option<String>,
    pub provider_id: Option<String>,
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub next_attempt_at: Option<UtcTime>,
    pub now: UtcTime,
    /// worker | reconcile
    pub source: &'static str,
    pub attempt: Option<AttemptRow>,
    /// An opt-out to append to the consent ledger with it (Twilio 21610).
    pub opt_out: Option<crate::patients::ConsentRow>,
}

/// Messages per status and channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusCount {
    pub status: String,
    pub channel: String,
    pub count: i64,
}

impl Tx {
    /// Inserts `m` unless the organization already has a message with its dedup key; returns the
    /// stored message and whether it was inserted now.
    pub async fn insert_message(&mut self, m: &MessageRow) -> Result<(MessageRow, bool), StoreError> {
        let sql = format!(
            "insert into messages ({COLUMNS}) values ({}) on conflict (org_id, dedup_key) do nothing",
            placeholders(1, 30)
        );
        let inserted = on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(m.id)
            .bind(m.org_id)
            .bind(m.patient_id)
            .bind(&m.channel)
            .bind(&m.to_address)
            .bind(&m.from_address)
            .bind(&m.subject)
            .bind(&m.body)
            .bind(&m.language)
            .bind(&m.purpose)
            .bind(&m.dedup_key)
            .bind(&m.cause_type)
            .bind(&m.cause_id)
            .bind(&m.status)
            .bind(&m.status_reason)
            .bind(&m.sender)
            .bind(m.segments)
            .bind(m.attempts)
            .bind(m.max_attempts)
            .bind(m.next_attempt_at)
            .bind(m.lease_until)
            .bind(&m.lease_owner)
            .bind(m.valid_until)
            .bind(&m.provider)
            .bind(&m.provider_id)
            .bind(&m.error_code)
            .bind(&m.error_text)
            .bind(m.created_at)
            .bind(m.updated_at)
            .bind(m.sent_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if inserted == 1 {
            return Ok((m.clone(), true));
        }
        let sql = format!("select {COLUMNS} from messages where org_id = $1 and dedup_key = $2");
        let existing = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(m.org_id)
            .bind(&m.dedup_key)
            .fetch_one(c)
            .await)?;
        Ok((existing, false))
    }

    /// Appends status-history rows.
    pub async fn insert_history(&mut self, rows: &[HistoryRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(MAX_ROWS_PER_INSERT) {
            let sql = format!(
                "insert into message_status_history ({HISTORY_COLUMNS}) values {}",
                values_list(self, chunk.len(), 8)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for h in chunk {
                    q = q
                        .bind(h.org_id)
                        .bind(h.message_id)
                        .bind(h.at)
                        .bind(&h.from_status)
                        .bind(&h.to_status)
                        .bind(&h.source)
                        .bind(&h.reason)
                        .bind(h.applied);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    async fn insert_attempts(&mut self, rows: &[&AttemptRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(MAX_ROWS_PER_INSERT) {
            let sql = format!(
                "insert into message_attempts ({ATTEMPT_COLUMNS}) values {}",
                values_list(self, chunk.len(), 13)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in chunk {
                    q = q
                        .bind(a.id)
                        .bind(a.org_id)
                        .bind(a.message_id)
                        .bind(a.attempt)
                        .bind(&a.provider)
                        .bind(&a.worker)
                        .bind(a.started_at)
                        .bind(a.finished_at)
                        .bind(a.latency_ms)
                        .bind(&a.outcome)
                        .bind(&a.code)
                        .bind(&a.detail)
                        .bind(&a.provider_id);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The latest consent entry for a patient's channel and address: `Some(true)` opted in,
    /// `Some(false)` opted out, `None` never asked.
    pub async fn latest_consent(
        &mut self,
        org: OrgId,
        patient: PatientId,
        channel: &str,
        address: &str,
    ) -> Result<Option<bool>, StoreError> {
        const SQL: &str = "select opted_in from consents
             where org_id = $1 and patient_id = $2 and channel = $3 and address = $4
             order by recorded_at desc, id desc limit 1";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(patient)
            .bind(channel)
            .bind(address)
            .fetch_optional(c)
            .await)?)
    }

    /// The latest consent entry for an address on a channel, whoever's it is.
    pub async fn latest_consent_for_address(
        &mut self,
        org: OrgId,
        channel: &str,
        address: &str,
    ) -> Result<Option<bool>, StoreError> {
        const SQL: &str = "select opted_in from consents where org_id = $1 and channel = $2 and address = $3
             order by recorded_at desc, id desc limit 1";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(channel)
            .bind(address)
            .fetch_optional(c)
            .await)?)
    }

    /// One message, locked for the rest of the transaction on PostgreSQL (SQLite's write transaction
    /// already excludes other writers).
    pub async fn message_for_update(&mut self, org: OrgId, id: MessageId) -> Result<MessageRow, StoreError> {
        let sql = format!("select {COLUMNS} from messages where org_id = $1 and id = $2");
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

    /// The message a provider knows by `provider_id`, locked like [`Tx::message_for_update`].
    pub async fn message_by_provider_id(
        &mut self,
        provider: &str,
        provider_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from messages where provider = $1 and provider_id = $2 order by created_at limit 1"
        );
        Ok(match self {
            Tx::Sqlite(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(provider)
                    .bind(provider_id)
                    .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{sql} for update")))
                    .bind(provider)
                    .bind(provider_id)
                    .fetch_optional(&mut **t)
                    .await?
            }
        })
    }

    /// Writes a message's lifecycle fields as given (the caller read it with
    /// [`Tx::message_for_update`] and decided).
    pub async fn update_message_state(&mut self, m: &MessageRow) -> Result<(), StoreError> {
        const SQL: &str =
            "update messages set status = $3, status_reason = $4, attempts = $5, max_attempts = $6,
                next_attempt_at = $7, lease_until = $8, lease_owner = $9, provider = $10, provider_id = $11,
                error_code = $12, error_text = $13, updated_at = $14, sent_at = $15
             where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(m.org_id)
            .bind(m.id)
            .bind(&m.status)
            .bind(&m.status_reason)
            .bind(m.attempts)
            .bind(m.max_attempts)
            .bind(m.next_attempt_at)
            .bind(m.lease_until)
            .bind(&m.lease_owner)
            .bind(&m.provider)
            .bind(&m.provider_id)
            .bind(&m.error_code)
            .bind(&m.error_text)
            .bind(m.updated_at)
            .bind(m.sent_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records outcomes (see [`Store::record_outcomes`]) inside this transaction: one set-based
    /// `UPDATE … FROM (VALUES …)` per [`OUTCOMES_PER_UPDATE`] messages, then the attempt and history
    /// rows of the messages that moved, with multi-row inserts.
    pub async fn record_outcomes(&mut self, outcomes: &[Outcome]) -> Result<usize, StoreError> {
        let mut history = Vec::with_capacity(outcomes.len());
        for chunk in outcomes.chunks(OUTCOMES_PER_UPDATE) {
            let moved = self.update_from_outcomes(chunk).await?;
            for o in chunk.iter().filter(|o| moved.contains(&o.message_id)) {
                history.push(HistoryRow {
                    org_id: o.org_id,
                    message_id: o.message_id,
                    at: o.now,
                    from_status: Some(o.from_status.to_owned()),
                    to_status: o.status.clone(),
                    source: o.source.to_owned(),
                    reason: o.reason.clone().or_else(|| o.error_code.clone()),
                    applied: true,
                });
                if let Some(c) = &o.opt_out {
                    self.append_consent(o.org_id, c).await?;
                }
            }
        }
        let attempts: Vec<&AttemptRow> = outcomes.iter().filter_map(|o| o.attempt.as_ref()).collect();
        self.insert_attempts(&attempts).await?;
        self.insert_history(&history).await?;
        Ok(history.len())
    }

    /// Moves each message of `outcomes` that is still in its `from_status`, in one statement; returns
    /// the ids of those that moved.
    async fn update_from_outcomes(
        &mut self,
        outcomes: &[Outcome],
    ) -> Result<std::collections::HashSet<MessageId>, StoreError> {
        let sql = format!(
            "with v (id, org_id, from_status, status, reason, provider, provider_id, error_code, error_text,
                     next_attempt_at, now, sent) as (values {})
             update messages set status = v.status, status_reason = v.reason,
                    provider = coalesce(v.provider, messages.provider),
                    provider_id = coalesce(v.provider_id, messages.provider_id),
                    error_code = v.error_code, error_text = v.error_text, next_attempt_at = v.next_attempt_at,
                    lease_until = null, lease_owner = null, updated_at = v.now,
                    sent_at = case when v.sent then coalesce(messages.sent_at, v.now) else messages.sent_at end
               from v
              where messages.id = v.id and messages.org_id = v.org_id and messages.status = v.from_status
             returning messages.id",
            values_list(self, outcomes.len(), 12)
        );
        let moved: Vec<(MessageId,)> = on_tx!(self, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for o in outcomes {
                q = q
                    .bind(o.message_id)
                    .bind(o.org_id)
                    .bind(o.from_status)
                    .bind(&o.status)
                    .bind(&o.reason)
                    .bind(&o.provider)
                    .bind(&o.provider_id)
                    .bind(&o.error_code)
                    .bind(&o.error_text)
                    .bind(o.next_attempt_at)
                    .bind(o.now)
                    .bind(matches!(o.status.as_str(), "sent" | "delivered" | "undelivered"));
            }
            q.fetch_all(c).await
        })?;
        Ok(moved.into_iter().map(|(id,)| id).collect())
    }
}

impl Store {
    /// Claims due `queued` messages for `c.owner`: `sending`, leased until `c.lease_until`, one more
    /// attempt; the status change is in the history. Committed before it returns, so the caller holds
    /// no transaction while it sends.
    pub async fn claim_messages(&self, c: &Claim<'_>) -> Result<Vec<MessageRow>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = claim_in(&mut tx, c).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Claims a paced sender's due messages, as many as its token bucket allows (shared by every
    /// worker through the store). Returns the messages and, when the bucket ran dry, how long until
    /// the next token.
    pub async fn claim_paced(
        &self,
        c: &Claim<'_>,
        pace: Pace,
    ) -> Result<(Vec<MessageRow>, Option<std::time::Duration>), StoreError> {
        const SEED: &str = "insert into outbox_pacing (sender, tokens, updated_us) values ($1, $2, $3)
                            on conflict (sender) do nothing";
        const READ: &str = "select tokens, updated_us from outbox_pacing where sender = $1";
        const WRITE: &str = "update outbox_pacing set tokens = $2, updated_us = $3 where sender = $1";
        let sender = c.sender.ok_or_else(|| StoreError::Other("a paced claim needs a sender".into()))?;
        let now_us = c.now.as_micros();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |x| sqlx::query(SEED)
            .bind(sender)
            .bind(pace.burst)
            .bind(now_us)
            .execute(x)
            .await
            .map(|_| ()))?;
        let (tokens, updated_us): (f64, i64) = match &mut tx {
            Tx::Sqlite(t) => sqlx::query_as(READ).bind(sender).fetch_one(&mut **t).await?,
            Tx::Postgres(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{READ} for update")))
                    .bind(sender)
                    .fetch_one(&mut **t)
                    .await?
            }
        };
        #[allow(clippy::cast_precision_loss)] // microseconds of elapsed time: far inside f64's range
        let elapsed = (now_us - updated_us).max(0) as f64 / 1e6;
        let available = (tokens + elapsed * pace.per_second).min(pace.burst);
        #[allow(clippy::cast_possible_truncation)] // floor of a small positive number
        let grant = (available.floor() as i64).min(c.limit);
        let mut rows = Vec::new();
        if grant >= 1 {
            rows = claim_in(&mut tx, &Claim { limit: grant, ..c.clone() }).await?;
        }
        let cost: f64 =
            rows.iter().map(|m| if pace.by_segments { f64::from(m.segments.max(1)) } else { 1.0 }).sum();
        let left = available - cost;
        on_tx!(&mut tx, |x| sqlx::query(WRITE)
            .bind(sender)
            .bind(left)
            .bind(now_us)
            .execute(x)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        let wait = (left < 1.0)
            .then(|| std::time::Duration::from_secs_f64((1.0 - left) / pace.per_second.max(1e-6)));
        Ok((rows, wait))
    }

    /// Writes send outcomes in one transaction: each message moves from `from_status` (only if it is
    /// still there), its attempt and history rows are appended. Returns how many messages moved.
    pub async fn record_outcomes(&self, outcomes: &[Outcome]) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        // In this transaction of its own, so the planner settings end with it.
        tx.plan_by_index().await?;
        let n = tx.record_outcomes(outcomes).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Messages in `sending` whose lease expired, or whose lease holder is one of `dead_owners`,
    /// become `unknown` (to be reconciled with the provider before any resend). Returns how many.
    pub async fn sending_to_unknown(
        &self,
        now: UtcTime,
        dead_owners: &[String],
    ) -> Result<usize, StoreError> {
        let owners = if dead_owners.is_empty() {
            String::new()
        } else {
            format!(" or lease_owner in ({})", placeholders(2, dead_owners.len()))
        };
        let sql = format!(
            "update messages set status = 'unknown', status_reason = 'lease_lost', next_attempt_at = $1,
                    lease_until = null, lease_owner = null, updated_at = $1
              where status = 'sending' and (lease_until < $1{owners})
             returning org_id, id"
        );
        let mut tx = self.begin().await?;
        let moved: Vec<(OrgId, MessageId)> = on_tx!(&mut tx, |x| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now);
            for o in dead_owners {
                q = q.bind(o);
            }
            q.fetch_all(x).await
        })?;
        let history: Vec<HistoryRow> = moved
            .iter()
            .map(|(org, id)| HistoryRow {
                org_id: *org,
                message_id: *id,
                at: now,
                from_status: Some("sending".into()),
                to_status: "unknown".into(),
                source: "worker".into(),
                reason: Some("lease_lost".into()),
                applied: true,
            })
            .collect();
        tx.insert_history(&history).await?;
        tx.commit().await?;
        Ok(moved.len())
    }

    /// The holders of leases on messages in `sending`.
    pub async fn sending_lease_owners(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str =
            "select distinct lease_owner from messages where status = 'sending' and lease_owner is not null";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).fetch_all(p).await)?)
    }

    /// Queued messages whose validity has passed become `canceled` (reason `expired`), at most
    /// `limit` per call. Returns how many.
    pub async fn expire_messages(&self, now: UtcTime, limit: i64) -> Result<usize, StoreError> {
        const SQL: &str =
            "update messages set status = 'canceled', status_reason = 'expired', next_attempt_at = null,
                    updated_at = $1
              where id in (select id from messages where status = 'queued' and valid_until is not null
                             and valid_until <= $1 limit $2)
             returning org_id, id";
        let mut tx = self.begin().await?;
        let moved: Vec<(OrgId, MessageId)> =
            on_tx!(&mut tx, |x| sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(x).await)?;
        let history: Vec<HistoryRow> = moved
            .iter()
            .map(|(org, id)| HistoryRow {
                org_id: *org,
                message_id: *id,
                at: now,
                from_status: Some("queued".into()),
                to_status: "canceled".into(),
                source: "worker".into(),
                reason: Some("expired".into()),
                applied: true,
            })
            .collect();
        tx.insert_history(&history).await?;
        tx.commit().await?;
        Ok(moved.len())
    }

    /// Leases due `unknown` messages to `owner` for reconciliation (the status stays `unknown`).
    pub async fn claim_unknown(
        &self,
        owner: &str,
        now: UtcTime,
        lease_until: UtcTime,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let pick = "select id from messages where status = 'unknown' and next_attempt_at <= $3
                      and (lease_until is null or lease_until < $3) order by next_attempt_at limit $4";
        let sql = |lock: &str| {
            format!(
                "update messages set lease_owner = $1, lease_until = $2, updated_at = $3
                  where id in ({pick}{lock}) returning {COLUMNS}"
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

    /// The earliest moment a worker has something to do: a due retry or reconciliation, or a lease
    /// that expires.
    pub async fn next_outbox_wakeup(&self) -> Result<Option<UtcTime>, StoreError> {
        // Each status written out, so each query reads the first entry of its partial index.
        const DUE: [&str; 3] = [
            "select min(next_attempt_at) from messages where status = 'queued'",
            "select min(next_attempt_at) from messages where status = 'unknown'",
            "select min(lease_until) from messages where status = 'sending'",
        ];
        let mut times: Vec<Option<UtcTime>> = Vec::new();
        for sql in DUE {
            times.push(on_pool!(self, |p| sqlx::query_scalar(sql).fetch_one(p).await)?);
        }
        Ok(times.into_iter().flatten().min())
    }

    pub async fn message(&self, org: OrgId, id: MessageId) -> Result<MessageRow, StoreError> {
        let sql = format!("select {COLUMNS} from messages where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// The organization a message belongs to (for the CLI, which names messages by id alone).
    pub async fn message_org(&self, id: MessageId) -> Result<OrgId, StoreError> {
        const SQL: &str = "select org_id from messages where id = $1";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).bind(id).fetch_one(p).await)?)
    }

    /// Messages newest first.
    pub async fn list_messages(&self, org: OrgId, f: &MessageFilter) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from messages
              where org_id = $1 and ($2 is null or status = $2) and ($3 is null or channel = $3)
                and ($4 is null or patient_id = $4) and ($5 is null or created_at >= $5)
                and ($6 is null or created_at < $6)
              order by created_at desc, id desc limit $7 offset $8"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(&f.status)
            .bind(&f.channel)
            .bind(f.patient)
            .bind(f.from)
            .bind(f.to)
            .bind(f.limit.clamp(1, 1000))
            .bind(f.offset.max(0))
            .fetch_all(p)
            .await)?)
    }

    pub async fn message_attempts(&self, org: OrgId, id: MessageId) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!(
            "select {ATTEMPT_COLUMNS} from message_attempts where org_id = $1 and message_id = $2
              order by attempt, started_at"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    pub async fn message_history(&self, org: OrgId, id: MessageId) -> Result<Vec<HistoryRow>, StoreError> {
        let sql = format!(
            "select {HISTORY_COLUMNS} from message_status_history where org_id = $1 and message_id = $2 order by id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// An organization's messages still to be sent (`queued` or `sending`): a count of index entries,
    /// cheap enough to poll.
    pub async fn pending_messages(&self, org: OrgId) -> Result<i64, StoreError> {
        const SQL: &str =
            "select count(*) from messages where org_id = $1 and status in ('queued', 'sending')";
        let (n,): (i64,) = on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_one(p).await)?;
        Ok(n)
    }

    /// Messages per status and channel, over every organization (`org` = `None`) or one.
    pub async fn outbox_counts(&self, org: Option<OrgId>) -> Result<Vec<StatusCount>, StoreError> {
        const SQL: &str =
            "select status, channel, count(*) as count from messages where ($1 is null or org_id = $1)
             group by status, channel order by status, channel";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }
}

async fn claim_in(tx: &mut Tx, c: &Claim<'_>) -> Result<Vec<MessageRow>, StoreError> {
    let mut filter = String::new();
    let mut next = 5;
    if c.sender.is_some() {
        filter.push_str(" and sender = $5");
        next = 6;
    }
    if !c.exclude_senders.is_empty() {
        filter = format!("{filter} and sender not in ({})", placeholders(next, c.exclude_senders.len()));
    }
    let pick = format!(
        "select id from messages where status = 'queued' and next_attempt_at <= $3
            and (valid_until is null or valid_until > $3){filter} order by next_attempt_at limit $4"
    );
    let sql = |lock: &str| {
        format!(
            "update messages set status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1,
                    updated_at = $3
              where id in ({pick}{lock}) returning {COLUMNS}"
        )
    };
    tx.plan_by_index().await?;
    // SQLite: one statement in a write transaction is already exclusive. PostgreSQL: concurrent
    // claimers skip each other's rows instead of waiting for them.
    let rows: Vec<MessageRow> = match tx {
        Tx::Sqlite(t) => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql("")))
                .bind(c.owner)
                .bind(c.lease_until)
                .bind(c.now)
                .bind(c.limit);
            if let Some(s) = c.sender {
                q = q.bind(s);
            }
            for s in c.exclude_senders {
                q = q.bind(s);
            }
            q.fetch_all(&mut **t).await?
        }
        Tx::Postgres(t) => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql(" for update skip locked")))
                .bind(c.owner)
                .bind(c.lease_until)
                .bind(c.now)
                .bind(c.limit);
            if let Some(s) = c.sender {
                q = q.bind(s);
            }
            for s in c.exclude_senders {
                q = q.bind(s);
            }
            q.fetch_all(&mut **t).await?
        }
    };
    let history: Vec<HistoryRow> = rows
        .iter()
        .map(|m| HistoryRow {
            org_id: m.org_id,
            message_id: m.id,
            at: c.now,
            from_status: Some("queued".into()),
            to_status: "sending".into(),
            source: "worker".into(),
            reason: None,
            applied: true,
        })
        .collect();
    tx.insert_history(&history).await?;
    Ok(rows)
}
