//! The public survey page `/s/{token}`: no sign-in, no JavaScript needed, the patient's language
//! (English, Spanish or Arabic, right to left), answers in the POST body with a double-submit CSRF
//! token, errors beside their fields with the answers kept. Unknown and expired links get the same
//! page, which says nothing about the link.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::survey::{AnswerError, Instrument, Item, ItemType};
use hearth_store::surveys::InvitationRow;
use serde::Deserialize;

use super::{Page, error_page};
use crate::auth::middleware::{PRE_SESSION_CSRF_COOKIE, cookie};
use crate::auth::session;
use crate::state::AppState;
use crate::surveys::i18n::{self, Words};
use crate::surveys::respond::{self, Link, Submitted};

const VERIFIED_COOKIE: &str = "hearth_survey_ok";

#[derive(Template)]
#[template(path = "survey/message.html")]
struct MessagePage {
    w: &'static Words,
    page_title: &'static str,
    heading: &'static str,
    text: &'static str,
}

#[derive(Template)]
#[template(path = "survey/verify.html")]
struct VerifyPage {
    w: &'static Words,
    page_title: &'static str,
    action: String,
    csrf: String,
    langs: Vec<LangLink>,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "survey/form.html")]
struct FormPage {
    w: &'static Words,
    page_title: String,
    title: String,
    description: String,
    action: String,
    csrf: String,
    langs: Vec<LangLink>,
    problems: Vec<Problem>,
    rows: Vec<Row>,
}

struct LangLink {
    href: String,
    code: &'static str,
    name: &'static str,
    current: bool,
}

struct Problem {
    anchor: String,
    text: String,
}

struct Opt {
    id: String,
    value: String,
    label: String,
    checked: bool,
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per thing the template may show
struct Row {
    kind: &'static str,
    id: String,
    name: String,
    text: String,
    required: bool,
    conditional: bool,
    error: Option<&'static str>,
    describedby: String,
    hint: String,
    value: String,
    options: Vec<Opt>,
    scale: bool,
    other: bool,
    other_checked: bool,
    input_type: &'static str,
    inputmode: &'static str,
    maxlength: Option<usize>,
}

fn message(w: &'static Words, status: StatusCode, heading: &'static str, text: &'static str) -> Response {
    (status, Page(MessagePage { w, page_title: heading, heading, text })).into_response()
}

fn gone(w: &'static Words) -> Response {
    message(w, StatusCode::NOT_FOUND, w.gone_title, w.gone)
}

/// The language to show: the one asked for, else the invitation's, else the instrument's, among
/// those the instrument and the page both speak.
fn language(ins: &Instrument, asked: Option<&str>, inv: &InvitationRow) -> &'static Words {
    let usable = |l: &str| ins.speaks(l) && i18n::ALL.iter().any(|w| w.lang == i18n::words(l).lang);
    [asked, Some(inv.language.as_str()), Some(ins.language.as_str())]
        .into_iter()
        .flatten()
        .find(|l| usable(l))
        .map_or(&i18n::EN, i18n::words)
}

fn lang_links(ins: &Instrument, token: &str, current: &Words) -> Vec<LangLink> {
    i18n::ALL
        .iter()
        .filter(|w| ins.speaks(w.lang))
        .map(|w| LangLink {
            href: format!("/s/{token}?lang={}", w.lang),
            code: w.lang,
            name: w.name,
            current: w.lang == current.lang,
        })
        .collect()
}

fn dom_id(link_id: &str) -> String {
    format!("q-{}", link_id.replace('.', "-"))
}

