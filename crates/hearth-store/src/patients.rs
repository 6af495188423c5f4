//! Patients, their identifiers and contact keys, MRN counters, the consent ledger and lifecycle
//! events. The record itself is a JSON document; columns hold what lists, filters and uniqueness
//! need, and side tables are rewritten with the record in the same transaction.

use hearth_core::{ConsentId, OrgId, PatientEventId, PatientId, UtcTime};

use crate::multi_row::{rows_per_statement, values_list};
use crate::{Store, StoreError, Tx};

/// A new record to insert (see [`Tx::insert_patients`]).
#[derive(Debug, Clone, Copy)]
pub struct NewPatientRow<'a> {
    pub id: PatientId,
    pub mrn: &'a str,
    pub fields: &'a PatientFields,
}

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
    /// Case-insensitive prefix of the family name; such a list is in case-insensitive order of the
    /// family name first (`SMITH` and `Smith` together), the order of the index it reads.
    pub family_prefix: Option<String>,
    /// Candidates for a name search: records holding at least one of these keys (see
    /// `hearth_core::names`). At most 100–500 records are read per key (the oldest; see
    /// `key_records`), and the candidates
    /// come heaviest first: by the summed `names::key_weight` of the keys they hold, then by name.
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
        self.reserve_mrn_numbers(org, year, 1).await
    }

    /// The next `count` numbers of the organization's MRN sequence for `year`, reserved at once;
    /// returns the last (the numbers are `last - count + 1 ..= last`).
    pub async fn reserve_mrn_numbers(
        &mut self,
        org: OrgId,
        year: i32,
        count: i64,
    ) -> Result<i64, StoreError> {
        const SQL: &str = "insert into mrn_counters (org_id, year, next) values ($1, $2, $3)
                           on conflict (org_id, year) do update set next = mrn_counters.next + $3
                           returning next";
        Ok(on_tx!(self, |c| sqlx::query_scalar(SQL).bind(org).bind(year).bind(count).fetch_one(c).await)?)
    }

    /// Inserts new records (status `active`, version 1) with their side-table keys, a few statements
    /// for all of them; returns the rows as stored.
    pub async fn insert_patients(
        &mut self,
        org: OrgId,
        rows: &[NewPatientRow<'_>],
        now: UtcTime,
    ) -> Result<Vec<PatientRow>, StoreError> {
        const INSERT: &str = "insert into patients (id, org_id, mrn, status, family_name, given_names, birth_date,
             gender, preferred_language, preferred_channel, time_zone, document, version, created_at, updated_at)
             values";
        // Each table and index takes its rows in its own order (below): consecutive rows then land on
        // the same pages of an index whose keys are random, rather than each on a page of its own.
        let mut by_name: Vec<&NewPatientRow<'_>> = rows.iter().collect();
        by_name.sort_unstable_by(|a, b| a.fields.family_name.cmp(&b.fields.family_name));
        for chunk in by_name.chunks(rows_per_statement(15)) {
            let sql = format!("{INSERT} {}", values_list(self, chunk.len(), 15));
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in chunk {
                    let f = r.fields;
                    q = q
                        .bind(r.id)
                        .bind(org)
                        .bind(r.mrn)
                        .bind("active")
                        .bind(&f.family_name)
                        .bind(&f.given_names)
                        .bind(&f.birth_date)
                        .bind(&f.gender)
                        .bind(&f.preferred_language)
                        .bind(&f.preferred_channel)
                        .bind(&f.time_zone)
                        .bind(&f.document)
                        .bind(1_i64)
                        .bind(now)
                        .bind(now);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
        let mut identifiers: Vec<(PatientId, [&str; 2])> = rows
            .iter()
            .flat_map(|r| r.fields.identifiers.iter().map(move |(s, v)| (r.id, [s.as_str(), v.as_str()])))
            .collect();
        let mut contacts: Vec<(PatientId, [&str; 2])> = rows
            .iter()
            .flat_map(|r| r.fields.contacts.iter().map(move |(k, v)| (r.id, [*k, v.as_str()])))
            .collect();
        let mut names: Vec<(PatientId, [&str; 1])> =
            rows.iter().flat_map(|r| r.fields.name_keys.iter().map(move |k| (r.id, [k.as_str()]))).collect();
        identifiers.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        contacts.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        names.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        self.insert_keys(org, "patient_identifiers (org_id, patient_id, system, value)", &identifiers)
            .await?;
        self.insert_keys(org, "patient_name_keys (org_id, patient_id, key)", &names).await?;
        self.insert_keys(org, "patient_contacts (org_id, patient_id, kind, value)", &contacts).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let f = r.fields;
                PatientRow {
                    id: r.id,
                    org_id: org,
                    mrn: r.mrn.to_owned(),
                    status: "active".into(),
                    family_name: f.family_name.clone(),
                    given_names: f.given_names.clone(),
                    birth_date: f.birth_date.clone(),
                    gender: f.gender.clone(),
                    preferred_language: f.preferred_language.clone(),
                    preferred_channel: f.preferred_channel.clone(),
                    time_zone: f.time_zone.clone(),
                    document: f.document.clone(),
                    version: 1,
                    merged_into: None,
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                }
            })
            .collect())
    }

    pub async fn insert_patient(
        &mut self,
        org: OrgId,
        id: PatientId,
        mrn: &str,
        f: &PatientFields,
        now: UtcTime,
    ) -> Result<PatientRow, StoreError> {
        let mut rows = self.insert_patients(org, &[NewPatientRow { id, mrn, fields: f }], now).await?;
        rows.pop().ok_or(StoreError::NotFound)
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

    /// Replaces a record's name keys (when the way they are derived changes; see
    /// `hearth_core::names`).
    pub async fn replace_patient_name_keys(
        &mut self,
        org: OrgId,
        id: PatientId,
        keys: &[String],
    ) -> Result<(), StoreError> {
        const CLEAR: &str = "delete from patient_name_keys where org_id = $1 and patient_id = $2";
        on_tx!(self, |c| sqlx::query(CLEAR).bind(org).bind(id).execute(c).await.map(|_| ()))?;
        let names: Vec<(PatientId, [&str; 1])> = keys.iter().map(|k| (id, [k.as_str()])).collect();
        self.insert_keys(org, "patient_name_keys (org_id, patient_id, key)", &names).await
    }

    /// One statement per side table (not per key: a record has a dozen or more name keys).
    async fn write_keys(&mut self, org: OrgId, id: PatientId, f: &PatientFields) -> Result<(), StoreError> {
        let identifiers: Vec<(PatientId, [&str; 2])> =
            f.identifiers.iter().map(|(s, v)| (id, [s.as_str(), v.as_str()])).collect();
        let contacts: Vec<(PatientId, [&str; 2])> =
            f.contacts.iter().map(|(k, v)| (id, [*k, v.as_str()])).collect();
        let names: Vec<(PatientId, [&str; 1])> = f.name_keys.iter().map(|k| (id, [k.as_str()])).collect();
        self.insert_keys(org, "patient_identifiers (org_id, patient_id, system, value)", &identifiers)
            .await?;
        self.insert_keys(org, "patient_name_keys (org_id, patient_id, key)", &names).await?;
        self.insert_keys(org, "patient_contacts (org_id, patient_id, kind, value)", &contacts).await
    }

    /// `insert into <table> values ($1, $2, …), …`: per row the organization, the patient and its values.
    async fn insert_keys<const N: usize>(
        &mut self,
        org: OrgId,
        table: &str,
        rows: &[(PatientId, [&str; N])],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(rows_per_statement(N + 2)) {
            let sql = format!("insert into {table} values {}", values_list(self, chunk.len(), N + 2));
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, values) in chunk {
                    q = q.bind(org).bind(*id);
                    for value in values {
                        q = q.bind(*value);
                    }
                }
                q.execute(c).await.map(|_| ())
            })?;
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
        self.append_patient_events(org, kind, &[(patient, payload.to_owned())], now).await
    }

    /// Appends one lifecycle event of `kind` per (patient, payload), in order.
    pub async fn append_patient_events(
        &mut self,
        org: OrgId,
        kind: &str,
        events: &[(PatientId, String)],
        now: UtcTime,
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(rows_per_statement(6)) {
            let sql = format!(
                "insert into patient_events (id, org_id, patient_id, kind, payload, at) values {}",
                values_list(self, chunk.len(), 6)
            );
            on_tx!(self, |c| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (patient, payload) in chunk {
                    q = q
                        .bind(PatientEventId::new())
                        .bind(org)
                        .bind(*patient)
                        .bind(kind)
                        .bind(payload)
                        .bind(now);
                }
                q.execute(c).await.map(|_| ())
            })?;
        }
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

    /// The records matching every filter of `f`, by name (family, given, id; see `list_order`), or
    /// for a name search by the weight of the keys they hold (see [`PatientFilter::name_keys`]).
    ///
    /// The SQL names only the filters that are set, so that each one can use its index (a lookup by
    /// MRN, phone or identifier reads a row or two, whatever the size of the table).
    pub async fn list_patients(&self, org: OrgId, f: &PatientFilter) -> Result<Vec<PatientRow>, StoreError> {
        // Only placeholders and fixed SQL are generated here; every value is bound.
        let mut binds = Binds(vec![Bind::Org(org)]);
        let conditions = self.list_conditions(f, &mut binds).join(" and ");
        let (limit, offset) = (f.limit.clamp(1, 500), f.offset.max(0));
        let columns = COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        let sql = if f.name_keys.is_empty() {
            // The page's ids first, from an index that holds every column the filters and the order
            // need, in that order (a page of Smiths reads fifty index entries, not every Smith), then
            // their records.
            let order = self.list_order(f);
            let (l, o) = (binds.mark(Bind::Int(limit)), binds.mark(Bind::Int(offset)));
            format!(
                "select {columns} from patients p where p.id in (
                   select p.id from patients p where {conditions} order by {order} limit {l} offset {o})
                 order by {order}"
            )
        } else {
            let candidates = name_candidates(f, &mut binds);
            let (l, o) = (binds.mark(Bind::Int(limit)), binds.mark(Bind::Int(offset)));
            // Each candidate's record by its primary key. Without statistics PostgreSQL would rather
            // read every record of the organization once per candidate (a nested loop over the
            // organization's index); `offset 0` keeps the lookup of one id as it is written.
            let records = match self {
                Store::Sqlite(..) => "patients p on p.id = c.patient_id",
                Store::Postgres(_) => {
                    "lateral (select * from patients p where p.id = c.patient_id offset 0) p on true"
                }
            };
            format!(
                "select {columns} from ({candidates}) c join {records}
                  where {conditions}
                  order by c.weight desc, p.family_name, p.given_names, p.id limit {l} offset {o}"
            )
        };
        let binds = binds.0;
        Ok(on_pool!(self, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for b in &binds {
                q = match b {
                    Bind::Org(o) => q.bind(*o),
                    Bind::Text(t) => q.bind(t),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(p).await
        })?)
    }

    /// Ids and stored documents of an organization's patients (every status) after `after`, in id
    /// order, `limit` at a time: for rebuilding what is derived from the records.
    pub async fn patient_documents(
        &self,
        org: OrgId,
        after: PatientId,
        limit: i64,
    ) -> Result<Vec<(PatientId, String)>, StoreError> {
        const SQL: &str =
            "select id, document from patients where org_id = $1 and id > $2 order by id limit $3";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(after).bind(limit).fetch_all(p).await)?)
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

