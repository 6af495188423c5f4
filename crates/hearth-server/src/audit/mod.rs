//! Writing and checking the audit trail. Every write appends an event in the same transaction as the
//! change; every staff read of patient data appends one too. Secrets never enter an event: callers
//! pass the API views, which carry none.

pub mod verify;

use hearth_store::audit::AuditFilter;

use crate::state::AppState;
use hearth_store::audit::AuditEventRow;
use utoipa::ToSchema;

use hearth_core::UtcTime;
use hearth_store::Tx;
use hearth_store::audit::NewAuditEvent;
use serde::Serialize;

use crate::auth::Actor;
use crate::error::AppError;

/// What an event is about: a kind (`user`, `location`, …) and an id.
pub type Subject<'a> = (&'a str, String);

/// The JSON recorded as an event's before/after state.
pub fn snapshot<T: Serialize>(value: &T) -> Option<String> {
    Some(serde_json::to_string(value).unwrap_or_else(|e| format!("\"<unserializable: {e}>\"")))
}

/// Appends an event for `actor` doing `action` to `subject`, with the state before and after
/// (from [`snapshot`]).
pub async fn record(
    tx: &mut Tx,
    now: UtcTime,
    actor: &Actor,
    action: &str,
    subject: Option<Subject<'_>>,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), AppError> {
    let (actor_type, actor_id, actor_label) = actor.audit_identity();
    let event = NewAuditEvent {
        org_id: Some(actor.org),
        at: None,
        actor_type: actor_type.into(),
        actor_id,
        actor_label,
        action: action.into(),
        subject_type: subject.as_ref().map(|(k, _)| (*k).to_owned()),
        subject_id: subject.map(|(_, id)| id),
        ip: actor.meta.ip.clone(),
        user_agent: actor.meta.user_agent.clone(),
        request_id: actor.meta.request_id.clone(),
        before_json: before,
        after_json: after,
    };
    tx.append_audit(&event, now).await?;
    Ok(())
}

/// Records a staff read of patient data, in a transaction of its own.
pub async fn record_read(
    app: &AppState,
    actor: &Actor,
    action: &str,
    subject: Option<Subject<'_>>,
    detail: Option<String>,
) -> Result<(), AppError> {
    let mut tx = app.store.begin().await?;
    record(&mut tx, app.clock.now(), actor, action, subject, None, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends a prepared event (for events without a signed-in actor).
pub async fn record_raw(tx: &mut Tx, now: UtcTime, event: &NewAuditEvent) -> Result<(), AppError> {
    tx.append_audit(event, now).await?;
    Ok(())
}

/// The organization's audit trail, newest first.
pub async fn list(
    app: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
) -> Result<Vec<AuditEventView>, AppError> {
    let rows = app.store.list_audit(actor.org, filter).await?;
    Ok(rows.into_iter().map(AuditEventView::from).collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub seq: i64,
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: UtcTime,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: Option<String>,
    pub action: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl From<AuditEventRow> for AuditEventView {
    fn from(r: AuditEventRow) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            seq: r.seq,
            id: r.id.to_string(),
            at: r.at,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            actor_label: r.actor_label,
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            before: parse(r.before_json),
            after: parse(r.after_json),
            hash: r.hash,
        }
    }
}
