//! The duplicate review queue and the side-by-side comparison where a reviewer merges a pair or
//! records that they are different people.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::DuplicateId;
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::auth::{Authorized, perms};
use crate::patients::{self, PatientView, QueueEntry};
use crate::state::AppState;
use crate::web::ApiPath;

#[derive(Template)]
#[template(path = "patients/duplicates.html")]
pub struct QueuePage {
    pub nav: Nav,
    pub entries: Vec<QueueEntry>,
}

pub async fn queue(State(app): State<AppState>, auth: Authorized<perms::PatientRead>) -> Response {
    match patients::queue(&app, &auth.actor, "pending").await {
        Ok(entries) => {
            Page(QueuePage { nav: Nav::new(&auth.actor, &auth.csrf, "/patients/duplicates"), entries })
                .into_response()
        }
        Err(e) => error_page(&e),
    }
}

/// One line of the comparison: a label, each side's value, and how the matcher judged it.
pub struct Row {
    pub label: &'static str,
    pub a: String,
    pub b: String,
    pub level: String,
}

#[derive(Template)]
#[template(path = "patients/compare.html")]
pub struct ComparePage {
    pub nav: Nav,
    pub e: QueueEntry,
    pub rows: Vec<Row>,
    pub can_write: bool,
}

fn rows(e: &QueueEntry) -> Vec<Row> {
    let level = |fields: &[&str]| -> String {
        let levels: Vec<String> = e
            .explanation
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["field"].as_str().is_some_and(|n| fields.contains(&n)))
            .filter_map(|f| f["level"].as_str().map(str::to_owned))
            .filter(|l| l != "missing")
            .collect();
        levels.first().cloned().unwrap_or_else(|| "—".into())
    };
    let show = |p: &PatientView, f: &dyn Fn(&PatientView) -> String| {
        let v = f(p);
        if v.is_empty() { "—".to_owned() } else { v }
    };
    let line = |label, fields: &[&str], f: &dyn Fn(&PatientView) -> String| Row {
        label,
        a: show(&e.patient_a, f),
        b: show(&e.patient_b, f),
        level: level(fields),
    };
    vec![
        line("MRN", &[], &|p| p.mrn.clone()),
        line("Given names", &["given_name"], &|p| p.record.name.given.join(" ")),
        line("Family name", &["family_name"], &|p| p.record.name.family.clone()),
        line("Birth date", &["birth_date"], &|p| p.record.birth_date.clone().unwrap_or_default()),
        line("Gender", &["gender"], &|p| p.record.gender.clone().unwrap_or_default()),
        line("Phones", &["phone"], &|p| {
            p.record.phones.iter().map(|x| x.value.clone()).collect::<Vec<_>>().join(", ")
        }),
        line("E-mails", &["email"], &|p| {
            p.record.emails.iter().map(|x| x.value.clone()).collect::<Vec<_>>().join(", ")
        }),
        line("Address", &["street", "postcode", "city"], &|p| {
            p.record
                .addresses
                .first()
                .map(|a| {
                    let mut parts = a.line.clone();
                    parts.extend(a.city.clone());
                    parts.extend(a.postal_code.clone());
                    parts.join(", ")
                })
                .unwrap_or_default()
        }),
        line("Identifiers", &["identifier"], &|p| {
            p.record
                .identifiers
                .iter()
                .map(|i| format!("{}: {}", i.system, i.value))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    ]
}

pub async fn compare(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientRead>,
    ApiPath(id): ApiPath<DuplicateId>,
) -> Response {
    match patients::queue_entry(&app, &auth.actor, id).await {
        Ok(e) => {
            let rows = rows(&e);
            let can_write = auth.actor.grants(hearth_core::Permission::PatientWrite);
            Page(ComparePage {
                nav: Nav::new(&auth.actor, &auth.csrf, "/patients/duplicates"),
                e,
                rows,
                can_write,
            })
            .into_response()
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    /// `a` or `b`: the record that stays.
    #[serde(default)]
    keep: String,
}

pub async fn merge(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientWrite>,
    ApiPath(id): ApiPath<DuplicateId>,
    PageForm(f): PageForm<DecisionForm>,
) -> Response {
    let e = match patients::queue_entry(&app, &auth.actor, id).await {
        Ok(e) => e,
        Err(e) => return error_page(&e),
    };
    let (keep, gone) = match f.keep.as_str() {
        "a" => (e.patient_a.id, e.patient_b.id),
        "b" => (e.patient_b.id, e.patient_a.id),
        _ => return error_page(&crate::error::AppError::field("keep", "choose which record stays")),
    };
    match patients::merge(&app, &auth.actor, keep, gone).await {
        Ok(_) => Redirect::to(&format!("/patients/{keep}")).into_response(),
        Err(e) => error_page(&e),
    }
}

pub async fn not_duplicate(
    State(app): State<AppState>,
    auth: Authorized<perms::PatientWrite>,
    ApiPath(id): ApiPath<DuplicateId>,
) -> Response {
    match patients::mark_not_duplicate(&app, &auth.actor, id).await {
        Ok(_) => Redirect::to("/patients/duplicates").into_response(),
        Err(e) => error_page(&e),
    }
}
