//! The outbox pages: messages with filters (the dead-letter list is `?status=dead`; with the local
//! outbox channel this is where a clinic sees what would have been sent), and one message with its
//! attempts and status history, with retry and cancel for staff who may send.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::{MessageId, Permission};
use serde::Deserialize;

use super::{Nav, Page, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::notifications::outbox::{self, MessageDetail, MessageQuery, MessageView};
use crate::state::AppState;
use crate::web::ApiPath;

pub const STATUSES: &[&str] =
    &["queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled", "dead", "unknown"];
pub const CHANNELS: &[&str] = &["sms", "whatsapp", "voice", "email"];

#[derive(Debug, Default, Deserialize)]
pub struct OutboxForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub patient: String,
    /// A day, YYYY-MM-DD (UTC): created on or after.
    #[serde(default)]
    pub from: String,
    /// A day, YYYY-MM-DD (UTC): created on or before.
    #[serde(default)]
    pub to: String,
}

#[derive(Template)]
#[template(path = "outbox/list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub f: OutboxForm,
    pub title: String,
    pub messages: Vec<MessageView>,
    pub errors: Vec<FieldError>,
    pub statuses: &'static [&'static str],
    pub channels: &'static [&'static str],
}

fn day(field: &str, raw: &str, end: bool, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(d) = raw.parse::<jiff::civil::Date>() {
        let d = if end { d.tomorrow().unwrap_or(d) } else { d };
        Some(format!("{d}T00:00:00Z"))
    } else {
        errors.push(FieldError::new(field, "expected a date as YYYY-MM-DD"));
        None
    }
}

pub async fn list(
    State(app): State<AppState>,
    auth: Authorized<perms::MessageRead>,
    form: Result<Query<OutboxForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let f = form.map(|Query(f)| f).unwrap_or_default();
    let mut errors = Vec::new();
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let q = MessageQuery {
        status: some(&f.status),
        channel: some(&f.channel),
        patient: some(&f.patient),
        from: day("from", &f.from, false, &mut errors),
        to: day("to", &f.to, true, &mut errors),
        limit: Some(200),
        offset: None,
    };
    let messages = match outbox::list(&app, &auth.actor, &q).await {
        Ok(m) => m,
        Err(AppError::Fields(e)) => {
            errors.extend(e);
            Vec::new()
        }
        Err(e) => return error_page(&e),
    };
    let title = if f.status == "dead" { "Dead messages".to_owned() } else { "Outbox".to_owned() };
    Page(ListPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/outbox"),
        f,
        title,
        messages,
        errors,
        statuses: STATUSES,
        channels: CHANNELS,
    })
    .into_response()
}

#[derive(Template)]
#[template(path = "outbox/message.html")]
pub struct MessagePage {
    pub nav: Nav,
    pub d: MessageDetail,
    pub can_retry: bool,
    pub can_cancel: bool,
}

pub async fn show(
    State(app): State<AppState>,
    auth: Authorized<perms::MessageRead>,
    ApiPath(id): ApiPath<MessageId>,
) -> Response {
    match outbox::get(&app, &auth.actor, id).await {
        Ok(d) => {
            let may = auth.actor.grants(Permission::MessageSend);
            let s = d.message.status.as_str();
            Page(MessagePage {
                nav: Nav::new(&auth.actor, &auth.csrf, "/outbox"),
                can_retry: may && matches!(s, "dead" | "failed" | "canceled" | "unknown"),
                can_cancel: may && matches!(s, "queued" | "unknown"),
                d,
            })
            .into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn retry(
    State(app): State<AppState>,
    auth: Authorized<perms::MessageSend>,
    ApiPath(id): ApiPath<MessageId>,
) -> Response {
    match outbox::retry(&app, &auth.actor, id).await {
        Ok(_) => Redirect::to(&format!("/outbox/{id}")).into_response(),
        Err(e) => error_page(&e),
    }
}

pub async fn cancel(
    State(app): State<AppState>,
    auth: Authorized<perms::MessageSend>,
    ApiPath(id): ApiPath<MessageId>,
) -> Response {
    match outbox::cancel(&app, &auth.actor, id).await {
        Ok(_) => Redirect::to(&format!("/outbox/{id}")).into_response(),
        Err(e) => error_page(&e),
    }
}
