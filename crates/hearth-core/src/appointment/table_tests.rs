//! One row per row of the spec's state table (`appointments.md` §2), per rule below it, and per
//! decision taken where the spec is silent.

use super::*;
use crate::UtcTime;
use EventKind as K;
use Notice as N;
use ReminderPlan as P;
use Status as S;

fn t(s: &str) -> UtcTime {
    s.parse().unwrap()
}
/// `last_applied_at` of the starting states.
fn t0() -> UtcTime {
    t("2026-03-01T08:00:00Z")
}
/// When the events happen and are received.
fn now() -> UtcTime {
    t("2026-03-01T12:00:00Z")
}
fn start() -> UtcTime {
    t("2026-03-10T09:00:00Z")
}
fn later_start() -> UtcTime {
    t("2026-03-12T15:30:00Z")
}
fn past_start() -> UtcTime {
    t("2026-02-20T09:00:00Z")
}

/// A known appointment at `start()`, last changed at `t0()`.
fn known(status: Status, reminders: &str) -> AppointmentState {
    AppointmentState {
        status,
        reminders: reminders.parse().unwrap(),
        participant_accepted: false,
        start: Some(start()),
        last_applied_at: Some(t0()),
    }
}

fn accepted(mut state: AppointmentState) -> AppointmentState {
    state.participant_accepted = true;
    state
}

fn at_start(mut state: AppointmentState, start: UtcTime) -> AppointmentState {
    state.start = Some(start);
    state
}

/// An event happening now, about the appointment at `start()`.
fn ev(kind: EventKind) -> Event {
    Event::new(kind, now()).with_start(start())
}

