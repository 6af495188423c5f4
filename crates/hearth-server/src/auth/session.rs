//! Sessions and API keys: resolving them on each request, creating and ending sessions, and the
//! cookies that carry them.

use hearth_core::{ApiScope, UtcTime};
use hearth_store::audit::NewAuditEvent;
use hearth_store::sessions::NewSession;
use hearth_store::users::UserRow;
use jiff::SignedDuration;

use super::middleware::{Authn, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE, user_actor};
use super::secrets::{random_hex, sha256_hex};
use super::{Actor, ActorKind, RequestMeta};
use crate::error::AppError;
use crate::state::AppState;

/// Last-seen times are written at most this often per session.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

pub async fn resolve_session(
    app: &AppState,
    token: &str,
    meta: RequestMeta,
) -> Result<Option<Authn>, AppError> {
    let hash = sha256_hex(token);
    let Some(session) = app.store.session(&hash).await? else {
        return Ok(None);
    };
    let now = app.wall_clock.now();
    let idle = idle_limit(app);
    if now >= session.expires_at || session.last_seen_at.plus(idle) <= now {
        let mut tx = app.store.begin().await?;
        tx.delete_session(&hash).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let user = match app.store.user(session.org_id, session.user_id).await {
        Ok(u) if u.active => u,
        Ok(_) | Err(hearth_store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if session.last_seen_at.plus(TOUCH_EVERY) <= now {
        app.store.touch_session(&hash, now).await?;
    }
    if !session.mfa_passed {
        return Ok(Some(Authn::MfaPending { session, user: Box::new(user) }));
    }
    let must_change_password = user.must_change_password;
    Ok(Some(Authn::Ready { actor: user_actor(&user, meta), session: Some(session), must_change_password }))
}

pub async fn resolve_api_key(
    app: &AppState,
    token: &str,
    meta: RequestMeta,
) -> Result<Option<Actor>, AppError> {
    if !token.starts_with(API_KEY_PREFIX) {
        return Ok(None);
    }
    let Some(key) = app.store.api_key_by_hash(&sha256_hex(token)).await? else {
        return Ok(None);
    };
    if key.revoked_at.is_some() {
        return Ok(None);
    }
    let now = app.wall_clock.now();
    // A write only once a minute: a write per request would queue every request behind the others'
    // commits (SQLite has one writer).
    if key.last_used_at.is_none_or(|t| t.plus(TOUCH_EVERY) <= now) {
        app.store.touch_api_key(key.id, now, now.plus(-TOUCH_EVERY)).await?;
    }
    let scopes = key.scopes.split(',').filter_map(ApiScope::parse).collect();
    Ok(Some(Actor { org: key.org_id, kind: ActorKind::ApiKey { id: key.id, name: key.name, scopes }, meta }))
}

pub const API_KEY_PREFIX: &str = "hk_";

fn idle_limit(app: &AppState) -> SignedDuration {
    SignedDuration::from_mins(i64::try_from(app.config.auth.session_idle_minutes).unwrap_or(30))
}

fn absolute_limit(app: &AppState) -> SignedDuration {
    SignedDuration::from_hours(i64::try_from(app.config.auth.session_absolute_hours).unwrap_or(12))
}

/// A new session for `user` (in the caller's transaction). Returns the cookie value.
pub async fn start(
    app: &AppState,
    tx: &mut hearth_store::Tx,
    user: &UserRow,
    meta: &RequestMeta,
    now: UtcTime,
) -> Result<String, AppError> {
    let token = random_hex(32);
    let csrf = random_hex(16);
    let hash = sha256_hex(&token);
    let session = NewSession {
        token_hash: &hash,
        org_id: user.org_id,
        user_id: user.id,
        csrf_token: &csrf,
        mfa_passed: !user.totp_enabled,
        now,
        expires_at: now.plus(absolute_limit(app)),
        ip: meta.ip.as_deref(),
        user_agent: meta.user_agent.as_deref(),
    };
    tx.create_session(&session).await?;
    Ok(token)
}

/// Ends the session whose hash is `session_hash`, with an audit event.
pub async fn end(app: &AppState, actor: &Actor, session_hash: &str) -> Result<(), AppError> {
    let now = app.wall_clock.now();
    let mut tx = app.store.begin().await?;
    tx.delete_session(session_hash).await?;
    crate::audit::record(&mut tx, now, actor, "auth.logout", None, None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether cookies must be `Secure`: always, except plain http on a loopback host (development).
pub fn secure_cookies(app: &AppState) -> bool {
    let url = app.config.public_url();
    let Some(rest) = url.strip_prefix("http://") else {
        return true;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host
        .rsplit_once(':')
        .map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    !matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn cookie_header(app: &AppState, name: &str, value: &str, max_age_secs: i64, same_site: &str) -> String {
    let secure = if secure_cookies(app) { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}")
}

pub fn session_cookie(app: &AppState, token: &str) -> String {
    cookie_header(app, SESSION_COOKIE, token, absolute_limit(app).as_secs(), "Lax")
}

pub fn clear_session_cookie(app: &AppState) -> String {
    cookie_header(app, SESSION_COOKIE, "", 0, "Lax")
}

/// The pre-session CSRF cookie for the sign-in form, and the token to put in the form.
pub fn pre_session_csrf(app: &AppState) -> (String, String) {
    let token = random_hex(16);
    (cookie_header(app, PRE_SESSION_CSRF_COOKIE, &token, 3600, "Strict"), token)
}

/// An audit event for something that happened before anyone was signed in.
pub fn anonymous_event(action: &str, meta: &RequestMeta, label: Option<String>) -> NewAuditEvent {
    NewAuditEvent {
        actor_type: "anonymous".into(),
        actor_label: label,
        action: action.into(),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        ..NewAuditEvent::default()
    }
}
