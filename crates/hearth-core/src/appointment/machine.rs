//! The state machine: [`apply`] one event, [`replay`] a history, [`expire`] reminders whose time has
//! passed, and the patient-level [`consent_notice`].

use std::fmt::Write as _;

use super::{
    AppointmentState, Decision, EhrRequest, Event, EventKind, Notice, Outcome, Policy, ReminderPlan,
    Reminders, Status, SuppressReason,
};
use crate::UtcTime;

/// Applies one event to one appointment (`None`: Hearth has not seen it yet).
///
/// The rules of the spec's table (`appointments.md` §2), and:
/// - An EHR fact strictly older (`event_datetime_utc`) than `last_applied_at` is `Stale`: recorded,
///   state unchanged, nothing sent. Equal timestamps are applied in arrival order (many EHRs stamp to
///   the second). Patient replies and consent changes are not facts about the appointment: they are
///   never stale and do not move `last_applied_at`, so a late EHR message is not lost behind them.
/// - An event for an unknown appointment creates it (the EHR had it first): BOOKED, RESCHEDULED,
///   MODIFIED and CONFIRMED create it `booked` (CONFIRMED also accepted), the others with their own
///   status. Patient replies about an unknown appointment are `Rejected`; consent changes `Ignored`.
/// - Only BOOKED and RESCHEDULED reopen a terminal appointment. MODIFIED and CONFIRMED after one are
///   `Ignored` (state, including `last_applied_at`, unchanged), as are ARRIVED/CHECKED-IN after the
///   visit ended and anything but BOOKED/RESCHEDULED/ENTERED-IN-ERROR after a deletion.
/// - BOOKED plans reminders from scratch (`ReplanFromScratch`, counter 0); RESCHEDULED resets the
///   counter and re-plans (`ResetAndReplan`), reviving `expired` reminders.
/// - ENTERED-IN-ERROR (S17) is a deletion, not a cancellation: `suppressed:entered_in_error`, no
///   message.
/// - Patient CONFIRM/CANCEL never change the status (the EHR decides): on an open appointment they
///   forward *that* request to the EHR and acknowledge; a CANCEL never produces a confirm request.
/// - OPTED-OUT stops pending reminders of an open appointment; OPTED-IN re-plans those it stopped,
///   if the appointment is still open and ahead. The opt-in/opt-out message is patient-level, once
///   per consent change, not per appointment: see [`consent_notice`].
///
/// Where the spec is silent, what a clinic expects:
/// - **Repeats send nothing twice.** BOOKED/RESCHEDULED for an appointment already booked at that
///   time, CONFIRMED when already confirmed, CANCELED when already cancelled, NOSHOWED when already a
///   no-show, FULFILLED when already fulfilled: applied (they move `last_applied_at`), no message, and
///   pending reminders keep their counter.
/// - **A time change is a reschedule for reminders**, whatever the EHR calls it: a BOOKED, MODIFIED
///   or CONFIRMED whose start differs from the known one resets the counter and re-plans (reminders
///   timed for the old start would be wrong) and clears `participant_accepted` (except CONFIRMED,
///   which accepts the new time). The message stays the event's own.
/// - **No messages about the past.** BOOKED, RESCHEDULED, MODIFIED, CONFIRMED and CANCELED send
///   nothing when the appointment time has already passed at receipt; their fresh reminders are
///   `expired` at once. NOSHOWED and FULFILLED are about the past by nature and do send.
/// - **Corrections between terminal states are silent.** CANCELED after a no-show or a visit, or
///   NOSHOWED after a cancellation or a visit, change the status without a message. FULFILLED after a
///   cancellation or no-show (the patient came after all) and ARRIVED after either are applied;
///   FULFILLED still invites to the survey.
/// - **Consent is the caller's record.** `Event::patient_opted_out` is authoritative: an applied EHR
///   fact never leaves reminders pending for an opted-out patient (`suppressed:opted_out`), and an
///   event that plans afresh revives reminders stopped by an opt-out the patient has since withdrawn.
/// - **RESCHEDULED without a start** is `Rejected`: it has nothing to reschedule to.
pub fn apply(state: Option<&AppointmentState>, event: &Event, policy: &Policy) -> Decision {
    if event.kind.is_appointment_fact()
        && let Some(latest) = state.and_then(|s| s.last_applied_at)
        && event.at < latest
    {
        return Decision {
            state: state.cloned(),
            outcome: Outcome::Stale { latest },
            reminder_plan: ReminderPlan::Keep,
            notices: Vec::new(),
            reason: format!(
                "{}: happened at {}, before the latest applied event ({}); recorded, state unchanged",
                event.kind,
                event.at.to_display(),
                latest.to_display()
            ),
        };
    }
    let step = Step { old: state, event, policy };
    match event.kind {
        EventKind::Booked | EventKind::Rescheduled => step.book(),
        EventKind::Confirmed => step.confirmed(),
        EventKind::Modified => step.modified(),
        EventKind::Canceled => step.canceled(),
        EventKind::Noshowed => step.noshowed(),
        EventKind::EnteredInError => step.entered_in_error(),
        EventKind::Arrived => step.arrived(Status::Arrived),
        EventKind::CheckedIn => step.arrived(Status::CheckedIn),
        EventKind::Fulfilled => step.fulfilled(),
        EventKind::PatientConfirm => step.patient_request(EhrRequest::Confirm),
        EventKind::PatientCancel => step.patient_request(EhrRequest::Cancel),
        EventKind::OptedOut => step.opted_out(),
        EventKind::OptedIn => step.opted_in(),
    }
}

