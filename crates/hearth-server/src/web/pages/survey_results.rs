//! Survey results for staff (`survey:read`): the instruments, then per instrument the funnel, each
//! score's bands and values, and its mean by practitioner, location and week, as inline SVG charts
//! with their numbers in tables, filtered by practitioner, location and weeks; with links to the CSV
//! and FHIR exports under the same filters. Reads go through the audited results service.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hearth_core::survey::QuestionnaireId;

use super::charts::{self, Bar, fmt_num};
use super::{Nav, Page, error_page};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::surveys::QuestionnaireView;
use crate::surveys::results::{self, ResultsQuery, ScoreGroup, SurveyResults};
use crate::web::ApiPath;

#[derive(Template)]
#[template(path = "surveys/list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub items: Vec<QuestionnaireView>,
}

pub async fn list(State(app): State<AppState>, auth: Authorized<perms::SurveyRead>) -> Response {
    match crate::surveys::questionnaires::list(&app, &auth.actor).await {
        Ok(items) => {
            Page(ListPage { nav: Nav::new(&auth.actor, &auth.csrf, "/surveys"), items }).into_response()
        }
        Err(e) => error_page(&e),
    }
}

/// A chart with the rows of its table: (label, then the other cells).
pub struct Chart {
    pub title: String,
    pub svg: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

pub struct ScoreView {
    pub name: String,
    pub responses: usize,
    pub mean: String,
    pub charts: Vec<Chart>,
}

#[derive(Template)]
#[template(path = "surveys/results.html")]
pub struct ResultsPage {
    pub nav: Nav,
    pub q: QuestionnaireView,
    pub f: ResultsQuery,
    pub practitioners: Vec<(String, String)>,
    pub locations: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
    /// `?practitioner=…&…` of the filters in force, for the export links.
    pub query: String,
    pub responses: usize,
    pub funnel: Chart,
    pub scores: Vec<ScoreView>,
}

fn pct(n: i64, of: i64) -> String {
    if of > 0 { format!("{}%", (n * 100 + of / 2) / of) } else { "–".to_owned() }
}

fn funnel_chart(r: Option<&SurveyResults>) -> Chart {
    let count = |k: &str| r.and_then(|r| r.funnel.get(k).copied()).unwrap_or(0);
    let sent = count("sent");
    let steps = [("Sent", "sent"), ("Opened", "opened"), ("Started", "started"), ("Completed", "completed")];
    let bars: Vec<Bar> = steps
        .iter()
        .map(|(label, k)| {
            let n = count(k);
            #[allow(clippy::cast_precision_loss)] // counts
            Bar { label: (*label).to_owned(), value: n as f64, text: format!("{n} ({})", pct(n, sent)) }
        })
        .collect();
    let mut rows: Vec<Vec<String>> = steps
        .iter()
        .map(|(label, k)| vec![(*label).to_owned(), count(k).to_string(), pct(count(k), sent)])
        .collect();
    rows.push(vec![
        "Expired (opened too late)".to_owned(),
        count("expired").to_string(),
        pct(count("expired"), sent),
    ]);
    Chart {
        title: "Funnel".into(),
        svg: charts::bars("Funnel, invitations that reached each step", &bars, None),
        columns: vec!["Step", "Invitations", "Of sent"],
        rows,
    }
}

/// Means per group, as bars over the score's range, with `name` turning keys into labels.
fn group_chart(title: String, groups: &[ScoreGroup], hi: f64, name: &dyn Fn(&str) -> String) -> Chart {
    let bars: Vec<Bar> = groups
        .iter()
        .map(|g| Bar {
            label: name(&g.key),
            value: g.mean.unwrap_or(0.0),
            text: format!("{} (n={})", g.mean.map_or_else(|| "–".into(), fmt_num), g.responses),
        })
        .collect();
    let rows = groups
        .iter()
        .map(|g| vec![name(&g.key), g.responses.to_string(), g.mean.map_or_else(|| "–".into(), fmt_num)])
        .collect();
    Chart { svg: charts::bars(&title, &bars, Some(hi)), title, columns: vec!["", "Responses", "Mean"], rows }
}

fn score_view(
    s: &results::ScoreSummary,
    range: (f64, f64),
    practitioners: &HashMap<String, String>,
    locations: &HashMap<String, String>,
) -> ScoreView {
    let n = s.responses;
    #[allow(clippy::cast_possible_wrap)]
    let share = |c: usize| pct(c as i64, n as i64);
    let mut charts_ = Vec::new();
    if !s.bands.is_empty() {
        #[allow(clippy::cast_precision_loss)]
        let bars: Vec<Bar> = s
            .bands
            .iter()
            .map(|(b, c)| Bar { label: b.clone(), value: *c as f64, text: format!("{c} ({})", share(*c)) })
            .collect();
        let title = format!("{}: responses per band", s.name);
        charts_.push(Chart {
            svg: charts::bars(&title, &bars, None),
            title,
            columns: vec!["Band", "Responses", "Share"],
            rows: s.bands.iter().map(|(b, c)| vec![b.clone(), c.to_string(), share(*c)]).collect(),
        });
    }
    let mut values: Vec<(f64, usize)> =
        s.values.iter().filter_map(|(k, c)| k.parse::<f64>().ok().map(|v| (v, *c))).collect();
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    #[allow(clippy::cast_precision_loss)]
    let bars: Vec<Bar> = values
        .iter()
        .map(|(v, c)| Bar { label: fmt_num(*v), value: *c as f64, text: c.to_string() })
        .collect();
    let title = format!("{}: distribution of scores", s.name);
    charts_.push(Chart {
        svg: charts::bars(&title, &bars, None),
        title,
        columns: vec!["Score", "Responses", "Share"],
        rows: values.iter().map(|(v, c)| vec![fmt_num(*v), c.to_string(), share(*c)]).collect(),
    });
    let named = |map: &HashMap<String, String>| {
        let map = map.clone();
        move |k: &str| {
            map.get(k).cloned().unwrap_or_else(|| if k == "none" { "(none)".into() } else { k.to_owned() })
        }
    };
    let hi = range.1;
    charts_.push(group_chart(
        format!("{}: mean by practitioner", s.name),
        &s.by_practitioner,
        hi,
        &named(practitioners),
    ));
    charts_.push(group_chart(format!("{}: mean by location", s.name), &s.by_location, hi, &named(locations)));
    let points: Vec<(String, f64)> =
        s.by_week.iter().filter_map(|g| g.mean.map(|m| (g.key.clone(), m))).collect();
    let title = format!("{}: mean by week", s.name);
    charts_.push(Chart {
        svg: charts::trend(&title, &points, range.0, range.1),
        title,
        columns: vec!["Week", "Responses", "Mean"],
        rows: s
            .by_week
            .iter()
            .map(|g| vec![g.key.clone(), g.responses.to_string(), g.mean.map_or_else(|| "–".into(), fmt_num)])
            .collect(),
    });
    ScoreView {
        name: s.name.clone(),
        responses: n,
        mean: s.mean.map_or_else(|| "–".into(), fmt_num),
        charts: charts_,
    }
}

/// The filters given, URL-encoded (empty ones left out).
fn query_string(f: &ResultsQuery) -> String {
    let pairs: Vec<(&str, &str)> =
        [("practitioner", &f.practitioner), ("location", &f.location), ("from", &f.from), ("to", &f.to)]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// The score's range: its bands' bounds, else what its items' options allow (a sum adds their
/// highest ordinals, a mean takes the highest), else the values seen.
fn range(ins: &hearth_core::survey::Instrument, s: &results::ScoreSummary) -> (f64, f64) {
    let rule = ins.scores.iter().find(|r| r.name == s.name);
    let bands = rule.map(|r| r.bands.as_slice()).unwrap_or_default();
    if !bands.is_empty() {
        let lo = bands.iter().map(|b| b.min).fold(f64::INFINITY, f64::min);
        let hi = bands.iter().map(|b| b.max).fold(f64::NEG_INFINITY, f64::max);
        return (lo.min(0.0), hi);
    }
    let seen: Vec<f64> = s.values.keys().filter_map(|k| k.parse().ok()).collect();
    let seen_hi = seen.iter().copied().fold(1.0, f64::max);
    let tops: Vec<f64> = rule
        .map(|r| r.items.iter().filter_map(|i| ins.item(i)).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.options.iter().filter_map(|o| o.ordinal).reduce(f64::max))
        .collect();
    let hi = match rule.map(|r| &r.method) {
        Some(hearth_core::survey::Method::Sum) if !tops.is_empty() => tops.iter().sum(),
        Some(hearth_core::survey::Method::Mean) if !tops.is_empty() => {
            tops.iter().copied().fold(0.0, f64::max)
        }
        _ => seen_hi,
    };
    (seen.iter().copied().fold(0.0, f64::min), hi.max(seen_hi))
}

pub async fn show(
    State(app): State<AppState>,
    auth: Authorized<perms::SurveyRead>,
    ApiPath(id): ApiPath<QuestionnaireId>,
    form: Result<Query<ResultsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let f = form.map(|Query(f)| f).unwrap_or_default();
    match results_page(&app, &auth, id, f).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn results_page(
    app: &AppState,
    auth: &Authorized<perms::SurveyRead>,
    id: QuestionnaireId,
    f: ResultsQuery,
) -> Result<ResultsPage, AppError> {
    let detail = crate::surveys::questionnaires::get(app, &auth.actor, id).await?;
    let row = app.store.questionnaire(auth.actor.org, id).await?;
    let ins = crate::surveys::instrument(&row)?;
    let mut errors = Vec::new();
    let r = match results::results(app, &auth.actor, id, &f).await {
        Ok(r) => Some(r),
        Err(AppError::Fields(e)) => {
            errors = e;
            None
        }
        Err(e) => return Err(e),
    };
    let practitioners: Vec<(String, String)> = app
        .store
        .list_practitioners(auth.actor.org)
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), format!("{} {}", p.given_name, p.family_name).trim().to_owned()))
        .collect();
    let locations: Vec<(String, String)> = app
        .store
        .list_locations(auth.actor.org)
        .await?
        .into_iter()
        .map(|l| (l.id.to_string(), l.name))
        .collect();
    let (pmap, lmap): (HashMap<_, _>, HashMap<_, _>) =
        (practitioners.iter().cloned().collect(), locations.iter().cloned().collect());
    let scores = r
        .as_ref()
        .map(|r| r.scores.iter().map(|s| score_view(s, range(&ins, s), &pmap, &lmap)).collect())
        .unwrap_or_default();
    let query = if errors.is_empty() { query_string(&f) } else { String::new() };
    Ok(ResultsPage {
        nav: Nav::new(&auth.actor, &auth.csrf, "/surveys"),
        q: detail.summary,
        practitioners,
        locations,
        errors,
        query: if query.is_empty() { String::new() } else { format!("?{query}") },
        responses: r.as_ref().map_or(0, |r| r.responses),
        funnel: funnel_chart(r.as_ref()),
        scores,
        f,
    })
}
