//! The merge registry stays complete as tables are added.

use hearth_store::Store;
use hearth_store::merges::{NOT_MOVED, PATIENT_REFERENCES};

use crate::contract;

contract!(every_table_that_refers_to_a_patient_is_registered_for_merges);

async fn every_table_that_refers_to_a_patient_is_registered_for_merges(store: Store) {
    let tables = store.tables_referencing_patients().await.unwrap();
    assert!(tables.contains(&"consents".to_owned()), "{tables:?}");
    for t in &tables {
        let registered = PATIENT_REFERENCES.iter().any(|r| r.table == t) || NOT_MOVED.contains(&t.as_str());
        assert!(
            registered,
            "table {t} refers to patients but is neither in PATIENT_REFERENCES nor NOT_MOVED (hearth-store/src/merges.rs)"
        );
    }
}
