//! Listing and searching patients: every filter, the name order (code point order, capitals first),
//! family prefixes in any case (listed by the lower-case family name first), and name candidates
//! heaviest first.

use hearth_core::{OrgId, PatientId, UtcTime};
use hearth_store::Store;
use hearth_store::organizations::NewOrganization;
use hearth_store::patients::{NewPatientRow, PatientFields, PatientFilter};

use crate::contract;

contract!(
    filters_use_their_keys_and_lists_keep_name_order,
    name_candidates_come_heaviest_first,
    patients_inserted_together_read_back_as_returned,
    identifiers_are_looked_up_by_the_thousand_within_their_org_and_system,
);

pub(crate) async fn new_org(store: &Store) -> OrgId {
    let id = OrgId::new();
    let now = UtcTime::new(jiff::Timestamp::now());
    store.create_organization(&NewOrganization { id, name: "Clinic", time_zone: "UTC", now }).await.unwrap();
    id
}

pub(crate) async fn add(
    store: &Store,
    org: OrgId,
    mrn: &str,
    family: &str,
    given: &str,
    extra: PatientFields,
) -> PatientId {
    let id = PatientId::new();
    let fields = PatientFields {
        family_name: family.into(),
        given_names: given.into(),
        document: "{}".into(),
        name_keys: hearth_core::names::record_keys([family, given]),
        ..extra
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_patient(org, id, mrn, &fields, UtcTime::new(jiff::Timestamp::now())).await.unwrap();
    tx.commit().await.unwrap();
    id
}

fn names(rows: &[hearth_store::patients::PatientRow]) -> Vec<String> {
    rows.iter().map(|r| format!("{} {}", r.given_names, r.family_name)).collect()
}

async fn filters_use_their_keys_and_lists_keep_name_order(store: Store) {
    let org = new_org(&store).await;
    let other = new_org(&store).await;
    let phone = |p: &str| PatientFields { contacts: vec![("phone", p.into())], ..PatientFields::default() };
    add(&store, org, "M1", "Smith", "John", phone("+12025550143")).await;
    add(
        &store,
        org,
        "M2",
        "SMITH",
        "ANN",
        PatientFields { birth_date: Some("1980-02-03".into()), ..PatientFields::default() },
    )
    .await;
    let s = add(
        &store,
        org,
        "M3",
        "smithers",
        "bo",
        PatientFields { identifiers: vec![("epic".into(), "E9".into())], ..PatientFields::default() },
    )
    .await;
    add(
        &store,
        org,
        "M4",
        "Smyth",
        "Jon",
        PatientFields { contacts: vec![("email", "jon@example.org".into())], ..PatientFields::default() },
    )
    .await;
    add(&store, org, "M5", "Jones", "Ann", PatientFields::default()).await;
    add(&store, other, "M1", "Smith", "Other", phone("+12025550143")).await;
    let mut tx = store.begin().await.unwrap();
    tx.set_patient_status(org, s, None, "inactive", UtcTime::new(jiff::Timestamp::now())).await.unwrap();
    tx.commit().await.unwrap();

    let list = |f: PatientFilter| {
        let store = store.clone();
        async move { names(&store.list_patients(org, &PatientFilter { limit: 50, ..f }).await.unwrap()) }
    };
    assert_eq!(
        list(PatientFilter::default()).await,
        ["Ann Jones", "ANN SMITH", "John Smith", "Jon Smyth", "bo smithers"]
    );
    assert_eq!(
        list(PatientFilter { family_prefix: Some("SMI".into()), ..Default::default() }).await,
        ["ANN SMITH", "John Smith", "bo smithers"]
    );
    assert_eq!(
        list(PatientFilter { family_prefix: Some("smith".into()), offset: 1, ..Default::default() }).await,
        ["John Smith", "bo smithers"]
    );
    assert_eq!(list(PatientFilter { family_prefix: Some("%".into()), ..Default::default() }).await.len(), 5);
    assert_eq!(list(PatientFilter { mrn: Some("M4".into()), ..Default::default() }).await, ["Jon Smyth"]);
    assert_eq!(
        list(PatientFilter { birth_date: Some("1980-02-03".into()), ..Default::default() }).await,
        ["ANN SMITH"]
    );
    assert_eq!(
        list(PatientFilter { phone: Some("+12025550143".into()), ..Default::default() }).await,
        ["John Smith"]
    );
    assert_eq!(
        list(PatientFilter { email: Some("jon@example.org".into()), ..Default::default() }).await,
        ["Jon Smyth"]
    );
    let epic = Some(("epic".to_owned(), "E9".to_owned()));
    assert_eq!(list(PatientFilter { identifier: epic.clone(), ..Default::default() }).await, ["bo smithers"]);
    assert_eq!(
        list(PatientFilter { identifier: epic, status: Some("active".into()), ..Default::default() }).await,
        [""; 0]
    );
    assert_eq!(
        list(PatientFilter { status: Some("inactive".into()), ..Default::default() }).await,
        ["bo smithers"]
    );
    assert_eq!(
        list(PatientFilter {
            family_prefix: Some("jo".into()),
            mrn: Some("M5".into()),
            ..Default::default()
        })
        .await,
        ["Ann Jones"]
    );
}

async fn name_candidates_come_heaviest_first(store: Store) {
    let org = new_org(&store).await;
    add(&store, org, "M1", "Smithers", "Johan", PatientFields::default()).await;
    add(&store, org, "M2", "Smith", "John", PatientFields::default()).await;
    add(&store, org, "M3", "Smith", "Mary", PatientFields::default()).await;
    add(&store, org, "M4", "Jones", "Ann", PatientFields::default()).await;
    let search = |query: &str, mrn: Option<&str>| {
        let store = store.clone();
        let f = PatientFilter {
            name_keys: hearth_core::names::query_keys(query),
            mrn: mrn.map(Into::into),
            limit: 50,
            ..Default::default()
        };
        async move { names(&store.list_patients(org, &f).await.unwrap()) }
    };
    assert_eq!(
        search("John Smith", None).await,
        ["John Smith", "Johan Smithers"],
        "pairs of both words only"
    );
    assert_eq!(
        search("smith", None).await,
        ["John Smith", "Mary Smith", "Johan Smithers"],
        "exact word first"
    );
    assert_eq!(search("smith", Some("M3")).await, ["Mary Smith"], "with other filters");
    assert!(search("Mary Jones", None).await.is_empty(), "each word matches someone, no one both");
}

/// `insert_patients` returns the rows as stored, writes every record's keys, and MRN numbers reserved
/// in a block continue the sequence one at a time would have taken.
async fn patients_inserted_together_read_back_as_returned(store: Store) {
    let org = new_org(&store).await;
    let now = UtcTime::new(jiff::Timestamp::now());
    let fields: Vec<PatientFields> = ["Ames", "Bell", "Cole"]
        .iter()
        .enumerate()
        .map(|(i, family)| PatientFields {
            family_name: (*family).into(),
            given_names: "Ann".into(),
            document: "{}".into(),
            identifiers: vec![("epic".into(), format!("E{i}"))],
            contacts: vec![("phone", format!("+1202555014{i}"))],
            name_keys: hearth_core::names::record_keys([*family, "Ann"]),
            ..PatientFields::default()
        })
        .collect();
    let ids: Vec<PatientId> = fields.iter().map(|_| PatientId::new()).collect();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_mrn_number(org, 2026).await.unwrap(), 1);
    let last = tx.reserve_mrn_numbers(org, 2026, 3).await.unwrap();
    assert_eq!(last, 4, "numbers 2, 3 and 4");
    let mrns: Vec<String> = (2..=last).map(|n| format!("M{n}")).collect();
    let rows: Vec<NewPatientRow<'_>> = ids
        .iter()
        .zip(&mrns)
        .zip(&fields)
        .map(|((id, mrn), f)| NewPatientRow { id: *id, mrn: mrn.as_str(), fields: f })
        .collect();
    let inserted = tx.insert_patients(org, &rows, now).await.unwrap();
    let found = tx.patients_by_identifiers(org, "epic", &["E0", "E1", "E2"]).await.unwrap();
    assert_eq!(tx.next_mrn_number(org, 2026).await.unwrap(), 5);
    tx.commit().await.unwrap();
    assert_eq!(found.len(), 3);
    for (i, row) in inserted.iter().enumerate() {
        assert_eq!(&store.patient(org, row.id).await.unwrap(), row);
        assert_eq!(row.mrn, format!("M{}", i + 2));
        assert!(found.contains(&(format!("E{i}"), ids[i])));
    }
    let filter = PatientFilter { phone: Some("+12025550141".into()), limit: 10, ..PatientFilter::default() };
    let by_phone = store.list_patients(org, &filter).await.unwrap();
    assert_eq!(by_phone.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[1]]);
}

