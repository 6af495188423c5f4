//! Merging duplicate patients. [`PATIENT_REFERENCES`] is the one place every table that owns rows
//! about a patient registers; a merge moves those rows to the survivor in one transaction and records
//! their ids so an unmerge can move exactly them back. A contract test reads the live schema and
//! fails when a table with a `patient_id` column is neither registered nor listed as a derived index.

use hearth_core::{MergeId, OrgId, PatientId, UtcTime};

use crate::{Store, StoreError, Tx};

/// A table whose rows belong to a patient through `column`; rows are identified by `id`.
#[derive(Debug, Clone, Copy)]
pub struct PatientReference {
    pub table: &'static str,
    pub column: &'static str,
}

/// Every table that owns rows about a patient. Appointments, messages, survey invitations and
/// media register here as they are added.
pub const PATIENT_REFERENCES: &[PatientReference] = &[
    PatientReference { table: "consents", column: "patient_id" },
    PatientReference { table: "appointments", column: "patient_id" },
    PatientReference { table: "messages", column: "patient_id" },
    PatientReference { table: "outreach_work", column: "patient_id" },
    PatientReference { table: "reminder_decisions", column: "patient_id" },
    PatientReference { table: "replies", column: "patient_id" },
    PatientReference { table: "ehr_requests", column: "patient_id" },
    PatientReference { table: "survey_invitations", column: "patient_id" },
    PatientReference { table: "survey_responses", column: "patient_id" },
];

/// Tables with a patient column that are *not* moved: indexes derived from the record itself
/// (identifiers, contacts, name keys — lookups follow `merged_into`), the record's own history, the
/// duplicate queue and the merge log.
pub const NOT_MOVED: &[&str] = &[
    "patient_identifiers",
    "patient_contacts",
    "patient_name_keys",
    "patient_events",
    "duplicate_candidates",
    "patient_merges",
    "patients",
    // `patient_identifier` there is the integration's own id for the patient, as received (text).
    "integration_events",
];

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MergeRow {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    pub moved: String,
    pub merged_by: String,
    pub merged_at: UtcTime,
    pub unmerged_at: Option<UtcTime>,
}

const COLUMNS: &str = "id, survivor_id, merged_id, moved, merged_by, merged_at, unmerged_at";

impl Tx {
    /// Moves every registered row of `from` to `to`; returns the moved ids per table.
    pub async fn move_patient_rows(
        &mut self,
        org: OrgId,
        from: PatientId,
        to: PatientId,
    ) -> Result<Vec<(&'static str, Vec<String>)>, StoreError> {
        let mut moved = Vec::new();
        for r in PATIENT_REFERENCES {
            // Table and column names come from the constant above, never from input.
            let select = format!("select id from {} where org_id = $1 and {} = $2", r.table, r.column);
            let update =
                format!("update {} set {} = $3 where org_id = $1 and {} = $2", r.table, r.column, r.column);
            let ids: Vec<String> = match self {
                Tx::Sqlite(t) => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                        .bind(org)
                        .bind(from)
                        .fetch_all(&mut **t)
                        .await?
                }
                Tx::Postgres(t) => {
                    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                        .bind(org)
                        .bind(from)
                        .fetch_all(&mut **t)
                        .await?;
                    ids.into_iter().map(|u| u.to_string()).collect()
                }
            };
            on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                .bind(org)
                .bind(from)
                .bind(to)
                .execute(c)
                .await
                .map(|_| ()))?;
            moved.push((r.table, ids));
        }
        Ok(moved)
    }

    /// Moves the rows with these ids of `table` back to `to`.
    pub async fn restore_patient_rows(
        &mut self,
        org: OrgId,
        table: &str,
        ids: &[String],
        to: PatientId,
    ) -> Result<(), StoreError> {
        let Some(r) = PATIENT_REFERENCES.iter().find(|r| r.table == table) else {
            return Err(StoreError::Other(format!("{table} is not a registered patient reference")));
        };
        for id in ids {
            let sql = format!("update {} set {} = $3 where org_id = $1 and id = $2", r.table, r.column);
            match self {
                Tx::Sqlite(t) => {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(org)
                        .bind(id)
                        .bind(to)
                        .execute(&mut **t)
                        .await?;
                }
                Tx::Postgres(t) => {
                    let id = uuid::Uuid::parse_str(id).map_err(|e| StoreError::Other(e.to_string()))?;
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(org)
                        .bind(id)
                        .bind(to)
                        .execute(&mut **t)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Marks `merged` as merged into `survivor` (or, with `None`, active again).
    pub async fn set_merged_into(
        &mut self,
        org: OrgId,
        merged: PatientId,
        survivor: Option<PatientId>,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update patients set merged_into = $3, status = case when $3 is null then 'active' else 'merged' end,
                                  version = version + 1, updated_at = $4
                            where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(merged)
            .bind(survivor)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn insert_merge(&mut self, org: OrgId, m: &MergeRow) -> Result<(), StoreError> {
        const SQL: &str =
            "insert into patient_merges (id, org_id, survivor_id, merged_id, moved, merged_by, merged_at)
                           values ($1, $2, $3, $4, $5, $6, $7)";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(m.id)
            .bind(org)
            .bind(m.survivor_id)
            .bind(m.merged_id)
            .bind(&m.moved)
            .bind(&m.merged_by)
            .bind(m.merged_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn mark_unmerged(&mut self, org: OrgId, id: MergeId, now: UtcTime) -> Result<(), StoreError> {
        const SQL: &str = "update patient_merges set unmerged_at = $3 where org_id = $1 and id = $2 and unmerged_at is null";
        let n = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 1 { Ok(()) } else { Err(StoreError::Stale) }
    }

    /// Settles the queue entry of a pair, if there is one.
    pub async fn settle_duplicate_pair(
        &mut self,
        org: OrgId,
        a: PatientId,
        b: PatientId,
        status: &str,
        by: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update duplicate_candidates set status = $4, decided_by = $5, updated_at = $6
                            where org_id = $1 and patient_a = $2 and patient_b = $3";
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(a)
            .bind(b)
            .bind(status)
            .bind(by)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// The merges a patient took part in (as survivor or as the merged record), newest first.
    pub async fn merges_of(&self, org: OrgId, patient: PatientId) -> Result<Vec<MergeRow>, StoreError> {
        let sql = format!(
            "select {COLUMNS} from patient_merges where org_id = $1 and (survivor_id = $2 or merged_id = $2)
              order by merged_at desc, id desc"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(patient)
            .fetch_all(p)
            .await)?)
    }

    pub async fn merge(&self, org: OrgId, id: MergeId) -> Result<MergeRow, StoreError> {
        let sql = format!("select {COLUMNS} from patient_merges where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// Tables with a column naming a patient (`patient_id`, `patient_a`, `patient_b`, …), from the
    /// live schema.
    pub async fn tables_referencing_patients(&self) -> Result<Vec<String>, StoreError> {
        const SQLITE: &str = "select distinct m.name from sqlite_master m join pragma_table_info(m.name) c
                               where m.type = 'table' and (c.name like 'patient%' or c.name in ('survivor_id', 'merged_id'))
                               order by m.name";
        const PG: &str = "select distinct table_name::text from information_schema.columns
                           where table_schema = current_schema() and (column_name like 'patient%' or column_name in ('survivor_id', 'merged_id'))
                           order by 1";
        Ok(match self {
            Store::Sqlite(p, _) => sqlx::query_scalar(SQLITE).fetch_all(p).await?,
            Store::Postgres(p) => sqlx::query_scalar(PG).fetch_all(p).await?,
        })
    }
}
