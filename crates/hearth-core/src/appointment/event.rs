//! What happens to an appointment: the kinds of event and the event as the state machine sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;
use crate::UtcTime;

/// The kind of an appointment event, named on the wire as in the two-way messaging app's webhook
/// (`BOOKED`, `OPTED-OUT`…), plus four Hearth names for facts that arrive by HL7 v2 or FHIR
/// (`ENTERED-IN-ERROR`, `ARRIVED`, `CHECKED-IN`, `FULFILLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// EHR: a new booking (SIU S12), or the appointment is booked again.
    Booked,
    /// EHR: location, provider or other details changed (S14).
    Modified,
    /// EHR: a new time (S13).
    Rescheduled,
    /// EHR: cancelled or discontinued (S15, S16).
    Canceled,
    /// EHR: the patient did not show (S26).
    Noshowed,
    /// EHR: the appointment is confirmed (the patient accepted).
    Confirmed,
    /// Patient reply asking to confirm; the EHR decides.
    PatientConfirm,
    /// Patient reply asking to cancel; the EHR decides.
    PatientCancel,
    /// Patient level: the patient opted in to appointment messages.
    OptedIn,
    /// Patient level: the patient opted out of appointment messages.
    OptedOut,
    /// EHR: the appointment was deleted as entered in error (S17). Not a cancellation.
    EnteredInError,
    /// EHR: the patient arrived (ADT A01/A04/A10, FHIR `arrived`).
    Arrived,
    /// EHR: the patient checked in (FHIR `checked-in`).
    CheckedIn,
    /// EHR: the visit ended (ADT A03, FHIR `fulfilled`, CSV "Seen").
    Fulfilled,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::Booked,
        EventKind::Modified,
        EventKind::Rescheduled,
        EventKind::Canceled,
        EventKind::Noshowed,
        EventKind::Confirmed,
        EventKind::PatientConfirm,
        EventKind::PatientCancel,
        EventKind::OptedIn,
        EventKind::OptedOut,
        EventKind::EnteredInError,
        EventKind::Arrived,
        EventKind::CheckedIn,
        EventKind::Fulfilled,
    ];

    /// The wire name, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Booked => "BOOKED",
            EventKind::Modified => "MODIFIED",
            EventKind::Rescheduled => "RESCHEDULED",
            EventKind::Canceled => "CANCELED",
            EventKind::Noshowed => "NOSHOWED",
            EventKind::Confirmed => "CONFIRMED",
            EventKind::PatientConfirm => "CONFIRM",
            EventKind::PatientCancel => "CANCEL",
            EventKind::OptedIn => "OPTED-IN",
            EventKind::OptedOut => "OPTED-OUT",
            EventKind::EnteredInError => "ENTERED-IN-ERROR",
            EventKind::Arrived => "ARRIVED",
            EventKind::CheckedIn => "CHECKED-IN",
            EventKind::Fulfilled => "FULFILLED",
        }
    }

    /// The wire name, ignoring ASCII case and surrounding spaces (`booked`, `Canceled`, `opted-out`).
    /// The error lists every accepted name.
    pub fn parse(s: &str) -> Result<EventKind, ParseError> {
        let t = s.trim();
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseError::new("event type", s, EventKind::ALL.iter().map(|k| k.as_str())))
    }

    /// A fact about the appointment (from the EHR or its HL7/FHIR feeds). Only these are ordered by
    /// `event_datetime_utc`: they can be stale, and they advance `last_applied_at`.
    pub const fn is_appointment_fact(self) -> bool {
        !self.is_patient_request() && !self.is_consent()
    }

    /// A patient's reply (CONFIRM, CANCEL): a request forwarded to the EHR, not a fact.
    pub const fn is_patient_request(self) -> bool {
        matches!(self, EventKind::PatientConfirm | EventKind::PatientCancel)
    }

    /// A patient-level consent change (OPTED-IN, OPTED-OUT).
    pub const fn is_consent(self) -> bool {
        matches!(self, EventKind::OptedIn | EventKind::OptedOut)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::parse(s)
    }
}

serde_as_str!(EventKind);

/// One event as the state machine needs it. Identity (which appointment, which patient), names and
/// places stay with the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// When it happened (`event_datetime_utc`; the receive time when absent). Orders the facts of one
    /// appointment.
    pub at: UtcTime,
    /// When Hearth received it. The machine's "now": whether the appointment time has already passed
    /// is judged against it, so a replay decides exactly as the first run did.
    pub received_at: UtcTime,
    /// The appointment's start as the event gives it (`appointment_datetime` resolved to UTC), if it
    /// gives one. Required for RESCHEDULED.
    pub start: Option<UtcTime>,
    /// The patient had opted out of appointment messages when the event was received (the caller's
    /// consent record). Reminders are never left pending for such a patient. Not consulted for
    /// OPTED-IN / OPTED-OUT, whose kind says it all.
    #[serde(default)]
    pub patient_opted_out: bool,
}

impl Event {
    /// An event received when it happened, without a start time, for a patient who has not opted out.
    pub fn new(kind: EventKind, at: UtcTime) -> Self {
        Self { kind, at, received_at: at, start: None, patient_opted_out: false }
    }

    #[must_use]
    pub fn with_start(mut self, start: UtcTime) -> Self {
        self.start = Some(start);
        self
    }

    #[must_use]
    pub fn received(mut self, received_at: UtcTime) -> Self {
        self.received_at = received_at;
        self
    }

    #[must_use]
    pub fn opted_out(mut self, patient_opted_out: bool) -> Self {
        self.patient_opted_out = patient_opted_out;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse_in_any_case() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()).unwrap(), *k);
            assert_eq!(EventKind::parse(&k.as_str().to_lowercase()).unwrap(), *k);
            assert_eq!(serde_json::from_str::<EventKind>(&format!("\"{}\"", k.as_str())).unwrap(), *k);
        }
        assert_eq!(EventKind::parse(" Canceled ").unwrap(), EventKind::Canceled);
        assert_eq!(EventKind::parse("opted-Out").unwrap(), EventKind::OptedOut);
        assert_eq!(serde_json::to_string(&EventKind::OptedIn).unwrap(), r#""OPTED-IN""#);
    }

    #[test]
    fn an_unknown_kind_names_the_allowed_values() {
        let err = EventKind::parse("CANCELLED").unwrap_err();
        assert_eq!(err.value, "CANCELLED");
        let msg = err.to_string();
        assert!(
            msg.starts_with("`CANCELLED` is not a valid event type; expected one of: BOOKED, MODIFIED"),
            "{msg}"
        );
        assert!(msg.contains("OPTED-OUT") && msg.contains("FULFILLED"), "{msg}");
        assert!(EventKind::parse("").is_err());
    }

    #[test]
    fn every_kind_is_in_exactly_one_group() {
        for k in EventKind::ALL {
            let groups = [k.is_appointment_fact(), k.is_patient_request(), k.is_consent()];
            assert_eq!(groups.iter().filter(|g| **g).count(), 1, "{k}");
        }
    }
}
