//! Message templates: the words of every message, per organization, channel, purpose and language.
//!
//! [`render`] is the one entry point for sending code (the outbox): it picks the template (the
//! organization's active one, else the built-in default; in the patient's language, else the
//! organization's default language, else English), fills in what Hearth knows (organization and
//! location name, the STOP/START/HELP words), withholds details the template's options or a sensitive
//! location exclude, renders it in the sandbox (`engine`) and reports its SMS encoding.
//! [`manage`] has the CRUD and the preview used by the API and the pages. See
//! `docs/notifications.md`.

pub mod defaults;
pub mod engine;
pub mod manage;

use std::collections::BTreeMap;

use hearth_core::messaging::sms::{self, Analysis};
use hearth_core::messaging::{Channel, Detail, Language, Purpose};
use hearth_core::{LocationId, OrgId, TemplateId};
use hearth_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use manage::{
    CreateTemplateInput, PreviewInput, PreviewView, TemplateEntryView, TemplateListQuery,
    TemplateVersionView, TemplateView, UpdateTemplateInput,
};

use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// The longest template body (and rendered message) accepted, in characters: Twilio's limit for one
/// message, however many segments it takes.
pub const MAX_BODY_CHARS: usize = 1_600;
/// The longest e-mail subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// Minimum-necessary options of a template: which details its messages may carry. A sensitive
/// location overrides them all (no details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateOptions {
    /// Name the clinician (`practitioner_name`). Default false.
    #[serde(default)]
    pub include_practitioner: bool,
    /// Name the location (`location_name`). Default true.
    #[serde(default = "yes")]
    pub include_location: bool,
    /// Say what the visit is for (`appointment_type`). Default false.
    #[serde(default)]
    pub include_appointment_type: bool,
}

fn yes() -> bool {
    true
}

impl Default for TemplateOptions {
    /// What built-in templates use: the location, but not the clinician or the kind of visit.
    fn default() -> Self {
        Self { include_practitioner: false, include_location: true, include_appointment_type: false }
    }
}

impl TemplateOptions {
    pub fn includes(self, d: Detail) -> bool {
        match d {
            Detail::Practitioner => self.include_practitioner,
            Detail::Location => self.include_location,
            Detail::AppointmentType => self.include_appointment_type,
        }
    }
}

/// A rendered message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The organization's template used, or `None` for a built-in default.
    pub template_id: Option<TemplateId>,
    /// The version used; 0 for a built-in default.
    pub version: i64,
    /// The language actually used (after falling back).
    pub language: String,
    /// True when a sensitive location forced the minimal variant.
    pub minimal: bool,
    /// E-mail only.
    pub subject: Option<String>,
    pub body: String,
    /// How the body travels as SMS (meaningful for SMS and WhatsApp).
    pub encoding: Analysis,
}

/// The template text chosen for a message, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub template_id: Option<TemplateId>,
    pub version: i64,
    pub language: Language,
    pub subject: Option<String>,
    pub body: String,
    pub options: TemplateOptions,
}

/// What rendering needs to know about where the appointment is.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub org_name: String,
    pub org_language: String,
    pub zone: jiff::tz::TimeZone,
    pub location_name: Option<String>,
    pub sensitive: bool,
}

/// Renders the message for `purpose` on `channel` in `language` for a patient of `org`.
///
/// `vars` is a JSON object of the purpose's variables (`Purpose::variables`), as strings.
/// `organization_name`, `location_name` (when `location` is given) and the keywords
/// (`opt_out_word`, `opt_in_word`, `help_word`) are filled in unless supplied; detail variables
/// (`practitioner_name`, `location_name`, `appointment_type`) are optional and rendered empty when
/// withheld; every other variable the template uses must be supplied, or the answer is a 422 naming
/// `variables.<name>`. A sensitive `location` forces the built-in minimal variant.
pub async fn render(
    app: &AppState,
    org: OrgId,
    channel: Channel,
    purpose: Purpose,
    language: &str,
    location: Option<LocationId>,
    vars: &serde_json::Value,
) -> Result<Rendered, AppError> {
    render_in_zone(app, org, channel, purpose, language, location, None, vars).await
}

/// [`render`], with times shown in `zone` (an appointment's own IANA zone) instead of the
/// location's or the organization's.
#[allow(clippy::too_many_arguments)] // render's arguments and the zone
pub async fn render_in_zone(
    app: &AppState,
    org: OrgId,
    channel: Channel,
    purpose: Purpose,
    language: &str,
    location: Option<LocationId>,
    zone: Option<&str>,
    vars: &serde_json::Value,
) -> Result<Rendered, AppError> {
    let language = Language::parse(language).map_err(|e| AppError::field("language", e.to_string()))?;
    let supplied = variables_from_json(vars, "variables")?;
    let mut place = place(app, org, location).await?;
    if let Some(z) = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()) {
        place.zone = z;
    }
    let minimal = place.sensitive && purpose.has_details();
    let chosen = choose(app, org, channel, purpose, &language, &place.org_language, minimal).await?;
    finish(channel, purpose, &place, &chosen, minimal, supplied)
}

