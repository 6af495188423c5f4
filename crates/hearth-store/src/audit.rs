//! The audit trail: append-only (the schema's triggers refuse updates and deletes, and this module
//! has no function that issues one), one hash chain per organization.
//!
//! An append locks the organization's row in `audit_heads`, so concurrent writers on PostgreSQL take
//! turns and the chain never forks; on SQLite the write transaction already serializes them.

use hearth_core::audit::{ChainFields, GENESIS_HASH, event_hash};
use hearth_core::{AuditEventId, OrgId, UtcTime};

use crate::multi_row::{rows_per_statement, values_list};
use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEventRow {
    pub org_id: OrgId,
    pub seq: i64,
    pub id: AuditEventId,
    pub at: UtcTime,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: Option<String>,
    pub action: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

const COLUMNS: &str = "org_id, seq, id, at, actor_type, actor_id, actor_label, action, subject_type, subject_id, \
     ip, user_agent, request_id, before_json, after_json, prev_hash, hash";

impl AuditEventRow {
    /// The hash this row should have, recomputed from its stored fields and `prev_hash`.
    pub fn computed_hash(&self, prev_hash: &str) -> String {
        let org = self.org_id.to_string();
        let id = self.id.to_string();
        let at = self.at.to_db_text();
        event_hash(
            prev_hash,
            &ChainFields {
                org_id: &org,
                seq: self.seq,
                id: &id,
                at: &at,
                actor_type: &self.actor_type,
                actor_id: self.actor_id.as_deref(),
                actor_label: self.actor_label.as_deref(),
                action: &self.action,
                subject_type: self.subject_type.as_deref(),
                subject_id: self.subject_id.as_deref(),
                ip: self.ip.as_deref(),
                user_agent: self.user_agent.as_deref(),
                request_id: self.request_id.as_deref(),
                before_json: self.before_json.as_deref(),
                after_json: self.after_json.as_deref(),
            },
        )
    }
}

/// An event to append; `seq`, `prev_hash` and `hash` are assigned by [`Tx::append_audit`].
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    pub org_id: Option<OrgId>,
    pub at: Option<UtcTime>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: Option<String>,
    pub action: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// The organization id that holds events belonging to no organization.
pub const NO_ORG: OrgId = OrgId(uuid::Uuid::nil());

impl Tx {
    pub async fn append_audit(
        &mut self,
        e: &NewAuditEvent,
        now: UtcTime,
    ) -> Result<AuditEventRow, StoreError> {
        let mut rows = self.append_audit_many(std::slice::from_ref(e), now).await?;
        rows.pop().ok_or_else(|| StoreError::Other("no audit event appended".into()))
    }

    /// Appends events in order: each organization's chain advances once per run of its events (one
    /// sequence reservation, one multi-row insert, one head update), the same chain as appending them
    /// one by one.
    pub async fn append_audit_many(
        &mut self,
        events: &[NewAuditEvent],
        now: UtcTime,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        let mut out = Vec::with_capacity(events.len());
        let mut rest = events;
        while let Some(first) = rest.first() {
            let org = first.org_id.unwrap_or(NO_ORG);
            let run = rest.iter().take_while(|e| e.org_id.unwrap_or(NO_ORG) == org).count();
            let (these, after) = rest.split_at(run);
            out.extend(self.append_audit_run(org, these, now).await?);
            rest = after;
        }
        Ok(out)
    }

    /// Events of one organization.
    async fn append_audit_run(
        &mut self,
        org: OrgId,
        events: &[NewAuditEvent],
        now: UtcTime,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        const ENSURE_HEAD: &str = "insert into audit_heads (org_id, last_seq, last_hash) values ($1, 0, $2)
                                   on conflict (org_id) do nothing";
        const TAKE_SEQS: &str = "update audit_heads set last_seq = last_seq + $2 where org_id = $1
                                 returning last_seq, last_hash";
        const SET_HASH: &str = "update audit_heads set last_hash = $2 where org_id = $1";
        let count = i64::try_from(events.len()).map_err(|e| StoreError::Other(e.to_string()))?;
        on_tx!(self, |c| sqlx::query(ENSURE_HEAD).bind(org).bind(GENESIS_HASH).execute(c).await.map(|_| ()))?;
        let (last, mut prev_hash): (i64, String) =
            on_tx!(self, |c| sqlx::query_as(TAKE_SEQS).bind(org).bind(count).fetch_one(c).await)?;
        let mut rows = Vec::with_capacity(events.len());
        for (seq, e) in (last - count + 1..).zip(events) {
            let mut row = AuditEventRow {
                org_id: org,
                seq,
                id: AuditEventId::new(),
                at: e.at.unwrap_or(now),
                actor_type: e.actor_type.clone(),
                actor_id: e.actor_id.clone(),
                actor_label: e.actor_label.clone(),
                action: e.action.clone(),
                subject_type: e.subject_type.clone(),
                subject_id: e.subject_id.clone(),
                ip: e.ip.clone(),
                user_agent: e.user_agent.clone(),
                request_id: e.request_id.clone(),
                before_json: e.before_json.clone(),
                after_json: e.after_json.clone(),
                prev_hash: std::mem::take(&mut prev_hash),
                hash: String::new(),
            };
            row.hash = row.computed_hash(&row.prev_hash);
            prev_hash.clone_from(&row.hash);
            rows.push(row);
        }
        for chunk in rows.chunks(rows_per_statement(17)) {
            let insert =
                format!("insert into audit_events ({COLUMNS}) values {}", values_list(self, chunk.len(), 17));
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
                for r in chunk {
                    q = q
                        .bind(r.org_id)
                        .bind(r.seq)
                        .bind(r.id)
                        .bind(r.at)
                        .bind(&r.actor_type)
                        .bind(&r.actor_id)
                        .bind(&r.actor_label)
                        .bind(&r.action)
                        .bind(&r.subject_type)
                        .bind(&r.subject_id)
                        .bind(&r.ip)
                        .bind(&r.user_agent)
                        .bind(&r.request_id)
                        .bind(&r.before_json)
                        .bind(&r.after_json)
                        .bind(&r.prev_hash)
                        .bind(&r.hash);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        on_tx!(self, |c| sqlx::query(SET_HASH).bind(org).bind(&prev_hash).execute(c).await.map(|_| ()))?;
        Ok(rows)
    }
}

/// Filters for reading the trail; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub from: Option<UtcTime>,
    pub to: Option<UtcTime>,
    /// Only events with a smaller sequence number (paging backwards).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// Newest first.
    pub async fn list_audit(&self, org: OrgId, f: &AuditFilter) -> Result<Vec<AuditEventRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from audit_events
              where org_id = $1
                and ($2 is null or actor_id = $2)
                and ($3 is null or action = $3)
                and ($4 is null or subject_type = $4)
                and ($5 is null or subject_id = $5)
                and at >= $6 and at < $7 and seq < $8
              order by seq desc limit $9"
        );
        let from = f.from.unwrap_or_else(|| UtcTime::new(jiff::Timestamp::UNIX_EPOCH));
        let to = f.to.unwrap_or_else(far_future);
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(&f.actor_id)
            .bind(&f.action)
            .bind(&f.subject_type)
            .bind(&f.subject_id)
            .bind(from)
            .bind(to)
            .bind(f.before_seq.unwrap_or(i64::MAX))
            .bind(f.limit.clamp(1, 1000))
            .fetch_all(p)
            .await)?)
    }

    /// Organizations with an audit chain (including [`NO_ORG`]).
    pub async fn audit_chains(&self) -> Result<Vec<(OrgId, i64, String)>, StoreError> {
        const SQL: &str = "select org_id, last_seq, last_hash from audit_heads order by org_id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).fetch_all(p).await)?)
    }

    /// One page of a chain in order: events with `seq > after`, at most `limit`.
    pub async fn audit_chain_page(
        &self,
        org: OrgId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from audit_events where org_id = $1 and seq > $2 order by seq limit $3"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }
}

/// Later than any real event (year 9999: both databases store it).
fn far_future() -> UtcTime {
    UtcTime::new(
        jiff::civil::date(9999, 1, 1)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_or(jiff::Timestamp::MAX, |z| z.timestamp()),
    )
}
