//! The duplicate review queue.

use std::collections::HashMap;

use hearth_core::{DuplicateId, OrgId, PatientId, UtcTime};

use crate::multi_row::{rows_per_statement, values_list};
use crate::{Store, StoreError, Tx};

/// A pair of patients that may be one person, as the matcher scored it.
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    pub a: PatientId,
    pub b: PatientId,
    pub score: f64,
    /// The per-field explanation, as JSON.
    pub explanation: &'a str,
}

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
    /// Proposes pairs (each ordered so `a < b`), a few hundred per statement: a pending pair gets the
    /// new score, a decided one is left alone so it is never proposed again. A pair given twice is
    /// proposed once, with its last score.
    pub async fn propose_duplicates(
        &mut self,
        org: OrgId,
        pairs: &[Proposal<'_>],
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const INSERT: &str = "insert into duplicate_candidates
                                  (id, org_id, patient_a, patient_b, score, explanation, status, created_at, updated_at)
                              values";
        const UPSERT: &str = "on conflict (org_id, patient_a, patient_b) do update
                                  set score = excluded.score, explanation = excluded.explanation, updated_at = excluded.updated_at
                                  where duplicate_candidates.status = 'pending'";
        let mut last: HashMap<(PatientId, PatientId), usize> = HashMap::new();
        let mut rows: Vec<(PatientId, PatientId, &Proposal<'_>)> = Vec::with_capacity(pairs.len());
        for p in pairs {
            let (a, b) = if p.a < p.b { (p.a, p.b) } else { (p.b, p.a) };
            if let Some(&i) = last.get(&(a, b)) {
                rows[i].2 = p;
            } else {
                last.insert((a, b), rows.len());
                rows.push((a, b, p));
            }
        }
        for chunk in rows.chunks(rows_per_statement(9)) {
            let sql = format!("{INSERT} {} {UPSERT}", values_list(self, chunk.len(), 9));
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (a, b, p) in chunk {
                    q = q
                        .bind(DuplicateId::new())
                        .bind(org)
                        .bind(*a)
                        .bind(*b)
                        .bind(p.score)
                        .bind(p.explanation)
                        .bind("pending")
                        .bind(now)
                        .bind(now);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
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
