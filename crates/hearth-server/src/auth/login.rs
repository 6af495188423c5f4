//! Signing in: password (with lockout), then the second factor when enrolled. Every outcome —
//! success, failure, lockout, refusal while locked — is in the audit trail.

use hearth_core::UtcTime;
use hearth_store::audit::NewAuditEvent;
use hearth_store::sessions::SessionRow;
use hearth_store::users::UserRow;
use jiff::SignedDuration;

use super::middleware::user_actor;
use super::secrets::verify_password;
use super::session::{anonymous_event, start};
use super::{RequestMeta, totp};
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug)]
pub enum LoginResult {
    /// Signed in; the session token for the cookie. `mfa_pending` when a second factor is due.
    SignedIn { token: String, mfa_pending: bool },
    /// Wrong address or password, a locked or inactive account: the caller learns no more.
    Refused,
}

pub async fn login(
    app: &AppState,
    email: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<LoginResult, AppError> {
    let email = email.trim().to_lowercase();
    let now = app.wall_clock.now();
    let user = app.store.user_by_email(&email).await?;
    let Some(user) = user else {
        // Same work as a real check, so timing does not reveal which addresses exist.
        let _ = verify_password(password.to_owned(), None).await;
        let mut tx = app.store.begin().await?;
        audit::record_raw(&mut tx, now, &anonymous_event("auth.login_failed", meta, Some(email))).await?;
        tx.commit().await?;
        return Ok(LoginResult::Refused);
    };
    if user.locked_until.is_some_and(|t| t > now) {
        let mut tx = app.store.begin().await?;
        audit::record_raw(&mut tx, now, &user_event(&user, "auth.login_refused_locked", meta)).await?;
        tx.commit().await?;
        return Ok(LoginResult::Refused);
    }
    let ok = verify_password(password.to_owned(), Some(user.password_hash.clone())).await;
    let mut tx = app.store.begin().await?;
    if !ok || !user.active {
        let action = if user.active { "auth.login_failed" } else { "auth.login_refused_inactive" };
        audit::record_raw(&mut tx, now, &user_event(&user, action, meta)).await?;
        if user.active {
            let lock_until = now.plus(SignedDuration::from_mins(
                i64::try_from(app.config.auth.lockout_minutes).unwrap_or(15),
            ));
            let threshold = i32::try_from(app.config.auth.lockout_threshold).unwrap_or(5);
            if tx.record_login_failure(user.id, threshold, lock_until).await?.is_some() {
                let mut e = user_event(&user, "auth.account_locked", meta);
                e.after_json = Some(format!(r#"{{"locked_until":"{lock_until}"}}"#));
                audit::record_raw(&mut tx, now, &e).await?;
            }
        }
        tx.commit().await?;
        return Ok(LoginResult::Refused);
    }
    tx.record_login_success(user.id).await?;
    let token = start(app, &mut tx, &user, meta, now).await?;
    let action = if user.totp_enabled { "auth.password_accepted" } else { "auth.login" };
    audit::record_raw(&mut tx, now, &user_event(&user, action, meta)).await?;
    tx.commit().await?;
    Ok(LoginResult::SignedIn { token, mfa_pending: user.totp_enabled })
}

/// Checks a TOTP code or a recovery code for a session waiting on its second factor.
pub async fn second_factor(
    app: &AppState,
    session: &SessionRow,
    user: &UserRow,
    code: &str,
    meta: &RequestMeta,
) -> Result<bool, AppError> {
    let now = app.wall_clock.now();
    let step = totp::stored_secret(app, user).and_then(|secret| {
        totp::matching_step(&secret, &user.email, code, u64::try_from(now.unix_seconds()).unwrap_or(0))
    });
    let accepted = match step {
        Some(step) => app.store.advance_totp_step(user.id, step).await?,
        None => false,
    };
    let mut tx = app.store.begin().await?;
    let (ok, action) = if accepted {
        (true, "auth.login")
    } else if tx.use_recovery_code(user.id, &totp::recovery_code_hash(code), now).await? {
        (true, "auth.login_recovery_code")
    } else {
        (false, "auth.mfa_failed")
    };
    if ok {
        tx.pass_mfa(&session.token_hash).await?;
        tx.record_login_success(user.id).await?;
    } else {
        let lock_until =
            now.plus(SignedDuration::from_mins(i64::try_from(app.config.auth.lockout_minutes).unwrap_or(15)));
        let threshold = i32::try_from(app.config.auth.lockout_threshold).unwrap_or(5);
        if tx.record_login_failure(user.id, threshold, lock_until).await?.is_some() {
            // Too many wrong codes: lock the account and end this half-open session.
            tx.delete_session(&session.token_hash).await?;
            audit::record_raw(&mut tx, now, &user_event(user, "auth.account_locked", meta)).await?;
        }
    }
    audit::record_raw(&mut tx, now, &user_event(user, action, meta)).await?;
    tx.commit().await?;
    Ok(ok)
}

fn user_event(user: &UserRow, action: &str, meta: &RequestMeta) -> NewAuditEvent {
    let actor = user_actor(user, meta.clone());
    let (actor_type, actor_id, actor_label) = actor.audit_identity();
    NewAuditEvent {
        org_id: Some(user.org_id),
        actor_type: actor_type.into(),
        actor_id,
        actor_label,
        action: action.into(),
        subject_type: Some("user".into()),
        subject_id: Some(user.id.to_string()),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        ..NewAuditEvent::default()
    }
}

/// The time a lock ends, for messages.
pub fn locked_until(user: &UserRow, now: UtcTime) -> Option<UtcTime> {
    user.locked_until.filter(|t| *t > now)
}
