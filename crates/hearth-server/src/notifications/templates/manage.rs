//! Managing templates (list with the built-in defaults, read with versions, create, edit into a new
//! version, deactivate) and the preview. Every change is audited in its own transaction.

use std::collections::BTreeMap;

use hearth_core::messaging::sms::Analysis;
use hearth_core::messaging::{Channel, Language, Purpose};
use hearth_core::{LocationId, TemplateId, UtcTime};
use hearth_store::StoreError;
use hearth_store::templates::{NewTemplate, NewVersion, TemplateRow, TemplateVersionRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Chosen, MAX_BODY_CHARS, MAX_SUBJECT_CHARS, Rendered, TemplateOptions, choose, defaults, engine, finish,
    place, variables_from_json,
};
use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A template of the organization, with its current text and every version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    #[schema(value_type = String, format = Uuid)]
    pub id: TemplateId,
    #[schema(value_type = String, example = "sms")]
    pub channel: Channel,
    #[schema(value_type = String, example = "appointment_reminder")]
    pub purpose: Purpose,
    pub language: String,
    /// Inactive templates are kept but not used (the built-in default is).
    pub active: bool,
    pub current_version: i64,
    pub subject: Option<String>,
    pub body: String,
    pub options: TemplateOptions,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
    /// Newest first.
    pub versions: Vec<TemplateVersionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateVersionView {
    pub version: i64,
    pub subject: Option<String>,
    pub body: String,
    pub options: TemplateOptions,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    pub created_by: String,
}

/// One line of the template list: an organization template, or a built-in default nobody overrides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateEntryView {
    /// `organization` or `default`.
    pub source: &'static str,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub template_id: Option<TemplateId>,
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub purpose: Purpose,
    pub language: String,
    /// 0 for a built-in default.
    pub version: i64,
    pub active: bool,
    pub subject: Option<String>,
    pub body: String,
}

/// Filters for the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateListQuery {
    /// sms | whatsapp | voice | email
    #[param(value_type = Option<String>)]
    pub channel: Option<Channel>,
    #[param(value_type = Option<String>)]
    pub purpose: Option<Purpose>,
    pub language: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplateInput {
    #[schema(value_type = String, example = "sms")]
    pub channel: Channel,
    #[schema(value_type = String, example = "appointment_reminder")]
    pub purpose: Purpose,
    /// BCP 47 tag: en, es, ar, es-MX…
    pub language: String,
    /// E-mail only (required there).
    pub subject: Option<String>,
    /// At most 1,600 characters.
    pub body: String,
    pub options: Option<TemplateOptions>,
}

/// A new version: the whole text again, and the options (unchanged when absent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplateInput {
    pub subject: Option<String>,
    pub body: String,
    pub options: Option<TemplateOptions>,
}

/// What to preview: a draft (`body`, with `channel`, `purpose`, `language`), a saved template
/// (`template_id`, optionally with a draft `body`), or what would be sent today (neither).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub template_id: Option<TemplateId>,
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
    #[schema(value_type = Option<String>)]
    pub purpose: Option<Purpose>,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub options: Option<TemplateOptions>,
    /// Render as for this location (its time zone; sensitive means the minimal variant).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub location_id: Option<LocationId>,
    /// Values to use instead of the purpose's samples.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
}

/// A rendered preview with its SMS encoding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewView {
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub purpose: Purpose,
    /// The language used (after falling back).
    pub language: String,
    /// `draft`, `organization` or `default`.
    pub source: &'static str,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub template_id: Option<TemplateId>,
    pub version: i64,
    /// True when a sensitive location forced the minimal variant.
    pub minimal: bool,
    pub subject: Option<String>,
    pub body: String,
    /// `GSM-7` or `UCS-2`.
    pub encoding: String,
    /// In the encoding's units (extension characters and surrogate pairs count 2).
    pub characters: usize,
    pub segments: usize,
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<hearth_core::messaging::sms::Warning>,
}

fn options_of(
    include_practitioner: bool,
    include_location: bool,
    include_appointment_type: bool,
) -> TemplateOptions {
    TemplateOptions { include_practitioner, include_location, include_appointment_type }
}

