//! Message template pages: the list (the organization's templates and the built-in defaults in
//! use) and the edit page, whose Preview button renders the draft with sample values and shows the
//! SMS encoding, characters, segments and warnings. Save stores a new version. No JavaScript.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::Permission;
use hearth_core::messaging::{Channel, Language, Purpose};
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::notifications::templates::{
    CreateTemplateInput, PreviewInput, PreviewView, TemplateEntryView, TemplateListQuery, TemplateOptions,
    TemplateVersionView, UpdateTemplateInput, manage,
};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "templates/list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub entries: Vec<TemplateEntryView>,
}

pub async fn list(
    State(app): State<AppState>,
    auth: Authorized<perms::TemplateRead>,
    q: Result<Query<TemplateListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error_page(&AppError::with_message(
            hearth_core::ErrorCode::InvalidQuery,
            "filter by channel (sms, whatsapp, voice, email), purpose and language",
        ));
    };
    match manage::list(&app, &auth.actor, &q).await {
        Ok(entries) => {
            Page(ListPage { nav: Nav::new(&auth.actor, &auth.csrf, "/templates"), entries }).into_response()
        }
        Err(e) => error_page(&e),
    }
}

/// Which template the edit page is about.
#[derive(Debug, Deserialize)]
pub struct EditQuery {
    pub channel: String,
    pub purpose: String,
    pub language: String,
}

/// The edit form as posted. Unticked checkboxes are absent.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    pub channel: String,
    pub purpose: String,
    pub language: String,
    #[serde(default)]
    pub subject: String,
    pub body: String,
    pub include_practitioner: Option<String>,
    pub include_location: Option<String>,
    pub include_appointment_type: Option<String>,
    /// `preview` or `save`.
    pub action: String,
}

#[derive(Template)]
#[template(path = "templates/edit.html")]
pub struct EditPage {
    pub nav: Nav,
    pub channel: Channel,
    pub purpose: Purpose,
    pub language: String,
    pub rtl: bool,
    pub subject: String,
    pub body: String,
    pub options: TemplateOptions,
    pub has_details: bool,
    /// The organization's template, if it has one: id, active, current version.
    pub saved: Option<(String, bool, i64)>,
    pub versions: Vec<TemplateVersionView>,
    pub variables: Vec<(&'static str, &'static str)>,
    pub errors: Vec<FieldError>,
    pub preview: Option<PreviewView>,
    pub notice: Option<String>,
    pub can_write: bool,
}

fn parse_target(
    channel: &str,
    purpose: &str,
    language: &str,
) -> Result<(Channel, Purpose, Language), AppError> {
    let mut errors = Vec::new();
    let c =
        channel.parse::<Channel>().map_err(|e| errors.push(FieldError::new("channel", e.to_string()))).ok();
    let p =
        purpose.parse::<Purpose>().map_err(|e| errors.push(FieldError::new("purpose", e.to_string()))).ok();
    let l =
        Language::parse(language).map_err(|e| errors.push(FieldError::new("language", e.to_string()))).ok();
    match (c, p, l) {
        (Some(c), Some(p), Some(l)) => Ok((c, p, l)),
        _ => Err(AppError::Fields(errors)),
    }
}

