//! Why a message is sent, and the variables a template for that purpose may use.
//!
//! Each purpose documents its variables (name, meaning, a sample value). A template that names any
//! other variable is refused when it is saved, and rendering is strict: a variable the caller did not
//! supply is an error naming it, never an empty hole in a patient's message.
//!
//! Some variables say more than a message needs (who the patient sees, where, for what). Those carry a
//! [`Detail`]: a template includes them only when its options allow, and a sensitive location never
//! shows them (see `docs/notifications.md`, "Minimum necessary").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a message is sent. Appointment event notices, reminders, survey messages, the automatic
/// answers to carrier keywords (STOP, START, HELP) and to confirm or cancel replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    AppointmentBooked,
    AppointmentRescheduled,
    AppointmentModified,
    AppointmentCanceled,
    AppointmentNoShow,
    AppointmentConfirmed,
    AppointmentReminder,
    SurveyInvitation,
    SurveyReminder,
    OptOut,
    OptIn,
    Help,
    /// The acknowledgement of a patient's reply asking to confirm an appointment.
    ConfirmReceived,
    /// The acknowledgement of a patient's reply asking to cancel an appointment.
    CancelReceived,
}

/// A detail that minimum-necessary options can leave out of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    Practitioner,
    Location,
    AppointmentType,
}

/// One variable a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub description: &'static str,
    /// A sample value, used by the preview and to validate templates.
    pub sample: &'static str,
    /// Set when the variable is a detail the minimum-necessary rules can withhold (it is then
    /// rendered as an empty string, so `{% if practitioner_name %}…{% endif %}` leaves it out).
    pub detail: Option<Detail>,
}

const fn var(name: &'static str, description: &'static str, sample: &'static str) -> Variable {
    Variable { name, description, sample, detail: None }
}

const fn detail(name: &'static str, description: &'static str, sample: &'static str, d: Detail) -> Variable {
    Variable { name, description, sample, detail: Some(d) }
}

const ORGANIZATION: Variable =
    var("organization_name", "The organization's name (filled in by Hearth).", "Riverside Clinic");
const SUPPORT_PHONE: Variable =
    var("support_phone", "The phone number patients call with questions.", "+1 312 555 0100");
const FIRST_NAME: Variable = var("patient_first_name", "The patient's first (given) name.", "Maria");
const START: Variable = var(
    "appointment_start",
    "When the appointment starts, as an RFC 3339 time; print it with the `date`, `longdate` and `time` \
     filters (in the location's time zone and the message's language).",
    "2026-03-10T15:30:00Z",
);
const PREVIOUS_START: Variable = var(
    "previous_start",
    "When the appointment was to start before it was rescheduled (RFC 3339; use `date`/`time`).",
    "2026-03-09T14:00:00Z",
);
const LOCATION: Variable = detail(
    "location_name",
    "The location's name (filled in by Hearth from the location). Empty when left out.",
    "Main Street Clinic",
    Detail::Location,
);
const PRACTITIONER: Variable = detail(
    "practitioner_name",
    "The clinician's name as patients know it. Empty when left out.",
    "Dr. Grace Okafor",
    Detail::Practitioner,
);
const APPOINTMENT_TYPE: Variable = detail(
    "appointment_type",
    "What the visit is for, as the patient would say it. Empty when left out.",
    "follow-up visit",
    Detail::AppointmentType,
);
const CONFIRM_WORD: Variable =
    var("reply_confirm_word", "The word a patient replies to confirm (e.g. C).", "C");
const CANCEL_WORD: Variable =
    var("reply_cancel_word", "The word a patient replies to cancel (e.g. CANCEL APPT).", "CANCEL APPT");
const SURVEY_LINK: Variable = var(
    "survey_link",
    "The patient's personal survey link (short, single-use).",
    "https://h.example/s/k3Jq8",
);
const OPT_OUT_WORD: Variable =
    var("opt_out_word", "The keyword that stops messages (filled in by Hearth: STOP).", "STOP");
const OPT_IN_WORD: Variable =
    var("opt_in_word", "The keyword that restarts messages (filled in by Hearth: START).", "START");
