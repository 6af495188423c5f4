//! `[replies]` (how patient replies are understood and answered) and `[writeback]` (how a patient's
//! confirm or cancel request reaches the EHR). See `docs/replies.md`.

use hearth_core::Secret;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepliesConfig {
    /// The number patients call with questions, named in the HELP answer and the acknowledgements
    /// (unset: the number the patient wrote to), and in notices and reminders (unset: left empty).
    pub support_phone: Option<String>,
    /// A confirm or cancel reply counts for an appointment until this many minutes before it starts
    /// (0: until the start; negative: until that long after it).
    pub cutoff_minutes_before_start: i64,
    /// Reminders and booking notices older than this are not matched to a reply.
    pub prompt_max_age_days: u32,
}

impl Default for RepliesConfig {
    fn default() -> Self {
        Self { support_phone: None, cutoff_minutes_before_start: 0, prompt_max_age_days: 30 }
    }
}

/// How confirm and cancel requests are written back to the EHR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WritebackMethod {
    /// A signed JSON webhook (`X-Hearth-Signature`).
    #[default]
    Webhook,
    /// A FHIR R4 `AppointmentResponse` POSTed to the EHR's FHIR base.
    Fhir,
    /// Not written back (requests are still recorded on the appointment's timeline).
    None,
}

impl WritebackMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Fhir => "fhir",
            Self::None => "none",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WritebackConfig {
    pub method: WritebackMethod,
    /// `webhook`: the endpoint each request is POSTed to. `fhir`: the FHIR base
    /// (`…/AppointmentResponse` is appended). Unset: nothing is written back.
    pub url: Option<String>,
    /// `webhook`: the HMAC-SHA256 key of `X-Hearth-Signature` (required with a URL).
    pub secret: Option<Secret>,
    /// `fhir`: sent as `Authorization: Bearer …` when set.
    pub bearer_token: Option<Secret>,
}

impl WritebackConfig {
    /// The method in effect: `None` when there is no URL to write to.
    pub fn effective(&self) -> WritebackMethod {
        if self.url.is_none() { WritebackMethod::None } else { self.method }
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(url) = &self.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            errors.push(format!("writeback.url: expected an http:// or https:// URL, got `{url}`"));
        }
        if self.method == WritebackMethod::Webhook && self.url.is_some() && self.secret.is_none() {
            errors.push(
                "writeback.secret: the webhook write-back signs every request; set a secret \
                 (HEARTH_WRITEBACK__SECRET_FILE)"
                    .into(),
            );
        }
        errors
    }
}

impl RepliesConfig {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.prompt_max_age_days == 0 {
            errors.push("replies.prompt_max_age_days: expected at least 1".into());
        }
        if self.support_phone.as_ref().is_some_and(|s| s.trim().is_empty()) {
            errors.push("replies.support_phone: expected a phone number, or leave it unset".into());
        }
        errors
    }
}