/// Renders `chosen` for `place` with `supplied` variables (shared by [`render`] and the preview).
pub(crate) fn finish(
    channel: Channel,
    purpose: Purpose,
    place: &Place,
    chosen: &Chosen,
    minimal: bool,
    supplied: BTreeMap<String, String>,
) -> Result<Rendered, AppError> {
    let vars = fill(purpose, place, chosen.options, supplied);
    let env = engine::environment(&chosen.language, &place.zone);
    let plain = channel != Channel::Email;
    let field_error = |e: engine::TemplateError| AppError::Fields(vec![FieldError::new(e.field, e.message)]);
    let subject = match &chosen.subject {
        Some(s) if channel == Channel::Email => {
            Some(engine::render(&env, "subject", s, &vars, true).map_err(field_error)?)
        }
        _ => None,
    };
    let body = engine::render(&env, "body", &chosen.body, &vars, plain).map_err(field_error)?;
    let n = body.chars().count();
    if n > MAX_BODY_CHARS {
        return Err(AppError::field(
            "body",
            format!("the rendered message is {n} characters; at most {MAX_BODY_CHARS} can be sent"),
        ));
    }
    let encoding = sms::analyze(&body);
    Ok(Rendered {
        template_id: chosen.template_id,
        version: chosen.version,
        language: chosen.language.to_string(),
        minimal,
        subject,
        body,
        encoding,
    })
}

/// The organization's name, default language and zone; the location's zone, name and sensitivity.
pub(crate) async fn place(
    app: &AppState,
    org: OrgId,
    location: Option<LocationId>,
) -> Result<Place, AppError> {
    let org_row = app.store.organization(org).await?;
    let org_language = app.store.organization_language(org).await?;
    let loc = match location {
        Some(id) => Some(app.store.location(org, id).await.map_err(|e| match e {
            StoreError::NotFound => AppError::field("location_id", "no such location in this organization"),
            e => e.into(),
        })?),
        None => None,
    };
    let zone_name = loc.as_ref().map_or(org_row.time_zone.as_str(), |l| l.time_zone.as_str());
    let zone = jiff::tz::TimeZone::get(zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
    Ok(Place {
        org_name: org_row.name,
        org_language,
        zone,
        location_name: loc.as_ref().map(|l| l.name.clone()),
        sensitive: loc.is_some_and(|l| l.sensitive),
    })
}

/// The languages to try, most specific first: the tag, its primary language, the organization's
/// default (and its primary), English.
fn fallbacks(language: &Language, org_language: &str) -> Vec<Language> {
    let mut out: Vec<Language> = Vec::new();
    let org = Language::parse(org_language).ok();
    let candidates = [
        Some(language.clone()),
        Language::parse(language.primary()).ok(),
        org.clone(),
        org.as_ref().and_then(|o| Language::parse(o.primary()).ok()),
        Language::parse("en").ok(),
    ];
    for c in candidates.into_iter().flatten() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Picks the text: for each fallback language, the organization's active template, then (for a
/// primary language tag) the built-in default. A minimal message always uses the built-in text.
pub(crate) async fn choose(
    app: &AppState,
    org: OrgId,
    channel: Channel,
    purpose: Purpose,
    language: &Language,
    org_language: &str,
    minimal: bool,
) -> Result<Chosen, AppError> {
    for lang in fallbacks(language, org_language) {
        if !minimal
            && let Some(row) =
                app.store.active_template(org, channel.as_str(), purpose.as_str(), lang.as_str()).await?
        {
            return Ok(Chosen {
                template_id: Some(row.id),
                version: row.current_version,
                language: lang,
                subject: row.subject,
                body: row.body,
                options: TemplateOptions {
                    include_practitioner: row.include_practitioner,
                    include_location: row.include_location,
                    include_appointment_type: row.include_appointment_type,
                },
            });
        }
        if lang.as_str() == lang.primary()
            && let Some(b) = defaults::built_in(channel, purpose, lang.as_str(), minimal)
        {
            return Ok(Chosen {
                template_id: None,
                version: 0,
                language: lang,
                subject: b.subject.map(str::to_owned),
                body: b.body.to_owned(),
                options: TemplateOptions::default(),
            });
        }
    }
    // English is built in for every channel and purpose (a test checks), so this is a bug.
    Err(AppError::Internal(anyhow::anyhow!("no built-in template for {channel} {purpose}")))
}

/// The variables a render sees: the purpose's documented ones only, with what Hearth knows filled
/// in, and details blanked when withheld (or when not supplied: they are optional).
fn fill(
    purpose: Purpose,
    place: &Place,
    options: TemplateOptions,
    mut supplied: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let known: [(&str, Option<&str>); 5] = [
        ("organization_name", Some(place.org_name.as_str())),
        ("location_name", place.location_name.as_deref()),
        ("opt_out_word", Some("STOP")),
        ("opt_in_word", Some("START")),
        ("help_word", Some("HELP")),
    ];
    let mut out = BTreeMap::new();
    for v in purpose.variables() {
        let value = supplied
            .remove(v.name)
            .or_else(|| known.iter().find(|(k, _)| *k == v.name).and_then(|(_, val)| val.map(str::to_owned)));
        match v.detail {
            Some(d) if place.sensitive || !options.includes(d) => {
                out.insert(v.name.to_owned(), String::new());
            }
            Some(_) => {
                out.insert(v.name.to_owned(), value.unwrap_or_default());
            }
            None => {
                if let Some(value) = value {
                    out.insert(v.name.to_owned(), value);
                }
            }
        }
    }
    out
}

/// A JSON object of variables as strings (numbers and booleans become text; null is "not given").
pub(crate) fn variables_from_json(
    vars: &serde_json::Value,
    field: &str,
) -> Result<BTreeMap<String, String>, AppError> {
    let obj = match vars {
        serde_json::Value::Null => return Ok(BTreeMap::new()),
        serde_json::Value::Object(o) => o,
        _ => return Err(AppError::field(field, "expected an object of variable names and text values")),
    };
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (k, v) in obj {
        match v {
            serde_json::Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            serde_json::Value::Number(n) => {
                out.insert(k.clone(), n.to_string());
            }
            serde_json::Value::Bool(b) => {
                out.insert(k.clone(), b.to_string());
            }
            serde_json::Value::Null => {}
            _ => errors.push(FieldError::new(format!("{field}.{k}"), "expected text")),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(AppError::Fields(errors)) }
}
