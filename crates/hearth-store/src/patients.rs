//! Patients, their identifiers and contact keys, MRN counters, the consent ledger and lifecycle
//! events. The record itself is a JSON document; columns hold what lists, filters and uniqueness
//! need, and side tables are rewritten with the record in the same transaction.

use hearth_core::{ConsentId, OrgId, PatientEventId, PatientId, UtcTime};

use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PatientRow {
    pub id: PatientId,
    pub org_id: OrgId,
    pub mrn: String,
    pub status: String,
    pub family_name: String,
    pub given_names: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<String>,
    pub time_zone: Option<String>,
    pub document: String,
    pub version: i64,
    pub merged_into: Option<PatientId>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    pub deleted_at: Option<UtcTime>,
}

const COLUMNS: &str = "id, org_id, mrn, status, family_name, given_names, birth_date, gender, preferred_language, \
     preferred_channel, time_zone, document, version, merged_into, created_at, updated_at, deleted_at";

/// The indexed fields of a record, and its side-table keys.
#[derive(Debug, Clone, Default)]
pub struct PatientFields {
    pub family_name: String,
    pub given_names: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<String>,
    pub time_zone: Option<String>,
    pub document: String,
    /// (system, value), unique per organization.
    pub identifiers: Vec<(String, String)>,
    /// ("phone" | "email", normalized value).
    pub contacts: Vec<(&'static str, String)>,
    /// Name search keys (see `hearth_core::names`).
    pub name_keys: Vec<String>,
}

/// Filters for listing; `None` matches everything. Deleted and merged records are left out unless
/// `status` asks for them.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    pub status: Option<String>,
    pub mrn: Option<String>,
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub identifier: Option<(String, String)>,
    /// Case-insensitive prefix of the family name.
    pub family_prefix: Option<String>,
    /// Records with at least one of these name keys (candidates for a name search).
    pub name_keys: Vec<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: ConsentId,
    pub patient_id: PatientId,
    pub channel: String,
    pub address: String,
    pub opted_in: bool,
    pub source: String,
    pub words: Option<String>,
    pub recorded_at: UtcTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PatientEventRow {
    pub id: PatientEventId,
    pub patient_id: PatientId,
    pub kind: String,
    pub payload: String,
    pub at: UtcTime,
}

/// A stored document holding encrypted values, for key rotation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedDocument {
    pub org_id: OrgId,
    pub id: PatientId,
    pub document: String,
}

impl Tx {
    /// Replaces a record's stored document without a new version (key rotation re-encrypts, the
    /// content stays the same).
    pub async fn set_patient_document(
        &mut self,
        org: OrgId,
        id: PatientId,
        document: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update patients set document = $3 where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL).bind(org).bind(id).bind(document).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// The next number of the organization's MRN sequence for `year` (1, 2, 3 …).
    pub async fn next_mrn_number(&mut self, org: OrgId, year: i32) -> Result<i64, StoreError> {
        const SQL: &str = "insert into mrn_counters (org_id, year, next) values ($1, $2, 1)
                           on conflict (org_id, year) do update set next = mrn_counters.next + 1
                           returning next";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL).bind(org).bind(year).fetch_one(c).await)?)
    }