const HELP_WORD: Variable = var("help_word", "The keyword for help (filled in by Hearth: HELP).", "HELP");

const PROMPT: &[Variable] = &[
    ORGANIZATION,
    OPT_OUT_WORD,
    SUPPORT_PHONE,
    FIRST_NAME,
    START,
    LOCATION,
    PRACTITIONER,
    APPOINTMENT_TYPE,
    CONFIRM_WORD,
    CANCEL_WORD,
];
const RESCHEDULED: &[Variable] = &[
    ORGANIZATION,
    OPT_OUT_WORD,
    SUPPORT_PHONE,
    FIRST_NAME,
    START,
    PREVIOUS_START,
    LOCATION,
    PRACTITIONER,
    APPOINTMENT_TYPE,
    CONFIRM_WORD,
    CANCEL_WORD,
];
const NOTICE: &[Variable] =
    &[ORGANIZATION, OPT_OUT_WORD, SUPPORT_PHONE, FIRST_NAME, START, LOCATION, PRACTITIONER, APPOINTMENT_TYPE];
const SURVEY: &[Variable] = &[ORGANIZATION, SUPPORT_PHONE, FIRST_NAME, SURVEY_LINK, OPT_OUT_WORD];
const OPT_OUT: &[Variable] = &[ORGANIZATION, SUPPORT_PHONE, OPT_IN_WORD];
const OPT_IN: &[Variable] = &[ORGANIZATION, SUPPORT_PHONE, OPT_OUT_WORD, HELP_WORD];
const HELP: &[Variable] = &[ORGANIZATION, SUPPORT_PHONE, OPT_OUT_WORD];

impl Purpose {
    pub const ALL: [Purpose; 14] = [
        Purpose::AppointmentBooked,
        Purpose::AppointmentRescheduled,
        Purpose::AppointmentModified,
        Purpose::AppointmentCanceled,
        Purpose::AppointmentNoShow,
        Purpose::AppointmentConfirmed,
        Purpose::AppointmentReminder,
        Purpose::SurveyInvitation,
        Purpose::SurveyReminder,
        Purpose::OptOut,
        Purpose::OptIn,
        Purpose::Help,
        Purpose::ConfirmReceived,
        Purpose::CancelReceived,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::AppointmentBooked => "appointment_booked",
            Purpose::AppointmentRescheduled => "appointment_rescheduled",
            Purpose::AppointmentModified => "appointment_modified",
            Purpose::AppointmentCanceled => "appointment_canceled",
            Purpose::AppointmentNoShow => "appointment_no_show",
            Purpose::AppointmentConfirmed => "appointment_confirmed",
            Purpose::AppointmentReminder => "appointment_reminder",
            Purpose::SurveyInvitation => "survey_invitation",
            Purpose::SurveyReminder => "survey_reminder",
            Purpose::OptOut => "opt_out",
            Purpose::OptIn => "opt_in",
            Purpose::Help => "help",
            Purpose::ConfirmReceived => "confirm_received",
            Purpose::CancelReceived => "cancel_received",
        }
    }

    /// A short human label for pages.
    pub const fn label(self) -> &'static str {
        match self {
            Purpose::AppointmentBooked => "Appointment booked",
            Purpose::AppointmentRescheduled => "Appointment rescheduled",
            Purpose::AppointmentModified => "Appointment changed",
            Purpose::AppointmentCanceled => "Appointment canceled",
            Purpose::AppointmentNoShow => "Missed appointment (no-show)",
            Purpose::AppointmentConfirmed => "Appointment confirmed",
            Purpose::AppointmentReminder => "Appointment reminder",
            Purpose::SurveyInvitation => "Survey invitation",
            Purpose::SurveyReminder => "Survey reminder",
            Purpose::OptOut => "Reply to STOP (opted out)",
            Purpose::OptIn => "Reply to START (opted in)",
            Purpose::Help => "Reply to HELP",
            Purpose::ConfirmReceived => "Reply to a confirmation (received)",
            Purpose::CancelReceived => "Reply to a cancel request (received)",
        }
    }

    /// The variables a template for this purpose may use.
    pub const fn variables(self) -> &'static [Variable] {
        match self {
            Purpose::AppointmentBooked | Purpose::AppointmentModified | Purpose::AppointmentReminder => {
                PROMPT
            }
            Purpose::AppointmentRescheduled => RESCHEDULED,
            Purpose::AppointmentCanceled
            | Purpose::AppointmentNoShow
            | Purpose::AppointmentConfirmed
            | Purpose::ConfirmReceived
            | Purpose::CancelReceived => NOTICE,
            Purpose::SurveyInvitation | Purpose::SurveyReminder => SURVEY,
            Purpose::OptOut => OPT_OUT,
            Purpose::OptIn => OPT_IN,
            Purpose::Help => HELP,
        }
    }

    pub fn variable(self, name: &str) -> Option<&'static Variable> {
        self.variables().iter().find(|v| v.name == name)
    }

    /// Whether a message for this purpose can carry details a sensitive location must not show
    /// (and so has a minimal variant).
    pub fn has_details(self) -> bool {
        self.variables().iter().any(|v| v.detail.is_some())
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected one of appointment_booked, appointment_rescheduled, appointment_modified, \
     appointment_canceled, appointment_no_show, appointment_confirmed, appointment_reminder, \
     survey_invitation, survey_reminder, opt_out, opt_in, help, confirm_received, cancel_received"
)]
pub struct UnknownPurpose;