/// The values bound to a generated query, in placeholder order.
struct Binds(Vec<Bind>);

impl Binds {
    /// Binds `b`; returns its placeholder.
    fn mark(&mut self, b: Bind) -> String {
        self.0.push(b);
        format!("${}", self.0.len())
    }
}

impl Store {
    /// The order of a list: by name (family, given, id), and for a family-name prefix by the
    /// lower-case family name first, the order of the index its range is read from.
    fn list_order(&self, f: &PatientFilter) -> String {
        const BY_NAME: &str = "p.family_name, p.given_names, p.id";
        if f.family_prefix.is_none() {
            return BY_NAME.to_owned();
        }
        format!("lower(p.family_name){}, {BY_NAME}", self.code_point_collation())
    }

    /// What makes a comparison of text columns follow code points (SQLite's own order).
    fn code_point_collation(&self) -> &'static str {
        match self {
            Store::Sqlite(..) => "",
            Store::Postgres(_) => r#" collate "C""#,
        }
    }

    /// The `where` conditions of a list: only those of the filters that are set.
    fn list_conditions(&self, f: &PatientFilter, binds: &mut Binds) -> Vec<String> {
        // A lookup by contact or identifier starts from that key's few rows. Without statistics (a new
        // database, or one just filled) SQLite would rather read the organization's whole index and
        // test each record against the key's rows; `+` keeps it from using an index for the organization.
        let by_key = f.phone.is_some() || f.email.is_some() || f.identifier.is_some();
        let org =
            if by_key && matches!(self, Store::Sqlite(..)) { "+p.org_id = $1" } else { "p.org_id = $1" };
        let mut conditions = vec![org.to_owned()];
        conditions.push(match &f.status {
            Some(s) => format!("p.status = {}", binds.mark(Bind::Text(s.clone()))),
            None => "p.status in ('active', 'inactive')".to_owned(),
        });
        if let Some(m) = &f.mrn {
            conditions.push(format!("p.mrn = {}", binds.mark(Bind::Text(m.clone()))));
        }
        if let Some(d) = &f.birth_date {
            conditions.push(format!("p.birth_date = {}", binds.mark(Bind::Text(d.clone()))));
        }
        if let Some(prefix) = &f.family_prefix {
            let prefix = prefix.to_lowercase().replace(['%', '_'], "");
            conditions
                .push(format!("lower(p.family_name) like {}", binds.mark(Bind::Text(format!("{prefix}%")))));
            // The same rows as a range of the indexed lower(family_name), in code point order.
            let collate = self.code_point_collation();
            if !prefix.is_empty() {
                conditions.push(format!(
                    "lower(p.family_name){collate} >= {}",
                    binds.mark(Bind::Text(prefix.clone()))
                ));
                if let Some(end) = prefix_end(&prefix) {
                    conditions
                        .push(format!("lower(p.family_name){collate} < {}", binds.mark(Bind::Text(end))));
                }
            }
        }
        for (kind, value) in [("phone", &f.phone), ("email", &f.email)] {
            if let Some(v) = value {
                conditions.push(format!(
                    "p.id in (select k.patient_id from patient_contacts k
                               where k.org_id = $1 and k.kind = '{kind}' and k.value = {})",
                    binds.mark(Bind::Text(v.clone()))
                ));
            }
        }
        if let Some((system, value)) = &f.identifier {
            let (s, v) = (binds.mark(Bind::Text(system.clone())), binds.mark(Bind::Text(value.clone())));
            conditions.push(format!(
                "p.id in (select i.patient_id from patient_identifiers i
                           where i.org_id = $1 and i.system = {s} and i.value = {v})"
            ));
        }
        conditions
    }
}

