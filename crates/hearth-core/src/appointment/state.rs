//! The state of one appointment and the organization's rules that shape its transitions.

use serde::{Deserialize, Serialize};

use super::{Reminders, Status};
use crate::UtcTime;

/// One appointment as the state machine sees it: the two dimensions of the spec, never mixed, plus
/// what the transitions need to remember.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentState {
    pub status: Status,
    pub reminders: Reminders,
    /// The EHR said the patient accepted (CONFIRMED). Cleared when the time changes.
    pub participant_accepted: bool,
    /// The appointment's start, when known.
    pub start: Option<UtcTime>,
    /// `event_datetime_utc` of the latest applied EHR fact; an older fact is stale. `None` for an
    /// appointment no event has touched (created by other means).
    pub last_applied_at: Option<UtcTime>,
}

/// The organization's reminder rules that change transitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Stop reminders once the EHR reports the appointment confirmed (they become
    /// `suppressed:confirmed`). Off: reminders continue after confirmation.
    pub stop_after_confirmation: bool,
}