struct Row {
    name: &'static str,
    before: Option<AppointmentState>,
    event: Event,
    policy: Policy,
    outcome: Outcome,
    /// Status and reminder text after, or `None`: no appointment.
    after: Option<(Status, &'static str)>,
    accepted: Option<bool>,
    plan: ReminderPlan,
    notices: Vec<Notice>,
}

fn row(name: &'static str, before: impl Into<Option<AppointmentState>>, event: Event) -> Row {
    Row {
        name,
        before: before.into(),
        event,
        policy: Policy::default(),
        outcome: Outcome::Applied,
        after: None,
        accepted: None,
        plan: P::Keep,
        notices: Vec::new(),
    }
}

impl Row {
    fn expect(
        mut self,
        status: Status,
        reminders: &'static str,
        plan: ReminderPlan,
        notices: &[Notice],
    ) -> Self {
        self.after = Some((status, reminders));
        self.plan = plan;
        self.notices = notices.to_vec();
        self
    }
    fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    fn accepted(mut self, accepted: bool) -> Self {
        self.accepted = Some(accepted);
        self
    }
    fn stop_after_confirmation(mut self) -> Self {
        self.policy.stop_after_confirmation = true;
        self
    }
}

const IGNORED: Outcome = Outcome::Ignored;
const REJECTED: Outcome = Outcome::Rejected;
const EHR_CONFIRM: Notice = Notice::EhrRequest(EhrRequest::Confirm);
const EHR_CANCEL: Notice = Notice::EhrRequest(EhrRequest::Cancel);

fn rows() -> Vec<Row> {
    [
        spec_table_rows(),
        spec_table_rows_2(),
        spec_rule_rows(),
        repeat_and_time_rows(),
        consent_rows(),
        correction_rows(),
        reply_and_rejection_rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The spec's table, row by row: booking, rescheduling, modification, confirmation.
fn spec_table_rows() -> Vec<Row> {
    vec![
        row("BOOKED, first sight", None, ev(K::Booked)).expect(
            S::Booked,
            "pending:0",
            P::ReplanFromScratch,
            &[N::BookingConfirmation],
        ),
        row("BOOKED, not first sight (was proposed)", known(S::Proposed, "pending:0"), ev(K::Booked)).expect(
            S::Booked,
            "pending:0",
            P::ReplanFromScratch,
            &[N::BookingConfirmation],
        ),
        row(
            "RESCHEDULED: new time, counter reset",
            known(S::Booked, "pending:2"),
            ev(K::Rescheduled).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::RescheduledNotice]),
        row(
            "RESCHEDULED revives expired",
            at_start(known(S::Booked, "expired"), past_start()),
            ev(K::Rescheduled).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::RescheduledNotice]),
        row("MODIFIED: status and reminders unchanged", known(S::Booked, "pending:1"), ev(K::Modified))
            .expect(S::Booked, "pending:1", P::Keep, &[N::ModifiedNotice]),
        row("MODIFIED keeps a non-booked status", known(S::Waitlist, "pending:0"), ev(K::Modified)).expect(
            S::Waitlist,
            "pending:0",
            P::Keep,
            &[N::ModifiedNotice],
        ),
        row(
            "MODIFIED on a terminal appointment: unchanged",
            known(S::Noshow, "suppressed:noshow"),
            ev(K::Modified),
        )
        .outcome(IGNORED)
        .expect(S::Noshow, "suppressed:noshow", P::Keep, &[]),
        row(
            "CONFIRMED: booked, accepted, reminders continue",
            known(S::Booked, "pending:1"),
            ev(K::Confirmed),
        )
        .expect(S::Booked, "pending:1", P::Keep, &[N::ConfirmationNotice])
        .accepted(true),
        row("CONFIRMED: stop after confirmation", known(S::Booked, "pending:1"), ev(K::Confirmed))
            .stop_after_confirmation()
            .expect(S::Booked, "suppressed:confirmed", P::Stop, &[N::ConfirmationNotice])
            .accepted(true),
        row("CONFIRMED makes a pending appointment booked", known(S::Pending, "pending:0"), ev(K::Confirmed))
            .expect(S::Booked, "pending:0", P::Keep, &[N::ConfirmationNotice])
            .accepted(true),
    ]
}

/// The spec's table, continued: cancellation to patient replies.
fn spec_table_rows_2() -> Vec<Row> {
    vec![
        row("CANCELED", known(S::Booked, "pending:1"), ev(K::Canceled)).expect(
            S::Cancelled,
            "suppressed:cancelled",
            P::Stop,
            &[N::CancellationNotice],
        ),
        row("NOSHOWED", known(S::Booked, "pending:2"), ev(K::Noshowed)).expect(
            S::Noshow,
            "suppressed:noshow",
            P::Stop,
            &[N::MissedAppointmentNotice],
        ),
        row(
            "S17 deletion: entered-in-error, no notice",
            known(S::Booked, "pending:1"),
            ev(K::EnteredInError),
        )
        .expect(S::EnteredInError, "suppressed:entered_in_error", P::Stop, &[]),
        row("ARRIVED", known(S::Booked, "pending:2"), ev(K::Arrived)).expect(
            S::Arrived,
            "done",
            P::Stop,
            &[],
        ),
        row("CHECKED-IN", known(S::Booked, "pending:2"), ev(K::CheckedIn)).expect(
            S::CheckedIn,
            "done",
            P::Stop,
            &[],
        ),
        row("FULFILLED after arrival", known(S::Arrived, "done"), ev(K::Fulfilled)).expect(
            S::Fulfilled,
            "done",
            P::Keep,
            &[N::SurveyInvitation],
        ),
        row("FULFILLED without an arrival (CSV \"Seen\")", known(S::Booked, "pending:2"), ev(K::Fulfilled))
            .expect(S::Fulfilled, "done", P::Stop, &[N::SurveyInvitation]),
        row("OPTED-OUT: open appointment suppressed", known(S::Booked, "pending:1"), ev(K::OptedOut)).expect(
            S::Booked,
            "suppressed:opted_out",
            P::Stop,
            &[],
        ),
        row(
            "OPTED-IN: open future appointment re-planned",
            known(S::Booked, "suppressed:opted_out"),
            ev(K::OptedIn),
        )
        .expect(S::Booked, "pending:0", P::ReplanFromScratch, &[]),
        row(
            "patient CONFIRM: request to EHR, acknowledgement",
            known(S::Booked, "pending:1"),
            ev(K::PatientConfirm),
        )
        .expect(S::Booked, "pending:1", P::Keep, &[EHR_CONFIRM, N::PatientAcknowledgement])
        .accepted(false),
        row(
            "patient CANCEL: cancel request, never confirm",
            known(S::Booked, "pending:1"),
            ev(K::PatientCancel),
        )
        .expect(S::Booked, "pending:1", P::Keep, &[EHR_CANCEL, N::PatientAcknowledgement]),
    ]
}

/// The rules below the spec's table.
fn spec_rule_rows() -> Vec<Row> {
    vec![
        row("unknown appointment: CANCELED creates it", None, ev(K::Canceled)).expect(
            S::Cancelled,
            "suppressed:cancelled",
            P::Keep,
            &[N::CancellationNotice],
        ),
        row("unknown appointment: CONFIRMED creates it booked", None, ev(K::Confirmed))
            .expect(S::Booked, "pending:0", P::ReplanFromScratch, &[N::ConfirmationNotice])
            .accepted(true),
        row("unknown appointment: RESCHEDULED creates it booked", None, ev(K::Rescheduled)).expect(
            S::Booked,
            "pending:0",
            P::ResetAndReplan,
            &[N::RescheduledNotice],
        ),
        row("unknown appointment: S17 records the deletion", None, ev(K::EnteredInError)).expect(
            S::EnteredInError,
            "suppressed:entered_in_error",
            P::Keep,
            &[],
        ),
        row("unknown appointment: arrival", None, ev(K::Arrived)).expect(S::Arrived, "done", P::Keep, &[]),
        row(
            "older than the latest applied event: stale, state unchanged",
            known(S::Booked, "pending:1"),
            Event::new(K::Canceled, t("2026-03-01T07:59:59Z")).received(now()),
        )
        .outcome(Outcome::Stale { latest: t0() })
        .expect(S::Booked, "pending:1", P::Keep, &[]),
        row(
            "same timestamp as the latest: applied",
            known(S::Booked, "pending:1"),
            Event::new(K::Canceled, t0()).received(now()),
        )
        .expect(S::Cancelled, "suppressed:cancelled", P::Stop, &[N::CancellationNotice]),
        row(
            "MODIFIED after cancel does not resurrect",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::Modified),
        )
        .outcome(IGNORED)
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[]),
        row(
            "CONFIRMED after cancel does not resurrect",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::Confirmed),
        )
        .outcome(IGNORED)
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[])
        .accepted(false),
        row("BOOKED after cancel resurrects", known(S::Cancelled, "suppressed:cancelled"), ev(K::Booked))
            .expect(S::Booked, "pending:0", P::ReplanFromScratch, &[N::BookingConfirmation]),
        row(
            "RESCHEDULED after cancel resurrects",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::Rescheduled).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::RescheduledNotice]),
    ]
}

