//! Users, sessions, recovery codes, API keys and the audit chain.

use hearth_core::{ApiKeyId, LocationId, OrgId, UserId, UtcTime};
use hearth_store::api_keys::NewApiKey;
use hearth_store::audit::{AuditFilter, NewAuditEvent};
use hearth_store::locations::NewLocation;
use hearth_store::organizations::NewOrganization;
use hearth_store::sessions::NewSession;
use hearth_store::users::{NewUser, UserChanges};
use hearth_store::{Store, StoreError};

use crate::contract;

contract!(
    users_are_scoped_and_emails_unique,
    five_failures_lock_the_account,
    totp_steps_only_move_forward_and_recovery_codes_are_single_use,
    sessions_end_individually_or_all_but_one,
    api_keys_are_found_by_hash_and_revoked_per_organization,
    audit_events_form_a_chain,
    audit_events_appended_together_continue_the_chains,
    audit_rows_cannot_be_changed_or_removed,
    concurrent_audit_appends_never_fork_the_chain,
    audit_filters_select_events,
);

fn t(s: &str) -> UtcTime {
    s.parse().unwrap()
}

async fn org(store: &Store) -> OrgId {
    let id = OrgId::new();
    let new = NewOrganization { id, name: "Org", time_zone: "UTC", now: t("2026-01-06T09:00:00Z") };
    store.create_organization(&new).await.unwrap();
    id
}

async fn user(
    store: &Store,
    org: OrgId,
    email: &str,
    dept: Option<LocationId>,
) -> Result<UserId, StoreError> {
    let id = UserId::new();
    let mut tx = store.begin().await?;
    let new = NewUser {
        id,
        email,
        display_name: "Dana Reyes",
        role: "nurse",
        department_id: dept,
        password_hash: "$argon2id$placeholder",
        must_change_password: false,
        now: t("2026-01-06T09:00:00Z"),
    };
    let res = tx.create_user(org, &new).await;
    if res.is_ok() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    res.map(|_| id)
}

async fn users_are_scoped_and_emails_unique(store: Store) {
    let (a, b) = (org(&store).await, org(&store).await);
    let mut tx = store.begin().await.unwrap();
    let dept = LocationId::new();
    let new = NewLocation {
        id: dept,
        name: "Cardiology",
        time_zone: "UTC",
        sensitive: false,
        now: t("2026-01-06T09:00:00Z"),
    };
    tx.create_location(a, &new).await.unwrap();
    tx.commit().await.unwrap();

    let u1 = user(&store, a, "dana@a.example", Some(dept)).await.unwrap();
    let _u2 = user(&store, a, "lee@a.example", None).await.unwrap();
    assert!(
        matches!(user(&store, b, "dana@a.example", None).await, Err(StoreError::Unique(n)) if n == "users_email_key")
    );
    assert!(matches!(store.user(b, u1).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_users(a, None).await.unwrap().len(), 2);
    assert_eq!(store.list_users(a, Some(dept)).await.unwrap().len(), 1);
    assert!(store.list_users(b, None).await.unwrap().is_empty());
    assert_eq!(store.user_by_email("dana@a.example").await.unwrap().unwrap().id, u1);

    let mut tx = store.begin().await.unwrap();
    let changes = UserChanges { role: Some("viewer"), department_id: Some(None), ..UserChanges::default() };
    let row = tx.update_user(a, u1, &changes, t("2026-01-07T00:00:00Z")).await.unwrap();
    assert_eq!(
        (row.role.as_str(), row.department_id, row.display_name.as_str()),
        ("viewer", None, "Dana Reyes")
    );
    assert!(matches!(
        tx.update_user(b, u1, &changes, t("2026-01-07T00:00:00Z")).await,
        Err(StoreError::NotFound)
    ));
    tx.rollback().await.unwrap();
}

async fn five_failures_lock_the_account(store: Store) {
    let a = org(&store).await;
    let u = user(&store, a, "lock@a.example", None).await.unwrap();
    let until = t("2026-01-06T09:15:00Z");
    for i in 1..=5 {
        let mut tx = store.begin().await.unwrap();
        let locked = tx.record_login_failure(u, 5, until).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(locked.is_some(), i == 5, "failure {i}");
    }
    let row = store.user(a, u).await.unwrap();
    assert_eq!((row.locked_until, row.failed_logins), (Some(until), 0));
    let mut tx = store.begin().await.unwrap();
    tx.record_login_success(u).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user(a, u).await.unwrap().locked_until, None);
}