/// `(patient_id, weight)` of a name search's candidates: each key's records, oldest first and at most
/// `key_records` of them, weighing the summed weight of the keys they hold. A search by name alone
/// keeps only the heaviest (as many as the page needs), so only their records are read; with other
/// filters every candidate is checked against them.
fn name_candidates(f: &PatientFilter, binds: &mut Binds) -> String {
    let per_key = key_records(f.name_keys.len());
    let postings: Vec<String> = f
        .name_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            format!(
                "select patient_id, {} as w from (select patient_id from patient_name_keys
                  where org_id = $1 and key = {} order by patient_id limit {per_key}) k{i}",
                hearth_core::names::key_weight(key),
                binds.mark(Bind::Text(key.clone()))
            )
        })
        .collect();
    let name_only =
        [&f.status, &f.mrn, &f.birth_date, &f.phone, &f.email, &f.family_prefix].iter().all(|v| v.is_none())
            && f.identifier.is_none();
    let cut = if name_only {
        let keep = f.limit.clamp(1, 500) + f.offset.max(0);
        format!("order by weight desc, patient_id limit {}", binds.mark(Bind::Int(keep)))
    } else {
        String::new()
    };
    format!(
        "select patient_id, sum(w) as weight from ({}) u group by patient_id {cut}",
        postings.join(" union all ")
    )
}

/// Records read per name key of a search: NAME_RECORDS spread over its keys, at least
/// MIN_KEY_RECORDS and at most MAX_KEY_RECORDS per key. A key shared by more records (a common
/// surname) does not make the search slower, nor do the dozens of pair keys of a query of three or four
/// words (each pair of words has up to ten); a name search ranks at most 500 candidates anyway.
fn key_records(keys: usize) -> usize {
    (NAME_RECORDS / keys.max(1)).clamp(MIN_KEY_RECORDS, MAX_KEY_RECORDS)
}

const NAME_RECORDS: usize = 3000;
const MIN_KEY_RECORDS: usize = 100;
const MAX_KEY_RECORDS: usize = 500;

/// A value bound to a generated query.
enum Bind {
    Org(OrgId),
    Text(String),
    Int(i64),
}

/// The smallest string after every string that starts with `prefix` (in code point order), if any.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_prefix_ends_at_the_next_string_in_code_point_order() {
        assert_eq!(super::prefix_end("smi").as_deref(), Some("smj"));
        assert_eq!(super::prefix_end("o'b").as_deref(), Some("o'c"));
        assert_eq!(super::prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(super::prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(super::prefix_end("\u{10FFFF}"), None);
    }
}