/// Where the spec is silent: repeats, time changes, the patient already here, times already past.
fn repeat_and_time_rows() -> Vec<Row> {
    vec![
        row(
            "repeated BOOKED: no second confirmation, counter kept",
            known(S::Booked, "pending:2"),
            ev(K::Booked),
        )
        .expect(S::Booked, "pending:2", P::Keep, &[]),
        row(
            "repeated RESCHEDULED to the same time: nothing sent",
            known(S::Booked, "pending:2"),
            ev(K::Rescheduled),
        )
        .expect(S::Booked, "pending:2", P::Keep, &[]),
        row(
            "BOOKED at another time is a reschedule for reminders",
            known(S::Booked, "pending:2"),
            ev(K::Booked).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::BookingConfirmation]),
        row(
            "repeated CONFIRMED: no second notice",
            accepted(known(S::Booked, "pending:1")),
            ev(K::Confirmed),
        )
        .expect(S::Booked, "pending:1", P::Keep, &[])
        .accepted(true),
        row(
            "repeated CANCELED: no second notice",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::Canceled),
        )
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[]),
        row("repeated FULFILLED: no second survey", known(S::Fulfilled, "done"), ev(K::Fulfilled)).expect(
            S::Fulfilled,
            "done",
            P::Keep,
            &[],
        ),
        row(
            "MODIFIED that moves the time: counter reset, acceptance cleared",
            accepted(known(S::Booked, "pending:2")),
            ev(K::Modified).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::ModifiedNotice])
        .accepted(false),
        row(
            "MODIFIED while the patient is here: recorded, silent",
            known(S::Arrived, "done"),
            ev(K::Modified),
        )
        .expect(S::Arrived, "done", P::Keep, &[]),
        row("CONFIRMED while the patient is here: ignored", known(S::CheckedIn, "done"), ev(K::Confirmed))
            .outcome(IGNORED)
            .expect(S::CheckedIn, "done", P::Keep, &[]),
        row(
            "BOOKED for a time already past: expired, no message",
            None,
            ev(K::Booked).with_start(past_start()),
        )
        .expect(S::Booked, "expired", P::Keep, &[]),
        row(
            "CANCELED after the time has passed: no message",
            at_start(known(S::Booked, "pending:2"), past_start()),
            ev(K::Canceled).with_start(past_start()),
        )
        .expect(S::Cancelled, "suppressed:cancelled", P::Stop, &[]),
    ]
}

