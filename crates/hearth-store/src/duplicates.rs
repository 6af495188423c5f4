//! The duplicate review queue.

use hearth_core::{DuplicateId, OrgId, PatientId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DuplicateRow {
    pub id: DuplicateId,
    pub patient_a: PatientId,
    pub patient_b: PatientId,
    pub score: f64,
    pub explanation: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

const COLUMNS: &str =
    "id, patient_a, patient_b, score, explanation, status, decided_by, created_at, updated_at";

impl Tx {
    /// Proposes a pair (ordered so `a < b`); a pending pair gets the new score, a decided one is
    /// left alone so it is never proposed again.
    pub async fn propose_duplicate(
        &mut self,
        org: OrgId,
        a: PatientId,
        b: PatientId,
        score: f64,
        explanation: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "insert into duplicate_candidates
                               (id, org_id, patient_a, patient_b, score, explanation, status, created_at, updated_at)
                           values ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)
                           on conflict (org_id, patient_a, patient_b) do update
                               set score = excluded.score, explanation = excluded.explanation, updated_at = excluded.updated_at
                               where duplicate_candidates.status = 'pending'";
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(DuplicateId::new())
            .bind(org)
            .bind(a)
            .bind(b)
            .bind(score)
            .bind(explanation)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn decide_duplicate(
        &mut self,
        org: OrgId,
        id: DuplicateId,
        status: &str,
        decided_by: &str,
        now: UtcTime,
    ) -> Result<DuplicateRow, StoreError> {
        let sql = format!(
            "update duplicate_candidates set status = $3, decided_by = $4, updated_at = $5
              where org_id = $1 and id = $2 returning {COLUMNS}"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .bind(status)
            .bind(decided_by)
            .bind(now)
            .fetch_one(c)
            .await)?)
    }
}

impl Store {
    /// The queue, highest score first.
    pub async fn list_duplicates(
        &self,
        org: OrgId,
        status: &str,
        limit: i64,
    ) -> Result<Vec<DuplicateRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from duplicate_candidates where org_id = $1 and status = $2
              order by score desc, id limit $3"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(status)
            .bind(limit.clamp(1, 500))
            .fetch_all(p)
            .await)?)
    }

    pub async fn duplicate(&self, org: OrgId, id: DuplicateId) -> Result<DuplicateRow, StoreError> {
        let sql = format!("select {COLUMNS} from duplicate_candidates where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// Every active patient id of an organization (for a full duplicate scan).
    pub async fn active_patient_ids(&self, org: OrgId) -> Result<Vec<PatientId>, StoreError> {
        const SQL: &str =
            "select id from patients where org_id = $1 and status in ('active', 'inactive') order by id";
        Ok(on_pool!(self, |p| sqlx::query_scalar(SQL).bind(org).fetch_all(p).await)?)
    }
}
