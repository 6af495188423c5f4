//! The live half of the simulator (`/admin/simulate/live`): answer as a patient (the reply goes
//! through the same processing as one from Twilio), move the clock (when `simulator.clock` lets
//! this instance's clock move), and watch what happens: every message with its status, and links to
//! each appointment's timeline (decisions, replies, requests to the EHR). After each action the
//! scheduler, the outbox and the write-back run once, so the page shows the consequences at once.
//! Administrators only (`ingest:write`), like the rest of the simulator.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::InboundMessageId;
use hearth_core::contact::Phone;
use hearth_store::inbound::InboundRow;
use hearth_store::outbox::{MessageFilter, MessageRow};
use serde::Deserialize;

use super::{Nav, Page, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// The longest jump of one move of the clock.
const MAX_HOURS: i64 = 24 * 30;

#[derive(Debug, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ClockForm {
    #[serde(default)]
    pub hours: String,
}

/// One message, for the page.
pub struct MessageLine {
    pub at: String,
    pub purpose: String,
    pub to: String,
    pub status: String,
    pub body: String,
    pub about: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/simulate_live.html")]
pub struct LivePage {
    pub nav: Nav,
    pub now: String,
    pub movable: bool,
    pub reply: ReplyForm,
    pub hours: String,
    pub errors: Vec<FieldError>,
    /// What the last action did, in a sentence.
    pub done: Option<String>,
    pub messages: Vec<MessageLine>,
}

async fn page(app: &AppState, auth: &Authorized<perms::IngestWrite>) -> Result<LivePage, AppError> {
    let filter = MessageFilter { limit: 30, ..MessageFilter::default() };
    let rows = app.store.list_messages(auth.actor.org, &filter).await?;
    Ok(LivePage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/admin/simulate"),
        now: app.clock.now().to_display(),
        movable: app.clock.movable(),
        reply: ReplyForm::default(),
        hours: "24".into(),
        errors: Vec::new(),
        done: None,
        messages: rows.iter().map(line).collect(),
    })
}

fn line(m: &MessageRow) -> MessageLine {
    let about = crate::reminders::planning::about(m).first().map(|a| format!("/appointments/{a}"));
    MessageLine {
        at: m.sent_at.or(m.next_attempt_at).unwrap_or(m.created_at).to_display(),
        purpose: m.purpose.replace('_', " "),
        to: m.to_address.clone(),
        status: m.status_reason.as_ref().map_or_else(|| m.status.clone(), |r| format!("{} ({r})", m.status)),
        body: m.body.chars().take(160).collect(),
        about,
    }
}

pub async fn show(State(app): State<AppState>, auth: Authorized<perms::IngestWrite>) -> Response {
    match page(&app, &auth).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

/// Runs what would run on its own: the scheduler, the outbox and the write-back, once each.
async fn settle(app: &AppState) -> Result<(), AppError> {
    crate::reminders::run_once(app).await?;
    crate::notifications::worker::run_until_idle(app).await.map_err(AppError::Internal)?;
    crate::replies::writeback::run_until_idle(app).await.map_err(AppError::Internal)?;
    Ok(())
}

pub async fn move_clock(
    State(app): State<AppState>,
    auth: Authorized<perms::IngestWrite>,
    Form(f): Form<ClockForm>,
) -> Response {
    let hours = f.hours.trim().parse::<i64>().ok().filter(|h| (1..=MAX_HOURS).contains(h));
    let result = async {
        let mut p = page(&app, &auth).await?;
        let Some(h) = hours else {
            p.hours = f.hours.clone();
            p.errors.push(FieldError::new(
                "hours",
                format!("expected a whole number of hours from 1 to {MAX_HOURS}"),
            ));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, p));
        };
        if !app.clock.shift(jiff::SignedDuration::from_hours(h)) {
            p.errors.push(FieldError::new(
                "hours",
                "this instance's clock cannot move: set simulator.clock = true (test instances only)",
            ));
            return Ok((StatusCode::CONFLICT, p));
        }
        settle(&app).await?;
        let mut p = page(&app, &auth).await?;
        p.done = Some(format!("The clock moved {h} hour(s) forward; due reminders and messages went out."));
        Ok::<_, AppError>((StatusCode::OK, p))
    }
    .await;
    match result {
        Ok((status, p)) => (status, Page(p)).into_response(),
        Err(e) => error_page(&e),
    }
}

pub async fn answer(
    State(app): State<AppState>,
    auth: Authorized<perms::IngestWrite>,
    Form(f): Form<ReplyForm>,
) -> Response {
    let result = async {
        let mut errors = Vec::new();
        let phone = Phone::parse(f.phone.trim(), &app.config.patients.phone_region);
        if phone.is_err() {
            errors
                .push(FieldError::new("phone", "expected the patient's phone number, e.g. +1 312 555 0143"));
        }
        if f.text.trim().is_empty() || f.text.chars().count() > 1600 {
            errors.push(FieldError::new("text", "expected the patient's message (1 to 1,600 characters)"));
        }
        let (Ok(phone), true) = (phone, errors.is_empty()) else {
            let mut p = page(&app, &auth).await?;
            (p.reply, p.errors) = (f, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, p));
        };
        let outcome = receive(&app, auth.actor.org, phone.as_str(), &f.text).await?;
        settle(&app).await?;
        let mut p = page(&app, &auth).await?;
        p.done = Some(format!("The reply was processed: {outcome}."));
        Ok::<_, AppError>((StatusCode::OK, p))
    }
    .await;
    match result {
        Ok((status, p)) => (status, Page(p)).into_response(),
        Err(e) => error_page(&e),
    }
}

/// Stores the reply as the Twilio webhook would (provider `simulator`) and processes it.
async fn receive(
    app: &AppState,
    org: hearth_core::OrgId,
    from: &str,
    text: &str,
) -> Result<String, AppError> {
    let id = InboundMessageId::new();
    let now = app.clock.now();
    let row = InboundRow {
        id,
        org_id: Some(org),
        provider: "simulator".into(),
        kind: "reply".into(),
        dedup_key: format!("simulator:reply:{id}"),
        provider_id: id.to_string(),
        account_id: None,
        message_id: None,
        channel: Some("sms".into()),
        from_address: Some(from.to_owned()),
        to_address: Some("simulator".into()),
        body: Some(text.to_owned()),
        status: None,
        error_code: None,
        payload: serde_json::json!({"From": from, "Body": text, "simulated": true}).to_string(),
        received_at: now,
        processed_at: None,
        outcome: None,
    };
    app.store.insert_inbound(&row).await?;
    Ok(crate::replies::process(app, &row).await?.outcome().replace('_', " "))
}