/// Where the spec is silent: the caller's consent record.
fn consent_rows() -> Vec<Row> {
    vec![
        row("BOOKED for an opted-out patient: suppressed", None, ev(K::Booked).opted_out(true)).expect(
            S::Booked,
            "suppressed:opted_out",
            P::Keep,
            &[N::BookingConfirmation],
        ),
        row(
            "RESCHEDULED revives reminders the patient's withdrawn opt-out had stopped",
            known(S::Booked, "suppressed:opted_out"),
            ev(K::Rescheduled).with_start(later_start()),
        )
        .expect(S::Booked, "pending:0", P::ResetAndReplan, &[N::RescheduledNotice]),
        row(
            "CONFIRMED on an opted-out patient's pending reminders",
            known(S::Booked, "pending:1"),
            ev(K::Confirmed).opted_out(true),
        )
        .expect(S::Booked, "suppressed:opted_out", P::Stop, &[N::ConfirmationNotice]),
    ]
}

/// Where the spec is silent: corrections between terminal states.
fn correction_rows() -> Vec<Row> {
    vec![
        row(
            "CANCELED after a no-show: a correction, silent",
            known(S::Noshow, "suppressed:noshow"),
            ev(K::Canceled),
        )
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[]),
        row("NOSHOWED after a cancel: silent", known(S::Cancelled, "suppressed:cancelled"), ev(K::Noshowed))
            .expect(S::Noshow, "suppressed:noshow", P::Keep, &[]),
        row(
            "FULFILLED after a no-show: the patient came after all",
            known(S::Noshow, "suppressed:noshow"),
            ev(K::Fulfilled),
        )
        .expect(S::Fulfilled, "done", P::Keep, &[N::SurveyInvitation]),
        row("ARRIVED after the visit ended: ignored", known(S::Fulfilled, "done"), ev(K::Arrived))
            .outcome(IGNORED)
            .expect(S::Fulfilled, "done", P::Keep, &[]),
        row(
            "CANCELED after a deletion: ignored",
            known(S::EnteredInError, "suppressed:entered_in_error"),
            ev(K::Canceled),
        )
        .outcome(IGNORED)
        .expect(S::EnteredInError, "suppressed:entered_in_error", P::Keep, &[]),
        row(
            "S17 after a cancel: deletion wins, silent",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::EnteredInError),
        )
        .expect(S::EnteredInError, "suppressed:entered_in_error", P::Keep, &[]),
    ]
}

/// Where the spec is silent: rejections, patient replies and consent changes that have nothing to do.
fn reply_and_rejection_rows() -> Vec<Row> {
    vec![
        row(
            "RESCHEDULED without a time: rejected",
            known(S::Booked, "pending:1"),
            Event::new(K::Rescheduled, now()),
        )
        .outcome(REJECTED)
        .expect(S::Booked, "pending:1", P::Keep, &[]),
        row("patient CONFIRM for an unknown appointment: rejected", None, ev(K::PatientConfirm))
            .outcome(REJECTED),
        row(
            "patient CANCEL when already cancelled: acknowledged only",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::PatientCancel),
        )
        .outcome(IGNORED)
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[N::PatientAcknowledgement]),
        row(
            "patient CONFIRM when already confirmed: acknowledged only",
            accepted(known(S::Booked, "pending:1")),
            ev(K::PatientConfirm),
        )
        .outcome(IGNORED)
        .expect(S::Booked, "pending:1", P::Keep, &[N::PatientAcknowledgement]),
        row(
            "patient CANCEL older than the latest EHR event is still forwarded",
            known(S::Booked, "pending:1"),
            Event::new(K::PatientCancel, t("2026-03-01T07:00:00Z")).received(now()),
        )
        .expect(S::Booked, "pending:1", P::Keep, &[EHR_CANCEL, N::PatientAcknowledgement]),
        row(
            "OPTED-OUT on a cancelled appointment: nothing to stop",
            known(S::Cancelled, "suppressed:cancelled"),
            ev(K::OptedOut),
        )
        .outcome(IGNORED)
        .expect(S::Cancelled, "suppressed:cancelled", P::Keep, &[]),
        row("OPTED-OUT with no appointment: ignored here", None, ev(K::OptedOut)).outcome(IGNORED),
        row(
            "OPTED-IN for an appointment already past: nothing re-planned",
            at_start(known(S::Booked, "suppressed:opted_out"), past_start()),
            ev(K::OptedIn),
        )
        .outcome(IGNORED)
        .expect(S::Booked, "suppressed:opted_out", P::Keep, &[]),
        row(
            "OPTED-IN keeps a confirmation stop",
            accepted(known(S::Booked, "suppressed:opted_out")),
            ev(K::OptedIn),
        )
        .stop_after_confirmation()
        .expect(S::Booked, "suppressed:confirmed", P::Keep, &[]),
    ]
}