/// The state after a history of events, in the order they were received: the fold of [`apply`]
/// from `None`. Reminder expiry is a matter of the clock, not of events: apply [`expire`] to the
/// result for "now".
pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>, policy: &Policy) -> Option<AppointmentState> {
    events.into_iter().fold(None, |state, event| apply(state.as_ref(), event, policy).state)
}

/// For the scheduler: pending reminders of an appointment whose time has come (`start <= now`)
/// become `expired`. `None` when nothing changes.
pub fn expire(state: &AppointmentState, now: UtcTime) -> Option<AppointmentState> {
    (state.reminders.is_pending() && state.start.is_some_and(|start| start <= now))
        .then(|| AppointmentState { reminders: Reminders::Expired, ..state.clone() })
}

/// The patient-level message a consent change calls for, once per patient whatever the number of
/// appointments: the opt-out confirmation only when the patient was not already opted out (a second
/// STOP gets no second reply); the opt-in confirmation on every OPTED-IN. `None` for other kinds.
pub fn consent_notice(kind: EventKind, was_opted_out: bool) -> Option<Notice> {
    match kind {
        EventKind::OptedOut => (!was_opted_out).then_some(Notice::OptOutConfirmation),
        EventKind::OptedIn => Some(Notice::OptInConfirmation),
        _ => None,
    }
}

/// One application of one event.
struct Step<'a> {
    old: Option<&'a AppointmentState>,
    event: &'a Event,
    policy: &'a Policy,
}