fn parse_row(row: &TemplateRow) -> Result<(Channel, Purpose), AppError> {
    let channel = row.channel.parse().map_err(|_| anyhow::anyhow!("stored channel {}", row.channel))?;
    let purpose = row.purpose.parse().map_err(|_| anyhow::anyhow!("stored purpose {}", row.purpose))?;
    Ok((channel, purpose))
}

fn view(row: &TemplateRow, versions: &[TemplateVersionRow]) -> Result<TemplateView, AppError> {
    let (channel, purpose) = parse_row(row)?;
    Ok(TemplateView {
        id: row.id,
        channel,
        purpose,
        language: row.language.clone(),
        active: row.active,
        current_version: row.current_version,
        subject: row.subject.clone(),
        body: row.body.clone(),
        options: options_of(row.include_practitioner, row.include_location, row.include_appointment_type),
        created_at: row.created_at,
        updated_at: row.updated_at,
        versions: versions
            .iter()
            .map(|v| TemplateVersionView {
                version: v.version,
                subject: v.subject.clone(),
                body: v.body.clone(),
                options: options_of(v.include_practitioner, v.include_location, v.include_appointment_type),
                created_at: v.created_at,
                created_by: v.created_by.clone(),
            })
            .collect(),
    })
}

/// The organization's templates and, where none is active, the built-in defaults.
pub async fn list(
    app: &AppState,
    actor: &Actor,
    q: &TemplateListQuery,
) -> Result<Vec<TemplateEntryView>, AppError> {
    let language = match &q.language {
        Some(l) => Some(Language::parse(l).map_err(|e| AppError::field("language", e.to_string()))?),
        None => None,
    };
    let keep = |c: Channel, p: Purpose, l: &str| {
        q.channel.is_none_or(|x| x == c)
            && q.purpose.is_none_or(|x| x == p)
            && language.as_ref().is_none_or(|x| x.as_str() == l)
    };
    let mut out = Vec::new();
    let rows = app.store.list_templates(actor.org).await?;
    for row in &rows {
        let (channel, purpose) = parse_row(row)?;
        if keep(channel, purpose, &row.language) {
            out.push(TemplateEntryView {
                source: "organization",
                template_id: Some(row.id),
                channel,
                purpose,
                language: row.language.clone(),
                version: row.current_version,
                active: row.active,
                subject: row.subject.clone(),
                body: row.body.clone(),
            });
        }
    }
    for purpose in Purpose::ALL {
        for channel in Channel::ALL {
            for lang in defaults::LANGUAGES {
                let overridden = rows.iter().any(|r| {
                    r.active
                        && r.channel == channel.as_str()
                        && r.purpose == purpose.as_str()
                        && r.language == *lang
                });
                if overridden || !keep(channel, purpose, lang) {
                    continue;
                }
                if let Some(b) = defaults::built_in(channel, purpose, lang, false) {
                    out.push(TemplateEntryView {
                        source: "default",
                        template_id: None,
                        channel,
                        purpose,
                        language: (*lang).to_owned(),
                        version: 0,
                        active: true,
                        subject: b.subject.map(str::to_owned),
                        body: b.body.to_owned(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (a.purpose, a.channel, &a.language).cmp(&(b.purpose, b.channel, &b.language)));
    Ok(out)
}

pub async fn get(app: &AppState, actor: &Actor, id: TemplateId) -> Result<TemplateView, AppError> {
    let row = app.store.template(actor.org, id).await?;
    let versions = app.store.template_versions(actor.org, id).await?;
    view(&row, &versions)
}

/// Checks a subject and body for a channel and purpose: lengths, syntax, variables, and a trial
/// render with the purpose's samples (all details on).
pub fn validate(
    channel: Channel,
    purpose: Purpose,
    language: &Language,
    subject: Option<&str>,
    body: &str,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let n = body.chars().count();
    if body.trim().is_empty() {
        errors.push(FieldError::new("body", "expected the text of the message"));
    } else if n > MAX_BODY_CHARS {
        errors
            .push(FieldError::new("body", format!("expected at most {MAX_BODY_CHARS} characters, got {n}")));
    }
    match (channel, subject) {
        (Channel::Email, None) => {
            errors.push(FieldError::new("subject", "an e-mail template needs a subject"));
        }
        (Channel::Email, Some(s)) if s.trim().is_empty() || s.chars().count() > MAX_SUBJECT_CHARS => {
            errors.push(FieldError::new("subject", format!("expected 1 to {MAX_SUBJECT_CHARS} characters")));
        }
        (Channel::Email, Some(_)) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new("subject", "only e-mail templates have a subject")),
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let env = engine::environment(language, &jiff::tz::TimeZone::UTC);
    for (field, source) in [("subject", subject), ("body", Some(body))] {
        if let Some(source) = source {
            engine::check(&env, purpose, field, source)
                .map_err(|e| AppError::Fields(vec![FieldError::new(e.field, e.message)]))?;
        }
    }
    let samples: BTreeMap<String, String> =
        purpose.variables().iter().map(|v| (v.name.to_owned(), v.sample.to_owned())).collect();
    for (field, source) in [("subject", subject), ("body", Some(body))] {
        if let Some(source) = source {
            engine::render(&env, field, source, &samples, true)
                .map_err(|e| AppError::Fields(vec![FieldError::new(e.field, e.message)]))?;
        }
    }
    Ok(())
}

fn parse_language(raw: &str) -> Result<Language, AppError> {
    Language::parse(raw).map_err(|e| AppError::field("language", e.to_string()))
}

pub async fn create(
    app: &AppState,
    actor: &Actor,
    input: CreateTemplateInput,
) -> Result<TemplateView, AppError> {
    let language = parse_language(&input.language)?;
    let subject = input.subject.as_deref().map(str::trim);
    validate(input.channel, input.purpose, &language, subject, &input.body)?;
    let options = input.options.unwrap_or_default();
    let now = app.clock.now();
    let id = TemplateId::new();
    let label = actor.audit_identity().2.unwrap_or_default();
    let new = NewTemplate {
        id,
        channel: input.channel.as_str(),
        purpose: input.purpose.as_str(),
        language: language.as_str(),
    };
    let mut tx = app.store.begin().await?;
    tx.create_template(actor.org, &new, &new_version(subject, &input.body, options, &label, now))
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) => AppError::with_message(
                hearth_core::ErrorCode::AlreadyExists,
                "the organization already has a template for this channel, purpose and language; \
                 change it with PUT /api/v1/templates/{template_id}",
            ),
            e => e.into(),
        })?;
    let after = TemplateAudit {
        channel: new.channel,
        purpose: new.purpose,
        language: new.language,
        version: 1,
        subject,
        body: &input.body,
        options,
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "template.create",
        Some(("template", id.to_string())),
        None,
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    get(app, actor, id).await
}

pub async fn update(
    app: &AppState,
    actor: &Actor,
    id: TemplateId,
    input: UpdateTemplateInput,
) -> Result<TemplateView, AppError> {
    let row = app.store.template(actor.org, id).await?;
    let (channel, purpose) = parse_row(&row)?;
    let language = parse_language(&row.language)?;
    let subject = input.subject.as_deref().map(str::trim);
    validate(channel, purpose, &language, subject, &input.body)?;
    let options = input.options.unwrap_or(options_of(
        row.include_practitioner,
        row.include_location,
        row.include_appointment_type,
    ));
    let now = app.clock.now();
    let label = actor.audit_identity().2.unwrap_or_default();
    let mut tx = app.store.begin().await?;
    let version = tx
        .add_template_version(actor.org, id, &new_version(subject, &input.body, options, &label, now))
        .await?;
    let after = TemplateAudit {
        channel: &row.channel,
        purpose: &row.purpose,
        language: &row.language,
        version,
        subject,
        body: &input.body,
        options,
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "template.update",
        Some(("template", id.to_string())),
        None,
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    get(app, actor, id).await
}

/// Stops using the template: messages use the built-in default again. Its versions stay readable,
/// and saving a new version makes it active again.
pub async fn deactivate(app: &AppState, actor: &Actor, id: TemplateId) -> Result<TemplateView, AppError> {
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_template_active(actor.org, id, false, now).await?;
    audit::record(&mut tx, now, actor, "template.deactivate", Some(("template", id.to_string())), None, None)
        .await?;
    tx.commit().await?;
    get(app, actor, id).await
}

/// What the audit trail keeps of a version.
#[derive(Serialize)]
struct TemplateAudit<'a> {
    channel: &'a str,
    purpose: &'a str,
    language: &'a str,
    version: i64,
    subject: Option<&'a str>,
    body: &'a str,
    options: TemplateOptions,
}

fn new_version<'a>(
    subject: Option<&'a str>,
    body: &'a str,
    o: TemplateOptions,
    created_by: &'a str,
    now: UtcTime,
) -> NewVersion<'a> {
    NewVersion {
        subject,
        body,
        include_practitioner: o.include_practitioner,
        include_location: o.include_location,
        include_appointment_type: o.include_appointment_type,
        created_by,
        now,
    }
}

/// The channel, purpose and language a preview without a saved template names, or every field missing.
fn target(input: &PreviewInput) -> Result<(Channel, Purpose, Language), AppError> {
    let mut errors = Vec::new();
    if input.channel.is_none() {
        errors.push(FieldError::new("channel", "expected one of sms, whatsapp, voice, email"));
    }
    if input.purpose.is_none() {
        errors.push(FieldError::new("purpose", "expected a purpose such as appointment_reminder"));
    }
    let language = match input.language.as_deref().map(Language::parse) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            errors.push(FieldError::new("language", e.to_string()));
            None
        }
        None => {
            errors.push(FieldError::new("language", "expected a language tag such as en, es or ar"));
            None
        }
    };
    match (input.channel, input.purpose, language) {
        (Some(c), Some(p), Some(l)) if errors.is_empty() => Ok((c, p, l)),
        _ => Err(AppError::Fields(errors)),
    }
}