/// The page for a channel, purpose and language, filled with the current text (the organization's
/// template, else the built-in default).
async fn load(
    app: &AppState,
    auth: &Authorized<perms::TemplateRead>,
    (channel, purpose, language): (Channel, Purpose, Language),
) -> Result<EditPage, AppError> {
    let q = TemplateListQuery {
        channel: Some(channel),
        purpose: Some(purpose),
        language: Some(language.to_string()),
    };
    let entries = manage::list(app, &auth.actor, &q).await?;
    let mut page = EditPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/templates"),
        channel,
        purpose,
        language: language.to_string(),
        rtl: language.is_rtl(),
        subject: String::new(),
        body: String::new(),
        options: TemplateOptions::default(),
        has_details: purpose.has_details(),
        saved: None,
        versions: Vec::new(),
        variables: purpose.variables().iter().map(|v| (v.name, v.description)).collect(),
        errors: Vec::new(),
        preview: None,
        notice: None,
        can_write: auth.actor.grants(Permission::TemplateWrite),
    };
    if let Some(id) = entries.iter().find_map(|e| e.template_id) {
        let t = manage::get(app, &auth.actor, id).await?;
        page.subject = t.subject.clone().unwrap_or_default();
        page.body = t.body.clone();
        page.options = t.options;
        page.saved = Some((t.id.to_string(), t.active, t.current_version));
        page.versions = t.versions;
    } else if let Some(d) = entries.first() {
        page.subject = d.subject.clone().unwrap_or_default();
        page.body = d.body.clone();
    }
    Ok(page)
}

pub async fn edit(
    State(app): State<AppState>,
    auth: Authorized<perms::TemplateRead>,
    q: Result<Query<EditQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error_page(&AppError::with_message(
            hearth_core::ErrorCode::InvalidQuery,
            "open a template from the list: the page needs channel, purpose and language",
        ));
    };
    let page = match parse_target(&q.channel, &q.purpose, &q.language) {
        Ok(target) => load(&app, &auth, target).await,
        Err(e) => Err(e),
    };
    match page {
        Ok(page) => Page(page).into_response(),
        Err(e) => error_page(&e),
    }
}

/// Preview (anyone who may read templates) or save (`template:write`) the posted draft.
pub async fn submit(
    State(app): State<AppState>,
    auth: Authorized<perms::TemplateRead>,
    PageForm(f): PageForm<EditForm>,
) -> Response {
    let target = match parse_target(&f.channel, &f.purpose, &f.language) {
        Ok(t) => t,
        Err(e) => return error_page(&e),
    };
    let (channel, purpose, language) = target.clone();
    let mut page = match load(&app, &auth, target).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let options = TemplateOptions {
        include_practitioner: f.include_practitioner.is_some(),
        include_location: f.include_location.is_some(),
        include_appointment_type: f.include_appointment_type.is_some(),
    };
    let subject = (channel == Channel::Email).then(|| f.subject.clone());
    page.body.clone_from(&f.body);
    page.subject.clone_from(&f.subject);
    page.options = options;
    let result = match f.action.as_str() {
        "save" if !page.can_write => Err(AppError::with_message(
            hearth_core::ErrorCode::Forbidden,
            "saving needs the `template:write` permission, which your role does not have",
        )),
        "save" => {
            let existing =
                page.saved.as_ref().and_then(|(id, ..)| id.parse::<hearth_core::TemplateId>().ok());
            let saved = if let Some(id) = existing {
                let input = UpdateTemplateInput { subject, body: f.body.clone(), options: Some(options) };
                manage::update(&app, &auth.actor, id, input).await
            } else {
                let input = CreateTemplateInput {
                    channel,
                    purpose,
                    language: language.to_string(),
                    subject,
                    body: f.body.clone(),
                    options: Some(options),
                };
                manage::create(&app, &auth.actor, input).await
            };
            saved.map(|t| {
                page.notice =
                    Some(format!("Saved as version {}. New messages use it from now on.", t.current_version));
                page.saved = Some((t.id.to_string(), t.active, t.current_version));
                page.versions = t.versions;
            })
        }
        _ => {
            let input = PreviewInput {
                channel: Some(channel),
                purpose: Some(purpose),
                language: Some(language.to_string()),
                subject,
                body: Some(f.body.clone()),
                options: Some(options),
                ..PreviewInput::default()
            };
            manage::preview(&app, &auth.actor, input).await.map(|p| page.preview = Some(p))
        }
    };
    match result {
        Ok(()) => Page(page).into_response(),
        Err(AppError::Fields(errors)) => {
            page.errors = errors;
            (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()
        }
        Err(e) => error_page(&e),
    }
}
