//! The FHIR R4 `Appointment.status` codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// FHIR R4 `Appointment.status`. Stored and exchanged as the FHIR code (`entered-in-error`).
///
/// Three groups matter to Hearth:
/// - **open** (`proposed`, `pending`, `booked`, `waitlist`): the visit is ahead; reminders may be due.
/// - **under way** (`arrived`, `checked-in`): the patient is here. Not terminal — the visit still
///   ends (`fulfilled`) — but reminders are over.
/// - **terminal** (`cancelled`, `noshow`, `entered-in-error`, `fulfilled`): the appointment is over.
///   Only a BOOKED or RESCHEDULED from the EHR reopens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Proposed,
    Pending,
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    Noshow,
    EnteredInError,
    CheckedIn,
    Waitlist,
}

impl Status {
    /// In the order of the FHIR value set.
    pub const ALL: &'static [Status] = &[
        Status::Proposed,
        Status::Pending,
        Status::Booked,
        Status::Arrived,
        Status::Fulfilled,
        Status::Cancelled,
        Status::Noshow,
        Status::EnteredInError,
        Status::CheckedIn,
        Status::Waitlist,
    ];

    /// The FHIR code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Pending => "pending",
            Status::Booked => "booked",
            Status::Arrived => "arrived",
            Status::Fulfilled => "fulfilled",
            Status::Cancelled => "cancelled",
            Status::Noshow => "noshow",
            Status::EnteredInError => "entered-in-error",
            Status::CheckedIn => "checked-in",
            Status::Waitlist => "waitlist",
        }
    }

    /// The FHIR code, exactly (FHIR codes are case-sensitive); surrounding spaces are ignored.
    pub fn parse(s: &str) -> Result<Status, ParseError> {
        let t = s.trim();
        Status::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == t)
            .ok_or_else(|| ParseError::new("appointment status", s, Status::ALL.iter().map(|st| st.as_str())))
    }

    /// The appointment is over: cancelled, missed, deleted as entered in error, or the visit happened.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Cancelled | Status::Noshow | Status::EnteredInError | Status::Fulfilled)
    }

    /// The visit is still ahead (`proposed`, `pending`, `booked`, `waitlist`): the only statuses for
    /// which reminders may be pending. `arrived` and `checked-in` are neither open nor terminal.
    pub const fn is_open(self) -> bool {
        matches!(self, Status::Proposed | Status::Pending | Status::Booked | Status::Waitlist)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::parse(s)
    }
}
