//! Sign-in, lockout, sessions, CSRF, second factor, and who may manage whom.

use hearth_core::{Role, UtcTime};
use jiff::SignedDuration;
use reqwest::Method;

use crate::helpers::{PASSWORD, TestApp, both, hidden_field, json, seed_org, seed_user, set_cookie};

both!(
    brute_force_locks_the_account_and_the_lock_expires,
    a_session_is_dead_after_logout,
    idle_and_absolute_expiry_end_sessions,
    state_changing_requests_need_the_csrf_token,
    totp_enrolment_then_sign_in_with_code_and_recovery_code,
    managers_cannot_reach_above_their_role_or_outside_their_department,
    temporary_passwords_must_be_changed_first,
);

async fn audit_actions(app: &TestApp, org: hearth_core::OrgId) -> Vec<String> {
    let f = hearth_store::audit::AuditFilter { limit: 1000, ..Default::default() };
    app.state.store.list_audit(org, &f).await.unwrap().into_iter().rev().map(|e| e.action).collect()
}

async fn brute_force_locks_the_account_and_the_lock_expires(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, email) = seed_user(&app, org, Role::Nurse, None).await;
    for _ in 0..5 {
        let res = app.submit_login(&email, "wrong password 123").await;
        assert_eq!(res.status(), 401);
        assert!(set_cookie(&res, "hearth_session").is_none());
    }
    // Locked: even the right password is refused, with the same message as a wrong one.
    let res = app.submit_login(&email, PASSWORD).await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("locked for 15 minutes"), "{html}");
    let actions = audit_actions(&app, org).await;
    assert_eq!(actions.iter().filter(|a| *a == "auth.login_failed").count(), 5, "{actions:?}");
    assert!(actions.contains(&"auth.account_locked".to_owned()), "{actions:?}");
    assert!(actions.contains(&"auth.login_refused_locked".to_owned()), "{actions:?}");

    app.clock.advance(SignedDuration::from_mins(16));
    let res = app.submit_login(&email, PASSWORD).await;
    assert_eq!(res.status(), 303, "the lock has expired");
    assert!(audit_actions(&app, org).await.last().is_some_and(|a| a == "auth.login"));
}