async fn totp_steps_only_move_forward_and_recovery_codes_are_single_use(store: Store) {
    let a = org(&store).await;
    let u = user(&store, a, "mfa@a.example", None).await.unwrap();
    assert!(store.advance_totp_step(u, 100).await.unwrap());
    assert!(!store.advance_totp_step(u, 100).await.unwrap(), "a step is accepted once");
    assert!(!store.advance_totp_step(u, 99).await.unwrap(), "never backwards");
    assert!(store.advance_totp_step(u, 101).await.unwrap());

    let mut tx = store.begin().await.unwrap();
    tx.replace_recovery_codes(a, u, &["h1".into(), "h2".into()]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.unused_recovery_codes(u).await.unwrap(), 2);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.use_recovery_code(u, "h1", t("2026-01-06T10:00:00Z")).await.unwrap());
    assert!(!tx.use_recovery_code(u, "h1", t("2026-01-06T10:00:00Z")).await.unwrap());
    assert!(!tx.use_recovery_code(u, "nope", t("2026-01-06T10:00:00Z")).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.unused_recovery_codes(u).await.unwrap(), 1);
}

async fn sessions_end_individually_or_all_but_one(store: Store) {
    let a = org(&store).await;
    let u = user(&store, a, "s@a.example", None).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for h in ["s1", "s2", "s3"] {
        let s = NewSession {
            token_hash: h,
            org_id: a,
            user_id: u,
            csrf_token: "c",
            mfa_passed: false,
            now: t("2026-01-06T09:00:00Z"),
            expires_at: t("2026-01-06T21:00:00Z"),
            ip: Some("127.0.0.1"),
            user_agent: None,
        };
        tx.create_session(&s).await.unwrap();
    }
    tx.pass_mfa("s1").await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.session("s1").await.unwrap().unwrap().mfa_passed);
    store.touch_session("s2", t("2026-01-06T09:30:00Z")).await.unwrap();
    assert_eq!(store.session("s2").await.unwrap().unwrap().last_seen_at, t("2026-01-06T09:30:00Z"));

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_session("s3").await.unwrap());
    assert_eq!(tx.delete_user_sessions(u, Some("s1")).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(store.session("s2").await.unwrap().is_none());
    assert!(store.session("s1").await.unwrap().is_some());
    // Idle since 09:00 and the idle cut-off is 09:10: purged.
    assert_eq!(store.purge_sessions(t("2026-01-06T09:20:00Z"), t("2026-01-06T09:10:00Z")).await.unwrap(), 1);
}

async fn api_keys_are_found_by_hash_and_revoked_per_organization(store: Store) {
    let (a, b) = (org(&store).await, org(&store).await);
    let id = ApiKeyId::new();
    let mut tx = store.begin().await.unwrap();
    let new = NewApiKey {
        id,
        name: "EHR feed",
        prefix: "hk_ab12",
        key_hash: "hash-1",
        scopes: "ingest,read",
        created_by: None,
        now: t("2026-01-06T09:00:00Z"),
    };
    tx.create_api_key(a, &new).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.api_key_by_hash("hash-1").await.unwrap().unwrap().id, id);
    assert!(store.api_key_by_hash("hash-2").await.unwrap().is_none());
    assert!(store.list_api_keys(b).await.unwrap().is_empty());
    store.touch_api_key(id, t("2026-01-06T10:00:00Z"), t("2026-01-06T09:59:00Z")).await.unwrap();
    store.touch_api_key(id, t("2026-01-06T10:00:30Z"), t("2026-01-06T09:59:30Z")).await.unwrap();
    assert_eq!(
        store.api_key(a, id).await.unwrap().last_used_at,
        Some(t("2026-01-06T10:00:00Z")),
        "throttled"
    );

    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.revoke_api_key(b, id, t("2026-01-07T00:00:00Z")).await, Err(StoreError::NotFound)));
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let row = tx.revoke_api_key(a, id, t("2026-01-07T00:00:00Z")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(row.revoked_at, Some(t("2026-01-07T00:00:00Z")));
}

fn event(org: OrgId, action: &str, subject: &str) -> NewAuditEvent {
    NewAuditEvent {
        org_id: Some(org),
        actor_type: "user".into(),
        actor_id: Some("u1".into()),
        action: action.into(),
        subject_type: Some("location".into()),
        subject_id: Some(subject.into()),
        after_json: Some(r#"{"name":"North"}"#.into()),
        ..NewAuditEvent::default()
    }
}

async fn append(store: &Store, e: &NewAuditEvent) {
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(e, t("2026-01-06T09:00:00Z")).await.unwrap();
    tx.commit().await.unwrap();
}

/// Walks a chain and returns the number of events, asserting every link.
async fn assert_chain_valid(store: &Store, org: OrgId) -> usize {
    let rows = store.audit_chain_page(org, 0, 10_000).await.unwrap();
    let mut prev = hearth_core::audit::GENESIS_HASH.to_owned();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i64::try_from(i).unwrap() + 1, "sequence without gaps");
        assert_eq!(r.prev_hash, prev, "link {}", r.seq);
        assert_eq!(r.hash, r.computed_hash(&prev), "hash {}", r.seq);
        prev.clone_from(&r.hash);
    }
    rows.len()
}

