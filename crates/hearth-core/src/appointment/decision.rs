//! What the state machine decides for one event.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AppointmentState, ParseError};
use crate::UtcTime;

/// The result of [`super::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The state after the event; unchanged unless `outcome` is `Applied`. `None` only when the
    /// appointment was unknown and the event did not create it.
    pub state: Option<AppointmentState>,
    pub outcome: Outcome,
    /// What to do with the reminders already queued for this appointment.
    pub reminder_plan: ReminderPlan,
    /// The messages the event calls for, in order. Whether each can be sent (consent, channel,
    /// contact details) is the caller's decision.
    pub notices: Vec<Notice>,
    /// Why, in a sentence, for the appointment's timeline.
    pub reason: String,
}

/// How the event was taken. Every event is recorded in the history whatever its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The event took effect (for a patient request: it was forwarded).
    Applied,
    /// An EHR fact older than the latest applied one (`latest`): recorded, state unchanged.
    Stale { latest: UtcTime },
    /// Valid, but it has nothing to change in this appointment's current state.
    Ignored,
    /// It cannot apply to this appointment at all (e.g. a patient reply about an unknown appointment).
    Rejected,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Stale { .. } => "stale",
            Outcome::Ignored => "ignored",
            Outcome::Rejected => "rejected",
        }
    }
}

/// What to do with queued reminder jobs. The new [`super::Reminders`] state says from which reminder
/// on (`pending:k`) the scheduler plans; reminders whose send time has passed are never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderPlan {
    /// Leave queued reminders as they are.
    Keep,
    /// Drop queued reminders and plan them again from the state's counter and start.
    ReplanFromScratch,
    /// Like `ReplanFromScratch`, and the counter was reset to 0 because the time changed: reminders
    /// already sent for the old time are sent again for the new one.
    ResetAndReplan,
    /// Drop queued reminders; none are due.
    Stop,
}

impl ReminderPlan {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReminderPlan::Keep => "keep",
            ReminderPlan::ReplanFromScratch => "replan_from_scratch",
            ReminderPlan::ResetAndReplan => "reset_and_replan",
            ReminderPlan::Stop => "stop",
        }
    }
}

/// A request Hearth sends to the EHR on the patient's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EhrRequest {
    Confirm,
    Cancel,
}

/// A message an event calls for. All go to the patient except [`Notice::EhrRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    BookingConfirmation,
    RescheduledNotice,
    ModifiedNotice,
    ConfirmationNotice,
    CancellationNotice,
    MissedAppointmentNotice,
    OptOutConfirmation,
    OptInConfirmation,
    /// Subject to the organization's survey rules.
    SurveyInvitation,
    EhrRequest(EhrRequest),
    /// "We got your reply" — after a patient CONFIRM or CANCEL, whatever became of it.
    PatientAcknowledgement,
}

impl Notice {
    pub const ALL: &'static [Notice] = &[
        Notice::BookingConfirmation,
        Notice::RescheduledNotice,
        Notice::ModifiedNotice,
        Notice::ConfirmationNotice,
        Notice::CancellationNotice,
        Notice::MissedAppointmentNotice,
        Notice::OptOutConfirmation,
        Notice::OptInConfirmation,
        Notice::SurveyInvitation,
        Notice::EhrRequest(EhrRequest::Confirm),
        Notice::EhrRequest(EhrRequest::Cancel),
        Notice::PatientAcknowledgement,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Notice::BookingConfirmation => "booking_confirmation",
            Notice::RescheduledNotice => "rescheduled_notice",
            Notice::ModifiedNotice => "modified_notice",
            Notice::ConfirmationNotice => "confirmation_notice",
            Notice::CancellationNotice => "cancellation_notice",
            Notice::MissedAppointmentNotice => "missed_appointment_notice",
            Notice::OptOutConfirmation => "opt_out_confirmation",
            Notice::OptInConfirmation => "opt_in_confirmation",
            Notice::SurveyInvitation => "survey_invitation",
            Notice::EhrRequest(EhrRequest::Confirm) => "ehr_request:confirm",
            Notice::EhrRequest(EhrRequest::Cancel) => "ehr_request:cancel",
            Notice::PatientAcknowledgement => "patient_acknowledgement",
        }
    }

    pub fn parse(s: &str) -> Result<Notice, ParseError> {
        let t = s.trim();
        Notice::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == t)
            .ok_or_else(|| ParseError::new("notice", s, Notice::ALL.iter().map(|n| n.as_str())))
    }

    pub const fn is_for_patient(self) -> bool {
        !matches!(self, Notice::EhrRequest(_))
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Notice {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Notice::parse(s)
    }
}

serde_as_str!(Notice);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_through_text() {
        for n in Notice::ALL {
            assert_eq!(Notice::parse(n.as_str()).unwrap(), *n);
            assert_eq!(serde_json::from_str::<Notice>(&serde_json::to_string(n).unwrap()).unwrap(), *n);
        }
        assert!(!Notice::EhrRequest(EhrRequest::Cancel).is_for_patient());
        assert!(Notice::PatientAcknowledgement.is_for_patient());
    }
}
