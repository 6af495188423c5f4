//! The staff inbox: replies a person must read (free text, confirm or cancel replies that matched no
//! outstanding prompt, anything that reads as an opt-out request), each with the patient and
//! appointment it most likely belongs to. Staff assign an item, answer the patient (a `staff_reply`
//! message through the outbox, consent checked) and mark it done. Every read is audited like other
//! reads of patient data; every change is audited with the item as subject.

use hearth_core::messaging::Channel;
use hearth_core::{ErrorCode, InboundMessageId, UserId, UtcTime};
use hearth_store::StoreError;
use hearth_store::replies::{InboxChange, InboxFilter, ReplyRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::notifications::outbox::{MessageView, consent_allows};
use crate::notifications::{NewMessage, enqueue};
use crate::state::AppState;

pub const STATUSES: &[&str] = &["open", "assigned", "done"];

/// Which items to list.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// open | assigned | done | all; default: open and assigned (everything not done).
    pub status: Option<String>,
    /// `me`, or a user id: only items assigned to them.
    pub assigned_to: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Someone or something an item points to, with a name to show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// The appointment an item most likely is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LikelyAppointment {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub start: UtcTime,
    /// The start as a wall-clock time where the appointment is.
    pub local_start: String,
    pub status: String,
}

/// One inbox item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItemView {
    /// The reply (inbound message) id.
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: UtcTime,
    pub channel: String,
    /// The patient's number (E.164).
    pub from: String,
    pub body: String,
    /// What the reply was read as: other | confirm | cancel | …
    pub kind: String,
    /// Why it is here: to_inbox (free text) | no_prompt (a confirm or cancel with nothing
    /// outstanding to apply it to) | …
    pub outcome: String,
    /// The text reads like a request to stop messages: a person must decide (and record the
    /// opt-out on the patient's page if that is what the patient meant).
    pub reads_as_opt_out: bool,
    /// open | assigned | done
    pub status: String,
    pub assigned_to: Option<Named>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub assigned_at: Option<UtcTime>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<UtcTime>,
    /// The likely patient: the one the last prompt to this number was for, else the only patient
    /// with this number.
    pub patient: Option<Named>,
    /// How many patients have this number (a family may share one).
    pub patients_on_number: i32,
    pub appointment: Option<LikelyAppointment>,
}

/// One item with the conversation around it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItemDetail {
    pub item: InboxItemView,
    /// Earlier replies from the same number, newest first (at most 20).
    pub earlier: Vec<super::ReplyView>,
    /// What staff answered to this item.
    pub answers: Vec<MessageView>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The staff member; default: the caller (an API key must name one).
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxReplyInput {
    /// The text sent to the patient (at most 1,600 characters).
    pub body: String,
}

fn statuses(q: &InboxQuery) -> Result<Vec<String>, FieldError> {
    match q.status.as_deref().map(str::trim) {
        None | Some("") => Ok(vec!["open".into(), "assigned".into()]),
        Some("all") => Ok(STATUSES.iter().map(|s| (*s).to_owned()).collect()),
        Some(s) if STATUSES.contains(&s) => Ok(vec![s.to_owned()]),
        Some(_) => Err(FieldError::new("status", "expected open, assigned, done or all")),
    }
}

fn filter(actor: &Actor, q: &InboxQuery) -> Result<InboxFilter, AppError> {
    let mut errors = Vec::new();
    let statuses = statuses(q).map_err(|e| errors.push(e)).unwrap_or_default();
    let assigned_to = match q.assigned_to.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => actor.user_id().or_else(|| {
            errors.push(FieldError::new("assigned_to", "`me` needs a signed-in user; give a user id"));
            None
        }),
        Some(id) => id
            .parse::<UserId>()
            .map_err(|_| errors.push(FieldError::new("assigned_to", "expected `me` or a user id")))
            .ok(),
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(InboxFilter {
        statuses,
        assigned_to,
        limit: q.limit.unwrap_or(100).clamp(1, 500),
        offset: q.offset.unwrap_or(0).max(0),
    })
}