async fn audit_events_form_a_chain(store: Store) {
    let (a, b) = (org(&store).await, org(&store).await);
    for i in 0..3 {
        append(&store, &event(a, "location.create", &format!("l{i}"))).await;
    }
    append(&store, &event(b, "location.create", "x")).await;
    assert_eq!(assert_chain_valid(&store, a).await, 3);
    assert_eq!(assert_chain_valid(&store, b).await, 1, "each organization has its own chain");
    let heads = store.audit_chains().await.unwrap();
    assert!(heads.iter().any(|(o, seq, _)| *o == a && *seq == 3));
}

/// Events appended together, several organizations mixed, continue each organization's chain as if
/// appended one by one.
async fn audit_events_appended_together_continue_the_chains(store: Store) {
    let (a, b) = (org(&store).await, org(&store).await);
    append(&store, &event(a, "location.create", "l0")).await;
    let events = [
        event(a, "patient.create", "p1"),
        event(a, "patient.create", "p2"),
        event(b, "patient.create", "q1"),
        event(a, "patient.create", "p3"),
    ];
    let mut tx = store.begin().await.unwrap();
    let rows = tx.append_audit_many(&events, t("2026-01-06T09:00:00Z")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 3, 1, 4]);
    append(&store, &event(a, "location.update", "l0")).await;
    assert_eq!(assert_chain_valid(&store, a).await, 5);
    assert_eq!(assert_chain_valid(&store, b).await, 1);
}

async fn audit_rows_cannot_be_changed_or_removed(store: Store) {
    let a = org(&store).await;
    append(&store, &event(a, "location.create", "l1")).await;
    let update = "update audit_events set action = 'tampered'";
    let delete = "delete from audit_events";
    let res = hearth_store::on_pool!(&store, |p| sqlx::query(update).execute(p).await.map(|_| ()));
    assert!(res.unwrap_err().to_string().contains("append-only"));
    let res = hearth_store::on_pool!(&store, |p| sqlx::query(delete).execute(p).await.map(|_| ()));
    assert!(res.unwrap_err().to_string().contains("append-only"));
    assert_eq!(assert_chain_valid(&store, a).await, 1);
}

async fn concurrent_audit_appends_never_fork_the_chain(store: Store) {
    let a = org(&store).await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                loop {
                    let mut tx = store.begin().await.unwrap();
                    match tx
                        .append_audit(
                            &event(a, "location.update", &format!("l{i}")),
                            t("2026-01-06T09:00:00Z"),
                        )
                        .await
                    {
                        Ok(_) => break tx.commit().await.unwrap(),
                        // SQLite may report the single writer busy under load; retrying is correct.
                        Err(StoreError::Busy) => tx.rollback().await.unwrap(),
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(assert_chain_valid(&store, a).await, 24);
}

async fn audit_filters_select_events(store: Store) {
    let a = org(&store).await;
    append(&store, &event(a, "location.create", "l1")).await;
    append(&store, &event(a, "location.update", "l1")).await;
    append(&store, &event(a, "location.create", "l2")).await;
    let all = store.list_audit(a, &AuditFilter { limit: 50, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2, 1], "newest first");
    let f = AuditFilter { action: Some("location.create".into()), limit: 50, ..AuditFilter::default() };
    assert_eq!(store.list_audit(a, &f).await.unwrap().len(), 2);
    let f = AuditFilter { subject_id: Some("l1".into()), limit: 50, ..AuditFilter::default() };
    assert_eq!(store.list_audit(a, &f).await.unwrap().len(), 2);
    let f = AuditFilter { before_seq: Some(3), limit: 1, ..AuditFilter::default() };
    assert_eq!(store.list_audit(a, &f).await.unwrap()[0].seq, 2, "paging backwards");
    let f = AuditFilter { from: Some(t("2026-01-07T00:00:00Z")), limit: 50, ..AuditFilter::default() };
    assert!(store.list_audit(a, &f).await.unwrap().is_empty());
    let f = AuditFilter { actor_id: Some("someone-else".into()), limit: 50, ..AuditFilter::default() };
    assert!(store.list_audit(a, &f).await.unwrap().is_empty());
}