fn rows(
    items: &[Item],
    w: &'static Words,
    raw: &BTreeMap<String, Vec<String>>,
    errors: &[AnswerError],
    out: &mut Vec<Row>,
) {
    let lang = w.lang;
    for item in items {
        let id = dom_id(&item.link_id);
        let conditional = !item.enable_when.is_empty();
        let text = item.text.get(lang).to_owned();
        match item.kind {
            ItemType::Group => {
                out.push(Row { kind: "group_start", id, text, conditional, ..Row::default() });
                rows(&item.items, w, raw, errors, out);
                out.push(Row { kind: "group_end", ..Row::default() });
                continue;
            }
            ItemType::Display => {
                out.push(Row { kind: "display", id, text, ..Row::default() });
                continue;
            }
            _ => {}
        }
        let given: &[String] = raw.get(&item.link_id).map_or(&[], Vec::as_slice);
        let error = errors.iter().find(|e| e.link_id == item.link_id).map(|e| w.error(e.kind));
        let opts: Vec<(String, String)> = if item.kind == ItemType::Boolean {
            vec![("true".into(), w.yes.into()), ("false".into(), w.no.into())]
        } else {
            item.options.iter().map(|o| (o.code.clone(), o.display.get(lang).to_owned())).collect()
        };
        let options: Vec<Opt> = opts
            .into_iter()
            .enumerate()
            .map(|(i, (value, label))| Opt {
                id: format!("{id}-{i}"),
                checked: given.contains(&value),
                value,
                label,
            })
            .collect();
        let (kind, input_type, inputmode, hint) = match item.kind {
            ItemType::Choice | ItemType::OpenChoice | ItemType::Boolean if item.repeats => {
                ("checkbox", "", "", "")
            }
            ItemType::Choice | ItemType::OpenChoice | ItemType::Boolean => ("radio", "", "", ""),
            ItemType::Text => ("textarea", "", "", ""),
            ItemType::Integer => ("input", "text", "numeric", w.number_hint),
            ItemType::Decimal => ("input", "text", "decimal", w.number_hint),
            ItemType::Date => ("input", "date", "", w.date_hint),
            _ => ("input", "text", "", ""),
        };
        let mut describedby = Vec::new();
        if conditional || !hint.is_empty() {
            describedby.push(format!("{id}-hint"));
        }
        if error.is_some() {
            describedby.push(format!("{id}-err"));
        }
        let other_text = raw.get(&format!("{}.other", item.link_id)).and_then(|v| v.first()).cloned();
        let value = if item.kind.has_options() {
            other_text.unwrap_or_default()
        } else {
            given.first().cloned().unwrap_or_default()
        };
        let short_labels = options.len() > 5 && options.iter().all(|o| o.label.chars().count() <= 2);
        out.push(Row {
            kind,
            name: format!("q.{}", item.link_id),
            text,
            required: item.required,
            conditional,
            error,
            describedby: describedby.join(" "),
            hint: if conditional && hint.is_empty() { w.conditional.to_owned() } else { hint.to_owned() },
            value,
            scale: short_labels,
            other: item.kind == ItemType::OpenChoice,
            other_checked: given.iter().any(|g| g == "other"),
            input_type,
            inputmode,
            maxlength: item.max_length,
            options,
            id,
        });
    }
}

/// The double-submit token: the one the request proved (kept, so a re-rendered form still
/// matches the browser's cookie), else a new one with its cookie.
fn csrf_pair(app: &AppState, kept: Option<&str>) -> (Option<String>, String) {
    if let Some(t) = kept {
        return (None, t.to_owned());
    }
    let (cookie, token) = session::pre_session_csrf(app);
    (Some(cookie), token)
}