    pub async fn insert_patient(
        &mut self,
        org: OrgId,
        id: PatientId,
        mrn: &str,
        f: &PatientFields,
        now: UtcTime,
    ) -> Result<PatientRow, StoreError> {
        let sql = format!(
            "insert into patients (id, org_id, mrn, status, family_name, given_names, birth_date, gender,
                 preferred_language, preferred_channel, time_zone, document, version, created_at, updated_at)
             values ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12) returning {COLUMNS}"
        );
        let row = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(org)
            .bind(mrn)
            .bind(&f.family_name)
            .bind(&f.given_names)
            .bind(&f.birth_date)
            .bind(&f.gender)
            .bind(&f.preferred_language)
            .bind(&f.preferred_channel)
            .bind(&f.time_zone)
            .bind(&f.document)
            .bind(now)
            .fetch_one(c)
            .await)?;
        self.write_keys(org, id, f).await?;
        Ok(row)
    }

    /// Replaces the record if it is still at `expected_version`; [`StoreError::Stale`] otherwise.
    pub async fn update_patient(
        &mut self,
        org: OrgId,
        id: PatientId,
        expected_version: i64,
        f: &PatientFields,
        now: UtcTime,
    ) -> Result<PatientRow, StoreError> {
        const CLEAR_IDS: &str = "delete from patient_identifiers where patient_id = $1";
        const CLEAR_CONTACTS: &str = "delete from patient_contacts where patient_id = $1";
        const CLEAR_NAMES: &str = "delete from patient_name_keys where patient_id = $1";
        let sql = format!(
            "update patients set family_name = $4, given_names = $5, birth_date = $6, gender = $7,
                    preferred_language = $8, preferred_channel = $9, time_zone = $10, document = $11,
                    version = version + 1, updated_at = $12
              where org_id = $1 and id = $2 and version = $3 returning {COLUMNS}"
        );
        let row: Option<PatientRow> = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .bind(expected_version)
            .bind(&f.family_name)
            .bind(&f.given_names)
            .bind(&f.birth_date)
            .bind(&f.gender)
            .bind(&f.preferred_language)
            .bind(&f.preferred_channel)
            .bind(&f.time_zone)
            .bind(&f.document)
            .bind(now)
            .fetch_optional(c)
            .await)?;
        let Some(row) = row else { return Err(self.missing_or_stale(org, id).await) };
        on_tx!(self, |c| sqlx::query(CLEAR_IDS).bind(id).execute(c).await.map(|_| ()))?;
        on_tx!(self, |c| sqlx::query(CLEAR_CONTACTS).bind(id).execute(c).await.map(|_| ()))?;
        on_tx!(self, |c| sqlx::query(CLEAR_NAMES).bind(id).execute(c).await.map(|_| ()))?;
        self.write_keys(org, id, f).await?;
        Ok(row)
    }

    /// Sets the status (`active`, `inactive`, `deleted`) if the record is at `expected_version`.
    pub async fn set_patient_status(
        &mut self,
        org: OrgId,
        id: PatientId,
        expected_version: Option<i64>,
        status: &str,
        now: UtcTime,
    ) -> Result<PatientRow, StoreError> {
        let sql = format!(
            "update patients set status = $4, version = version + 1, updated_at = $5,
                    deleted_at = case when $4 = 'deleted' then $5 else null end
              where org_id = $1 and id = $2 and ($3 is null or version = $3) returning {COLUMNS}"
        );
        let row: Option<PatientRow> = on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .bind(expected_version)
            .bind(status)
            .bind(now)
            .fetch_optional(c)
            .await)?;
        match row {
            Some(r) => Ok(r),
            None => Err(self.missing_or_stale(org, id).await),
        }
    }

    async fn missing_or_stale(&mut self, org: OrgId, id: PatientId) -> StoreError {
        const SQL: &str = "select count(*) from patients where org_id = $1 and id = $2";
        match on_tx!(self, |c| sqlx::query_scalar::<_, i64>(SQL).bind(org).bind(id).fetch_one(c).await) {
            Ok(0) => StoreError::NotFound,
            Ok(_) => StoreError::Stale,
            Err(e) => e.into(),
        }
    }

    async fn write_keys(&mut self, org: OrgId, id: PatientId, f: &PatientFields) -> Result<(), StoreError> {
        const ID_SQL: &str =
            "insert into patient_identifiers (org_id, patient_id, system, value) values ($1, $2, $3, $4)";
        const CONTACT_SQL: &str =
            "insert into patient_contacts (org_id, patient_id, kind, value) values ($1, $2, $3, $4)";
        const NAME_SQL: &str = "insert into patient_name_keys (org_id, patient_id, key) values ($1, $2, $3)";
        for (system, value) in &f.identifiers {
            on_tx!(self, |c| sqlx::query(ID_SQL)
                .bind(org)
                .bind(id)
                .bind(system)
                .bind(value)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        for key in &f.name_keys {
            on_tx!(self, |c| sqlx::query(NAME_SQL)
                .bind(org)
                .bind(id)
                .bind(key)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        for (kind, value) in &f.contacts {
            on_tx!(self, |c| sqlx::query(CONTACT_SQL)
                .bind(org)
                .bind(id)
                .bind(*kind)
                .bind(value)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    pub async fn append_consent(&mut self, org: OrgId, c: &ConsentRow) -> Result<(), StoreError> {
        const SQL: &str = "insert into consents (id, org_id, patient_id, channel, address, opted_in, source, words, recorded_at)
                           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on_tx!(self, |x| sqlx::query(SQL)
            .bind(c.id)
            .bind(org)
            .bind(c.patient_id)
            .bind(&c.channel)
            .bind(&c.address)
            .bind(c.opted_in)
            .bind(&c.source)
            .bind(&c.words)
            .bind(c.recorded_at)
            .execute(x)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn append_patient_event(
        &mut self,
        org: OrgId,
        patient: PatientId,
        kind: &str,
        payload: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "insert into patient_events (id, org_id, patient_id, kind, payload, at) values ($1, $2, $3, $4, $5, $6)";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(PatientEventId::new())
            .bind(org)
            .bind(patient)
            .bind(kind)
            .bind(payload)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// Every organization's records that hold encrypted values, after `after` in id order (a page).
    pub async fn sealed_patient_documents(
        &self,
        after: Option<PatientId>,
        limit: i64,
    ) -> Result<Vec<SealedDocument>, StoreError> {
        const SQL: &str = "select org_id, id, document from patients
                            where document like '%\"sealed\"%' and ($1 is null or id > $1) order by id limit $2";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(after).bind(limit).fetch_all(p).await)?)
    }

    pub async fn patient(&self, org: OrgId, id: PatientId) -> Result<PatientRow, StoreError> {
        let sql = format!("select {COLUMNS} from patients where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    pub async fn list_patients(&self, org: OrgId, f: &PatientFilter) -> Result<Vec<PatientRow>, StoreError> {
        // Only placeholders are generated here; every value is bound.
        let names = if f.name_keys.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..f.name_keys.len()).map(|i| format!("${}", i + 12)).collect();
            format!(
                "and p.id in (select patient_id from patient_name_keys where org_id = $1 and key in ({}))",
                marks.join(", ")
            )
        };
        let sql = format!(
            "select {COLUMNS} from patients p
              where org_id = $1
                and (($2 is null and status in ('active', 'inactive')) or status = $2)
                and ($3 is null or mrn = $3)
                and ($4 is null or birth_date = $4)
                and ($5 is null or lower(family_name) like $5)
                and ($6 is null or exists (select 1 from patient_contacts k
                        where k.org_id = p.org_id and k.patient_id = p.id and k.kind = 'phone' and k.value = $6))
                and ($7 is null or exists (select 1 from patient_contacts k
                        where k.org_id = p.org_id and k.patient_id = p.id and k.kind = 'email' and k.value = $7))
                and ($8 is null or exists (select 1 from patient_identifiers i
                        where i.org_id = p.org_id and i.patient_id = p.id and i.system = $8 and i.value = $9))
                {names}
              order by family_name, given_names, id
              limit $10 offset $11"
        );
        let prefix =
            f.family_prefix.as_ref().map(|p| format!("{}%", p.to_lowercase().replace(['%', '_'], "")));
        let (system, value) = f.identifier.clone().unzip();
        Ok(on_pool!(self, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(org)
                .bind(&f.status)
                .bind(&f.mrn)
                .bind(&f.birth_date)
                .bind(&prefix)
                .bind(&f.phone)
                .bind(&f.email)
                .bind(&system)
                .bind(&value)
                .bind(f.limit.clamp(1, 500))
                .bind(f.offset.max(0));
            for key in &f.name_keys {
                q = q.bind(key);
            }
            q.fetch_all(p).await
        })?)
    }

    /// The whole ledger of a patient, oldest first.
    pub async fn consents(&self, org: OrgId, patient: PatientId) -> Result<Vec<ConsentRow>, StoreError> {
        const SQL: &str = "select id, patient_id, channel, address, opted_in, source, words, recorded_at
                             from consents where org_id = $1 and patient_id = $2 order by recorded_at, id";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(patient).fetch_all(p).await)?)
    }

    /// Lifecycle events of the organization after `after` (oldest first), for consumers that follow them.
    pub async fn patient_events(
        &self,
        org: OrgId,
        after: UtcTime,
        limit: i64,
    ) -> Result<Vec<PatientEventRow>, StoreError> {
        const SQL: &str = "select id, patient_id, kind, payload, at from patient_events
                            where org_id = $1 and at > $2 order by at, id limit $3";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(after).bind(limit).fetch_all(p).await)?)
    }
}
