//! Appointments as two separate dimensions — the FHIR R4 [`Status`] and the [`Reminders`] state —
//! moved by [`Event`]s from the EHR (webhook, HL7 v2, FHIR), from the patient's replies and from the
//! patient's consent (spec: `appointments.md`, sections 1–3).
//!
//! The state machine is one pure function, [`apply`]: the current state (or `None` for an appointment
//! Hearth has not seen), an event and the organization's [`Policy`] in; a [`Decision`] out — the new
//! state, whether the event was applied, ignored as stale, ignored or rejected, what to do with the
//! queued reminders, which messages the event calls for and a sentence for the timeline. No clock, no
//! storage: "now" is the event's receive time, so [`replay`] of a stored history reproduces the state.
//! Whether a patient can actually be messaged on a channel is decided by the caller, later.

// Serde as the canonical string form (`Display` / `FromStr`), for values stored in one DB column.
macro_rules! serde_as_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <String as serde::Deserialize>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod decision;
mod event;
mod machine;
mod reminders;
mod state;
mod status;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod table_tests;

pub use decision::{Decision, EhrRequest, Notice, Outcome, ReminderPlan};
pub use event::{Event, EventKind};
pub use machine::{apply, consent_notice, expire, replay};
pub use reminders::{Reminders, SuppressReason};
pub use state::{AppointmentState, Policy};
pub use status::Status;

/// A value that is not one of a vocabulary's words; the message lists the accepted ones, so an API can
/// pass it on as is (after naming its field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}; expected one of: {expected}")]
pub struct ParseError {
    /// What was being parsed, e.g. `event type`.
    pub what: &'static str,
    /// The input, trimmed.
    pub value: String,
    /// The accepted values, comma-separated.
    pub expected: String,
}

impl ParseError {
    fn new(what: &'static str, value: &str, expected: impl IntoIterator<Item = &'static str>) -> Self {
        Self {
            what,
            value: value.trim().to_owned(),
            expected: expected.into_iter().collect::<Vec<_>>().join(", "),
        }
    }
}
