//! Reminder rules: the organization's, and overrides per location or appointment type. The most
//! specific wins (type, then location, then organization), else the spec's default. Stored and shown
//! in the text forms staff write (`48h`, `08:00-21:00`).

use hearth_core::outreach::{self, Caps, Offset, Rule, Window};
use hearth_core::{LocationId, OrgId};
use hearth_store::appointments::AppointmentRow;
use hearth_store::reminders::RuleRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A rule as staff write it; every field has the spec's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RuleText {
    /// Reminder k is due at start − offset k: `48h`, `24h`, `2d`, `90m`, or `HHMM` (`4800`).
    pub offsets: Vec<String>,
    /// Local hours in which reminders may go out, `HH:MM-HH:MM` (start inclusive, end exclusive).
    pub window: String,
    /// Never remind closer to the start than this.
    pub min_lead: String,
    /// Never remind within this long after another message about the same appointment.
    pub min_gap: String,
    /// Reminders and survey invitations per patient and local day.
    pub per_day: u32,
    /// … and per local week (Monday to Sunday).
    pub per_week: u32,
    pub stop_after_confirm: bool,
    /// One message for several appointments of a patient on one local day.
    pub combine_same_day: bool,
}

impl Default for RuleText {
    fn default() -> Self {
        RuleText::from(&Rule::default())
    }
}

impl From<&Rule> for RuleText {
    fn from(r: &Rule) -> Self {
        let length = |d: jiff::SignedDuration| Offset::Exact(d).to_string();
        Self {
            offsets: r.offsets.iter().map(ToString::to_string).collect(),
            window: r.window.to_string(),
            min_lead: length(r.min_lead),
            min_gap: length(r.min_gap),
            per_day: r.caps.per_day,
            per_week: r.caps.per_week,
            stop_after_confirm: r.stop_after_confirm,
            combine_same_day: r.combine_same_day,
        }
    }
}

impl RuleText {
    /// The rule, or every field that is wrong.
    pub fn to_rule(&self) -> Result<Rule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut offsets = Vec::new();
        if self.offsets.is_empty() || self.offsets.len() > 5 {
            errors.push(FieldError::new("offsets", "expected 1 to 5 lengths such as 48h, 24h"));
        }
        for (i, o) in self.offsets.iter().enumerate() {
            match o.parse::<Offset>() {
                Ok(v) => offsets.push(v),
                Err(e) => errors.push(FieldError::new(format!("offsets[{i}]"), e.to_string())),
            }
        }
        let window = self.window.parse::<Window>().map_err(|e| FieldError::new("window", e.to_string()));
        let length = |field: &str, t: &str| {
            outreach::parse_length(t)
                .or_else(|e| {
                    if matches!(t.trim(), "0" | "0h" | "0m") {
                        Ok(jiff::SignedDuration::ZERO)
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| FieldError::new(field, e.to_string()))
        };
        let min_lead = length("min_lead", &self.min_lead);
        let min_gap = length("min_gap", &self.min_gap);
        if !(1..=10).contains(&self.per_day) {
            errors.push(FieldError::new("per_day", "expected 1 to 10"));
        }
        if !(self.per_day..=50).contains(&self.per_week) {
            errors.push(FieldError::new("per_week", "expected per_day to 50"));
        }
        let (window, min_lead, min_gap) = match (window, min_lead, min_gap) {
            (Ok(w), Ok(l), Ok(g)) if errors.is_empty() => (w, l, g),
            (w, l, g) => {
                errors.extend([w.err(), l.err(), g.err()].into_iter().flatten());
                return Err(errors);
            }
        };
        Ok(Rule {
            offsets,
            window,
            min_lead,
            min_gap,
            caps: Caps { per_day: self.per_day, per_week: self.per_week },
            stop_after_confirm: self.stop_after_confirm,
            combine_same_day: self.combine_same_day,
        })
    }
}

/// One stored rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    /// `organization`, `location` or `appointment_type`.
    pub scope: String,
    /// The location id or appointment type; empty for the organization.
    pub key: String,
    pub rule: RuleText,
    pub updated_at: String,
}

/// The rule for `a` among the organization's `rules`.
pub fn resolve(rules: &[RuleRow], a: &AppointmentRow) -> Rule {
    let find = |scope: &str, key: &str| {
        rules.iter().find(|r| r.scope == scope && r.scope_key == key).and_then(|r| parse_stored(&r.rule))
    };
    a.appointment_type
        .as_deref()
        .and_then(|t| find("appointment_type", t))
        .or_else(|| a.location_id.and_then(|l| find("location", &l.to_string())))
        .or_else(|| find("organization", ""))
        .unwrap_or_default()
}