async fn view(app: &AppState, r: &ReplyRow) -> Result<InboxItemView, AppError> {
    let org = r.org_id;
    let patient = match r.patient_id {
        Some(id) => app.store.patient(org, id).await.ok().map(|p| Named {
            id: id.to_string(),
            name: format!("{} {}", p.given_names, p.family_name).trim().to_owned(),
        }),
        None => None,
    };
    let appointment = match r.appointment_id {
        Some(id) => app.store.appointment(org, id).await.ok().map(|a| LikelyAppointment {
            id: id.to_string(),
            start: a.start_at,
            local_start: crate::appointments::local_time(a.start_at, &a.time_zone),
            status: a.status,
        }),
        None => None,
    };
    let assigned_to = match r.assigned_to {
        Some(id) => {
            app.store.user(org, id).await.ok().map(|u| Named { id: id.to_string(), name: u.display_name })
        }
        None => None,
    };
    Ok(InboxItemView {
        id: r.id.to_string(),
        received_at: r.received_at,
        channel: r.channel.clone(),
        from: r.from_address.clone(),
        body: r.body.clone(),
        kind: r.kind.clone(),
        outcome: r.outcome.clone(),
        reads_as_opt_out: r.reads_as_opt_out,
        status: r.inbox_status.clone().unwrap_or_default(),
        assigned_to,
        assigned_at: r.assigned_at,
        done_at: r.done_at,
        patient,
        patients_on_number: r.patients_on_number,
        appointment,
    })
}

/// The organization's inbox items, newest first (an audited read of patient data).
pub async fn list(app: &AppState, actor: &Actor, q: &InboxQuery) -> Result<Vec<InboxItemView>, AppError> {
    let rows = app.store.list_inbox(actor.org, &filter(actor, q)?).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(app, r).await?);
    }
    let ids: Vec<&str> = out.iter().map(|v| v.id.as_str()).collect();
    let patients: Vec<&str> = out.iter().filter_map(|v| v.patient.as_ref().map(|p| p.id.as_str())).collect();
    let detail = snapshot(&serde_json::json!({"inbox_item_ids": ids, "patient_ids": patients}));
    audit::record_read(app, actor, "inbox.list", None, detail).await?;
    Ok(out)
}

/// Counts of items per status.
pub async fn counts(app: &AppState, actor: &Actor) -> Result<Vec<(String, i64)>, AppError> {
    Ok(app.store.inbox_counts(actor.org).await?)
}

/// An inbox item: a reply that went to the inbox (any other id is 404).
async fn item(app: &AppState, actor: &Actor, id: InboundMessageId) -> Result<ReplyRow, AppError> {
    let r = app.store.reply(actor.org, id).await?;
    if r.inbox_status.is_none() {
        return Err(AppError::code(ErrorCode::NotFound));
    }
    Ok(r)
}

/// One item with the earlier replies from its number and the staff answers (audited read).
pub async fn get(app: &AppState, actor: &Actor, id: InboundMessageId) -> Result<InboxItemDetail, AppError> {
    let r = item(app, actor, id).await?;
    let earlier = app
        .store
        .replies_from(actor.org, &r.from_address, 21)
        .await?
        .iter()
        .filter(|e| e.id != r.id)
        .take(20)
        .map(super::ReplyView::from)
        .collect();
    let mut answers = Vec::new();
    for m in app.store.messages_caused_by(actor.org, &r.from_address, "inbox_item", &id.to_string()).await? {
        answers.push(MessageView::from(&app.store.message(actor.org, m).await?));
    }
    let patient = r.patient_id.map(|p| p.to_string());
    let detail = snapshot(&serde_json::json!({"patient_id": patient}));
    audit::record_read(app, actor, "inbox.read", Some(("inbox_item", id.to_string())), detail).await?;
    Ok(InboxItemDetail { item: view(app, &r).await?, earlier, answers })
}

/// Assigns an item to a staff member (the caller by default); a done item is reopened.
pub async fn assign(
    app: &AppState,
    actor: &Actor,
    id: InboundMessageId,
    input: AssignInput,
) -> Result<InboxItemView, AppError> {
    item(app, actor, id).await?;
    let user = match input.user_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => raw.parse::<UserId>().map_err(|_| AppError::field("user_id", "expected a user id"))?,
        None => actor.user_id().ok_or_else(|| AppError::field("user_id", "an API key must name the user"))?,
    };
    match app.store.user(actor.org, user).await {
        Ok(u) if u.active => {}
        Ok(_) => return Err(AppError::field("user_id", "that account is deactivated")),
        Err(StoreError::NotFound) => {
            return Err(AppError::field("user_id", "no such user in this organization"));
        }
        Err(e) => return Err(e.into()),
    }
    let now = app.clock.now();
    change(app, actor, id, "inbox.assign", |_| InboxChange {
        status: "assigned".into(),
        assigned_to: Some(user),
        assigned_at: Some(now),
        done_at: None,
        done_by: None,
        now,
    })
    .await
}

