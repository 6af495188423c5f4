//! Receipts of what providers send to Hearth (status callbacks and patient replies), kept as received
//! before any work is done with them. See `migrations/postgres/0012_inbound.sql`.

use hearth_core::{InboundMessageId, MessageId, OrgId, UtcTime};

use crate::{Store, StoreError};

const COLUMNS: &str = "id, org_id, provider, kind, dedup_key, provider_id, account_id, message_id, channel, \
                       from_address, to_address, body, status, error_code, payload, received_at, processed_at, \
                       outcome";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboundRow {
    pub id: InboundMessageId,
    pub org_id: Option<OrgId>,
    /// `twilio`.
    pub provider: String,
    /// `status` (a callback about an outbound message) or `reply` (a message from a patient).
    pub kind: String,
    /// `provider:kind:sid[:status]`: a provider's retry of the same callback stores nothing new.
    pub dedup_key: String,
    /// The provider's id of the message (Twilio `MessageSid` or `CallSid`).
    pub provider_id: String,
    pub account_id: Option<String>,
    /// Hearth's outbound message, when the callback names it.
    pub message_id: Option<MessageId>,
    pub channel: Option<String>,
    pub from_address: Option<String>,
    pub to_address: Option<String>,
    pub body: Option<String>,
    pub status: Option<String>,
    pub error_code: Option<String>,
    /// Every field as received, as a JSON object.
    pub payload: String,
    pub received_at: UtcTime,
    pub processed_at: Option<UtcTime>,
    /// What processing did: `moved`, `stale`, `unknown_message`, `unmapped`, `failed`.
    pub outcome: Option<String>,
}

impl Store {
    /// Stores a receipt; `false` when one with the same `dedup_key` is already there (a retry).
    pub async fn insert_inbound(&self, row: &InboundRow) -> Result<bool, StoreError> {
        let sql = format!(
            "insert into inbound_messages ({COLUMNS})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             on conflict (dedup_key) do nothing"
        );
        let done = on_pool!(self, |p| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.org_id)
            .bind(&row.provider)
            .bind(&row.kind)
            .bind(&row.dedup_key)
            .bind(&row.provider_id)
            .bind(&row.account_id)
            .bind(row.message_id)
            .bind(&row.channel)
            .bind(&row.from_address)
            .bind(&row.to_address)
            .bind(&row.body)
            .bind(&row.status)
            .bind(&row.error_code)
            .bind(&row.payload)
            .bind(row.received_at)
            .bind(row.processed_at)
            .bind(&row.outcome)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Marks a receipt processed with what processing did.
    pub async fn finish_inbound(
        &self,
        id: InboundMessageId,
        outcome: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update inbound_messages set processed_at = $2, outcome = $3 where id = $1";
        on_pool!(self, |p| sqlx::query(SQL).bind(id).bind(now).bind(outcome).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Every receipt about one provider message, oldest first.
    pub async fn inbound_for_provider_id(
        &self,
        provider: &str,
        provider_id: &str,
    ) -> Result<Vec<InboundRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from inbound_messages where provider = $1 and provider_id = $2
              order by received_at, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(provider)
            .bind(provider_id)
            .fetch_all(p)
            .await)?)
    }

    /// Receipts not processed yet, oldest first (a crash between "stored" and "processed").
    pub async fn unprocessed_inbound(&self, kind: &str, limit: i64) -> Result<Vec<InboundRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from inbound_messages where processed_at is null and kind = $1
              order by received_at, id limit $2"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// The unprocessed replies from the same sender as `row` (as received, e.g. `whatsapp:+34…`) that
    /// arrived no later than it, oldest first (`row` itself last, while it is unprocessed): what must
    /// be processed before it, so that STOP then START from one number is applied in that order.
    pub async fn unprocessed_replies_up_to(&self, row: &InboundRow) -> Result<Vec<InboundRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from inbound_messages
              where processed_at is null and kind = 'reply' and from_address = $1 and received_at <= $2
              order by received_at, id limit 200"
        );
        let rows: Vec<InboundRow> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&row.from_address)
            .bind(row.received_at)
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .filter(|r| r.org_id == row.org_id && (r.received_at, r.id) <= (row.received_at, row.id))
            .collect())
    }

    /// The organization of a single-tenant installation: `Some` only when exactly one exists.
    pub async fn sole_organization(&self) -> Result<Option<OrgId>, StoreError> {
        const SQL: &str = "select id from organizations order by id limit 2";
        let ids: Vec<(OrgId,)> = on_pool!(self, |p| sqlx::query_as(SQL).fetch_all(p).await)?;
        Ok(match ids.as_slice() {
            [(only,)] => Some(*only),
            _ => None,
        })
    }

    /// Whether an organization with this id exists.
    pub async fn organization_exists(&self, id: OrgId) -> Result<bool, StoreError> {
        const SQL: &str = "select count(*) from organizations where id = $1";
        let (n,): (i64,) = on_pool!(self, |p| sqlx::query_as(SQL).bind(id).fetch_one(p).await)?;
        Ok(n > 0)
    }
}
