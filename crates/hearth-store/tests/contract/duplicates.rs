//! The duplicate review queue: pairs proposed many at a time, each pair once whichever way round it
//! was found, decided pairs left alone, every read scoped to its organization.

use hearth_core::UtcTime;
use hearth_store::Store;
use hearth_store::duplicates::Proposal;
use hearth_store::patients::PatientFields;

use crate::contract;
use crate::patient_search::{add, new_org};

contract!(pairs_are_proposed_once_and_decided_pairs_stay_decided);

async fn pairs_are_proposed_once_and_decided_pairs_stay_decided(store: Store) {
    let org = new_org(&store).await;
    let other_org = new_org(&store).await;
    let a = add(&store, org, "MRN-1", "Smith", "John", PatientFields::default()).await;
    let b = add(&store, org, "MRN-2", "Smyth", "Jon", PatientFields::default()).await;
    let c = add(&store, org, "MRN-3", "Smith", "Joan", PatientFields::default()).await;
    let now = UtcTime::new(jiff::Timestamp::now());
    let p = |a, b, score| Proposal { a, b, score, explanation: "[]" };

    // The same pair twice in one call, the second time the other way round: one row, last score.
    let mut tx = store.begin().await.unwrap();
    tx.propose_duplicates(org, &[p(a, b, 0.5), p(a, c, 0.7), p(b, a, 0.9)], now).await.unwrap();
    tx.commit().await.unwrap();
    let pending = store.list_duplicates(org, "pending", 10).await.unwrap();
    let scores: Vec<f64> = pending.iter().map(|d| d.score).collect();
    assert_eq!(scores, [0.9, 0.7], "{pending:?}");
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    assert_eq!((pending[0].patient_a, pending[0].patient_b), (lo, hi), "stored with the lower id first");
    assert!(store.list_duplicates(other_org, "pending", 10).await.unwrap().is_empty(), "scoped by org");

    // A decided pair keeps its decision and score when it is found again; a pending one is rescored.
    let ac = pending.iter().find(|d| d.patient_a == c || d.patient_b == c).unwrap().id;
    let mut tx = store.begin().await.unwrap();
    tx.decide_duplicate(org, ac, "not_duplicate", "reviewer", now).await.unwrap();
    tx.propose_duplicates(org, &[p(c, a, 0.95), p(a, b, 0.6)], now).await.unwrap();
    tx.commit().await.unwrap();
    let pending = store.list_duplicates(org, "pending", 10).await.unwrap();
    assert_eq!(pending.iter().map(|d| d.score).collect::<Vec<_>>(), [0.6]);
    let decided = store.duplicate(org, ac).await.unwrap();
    assert_eq!(decided.status, "not_duplicate");
    assert!((decided.score - 0.7).abs() < 1e-9, "kept its score: {}", decided.score);

    // Nothing to propose writes nothing.
    let mut tx = store.begin().await.unwrap();
    tx.propose_duplicates(org, &[], now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.list_duplicates(org, "pending", 10).await.unwrap().len(), 1);
}
