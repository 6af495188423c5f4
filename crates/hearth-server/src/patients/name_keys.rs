//! Rebuilding the stored name search keys when the way they are derived changes. Migration 9 added
//! pair keys (`hearth_core::names`): records written before it get them when the migration is applied,
//! by `hearth migrate` or at start-up.

use hearth_core::PatientId;
use hearth_store::Store;

use super::PatientRecord;

/// The migration after which every record's name keys are derived anew.
const NAME_KEYS_CHANGED: i64 = 9;
/// Records per transaction.
const BATCH: i64 = 1000;

/// Rebuilds every record's name keys if `applied` (the migrations just applied) changed how they are
/// derived; returns how many records were rewritten.
pub async fn rebuild_after_migrations(store: &Store, applied: &[i64]) -> anyhow::Result<u64> {
    if !applied.contains(&NAME_KEYS_CHANGED) {
        return Ok(0);
    }
    let mut total = 0;
    for org in store.list_organizations().await? {
        let mut after = PatientId::from(uuid::Uuid::nil());
        loop {
            let page = store.patient_documents(org.id, after, BATCH).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let mut tx = store.begin().await?;
            for (id, document) in &page {
                let record: PatientRecord = serde_json::from_str(document)?;
                tx.replace_patient_name_keys(org.id, *id, &super::model::name_keys(&record)).await?;
            }
            tx.commit().await?;
            total += page.len() as u64;
        }
    }
    if total > 0 {
        tracing::info!(patients = total, "name search keys rebuilt");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use hearth_core::{OrgId, PatientId, UtcTime};
    use hearth_store::organizations::NewOrganization;
    use hearth_store::patients::PatientFilter;

    use crate::patients::{HumanName, PatientRecord, Strictness};

    #[tokio::test]
    async fn records_written_before_pair_keys_get_them_when_migration_9_is_applied() {
        let db = hearth_store::testing::TestDb::sqlite();
        let store = db.store().await;
        let (org, now) = (OrgId::new(), UtcTime::new(jiff::Timestamp::now()));
        let new = NewOrganization { id: org, name: "Clinic", time_zone: "UTC", now };
        store.create_organization(&new).await.unwrap();
        let record = PatientRecord {
            name: HumanName { family: "Smith".into(), given: vec!["John".into()], ..HumanName::default() },
            ..PatientRecord::default()
        };
        let (_, mut fields) =
            crate::patients::normalize(&record, jiff::civil::date(2026, 1, 1), "US", Strictness::Strict)
                .unwrap();
        // As written before migration 9: each word's keys, no pairs.
        fields.name_keys = hearth_core::names::word_keys("John Smith");
        let id = PatientId::new();
        let mut tx = store.begin().await.unwrap();
        tx.insert_patient(org, id, "M-1", &fields, now).await.unwrap();
        tx.commit().await.unwrap();
        let by_pairs = PatientFilter {
            name_keys: hearth_core::names::query_keys("Jon Smyth"),
            limit: 50,
            ..Default::default()
        };
        assert!(store.list_patients(org, &by_pairs).await.unwrap().is_empty());

        assert_eq!(super::rebuild_after_migrations(&store, &[7, 8]).await.unwrap(), 0);
        assert_eq!(super::rebuild_after_migrations(&store, &[9]).await.unwrap(), 1);
        let found = store.list_patients(org, &by_pairs).await.unwrap();
        assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    }
}