/// Marks an item done.
pub async fn done(app: &AppState, actor: &Actor, id: InboundMessageId) -> Result<InboxItemView, AppError> {
    item(app, actor, id).await?;
    let now = app.clock.now();
    change(app, actor, id, "inbox.done", |r| InboxChange {
        status: "done".into(),
        assigned_to: r.assigned_to.or_else(|| actor.user_id()),
        assigned_at: r.assigned_at,
        done_at: Some(now),
        done_by: actor.user_id(),
        now,
    })
    .await
}

async fn change(
    app: &AppState,
    actor: &Actor,
    id: InboundMessageId,
    action: &str,
    next: impl FnOnce(&ReplyRow) -> InboxChange,
) -> Result<InboxItemView, AppError> {
    let mut tx = app.store.begin().await?;
    let before = tx.reply_for_update(actor.org, id).await?;
    let ch = next(&before);
    tx.update_inbox(actor.org, id, &ch).await?;
    let after =
        serde_json::json!({"status": ch.status, "assigned_to": ch.assigned_to, "done_by": ch.done_by});
    let was = serde_json::json!({"status": before.inbox_status, "assigned_to": before.assigned_to});
    audit::record(
        &mut tx,
        ch.now,
        actor,
        action,
        Some(("inbox_item", id.to_string())),
        snapshot(&was),
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    view(app, &app.store.reply(actor.org, id).await?).await
}

/// Answers the patient: a `staff_reply` message to the number the reply came from, through the
/// outbox (consent checked: 409 `consent_missing` when the number opted out). An open item becomes
/// assigned to the caller.
pub async fn reply(
    app: &AppState,
    actor: &Actor,
    id: InboundMessageId,
    input: InboxReplyInput,
) -> Result<MessageView, AppError> {
    let r = item(app, actor, id).await?;
    let Ok(channel @ (Channel::Sms | Channel::Whatsapp)) = r.channel.parse::<Channel>() else {
        return Err(AppError::field("body", "this reply came by voice; call the patient back"));
    };
    let language = match r.patient_id {
        Some(p) => app.store.patient(actor.org, p).await?.preferred_language,
        None => None,
    };
    let now = app.clock.now();
    let msg = NewMessage {
        org: actor.org,
        patient: r.patient_id,
        channel,
        to: r.from_address.clone(),
        from: None,
        subject: None,
        body: input.body,
        language: language.unwrap_or_else(|| "en".into()),
        purpose: "staff_reply".into(),
        dedup_key: format!("inbox:{id}:{}", hearth_core::MessageId::new()),
        cause: Some(("inbox_item".into(), id.to_string())),
        valid_until: None,
        not_before: None,
    };
    let mut tx = app.store.begin().await?;
    if !consent_allows(&mut tx, actor.org, r.patient_id, channel, &r.from_address).await? {
        return Err(AppError::with_message(
            ErrorCode::ConsentMissing,
            "no consent to message this number (the patient opted out, or never opted in)",
        ));
    }
    let sent = enqueue(&mut tx, app, msg).await?;
    if r.inbox_status.as_deref() == Some("open") && actor.user_id().is_some() {
        let ch = InboxChange {
            status: "assigned".into(),
            assigned_to: actor.user_id(),
            assigned_at: Some(now),
            done_at: None,
            done_by: None,
            now,
        };
        tx.update_inbox(actor.org, id, &ch).await?;
    }
    let after = serde_json::json!({"message_id": sent.message.id, "status": sent.message.status});
    audit::record(
        &mut tx,
        now,
        actor,
        "inbox.reply",
        Some(("inbox_item", id.to_string())),
        None,
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    app.outbox.wake();
    Ok(MessageView::from(&sent.message))
}