/// Renders a draft, a saved template or what would be sent, with sample variables (overridden by
/// `variables`), and reports the SMS encoding.
pub async fn preview(app: &AppState, actor: &Actor, input: PreviewInput) -> Result<PreviewView, AppError> {
    let saved = match input.template_id {
        Some(id) => Some(app.store.template(actor.org, id).await?),
        None => None,
    };
    let (channel, purpose, language) = match &saved {
        Some(row) => {
            let (c, p) = parse_row(row)?;
            (c, p, parse_language(&row.language)?)
        }
        None => target(&input)?,
    };
    let mut vars: BTreeMap<String, String> = purpose
        .variables()
        .iter()
        // Hearth fills these in from the organization and the location when it has them.
        .filter(|v| {
            v.name != "organization_name" && !(v.name == "location_name" && input.location_id.is_some())
        })
        .map(|v| (v.name.to_owned(), v.sample.to_owned()))
        .collect();
    vars.extend(variables_from_json(
        input.variables.as_ref().unwrap_or(&serde_json::Value::Null),
        "variables",
    )?);
    let place = place(app, actor.org, input.location_id).await?;
    let minimal = place.sensitive && purpose.has_details();
    let (source, chosen) = if let Some(body) = &input.body {
        let subject = input.subject.as_deref().map(str::trim);
        validate(channel, purpose, &language, subject, body)?;
        let options = input.options.or_else(|| {
            saved
                .as_ref()
                .map(|r| options_of(r.include_practitioner, r.include_location, r.include_appointment_type))
        });
        let draft = Chosen {
            template_id: saved.as_ref().map(|r| r.id),
            version: saved.as_ref().map_or(0, |r| r.current_version),
            language: language.clone(),
            subject: subject.map(str::to_owned),
            body: body.clone(),
            options: options.unwrap_or_default(),
        };
        if minimal {
            ("default", choose(app, actor.org, channel, purpose, &language, &place.org_language, true).await?)
        } else {
            ("draft", draft)
        }
    } else if let (Some(row), false) = (&saved, minimal) {
        let chosen = Chosen {
            template_id: Some(row.id),
            version: row.current_version,
            language: language.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            options: input.options.unwrap_or(options_of(
                row.include_practitioner,
                row.include_location,
                row.include_appointment_type,
            )),
        };
        ("organization", chosen)
    } else {
        let chosen =
            choose(app, actor.org, channel, purpose, &language, &place.org_language, minimal).await?;
        (if chosen.template_id.is_some() { "organization" } else { "default" }, chosen)
    };
    let r: Rendered = finish(channel, purpose, &place, &chosen, minimal, vars)?;
    let Analysis { encoding, characters, segments, warnings } = r.encoding;
    Ok(PreviewView {
        channel,
        purpose,
        language: r.language,
        source,
        template_id: r.template_id,
        version: r.version,
        minimal: r.minimal,
        subject: r.subject,
        body: r.body,
        encoding: encoding.as_str().to_owned(),
        characters,
        segments,
        warnings,
    })
}