/// The prefetch of an ingest batch looks identifiers up many at a time (in statements of 500): every
/// known value is found once, unknown ones are absent, and neither another system's nor another
/// organization's identical value is returned. (2,100 patients also take two insert statements.)
async fn identifiers_are_looked_up_by_the_thousand_within_their_org_and_system(store: Store) {
    let (org, other_org) = (new_org(&store).await, new_org(&store).await);
    let now = UtcTime::new(jiff::Timestamp::now());
    let mut ids = Vec::new();
    for (o, system) in [(org, "epic"), (org, "cerner"), (other_org, "epic")] {
        let fields: Vec<PatientFields> = (0..2_100)
            .map(|i| PatientFields {
                family_name: format!("F{i}"),
                given_names: "Ann".into(),
                document: "{}".into(),
                identifiers: vec![(system.into(), format!("E{i}"))],
                ..PatientFields::default()
            })
            .collect();
        let rows_ids: Vec<PatientId> = fields.iter().map(|_| PatientId::new()).collect();
        let mrns: Vec<String> = (0..fields.len()).map(|i| format!("{system}-M{i}")).collect();
        let rows: Vec<NewPatientRow<'_>> = rows_ids
            .iter()
            .zip(&mrns)
            .zip(&fields)
            .map(|((id, mrn), f)| NewPatientRow { id: *id, mrn: mrn.as_str(), fields: f })
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.insert_patients(o, &rows, now).await.unwrap();
        tx.commit().await.unwrap();
        if o == org && system == "epic" {
            ids = rows_ids;
        }
    }
    // Every other known value, then as many that no one has.
    let wanted: Vec<String> =
        (0..2_100).step_by(2).map(|i| format!("E{i}")).chain((0..600).map(|i| format!("X{i}"))).collect();
    let keys: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let mut tx = store.begin().await.unwrap();
    let mut found = tx.patients_by_identifiers(org, "epic", &keys).await.unwrap();
    tx.commit().await.unwrap();
    found.sort_by_key(|(v, _)| v[1..].parse::<u32>().unwrap());
    let expected: Vec<(String, PatientId)> =
        (0..2_100).step_by(2).map(|i| (format!("E{i}"), ids[i])).collect();
    assert_eq!(found, expected);

    // Values are compared exactly, whatever characters they hold (SQLite receives them as a JSON
    // array): quotes, a backslash, a comma, accents.
    let odd = "E\"7\\, 8 ü";
    let fields = PatientFields {
        family_name: "Odd".into(),
        given_names: "Ann".into(),
        document: "{}".into(),
        identifiers: vec![("epic".into(), odd.into())],
        ..PatientFields::default()
    };
    let id = PatientId::new();
    let mut tx = store.begin().await.unwrap();
    tx.insert_patients(org, &[NewPatientRow { id, mrn: "odd-M", fields: &fields }], now).await.unwrap();
    let found = tx.patients_by_identifiers(org, "epic", &[odd, "E\"7\\, 8 u", "E\"7"]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found, vec![(odd.to_owned(), id)]);
}