impl FromStr for Purpose {
    type Err = UnknownPurpose;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or(UnknownPurpose)
    }
}

/// A message language: a BCP 47-style tag such as `en`, `es`, `ar` or `es-MX`, kept in canonical
/// case (language lowercase, region uppercase, script title case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Language(String);

/// The text was not a language tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a language tag such as en, es, ar or es-MX")]
pub struct InvalidLanguage;

impl Language {
    pub fn parse(raw: &str) -> Result<Self, InvalidLanguage> {
        let raw = raw.trim().replace('_', "-");
        let mut parts = raw.split('-');
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(InvalidLanguage);
        }
        let mut out = primary.to_ascii_lowercase();
        for sub in parts {
            if !(2..=8).contains(&sub.len()) || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(InvalidLanguage);
            }
            out.push('-');
            match sub.len() {
                2 => out.push_str(&sub.to_ascii_uppercase()),
                4 => {
                    out.push_str(&sub[..1].to_ascii_uppercase());
                    out.push_str(&sub[1..].to_ascii_lowercase());
                }
                _ => out.push_str(&sub.to_ascii_lowercase()),
            }
        }
        if out.len() > 35 {
            return Err(InvalidLanguage);
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language without region or script (`es` for `es-MX`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// Whether the language is written right to left.
    pub fn is_rtl(&self) -> bool {
        matches!(self.primary(), "ar" | "he" | "fa" | "ur" | "ps" | "yi" | "dv" | "ckb")
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_and_have_unique_documented_variables() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(p));
            let vars = p.variables();
            assert!(vars.iter().any(|v| v.name == "organization_name"), "{p}");
            for (i, v) in vars.iter().enumerate() {
                assert!(vars[i + 1..].iter().all(|w| w.name != v.name), "{p}: {} twice", v.name);
                assert!(!v.description.is_empty() && !v.sample.is_empty());
            }
        }
        assert!(Purpose::AppointmentReminder.has_details());
        assert!(!Purpose::Help.has_details());
        assert_eq!("booked".parse::<Purpose>(), Err(UnknownPurpose));
    }

    #[test]
    fn language_tags_are_checked_and_canonical() {
        assert_eq!(Language::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Language::parse("es_mx").unwrap().as_str(), "es-MX");
        assert_eq!(Language::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert_eq!(Language::parse("es-419").unwrap().primary(), "es");
        assert!(Language::parse("ar").unwrap().is_rtl());
        for bad in ["", "e", "english", "en-", "en-x", "1n", "en us"] {
            assert_eq!(Language::parse(bad), Err(InvalidLanguage), "{bad}");
        }
    }
}