fn with_cookie(status: StatusCode, cookie: Option<String>, page: impl IntoResponse) -> Response {
    let mut res = (status, page).into_response();
    if let Some(v) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[allow(clippy::too_many_arguments)] // the whole state of one render
fn form_page(
    app: &AppState,
    token: &str,
    ins: &Instrument,
    w: &'static Words,
    raw: &BTreeMap<String, Vec<String>>,
    errors: &[AnswerError],
    status: StatusCode,
    kept: Option<&str>,
) -> Response {
    let mut out = Vec::new();
    rows(&ins.items, w, raw, errors, &mut out);
    let problems = errors
        .iter()
        .filter_map(|e| {
            let item = ins.item(&e.link_id)?;
            let row = out.iter().find(|r| r.name == format!("q.{}", e.link_id))?;
            let anchor = row.options.first().map_or_else(|| row.id.clone(), |o| o.id.clone());
            Some(Problem { anchor, text: format!("{} — {}", item.text.get(w.lang), w.error(e.kind)) })
        })
        .collect();
    let (set_cookie, csrf) = csrf_pair(app, kept);
    let title = ins.title.get(w.lang).to_owned();
    let page = FormPage {
        w,
        page_title: title.clone(),
        title,
        description: ins.description.get(w.lang).to_owned(),
        action: format!("/s/{token}"),
        csrf,
        langs: lang_links(ins, token, w),
        problems,
        rows: out,
    };
    with_cookie(status, set_cookie, Page(page))
}

fn verify_page(
    app: &AppState,
    token: &str,
    ins: &Instrument,
    w: &'static Words,
    error: bool,
    kept: Option<&str>,
) -> Response {
    let (set_cookie, csrf) = csrf_pair(app, kept);
    let page = VerifyPage {
        w,
        page_title: w.verify_title,
        action: format!("/s/{token}"),
        csrf,
        langs: lang_links(ins, token, w),
        error: error.then_some(w.wrong_birth_date),
    };
    let status = if error { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    with_cookie(status, set_cookie, Page(page))
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn show_survey(
    State(app): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let asked = q.lang.as_deref().map_or(&i18n::EN, i18n::words);
    let (inv, ins) = match respond::resolve(&app, &token).await {
        Ok(Link::Open(inv, ins)) => (inv, ins),
        Ok(Link::Received(inv)) => {
            let w = q.lang.as_deref().map_or_else(|| i18n::words(&inv.language), i18n::words);
            return message(w, StatusCode::OK, w.received_title, w.received);
        }
        Ok(Link::Unknown | Link::Expired) => return gone(asked),
        Err(e) => return error_page(&e),
    };
    let w = language(&ins, q.lang.as_deref(), &inv);
    if !respond::is_verified(&app, &inv, cookie(&headers, VERIFIED_COOKIE)) {
        return verify_page(&app, &token, &ins, w, false, None);
    }
    if let Err(e) = respond::progress(&app, &inv, "opened").await {
        return error_page(&e);
    }
    form_page(&app, &token, &ins, w, &BTreeMap::new(), &[], StatusCode::OK, None)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub async fn submit_survey(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let lang = field(&fields, "lang");
    let asked = lang.map_or(&i18n::EN, i18n::words);
    let (inv, ins) = match respond::resolve(&app, &token).await {
        Ok(Link::Open(inv, ins)) => (inv, ins),
        Ok(Link::Received(_)) => return message(asked, StatusCode::OK, asked.received_title, asked.received),
        Ok(Link::Unknown | Link::Expired) => return gone(asked),
        Err(e) => return error_page(&e),
    };
    let w = language(&ins, lang, &inv);
    let expected = cookie(&headers, PRE_SESSION_CSRF_COOKIE);
    if expected.is_none() || expected != field(&fields, "csrf") {
        tracing::warn!(invitation_id = %inv.id, "survey: csrf check failed");
        return message(w, StatusCode::FORBIDDEN, w.expired_form_title, w.expired_form);
    }
    if field(&fields, "step") == Some("verify") {
        let given = field(&fields, "birth_date").unwrap_or_default();
        return verify(&app, &token, &inv, &ins, w, given, expected).await;
    }
    if !respond::is_verified(&app, &inv, cookie(&headers, VERIFIED_COOKIE)) {
        return verify_page(&app, &token, &ins, w, false, expected);
    }
    let (mut answers, mut errors, raw) = hearth_core::survey::parse_form(&ins, &fields);
    if !raw.is_empty()
        && let Err(e) = respond::progress(&app, &inv, "started").await
    {
        return error_page(&e);
    }
    let missing = hearth_core::survey::check(&ins, &mut answers);
    errors.extend(missing);
    if !errors.is_empty() {
        // In document order, as the summary lists them.
        let order: Vec<String> = ins.all_items().iter().map(|i| i.link_id.clone()).collect();
        errors.sort_by_key(|e| order.iter().position(|l| *l == e.link_id));
        return form_page(&app, &token, &ins, w, &raw, &errors, StatusCode::UNPROCESSABLE_ENTITY, expected);
    }
    match respond::submit(&app, &inv, &ins, &answers, w.lang).await {
        Ok(Submitted::Stored(_)) => message(w, StatusCode::OK, w.thanks_title, w.thanks),
        Ok(Submitted::AlreadyReceived) => message(w, StatusCode::OK, w.received_title, w.received),
        Err(e) => error_page(&e),
    }
}

async fn verify(
    app: &AppState,
    token: &str,
    inv: &InvitationRow,
    ins: &Instrument,
    w: &'static Words,
    given: &str,
    kept: Option<&str>,
) -> Response {
    match respond::check_birth_date(app, inv, given).await {
        Ok(true) => {
            if let Err(e) = respond::progress(app, inv, "opened").await {
                return error_page(&e);
            }
            let secure = if app.config.public_url().starts_with("https://") { "; Secure" } else { "" };
            let ok = format!(
                "{VERIFIED_COOKIE}={}; Path=/s/; HttpOnly; SameSite=Lax; Max-Age=3600{secure}",
                respond::verified_cookie(app, inv)
            );
            let mut res = form_page(app, token, ins, w, &BTreeMap::new(), &[], StatusCode::OK, kept);
            if let Ok(v) = ok.parse() {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Ok(false) => {
            if inv.verify_failures + 1 >= i64::from(app.config.surveys.birth_date_attempts) {
                return gone(w);
            }
            verify_page(app, token, ins, w, true, kept)
        }
        Err(e) => error_page(&e),
    }
}