#[test]
fn every_row_of_the_table() {
    let rows = rows();
    let mut failures = Vec::new();
    for row in &rows {
        let d = apply(row.before.as_ref(), &row.event, &row.policy);
        let got_after = d.state.as_ref().map(|s| (s.status, s.reminders.to_string()));
        let want_after = row.after.map(|(st, r)| (st, r.to_owned()));
        let mut wrong = Vec::new();
        if d.outcome != row.outcome {
            wrong.push(format!("outcome {:?}, expected {:?}", d.outcome, row.outcome));
        }
        if got_after != want_after {
            wrong.push(format!("state {got_after:?}, expected {want_after:?}"));
        }
        if d.reminder_plan != row.plan {
            wrong.push(format!("plan {:?}, expected {:?}", d.reminder_plan, row.plan));
        }
        if d.notices != row.notices {
            wrong.push(format!("notices {:?}, expected {:?}", d.notices, row.notices));
        }
        if let Some(want) = row.accepted
            && d.state.as_ref().map(|s| s.participant_accepted) != Some(want)
        {
            wrong.push(format!("participant_accepted should be {want}"));
        }
        if d.outcome != Outcome::Applied && d.state != row.before {
            wrong.push("state changed although the event was not applied".to_owned());
        }
        if d.outcome == Outcome::Applied && row.event.kind.is_appointment_fact() {
            let last = d.state.as_ref().and_then(|s| s.last_applied_at);
            if last != Some(row.event.at) {
                wrong.push(format!("last_applied_at {last:?}, expected the event's time"));
            }
        }
        if d.reason.is_empty() || !d.reason.starts_with(row.event.kind.as_str()) {
            wrong.push(format!("reason {:?}", d.reason));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {} (reason: {})", row.name, wrong.join("; "), d.reason));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn opt_in_and_out_confirmations_are_patient_level() {
    assert_eq!(consent_notice(K::OptedOut, false), Some(N::OptOutConfirmation));
    assert_eq!(consent_notice(K::OptedOut, true), None, "the opt-out confirmation is sent once");
    assert_eq!(consent_notice(K::OptedIn, true), Some(N::OptInConfirmation));
    assert_eq!(consent_notice(K::OptedIn, false), Some(N::OptInConfirmation));
    assert_eq!(consent_notice(K::Booked, false), None);
    // apply() never sends them, however many appointments the patient has.
    for kind in [K::OptedOut, K::OptedIn] {
        for before in
            [None, Some(known(S::Booked, "pending:0")), Some(known(S::Booked, "suppressed:opted_out"))]
        {
            let d = apply(before.as_ref(), &ev(kind), &Policy::default());
            assert!(d.notices.is_empty(), "{kind}: {:?}", d.notices);
        }
    }
}

#[test]
fn the_scheduler_expires_pending_reminders_once_the_time_has_come() {
    let state = known(S::Booked, "pending:1");
    assert_eq!(expire(&state, t("2026-03-10T08:59:59Z")), None);
    let expired = expire(&state, start()).unwrap();
    assert_eq!(expired.reminders, Reminders::Expired);
    assert_eq!(
        AppointmentState { reminders: state.reminders, ..expired.clone() },
        state,
        "only reminders change"
    );
    assert_eq!(expire(&expired, later_start()), None);
    let no_time = AppointmentState { start: None, ..state };
    assert_eq!(expire(&no_time, later_start()), None);
}

#[test]
fn a_history_replays_to_its_state() {
    let policy = Policy::default();
    let history = [
        ev(K::Booked).received(t("2026-03-01T12:00:05Z")),
        Event::new(K::Confirmed, t("2026-03-02T10:00:00Z")),
        Event::new(K::OptedOut, t("2026-03-03T10:00:00Z")),
        // Arrives after the opt-out but happened before it: still applied (facts are ordered among
        // themselves only).
        Event::new(K::Modified, t("2026-03-02T11:00:00Z")),
        Event::new(K::Canceled, t("2026-03-02T09:00:00Z")), // stale
        Event::new(K::Rescheduled, t("2026-03-04T10:00:00Z")).with_start(later_start()).opted_out(true),
        Event::new(K::OptedIn, t("2026-03-05T10:00:00Z")),
    ];
    let state = replay(&history, &policy).unwrap();
    assert_eq!(state.status, S::Booked);
    assert_eq!(state.reminders, Reminders::Pending { next_k: 0 });
    assert_eq!(state.start, Some(later_start()));
    assert!(!state.participant_accepted, "the new time has not been confirmed");
    assert_eq!(state.last_applied_at, Some(t("2026-03-04T10:00:00Z")));
    assert_eq!(replay(&[], &policy), None);
}