fn parse_stored(json: &str) -> Option<Rule> {
    serde_json::from_str::<RuleText>(json).ok().and_then(|t| t.to_rule().ok())
}

/// The organization's own rule, if it has set one (what `hearth reminders explain` starts from).
pub async fn stored_organization_rule(store: &hearth_store::Store, org: OrgId) -> Option<Rule> {
    let rules = store.reminder_rules(org).await.ok()?;
    rules.iter().find(|r| r.scope == "organization").and_then(|r| parse_stored(&r.rule))
}

pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<RuleView>, AppError> {
    let rows = app.store.reminder_rules(actor.org).await?;
    let mut out: Vec<RuleView> = rows.iter().map(view).collect();
    if !out.iter().any(|r| r.scope == "organization") {
        out.insert(
            0,
            RuleView {
                scope: "organization".into(),
                key: String::new(),
                rule: RuleText::default(),
                updated_at: String::new(),
            },
        );
    }
    Ok(out)
}

fn view(r: &RuleRow) -> RuleView {
    RuleView {
        scope: r.scope.clone(),
        key: r.scope_key.clone(),
        rule: serde_json::from_str(&r.rule).unwrap_or_default(),
        updated_at: r.updated_at.to_display(),
    }
}

/// The scope and key checked: a location must be one of the organization's.
async fn check_scope(app: &AppState, org: OrgId, scope: &str, key: &str) -> Result<String, AppError> {
    match scope {
        "organization" if key.is_empty() => Ok(String::new()),
        "organization" => Err(AppError::field("key", "the organization's rule has no key")),
        "location" => {
            let id: LocationId =
                key.parse().map_err(|_| AppError::field("key", "expected a location id (UUID)"))?;
            app.store.location(org, id).await.map_err(|e| match e {
                hearth_store::StoreError::NotFound => {
                    AppError::field("key", "no such location in this organization")
                }
                e => e.into(),
            })?;
            Ok(id.to_string())
        }
        "appointment_type" if !key.trim().is_empty() && key.len() <= 100 => Ok(key.trim().to_owned()),
        "appointment_type" => {
            Err(AppError::field("key", "expected the appointment type (1 to 100 characters)"))
        }
        _ => Err(AppError::field("scope", "expected one of organization, location, appointment_type")),
    }
}

/// Sets a rule and re-plans every patient with an upcoming appointment it may govern.
pub async fn put(
    app: &AppState,
    actor: &Actor,
    scope: &str,
    key: &str,
    text: RuleText,
) -> Result<(RuleView, u64), AppError> {
    let key = check_scope(app, actor.org, scope, key).await?;
    text.to_rule().map_err(AppError::Fields)?;
    let now = app.clock.now();
    let row = RuleRow {
        org_id: actor.org,
        scope: scope.to_owned(),
        scope_key: key.clone(),
        rule: serde_json::to_string(&text).map_err(anyhow::Error::from)?,
        updated_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.put_reminder_rule(&row).await?;
    let queued = replan(&mut tx, actor.org, scope, &key, now).await?;
    let subject = ("reminder_rule", format!("{scope}:{key}"));
    audit::record(&mut tx, now, actor, "reminder_rule.put", Some(subject), None, Some(row.rule.clone()))
        .await?;
    tx.commit().await?;
    app.reminders.wake();
    Ok((view(&row), queued))
}

/// Removes an override (or the organization's rule: the spec's default applies again).
pub async fn delete(app: &AppState, actor: &Actor, scope: &str, key: &str) -> Result<u64, AppError> {
    let key = check_scope(app, actor.org, scope, key).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    if !tx.delete_reminder_rule(actor.org, scope, &key).await? {
        return Err(hearth_store::StoreError::NotFound.into());
    }
    let queued = replan(&mut tx, actor.org, scope, &key, now).await?;
    let subject = ("reminder_rule", format!("{scope}:{key}"));
    audit::record(&mut tx, now, actor, "reminder_rule.delete", Some(subject), None, None).await?;
    tx.commit().await?;
    app.reminders.wake();
    Ok(queued)
}

async fn replan(
    tx: &mut hearth_store::Tx,
    org: OrgId,
    scope: &str,
    key: &str,
    now: hearth_core::UtcTime,
) -> Result<u64, AppError> {
    let (location, kind) = match scope {
        "location" => (Some(key), None),
        "appointment_type" => (None, Some(key)),
        _ => (None, None),
    };
    Ok(tx.queue_replan_all(org, location, kind, now).await?)
}
