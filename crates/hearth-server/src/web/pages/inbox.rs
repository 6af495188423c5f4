//! The replies inbox pages: items with status tabs, one item with the conversation around it, and
//! the forms to assign it, answer the patient and mark it done. Ids only in URLs (never a number or a
//! name); every read goes through the audited inbox service.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::{InboundMessageId, Permission};
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::replies::inbox::{self, AssignInput, InboxReplyInput};
use crate::replies::{InboxItemDetail, InboxItemView, InboxQuery};
use crate::state::AppState;
use crate::web::ApiPath;

#[derive(Debug, Default, Deserialize)]
pub struct InboxForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub mine: String,
}

#[derive(Template)]
#[template(path = "inbox/list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub f: InboxForm,
    pub items: Vec<InboxItemView>,
    /// (status, label, count, current)
    pub tabs: Vec<(&'static str, &'static str, i64, bool)>,
    pub errors: Vec<FieldError>,
    pub signed_in_user: bool,
}

pub async fn list(
    State(app): State<AppState>,
    auth: Authorized<perms::InboxRead>,
    form: Result<Query<InboxForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let f = form.map(|Query(f)| f).unwrap_or_default();
    let mut errors = Vec::new();
    let q = InboxQuery {
        status: Some(f.status.clone()).filter(|s| !s.is_empty()),
        assigned_to: (f.mine == "1").then(|| "me".to_owned()),
        limit: Some(200),
        offset: None,
    };
    let items = match inbox::list(&app, &auth.actor, &q).await {
        Ok(items) => items,
        Err(AppError::Fields(e)) => {
            errors.extend(e);
            Vec::new()
        }
        Err(e) => return error_page(&e),
    };
    let counts = match inbox::counts(&app, &auth.actor).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let current = if f.status.is_empty() { "" } else { f.status.as_str() };
    let tabs = vec![
        ("", "To do", count("open") + count("assigned"), current.is_empty()),
        ("open", "Unassigned", count("open"), current == "open"),
        ("assigned", "Assigned", count("assigned"), current == "assigned"),
        ("done", "Done", count("done"), current == "done"),
    ];
    Page(ListPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/inbox"),
        signed_in_user: auth.actor.user_id().is_some(),
        f,
        items,
        tabs,
        errors,
    })
    .into_response()
}

#[derive(Template)]
#[template(path = "inbox/item.html")]
pub struct ItemPage {
    pub nav: Nav,
    pub d: InboxItemDetail,
    pub can_write: bool,
    pub can_see_patient: bool,
    pub can_see_appointment: bool,
    pub errors: Vec<FieldError>,
    /// The answer being written, kept when it was refused.
    pub draft: String,
}

async fn item_page(
    app: &AppState,
    auth: &Authorized<perms::InboxRead>,
    id: InboundMessageId,
    errors: Vec<FieldError>,
    draft: String,
) -> Result<ItemPage, AppError> {
    let d = inbox::get(app, &auth.actor, id).await?;
    Ok(ItemPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/inbox"),
        can_write: auth.actor.grants(Permission::InboxWrite),
        can_see_patient: auth.actor.grants(Permission::PatientRead),
        can_see_appointment: auth.actor.grants(Permission::AppointmentRead),
        d,
        errors,
        draft,
    })
}

pub async fn show(
    State(app): State<AppState>,
    auth: Authorized<perms::InboxRead>,
    ApiPath(id): ApiPath<InboundMessageId>,
) -> Response {
    match item_page(&app, &auth, id, Vec::new(), String::new()).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

fn back(id: InboundMessageId) -> Response {
    Redirect::to(&format!("/inbox/{id}")).into_response()
}

pub async fn assign(
    State(app): State<AppState>,
    auth: Authorized<perms::InboxWrite>,
    ApiPath(id): ApiPath<InboundMessageId>,
) -> Response {
    match inbox::assign(&app, &auth.actor, id, AssignInput::default()).await {
        Ok(_) => back(id),
        Err(e) => error_page(&e),
    }
}

pub async fn done(
    State(app): State<AppState>,
    auth: Authorized<perms::InboxWrite>,
    ApiPath(id): ApiPath<InboundMessageId>,
) -> Response {
    match inbox::done(&app, &auth.actor, id).await {
        Ok(_) => Redirect::to("/inbox").into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub body: String,
}

pub async fn reply(
    State(app): State<AppState>,
    read: Authorized<perms::InboxRead>,
    auth: Authorized<perms::InboxWrite>,
    ApiPath(id): ApiPath<InboundMessageId>,
    PageForm(f): PageForm<ReplyForm>,
) -> Response {
    let draft = f.body.clone();
    let refused = |errors: Vec<FieldError>| async {
        match item_page(&app, &read, id, errors, draft.clone()).await {
            Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, Page(p)).into_response(),
            Err(e) => error_page(&e),
        }
    };
    match inbox::reply(&app, &auth.actor, id, InboxReplyInput { body: f.body }).await {
        Ok(_) => back(id),
        Err(AppError::Fields(errors)) => refused(errors).await,
        Err(e @ AppError::Code { code: hearth_core::ErrorCode::ConsentMissing, .. }) => {
            let message = match &e {
                AppError::Code { message, .. } => message.to_string(),
                _ => String::new(),
            };
            refused(vec![FieldError::new("body", message)]).await
        }
        Err(e) => error_page(&e),
    }
}
