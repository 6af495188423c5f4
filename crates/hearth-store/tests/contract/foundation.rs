//! Organizations, locations, practitioners, migrations and connection settings.

use hearth_core::{LocationId, OrgId, PractitionerId, UtcTime};
use hearth_store::locations::{LocationChanges, NewLocation};
use hearth_store::organizations::NewOrganization;
use hearth_store::practitioners::NewPractitioner;
use hearth_store::{Store, StoreError};

use crate::contract;

contract!(
    migrations_are_current_after_migrate,
    migrate_twice_is_a_no_op,
    organization_roundtrip_keeps_microseconds,
    locations_are_scoped_by_organization,
    location_names_are_unique_per_organization,
    location_update_changes_only_given_fields,
    practitioner_external_ids_are_unique_per_organization,
    unknown_organization_is_a_foreign_key_error,
    transaction_rollback_leaves_nothing,
);

fn t(s: &str) -> UtcTime {
    s.parse().unwrap()
}

async fn org(store: &Store, name: &str) -> OrgId {
    let id = OrgId::new();
    store
        .create_organization(&NewOrganization {
            id,
            name,
            time_zone: "America/New_York",
            now: t("2026-01-06T09:00:00Z"),
        })
        .await
        .unwrap();
    id
}

async fn location(store: &Store, org: OrgId, name: &str) -> Result<LocationId, StoreError> {
    let id = LocationId::new();
    let mut tx = store.begin().await?;
    let new = NewLocation {
        id,
        name,
        time_zone: "Europe/London",
        sensitive: false,
        now: t("2026-01-06T09:00:00Z"),
    };
    match tx.create_location(org, &new).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(row.id)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn migrations_are_current_after_migrate(store: Store) {
    let status = store.migration_status().await.unwrap();
    assert!(status.is_current(), "pending: {:?}", status.pending());
    assert!(status.unknown().is_empty());
    assert_eq!(status.applied, status.expected);
}

async fn migrate_twice_is_a_no_op(store: Store) {
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
}

async fn organization_roundtrip_keeps_microseconds(store: Store) {
    let id = OrgId::new();
    let now = t("2026-03-08T07:59:59.123456Z");
    let created = store
        .create_organization(&NewOrganization {
            id,
            name: "Clínica Ñandú",
            time_zone: "America/Chicago",
            now,
        })
        .await
        .unwrap();
    let read = store.organization(id).await.unwrap();
    assert_eq!(created, read);
    assert_eq!(read.created_at, now);
    assert_eq!(read.name, "Clínica Ñandú");
    assert!(store.list_organizations().await.unwrap().iter().any(|o| o.id == id));
    assert!(matches!(store.organization(OrgId::new()).await, Err(StoreError::NotFound)));
}

async fn locations_are_scoped_by_organization(store: Store) {
    let a = org(&store, "A").await;
    let b = org(&store, "B").await;
    let loc = location(&store, a, "Main St").await.unwrap();
    assert_eq!(store.location(a, loc).await.unwrap().name, "Main St");
    assert!(matches!(store.location(b, loc).await, Err(StoreError::NotFound)), "B must not see A's location");
    assert!(store.list_locations(b).await.unwrap().is_empty());
    assert_eq!(store.list_locations(a).await.unwrap().len(), 1);
    let mut tx = store.begin().await.unwrap();
    let err = tx.update_location(
        b,
        loc,
        &LocationChanges { name: Some("x"), time_zone: None, sensitive: None },
        t("2026-01-07T00:00:00Z"),
    );
    assert!(matches!(err.await, Err(StoreError::NotFound)), "B must not change A's location");
    tx.rollback().await.unwrap();
}

async fn location_names_are_unique_per_organization(store: Store) {
    let a = org(&store, "A").await;
    let b = org(&store, "B").await;
    location(&store, a, "North").await.unwrap();
    match location(&store, a, "North").await {
        Err(StoreError::Unique(name)) => assert_eq!(name, "locations_org_id_name_key"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    location(&store, b, "North").await.expect("another organization may use the same name");
}

async fn location_update_changes_only_given_fields(store: Store) {
    let a = org(&store, "A").await;
    let loc = location(&store, a, "South").await.unwrap();
    let later = t("2026-02-01T12:00:00Z");
    let mut tx = store.begin().await.unwrap();
    let row = tx
        .update_location(
            a,
            loc,
            &LocationChanges { name: None, time_zone: Some("Asia/Tokyo"), sensitive: None },
            later,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((row.name.as_str(), row.time_zone.as_str(), row.updated_at), ("South", "Asia/Tokyo", later));
    assert_eq!(row.created_at, t("2026-01-06T09:00:00Z"));
}

async fn practitioner_external_ids_are_unique_per_organization(store: Store) {
    let a = org(&store, "A").await;
    let new = |ext| NewPractitioner {
        id: PractitionerId::new(),
        external_id: ext,
        given_name: "Ada",
        family_name: "Okafor",
        now: t("2026-01-06T09:00:00Z"),
    };
    let create = |n: NewPractitioner<'static>| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await?;
            let row = tx.create_practitioner(a, &n).await;
            if row.is_ok() {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            row
        }
    };
    let row = create(new(Some("P-1"))).await.unwrap();
    assert!(row.active);
    assert_eq!(store.practitioner(a, row.id).await.unwrap(), row);
    match create(new(Some("P-1"))).await {
        Err(StoreError::Unique(name)) => assert_eq!(name, "practitioners_org_id_external_id_key"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    // Practitioners without an EHR id never collide.
    create(new(None)).await.unwrap();
    create(new(None)).await.unwrap();
    assert_eq!(store.list_practitioners(a).await.unwrap().len(), 3);
}

async fn unknown_organization_is_a_foreign_key_error(store: Store) {
    assert!(matches!(location(&store, OrgId::new(), "Ghost").await, Err(StoreError::ForeignKey)));
}

async fn transaction_rollback_leaves_nothing(store: Store) {
    let id = OrgId::new();
    let mut tx = store.begin().await.unwrap();
    hearth_store::on_tx!(&mut tx, |c| sqlx::query(
        "insert into organizations (id, name, time_zone, created_at, updated_at) values ($1, 'T', 'UTC', $2, $2)"
    )
    .bind(id)
    .bind(t("2026-01-06T09:00:00Z"))
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(matches!(store.organization(id).await, Err(StoreError::NotFound)));
}