impl Step<'_> {
    /// The event's start, else the known one.
    fn start(&self) -> Option<UtcTime> {
        self.event.start.or(self.old.and_then(|o| o.start))
    }

    /// The appointment time has passed when the event is received.
    fn is_past(&self, start: Option<UtcTime>) -> bool {
        start.is_some_and(|start| start <= self.event.received_at)
    }

    /// Reminders planned afresh (counter 0) for `start`: `expired` if that time has passed,
    /// `suppressed:confirmed` if the patient accepted and the policy stops reminders then.
    fn fresh(&self, start: Option<UtcTime>, accepted: bool) -> Reminders {
        if self.is_past(start) {
            Reminders::Expired
        } else if accepted && self.policy.stop_after_confirmation {
            Reminders::Suppressed(SuppressReason::Confirmed)
        } else {
            Reminders::Pending { next_k: 0 }
        }
    }

    /// The appointment with a new status and reminders, everything else carried over (or blank).
    fn with(&self, status: Status, reminders: Reminders) -> AppointmentState {
        AppointmentState {
            status,
            reminders,
            participant_accepted: self.old.is_some_and(|o| o.participant_accepted),
            start: self.start(),
            last_applied_at: self.old.and_then(|o| o.last_applied_at),
        }
    }

    /// `notice`, unless the appointment time has passed (then none, and the reason says so).
    fn unless_past(&self, start: Option<UtcTime>, notice: Notice, what: String) -> (Vec<Notice>, String) {
        if self.is_past(start) {
            (Vec::new(), format!("{what}; the appointment time has passed, no {notice}"))
        } else {
            (vec![notice], what)
        }
    }

    /// The event took effect: `new` becomes the state; `replan` says how pending reminders are planned.
    fn applied(
        &self,
        mut new: AppointmentState,
        notices: Vec<Notice>,
        what: &str,
        replan: Replan,
    ) -> Decision {
        let mut reason = format!("{}: {what}", self.event.kind);
        if self.event.kind.is_appointment_fact() {
            new.last_applied_at = Some(self.event.at);
            if self.event.patient_opted_out && new.reminders.is_pending() {
                new.reminders = Reminders::Suppressed(SuppressReason::OptedOut);
                reason.push_str("; the patient has opted out of appointment messages");
            }
        }
        match self.old.map(|o| o.reminders) {
            Some(before) if before == new.reminders => {}
            Some(before) => {
                let _ = write!(reason, "; reminders {before} → {}", new.reminders);
            }
            None => {
                let _ = write!(reason, "; reminders {}", new.reminders);
            }
        }
        let reminder_plan = plan(self.old, &new, replan);
        Decision { state: Some(new), outcome: Outcome::Applied, reminder_plan, notices, reason }
    }

    /// The state stays as it was.
    fn unchanged(&self, outcome: Outcome, notices: Vec<Notice>, why: &str) -> Decision {
        Decision {
            state: self.old.cloned(),
            outcome,
            reminder_plan: ReminderPlan::Keep,
            notices,
            reason: format!("{}: {why}", self.event.kind),
        }
    }

    fn ignored_deleted(&self) -> Decision {
        self.unchanged(
            Outcome::Ignored,
            Vec::new(),
            "the appointment was deleted as entered in error; only BOOKED or RESCHEDULED bring it back",
        )
    }

    /// BOOKED and RESCHEDULED: booked, reminders planned afresh; reopens anything.
    fn book(&self) -> Decision {
        let rescheduling = self.event.kind == EventKind::Rescheduled;
        if rescheduling && self.event.start.is_none() {
            return self.unchanged(
                Outcome::Rejected,
                Vec::new(),
                "a reschedule needs the new start time (appointment_datetime); state unchanged",
            );
        }
        let start = self.start();
        let notice = if rescheduling { Notice::RescheduledNotice } else { Notice::BookingConfirmation };
        match self.old {
            Some(o) if o.status == Status::Booked && o.start == start => {
                let reminders = match o.reminders {
                    Reminders::Suppressed(SuppressReason::OptedOut) if !self.event.patient_opted_out => {
                        self.fresh(start, o.participant_accepted)
                    }
                    unchanged => unchanged,
                };
                let what = format!("already booked for {}; no second {notice}", when(start));
                self.applied(
                    AppointmentState { reminders, ..o.clone() },
                    Vec::new(),
                    &what,
                    Replan::IfChanged,
                )
            }
            old => {
                let what = match old {
                    None => format!("booked for {} (first sight)", when(start)),
                    Some(o) if o.status.is_open() && o.start != start => {
                        format!("booked, moved from {} to {}", when(o.start), when(start))
                    }
                    Some(o) => format!("booked for {} (was {})", when(start), o.status),
                };
                let moved = old.is_some_and(|o| o.start != start);
                let new = AppointmentState {
                    participant_accepted: false,
                    ..self.with(Status::Booked, self.fresh(start, false))
                };
                let (notices, what) = self.unless_past(start, notice, what);
                self.applied(
                    new,
                    notices,
                    &what,
                    if rescheduling || moved { Replan::Reset } else { Replan::Afresh },
                )
            }
        }
    }

    /// CONFIRMED: booked and accepted; reminders continue or stop per policy; never reopens.
    fn confirmed(&self) -> Decision {
        let start = self.start();
        let Some(o) = self.old else {
            let new = AppointmentState {
                participant_accepted: true,
                ..self.with(Status::Booked, self.fresh(start, true))
            };
            let what = format!("booked and confirmed for {} (first sight)", when(start));
            let (notices, what) = self.unless_past(start, Notice::ConfirmationNotice, what);
            return self.applied(new, notices, &what, Replan::IfChanged);
        };
        if !o.status.is_open() {
            return self.not_open(o.status, "a confirmation");
        }
        let moved = o.start != start;
        let reminders = if moved {
            self.fresh(start, true)
        } else if self.policy.stop_after_confirmation && o.reminders.is_pending() {
            Reminders::Suppressed(SuppressReason::Confirmed)
        } else {
            o.reminders
        };
        let new = AppointmentState { participant_accepted: true, ..self.with(Status::Booked, reminders) };
        if o.status == Status::Booked && o.participant_accepted && !moved {
            return self.applied(
                new,
                Vec::new(),
                "already confirmed; no second confirmation notice",
                Replan::IfChanged,
            );
        }
        let what = if moved {
            format!("confirmed for {} (moved from {}); the patient accepted", when(start), when(o.start))
        } else {
            "confirmed; the patient accepted".to_owned()
        };
        let (notices, what) = self.unless_past(start, Notice::ConfirmationNotice, what);
        self.applied(new, notices, &what, if moved { Replan::Reset } else { Replan::IfChanged })
    }

    /// MODIFIED: status unchanged, message; never reopens.
    fn modified(&self) -> Decision {
        let start = self.start();
        let Some(o) = self.old else {
            let new = AppointmentState {
                participant_accepted: false,
                ..self.with(Status::Booked, self.fresh(start, false))
            };
            let what = format!("booked for {} (first sight, as modified)", when(start));
            let (notices, what) = self.unless_past(start, Notice::ModifiedNotice, what);
            return self.applied(new, notices, &what, Replan::IfChanged);
        };
        if o.status.is_terminal() {
            return self.not_open(o.status, "a modification");
        }
        if !o.status.is_open() {
            let new = self.with(o.status, o.reminders);
            return self.applied(
                new,
                Vec::new(),
                "details recorded; the visit is under way, no notice",
                Replan::IfChanged,
            );
        }
        let moved = o.start != start;
        let (new, what) = if moved {
            let new = AppointmentState {
                participant_accepted: false,
                ..self.with(o.status, self.fresh(start, false))
            };
            (
                new,
                format!(
                    "details changed and the time moved from {} to {} (a reschedule for reminders)",
                    when(o.start),
                    when(start)
                ),
            )
        } else {
            (self.with(o.status, o.reminders), "details changed".to_owned())
        };
        let (notices, what) = self.unless_past(start, Notice::ModifiedNotice, what);
        self.applied(new, notices, &what, if moved { Replan::Reset } else { Replan::IfChanged })
    }

    /// CONFIRMED or MODIFIED on an appointment that is not open: nothing changes.
    fn not_open(&self, status: Status, what: &str) -> Decision {
        let why = match status {
            Status::EnteredInError => return self.ignored_deleted(),
            Status::Arrived | Status::CheckedIn => {
                format!("the appointment is {status}; {what} changes nothing")
            }
            _ => format!(
                "the appointment is {status}; {what} does not reopen it (only BOOKED or RESCHEDULED do)"
            ),
        };
        self.unchanged(Outcome::Ignored, Vec::new(), &why)
    }

    /// CANCELED (S15, S16): cancelled, reminders suppressed.
    fn canceled(&self) -> Decision {
        let new = self.with(Status::Cancelled, Reminders::Suppressed(SuppressReason::Cancelled));
        match self.old.map(|o| o.status) {
            Some(Status::EnteredInError) => self.ignored_deleted(),
            Some(Status::Cancelled) => self.applied(
                new,
                Vec::new(),
                "already cancelled; no second cancellation notice",
                Replan::IfChanged,
            ),
            Some(was @ (Status::Noshow | Status::Fulfilled)) => self.applied(
                new,
                Vec::new(),
                &format!("cancelled (was {was}: a correction, no notice)"),
                Replan::IfChanged,
            ),
            _ => {
                let (notices, what) =
                    self.unless_past(self.start(), Notice::CancellationNotice, "cancelled".to_owned());
                self.applied(new, notices, &what, Replan::IfChanged)
            }
        }
    }

    /// NOSHOWED (S26): no-show, reminders suppressed, missed-appointment message.
    fn noshowed(&self) -> Decision {
        let new = self.with(Status::Noshow, Reminders::Suppressed(SuppressReason::Noshow));
        match self.old.map(|o| o.status) {
            Some(Status::EnteredInError) => self.ignored_deleted(),
            Some(Status::Noshow) => {
                self.applied(new, Vec::new(), "already a no-show; no second notice", Replan::IfChanged)
            }
            Some(was @ (Status::Cancelled | Status::Fulfilled)) => self.applied(
                new,
                Vec::new(),
                &format!("no-show (was {was}: a correction, no notice)"),
                Replan::IfChanged,
            ),
            _ => self.applied(
                new,
                vec![Notice::MissedAppointmentNotice],
                "the patient did not show",
                Replan::IfChanged,
            ),
        }
    }

    /// S17: deleted as entered in error; silent.
    fn entered_in_error(&self) -> Decision {
        let new = self.with(Status::EnteredInError, Reminders::Suppressed(SuppressReason::EnteredInError));
        let what = "deleted in the EHR as entered in error; not a cancellation, no notice";
        self.applied(new, Vec::new(), what, Replan::IfChanged)
    }

    /// ARRIVED / CHECKED-IN: the visit is under way, reminders done.
    fn arrived(&self, status: Status) -> Decision {
        match self.old.map(|o| o.status) {
            Some(Status::EnteredInError) => self.ignored_deleted(),
            Some(Status::Fulfilled) => {
                self.unchanged(Outcome::Ignored, Vec::new(), "the visit has already ended")
            }
            _ => self.applied(
                self.with(status, Reminders::Done),
                Vec::new(),
                &format!("the patient is {status}"),
                Replan::IfChanged,
            ),
        }
    }

    /// FULFILLED: the visit ended, reminders done, survey invitation.
    fn fulfilled(&self) -> Decision {
        let new = self.with(Status::Fulfilled, Reminders::Done);
        match self.old.map(|o| o.status) {
            Some(Status::EnteredInError) => self.ignored_deleted(),
            Some(Status::Fulfilled) => self.applied(
                new,
                Vec::new(),
                "visit end already recorded; no second survey invitation",
                Replan::IfChanged,
            ),
            _ => self.applied(new, vec![Notice::SurveyInvitation], "the visit ended", Replan::IfChanged),
        }
    }

    /// Patient CONFIRM / CANCEL: forwarded to the EHR, which decides; the status does not move.
    fn patient_request(&self, request: EhrRequest) -> Decision {
        let verb = match request {
            EhrRequest::Confirm => "confirm",
            EhrRequest::Cancel => "cancel",
        };
        let ack = Notice::PatientAcknowledgement;
        let Some(o) = self.old else {
            let why =
                format!("the patient asked to {verb} an appointment Hearth does not know; nothing forwarded");
            return self.unchanged(Outcome::Rejected, Vec::new(), &why);
        };
        if !o.status.is_open() {
            let why = format!(
                "the patient asked to {verb}, but the appointment is {}; nothing forwarded",
                o.status
            );
            return self.unchanged(Outcome::Ignored, vec![ack], &why);
        }
        if request == EhrRequest::Confirm && o.participant_accepted {
            let why = "the patient asked to confirm an appointment already confirmed; nothing forwarded";
            return self.unchanged(Outcome::Ignored, vec![ack], why);
        }
        let why =
            format!("the patient asked to {verb}; request sent to the EHR, which decides (status unchanged)");
        self.unchanged(Outcome::Applied, vec![Notice::EhrRequest(request), ack], &why)
    }

    /// OPTED-OUT: pending reminders of an open appointment stop.
    fn opted_out(&self) -> Decision {
        match self.old {
            None => {
                self.unchanged(Outcome::Ignored, Vec::new(), "patient-level event; no appointment to update")
            }
            Some(o) if o.status.is_open() && o.reminders.is_pending() => {
                let new = self.with(o.status, Reminders::Suppressed(SuppressReason::OptedOut));
                self.applied(new, Vec::new(), "the patient opted out; reminders stopped", Replan::IfChanged)
            }
            Some(o) => {
                let why = format!(
                    "the patient opted out; no pending reminders here ({}, {})",
                    o.status, o.reminders
                );
                self.unchanged(Outcome::Ignored, Vec::new(), &why)
            }
        }
    }

    /// OPTED-IN: reminders stopped by an opt-out come back for an open appointment still ahead.
    fn opted_in(&self) -> Decision {
        match self.old {
            None => {
                self.unchanged(Outcome::Ignored, Vec::new(), "patient-level event; no appointment to update")
            }
            Some(o)
                if o.status.is_open()
                    && o.reminders == Reminders::Suppressed(SuppressReason::OptedOut)
                    && !self.is_past(o.start) =>
            {
                let new = self.with(o.status, self.fresh(o.start, o.participant_accepted));
                self.applied(new, Vec::new(), "the patient opted in; reminders re-planned", Replan::IfChanged)
            }
            Some(o) => {
                let why =
                    format!("the patient opted in; nothing to re-plan here ({}, {})", o.status, o.reminders);
                self.unchanged(Outcome::Ignored, Vec::new(), &why)
            }
        }
    }
}

/// How an applied event wants pending reminders planned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replan {
    /// Again only if the reminder state or the start changed.
    IfChanged,
    /// Again in any case (a booking).
    Afresh,
    /// Again in any case, the counter having been reset because the time changed.
    Reset,
}

/// What the scheduler does with queued reminders going from `old` to `new`.
fn plan(old: Option<&AppointmentState>, new: &AppointmentState, replan: Replan) -> ReminderPlan {
    if !new.reminders.is_pending() {
        return if old.is_some_and(|o| o.reminders.is_pending()) {
            ReminderPlan::Stop
        } else {
            ReminderPlan::Keep
        };
    }
    let unchanged = old.is_some_and(|o| o.reminders == new.reminders && o.start == new.start);
    match replan {
        Replan::Reset => ReminderPlan::ResetAndReplan,
        Replan::IfChanged if unchanged => ReminderPlan::Keep,
        Replan::IfChanged | Replan::Afresh => ReminderPlan::ReplanFromScratch,
    }
}

fn when(start: Option<UtcTime>) -> String {
    start.map_or_else(|| "an unknown time".to_owned(), UtcTime::to_display)
}