async fn a_session_is_dead_after_logout(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, email) = seed_user(&app, org, Role::Staff, None).await;
    let staff = app.login(&email, PASSWORD).await;
    assert_eq!(app.as_staff(&staff, Method::GET, "/api/v1/me").send().await.unwrap().status(), 200);
    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("hearth_session={}", staff.cookie))
        .form(&[("csrf", staff.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cleared = set_cookie(&res, "hearth_session").unwrap();
    assert!(cleared.is_empty(), "the cookie is cleared");
    // The old cookie, replayed, no longer works.
    let res = app.as_staff(&staff, Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(audit_actions(&app, org).await.contains(&"auth.logout".to_owned()));
    // A page with the dead cookie sends the person to the sign-in page.
    let res = app.as_staff(&staff, Method::GET, "/admin/users").send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/login"));
}

async fn idle_and_absolute_expiry_end_sessions(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, email) = seed_user(&app, org, Role::Staff, None).await;
    let staff = app.login(&email, PASSWORD).await;
    app.clock.advance(SignedDuration::from_mins(29));
    assert_eq!(
        app.as_staff(&staff, Method::GET, "/api/v1/me").send().await.unwrap().status(),
        200,
        "29 idle minutes are fine"
    );
    app.clock.advance(SignedDuration::from_mins(31));
    assert_eq!(
        app.as_staff(&staff, Method::GET, "/api/v1/me").send().await.unwrap().status(),
        401,
        "31 idle minutes end it"
    );

    let staff = app.login(&email, PASSWORD).await;
    for _ in 0..25 {
        app.clock.advance(SignedDuration::from_mins(29));
        let status = app.as_staff(&staff, Method::GET, "/api/v1/me").send().await.unwrap().status();
        if status == 401 {
            let started: UtcTime = "2026-01-06T10:00:00Z".parse().unwrap();
            assert!(
                app.clock_now() >= started.plus(SignedDuration::from_hours(12)),
                "ended only at the absolute limit"
            );
            return;
        }
    }
    panic!("an active session must still end after 12 hours");
}

async fn state_changing_requests_need_the_csrf_token(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, email) = seed_user(&app, org, Role::PxAdmin, None).await;
    let admin = app.login(&email, PASSWORD).await;
    let cookie = format!("hearth_session={}", admin.cookie);
    let body = serde_json::json!({"name": "North", "time_zone": "America/Chicago"});
    // JSON with the session cookie: no token, a wrong token, then the right one.
    let res = app
        .client
        .post(app.url("/api/v1/locations"))
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 403).await["code"], "csrf_invalid");
    let res = app
        .client
        .post(app.url("/api/v1/locations"))
        .header("cookie", &cookie)
        .header("x-csrf-token", "forged")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 403).await["code"], "csrf_invalid");
    let res = app.as_staff(&admin, Method::POST, "/api/v1/locations").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // A form post without the field, or with another session's token, is refused with a page.
    let res = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("cookie", &cookie)
        .form(&[("name", "x"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("csrf_invalid"));
    let (_, other_email) = seed_user(&app, org, Role::PxAdmin, None).await;
    let other = app.login(&other_email, PASSWORD).await;
    let res = app
        .client
        .post(app.url("/admin/api-keys"))
        .header("cookie", &cookie)
        .form(&[("csrf", other.csrf.as_str()), ("name", "x"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(app.state.store.list_api_keys(org).await.unwrap().is_empty(), "nothing was created");
    // The sign-in form without its double-submit cookie.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("csrf", "x"), ("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // API keys are not ambient credentials: no token needed.
    let (_, key) = crate::helpers::seed_api_key(&app, org, &[hearth_core::ApiScope::Write]).await;
    let res = app
        .as_key(&key, Method::POST, "/api/v1/locations")
        .json(&serde_json::json!({"name": "South"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

async fn totp_enrolment_then_sign_in_with_code_and_recovery_code(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (user_id, email) = seed_user(&app, org, Role::Physician, None).await;
    let staff = app.login(&email, PASSWORD).await;
    let page = app.as_staff(&staff, Method::GET, "/account/mfa").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg"), "the QR code is inline SVG");
    let secret = page.split("class=\"once\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let code_now = |app: &TestApp| {
        let t = u64::try_from(app.clock_now().unix_seconds()).unwrap();
        hearth_server::auth::totp::code_at(&secret, &email, t).unwrap()
    };
    // A wrong code is refused and the page keeps the secret; the right one enables TOTP.
    let res = app
        .as_staff(&staff, Method::POST, "/account/mfa")
        .form(&[("csrf", staff.csrf.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .as_staff(&staff, Method::POST, "/account/mfa")
        .form(&[("csrf", staff.csrf.as_str()), ("code", &code_now(&app))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let recovery: Vec<String> = html
        .split("<span class=\"once\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{html}");
    assert!(app.state.store.user(org, user_id).await.unwrap().totp_enabled);

    // Password alone now gives a half session that only reaches the second-factor page.
    let res = app.submit_login(&email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/login/mfa");
    let half = set_cookie(&res, "hearth_session").unwrap();
    let cookie = format!("hearth_session={half}");
    let res = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.status(), 401, "no API access before the second factor");
    let mfa_page = app
        .client
        .get(app.url("/login/mfa"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&mfa_page, "csrf").unwrap();
    // The code used at enrolment cannot be replayed in the same 30 s step.
    let res = app
        .client
        .post(app.url("/login/mfa"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("code", &code_now(&app))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "replayed code");
    app.clock.advance(SignedDuration::from_secs(60));
    let res = app
        .client
        .post(app.url("/login/mfa"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("code", &code_now(&app))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().status(),
        200
    );

    // A recovery code works once.
    for expected in [303, 401] {
        let res = app.submit_login(&email, PASSWORD).await;
        let cookie = format!("hearth_session={}", set_cookie(&res, "hearth_session").unwrap());
        let page = app
            .client
            .get(app.url("/login/mfa"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_field(&page, "csrf").unwrap();
        let res = app
            .client
            .post(app.url("/login/mfa"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("code", recovery[0].as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }
    let actions = audit_actions(&app, org).await;
    for a in ["user.mfa_enabled", "auth.password_accepted", "auth.mfa_failed", "auth.login_recovery_code"] {
        assert!(actions.contains(&a.to_owned()), "{a} missing from {actions:?}");
    }
}

async fn managers_cannot_reach_above_their_role_or_outside_their_department(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let system = hearth_server::auth::Actor::system(org, "test");
    let mk = |name: &str| hearth_server::directory::CreateLocationInput {
        name: name.into(),
        time_zone: None,
        sensitive: false,
    };
    let cardio =
        hearth_server::directory::create_location(&app.state, &system, mk("Cardiology")).await.unwrap().id;
    let onco =
        hearth_server::directory::create_location(&app.state, &system, mk("Oncology")).await.unwrap().id;
    let (_, mgr_email) = seed_user(&app, org, Role::DepartmentManager, Some(cardio)).await;
    let (cardio_nurse, _) = seed_user(&app, org, Role::Nurse, Some(cardio)).await;
    let (onco_nurse, _) = seed_user(&app, org, Role::Nurse, Some(onco)).await;
    let (hospital_admin, _) = seed_user(&app, org, Role::HospitalAdmin, Some(cardio)).await;
    let mgr = app.login(&mgr_email, PASSWORD).await;

    let listed = json(app.as_staff(&mgr, Method::GET, "/api/v1/users").send().await.unwrap(), 200).await;
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&cardio_nurse.to_string().as_str()) && !ids.contains(&onco_nurse.to_string().as_str()),
        "{ids:?}"
    );
    let res = app.as_staff(&mgr, Method::GET, &format!("/api/v1/users/{onco_nurse}")).send().await.unwrap();
    assert_eq!(res.status(), 404, "another department's user is invisible");
    let res = app
        .as_staff(&mgr, Method::PATCH, &format!("/api/v1/users/{hospital_admin}"))
        .json(&serde_json::json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a higher role cannot be managed");
    let res = app
        .as_staff(&mgr, Method::PATCH, &format!("/api/v1/users/{cardio_nurse}"))
        .json(&serde_json::json!({"role": "px_admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "cannot grant a role above one's own");
    let res = app.as_staff(&mgr, Method::POST, "/api/v1/users").json(&serde_json::json!({"email": "x@clinic.example", "display_name": "X", "role": "nurse", "department_id": onco})).send().await.unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "department_id");
    let res = app
        .as_staff(&mgr, Method::POST, "/api/v1/users")
        .json(
            &serde_json::json!({"email": "new@clinic.example", "display_name": "New Nurse", "role": "nurse"}),
        )
        .send()
        .await
        .unwrap();
    let created = json(res, 201).await;
    assert_eq!(created["user"]["department_id"], cardio.to_string(), "placed in the manager's department");
    assert!(created["temporary_password"].as_str().unwrap().len() >= 12);
    // Bad input names the field.
    let res = app
        .as_staff(&mgr, Method::POST, "/api/v1/users")
        .json(&serde_json::json!({"email": "not an address", "display_name": "", "role": "nurse"}))
        .send()
        .await
        .unwrap();
    let body = json(res, 422).await;
    let fields: Vec<&str> =
        body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "display_name"]);
    let res = app
        .as_staff(&mgr, Method::POST, "/api/v1/users")
        .json(&serde_json::json!({"email": "a@b.example", "display_name": "A", "role": "janitor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "role");
}

async fn temporary_passwords_must_be_changed_first(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, admin_email) = seed_user(&app, org, Role::HospitalAdmin, None).await;
    let admin = app.login(&admin_email, PASSWORD).await;
    let (nurse, nurse_email) = seed_user(&app, org, Role::Nurse, None).await;
    let nurse_session = app.login(&nurse_email, PASSWORD).await;
    let res = app
        .as_staff(&admin, Method::POST, &format!("/api/v1/users/{nurse}/reset-password"))
        .send()
        .await
        .unwrap();
    let temp = json(res, 200).await["temporary_password"].as_str().unwrap().to_owned();
    assert_eq!(
        app.as_staff(&nurse_session, Method::GET, "/api/v1/me").send().await.unwrap().status(),
        401,
        "a reset ends the user's sessions"
    );
    assert_eq!(
        app.submit_login(&nurse_email, PASSWORD).await.status(),
        401,
        "the old password no longer works"
    );
    let res = app.submit_login(&nurse_email, &temp).await;
    let cookie = format!("hearth_session={}", set_cookie(&res, "hearth_session").unwrap());
    let res = app.client.get(app.url("/api/v1/organization")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.status(), 403, "nothing but the account page until the password is changed");
    let res = app.client.get(app.url("/admin/users")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/account");
    let page = app
        .client
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf").unwrap();
    let change = |new: &'static str, confirm: &'static str| {
        app.client.post(app.url("/account/password")).header("cookie", &cookie).form(&[
            ("csrf", csrf.clone()),
            ("current_password", temp.clone()),
            ("new_password", new.to_owned()),
            ("confirm_password", confirm.to_owned()),
        ])
    };
    assert_eq!(change("short", "short").send().await.unwrap().status(), 422);
    assert_eq!(change("a long new password", "a different one!!").send().await.unwrap().status(), 422);
    assert_eq!(change("a long new password", "a long new password").send().await.unwrap().status(), 200);
    assert_eq!(
        app.client
            .get(app.url("/api/v1/organization"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
