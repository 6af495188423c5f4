//! Patient pages: search, a new-patient form, and the profile (identifiers, contacts, consent,
//! history). Every page that shows patient data goes through the audited service reads.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::PatientId;
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::patients::{self, ConsentInput, ConsentsView, PatientQuery, PatientRecord, PatientView};
use crate::state::AppState;
use crate::web::ApiPath;

#[derive(Template)]
#[template(path = "patients/search.html")]
pub struct SearchPage {
    pub nav: Nav,
    pub q: SearchForm,
    pub searched: bool,
    pub results: Vec<PatientView>,
    pub errors: Vec<FieldError>,
    pub can_write: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub mrn: String,
    #[serde(default)]
    pub birth_date: String,
}

impl PatientView {
    /// "Given Family" for lists.
    pub fn display_name(&self) -> String {
        let name = self.record.name.display();
        if name.is_empty() { "(no name recorded)".to_owned() } else { name }
    }
}

pub async fn search(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientRead>,
    form: Result<Query<SearchForm>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = form.map(|Query(q)| q).unwrap_or_default();
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let searched = [&q.name, &q.phone, &q.mrn, &q.birth_date].iter().any(|s| !s.trim().is_empty());
    let (results, errors) = if searched {
        let query = PatientQuery {
            name: some(&q.name),
            phone: some(&q.phone),
            mrn: some(&q.mrn),
            birth_date: some(&q.birth_date),
            limit: Some(50),
            ..PatientQuery::default()
        };
        match patients::list(&app, &auth.actor, query).await {
            Ok(r) => (r, Vec::new()),
            Err(AppError::Fields(f)) => (Vec::new(), f),
            Err(e) => return error_page(&e),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let page = SearchPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/patients"),
        can_write: auth.actor.grants(hearth_core::Permission::PatientWrite),
        q,
        searched,
        results,
        errors,
    };
    Page(page).into_response()
}

#[derive(Template)]
#[template(path = "patients/new.html")]
pub struct NewPatientPage {
    pub nav: Nav,
    pub f: NewPatientForm,
    pub errors: Vec<FieldError>,
}

impl NewPatientPage {
    /// The form field an error path points at: `phones[0].value` → `phones`.
    fn anchor(field: &str) -> &str {
        field.split(['.', '[']).next().unwrap_or(field)
    }
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field || e.field.starts_with(&format!("{field}.")))
            .map(|e| e.message.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewPatientForm {
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub given: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub preferred_language: String,
}

pub async fn new_form(auth: Authorized<perms::PatientWrite>) -> Response {
    Page(NewPatientPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/patients"),
        f: NewPatientForm::default(),
        errors: Vec::new(),
    })
    .into_response()
}

pub async fn create(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientWrite>,
    PageForm(f): PageForm<NewPatientForm>,
) -> Response {
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let record = PatientRecord {
        name: patients::HumanName {
            family: f.family.clone(),
            given: f.given.split_whitespace().map(str::to_owned).collect(),
            ..Default::default()
        },
        birth_date: opt(&f.birth_date),
        gender: opt(&f.gender),
        phones: opt(&f.phone)
            .map(|v| vec![patients::ContactPoint { value: v, use_: Some("mobile".into()), problem: None }])
            .unwrap_or_default(),
        emails: opt(&f.email)
            .map(|v| vec![patients::ContactPoint { value: v, use_: None, problem: None }])
            .unwrap_or_default(),
        preferred_language: opt(&f.preferred_language),
        ..PatientRecord::default()
    };
    match patients::create(&app, &auth.actor, record, patients::Strictness::Strict).await {
        Ok(p) => Redirect::to(&format!("/patients/{}", p.id)).into_response(),
        Err(AppError::Fields(errors)) => {
            let page = NewPatientPage { nav: Nav::new(&auth.actor, &auth.csrf, "/patients"), f, errors };
            (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "patients/profile.html")]
pub struct ProfilePage {
    pub nav: Nav,
    pub p: PatientView,
    pub consents: ConsentsView,
    pub history: Vec<crate::audit::AuditEventView>,
    pub merges: Vec<patients::MergeSummary>,
    pub can_write: bool,
    pub errors: Vec<FieldError>,
}

async fn profile_page(
    app: &AppState,
    auth: &Authorized<perms::PatientRead>,
    id: PatientId,
    errors: Vec<FieldError>,
) -> Result<ProfilePage, AppError> {
    let p = patients::get(app, &auth.actor, id).await?;
    let consents = patients::consents(app, &auth.actor, id).await?;
    let filter = hearth_store::audit::AuditFilter {
        subject_type: Some("patient".into()),
        subject_id: Some(id.to_string()),
        limit: 50,
        ..Default::default()
    };
    // The history shows changes, not every read (reads are in the audit log).
    let history = crate::audit::list(app, &auth.actor, &filter)
        .await?
        .into_iter()
        .filter(|e| !e.action.ends_with("read"))
        .collect();
    let merges = patients::merges_of(app, &auth.actor, id).await?;
    Ok(ProfilePage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/patients"),
        can_write: auth.actor.grants(hearth_core::Permission::PatientWrite),
        p,
        consents,
        history,
        merges,
        errors,
    })
}

pub async fn profile(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientRead>,
    ApiPath(id): ApiPath<PatientId>,
) -> Response {
    match profile_page(&app, &auth, id, Vec::new()).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    channel: String,
    opted_in: String,
    #[serde(default)]
    words: String,
}

pub async fn record_consent(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientRead>,
    write: Authorized<perms::PatientWrite>,
    ApiPath(id): ApiPath<PatientId>,
    PageForm(f): PageForm<ConsentForm>,
) -> Response {
    let input = ConsentInput {
        channel: f.channel,
        address: None,
        opted_in: f.opted_in == "yes",
        source: "staff".into(),
        words: Some(f.words.trim().to_owned()).filter(|w| !w.is_empty()),
    };
    match patients::record_consent(&app, &write.actor, id, input).await {
        Ok(_) => Redirect::to(&format!("/patients/{id}#consent")).into_response(),
        Err(AppError::Fields(errors)) => match profile_page(&app, &auth, id, errors).await {
            Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, Page(p)).into_response(),
            Err(e) => error_page(&e),
        },
        Err(e) => error_page(&e),
    }
}

/// Undoes a merge from the profile of either record; back to the record the person came from.
pub async fn unmerge(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientWrite>,
    ApiPath(id): ApiPath<hearth_core::MergeId>,
    PageForm(f): PageForm<UnmergeForm>,
) -> Response {
    match patients::unmerge(&app, &auth.actor, id).await {
        Ok(m) => {
            let back = if f.from == m.merged.id.to_string() { m.merged.id } else { m.survivor.id };
            Redirect::to(&format!("/patients/{back}#merges")).into_response()
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct UnmergeForm {
    /// The profile the form was on.
    #[serde(default)]
    from: String,
}
