//! Properties of the state machine over arbitrary event sequences: out of order, equal timestamps,
//! events about times already past, opted-out patients, both policies.

use jiff::SignedDuration;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::UtcTime;

fn minute(m: i64) -> UtcTime {
    let base: UtcTime = "2026-03-01T08:00:00Z".parse().unwrap();
    base.plus(SignedDuration::from_mins(m))
}

/// Events within half an hour of each other (so many share a timestamp), received up to two hours
/// later, about a start that may already have passed when they arrive.
fn arb_event() -> impl Strategy<Value = Event> {
    let start = prop_oneof![Just(-60_i64), Just(20), Just(90), Just(600)];
    (
        select(EventKind::ALL),
        0_i64..30,
        0_i64..120,
        proptest::option::weighted(0.9, start),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(kind, at, delay, start, patient_opted_out)| Event {
            kind,
            at: minute(at),
            received_at: minute(at + delay),
            start: start.map(minute),
            patient_opted_out,
        })
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    any::<bool>().prop_map(|stop_after_confirmation| Policy { stop_after_confirmation })
}

/// The two dimensions agree: each status allows only the reminder states that make sense for it.
fn coherent(s: &AppointmentState) -> bool {
    use SuppressReason as R;
    match s.status {
        Status::Cancelled => s.reminders == Reminders::Suppressed(R::Cancelled),
        Status::Noshow => s.reminders == Reminders::Suppressed(R::Noshow),
        Status::EnteredInError => s.reminders == Reminders::Suppressed(R::EnteredInError),
        Status::Arrived | Status::CheckedIn | Status::Fulfilled => s.reminders == Reminders::Done,
        Status::Proposed | Status::Pending | Status::Booked | Status::Waitlist => matches!(
            s.reminders,
            Reminders::Pending { .. }
                | Reminders::Expired
                | Reminders::Suppressed(R::OptedOut | R::Confirmed)
        ),
    }
}

/// Checks one step; returns the new state.
fn check_step(
    before: Option<&AppointmentState>,
    event: &Event,
    policy: &Policy,
) -> Result<Option<AppointmentState>, TestCaseError> {
    let d = apply(before, event, policy);
    let kind = event.kind;
    prop_assert!(!d.reason.is_empty());
    if d.outcome != Outcome::Applied {
        prop_assert_eq!(d.state.as_ref(), before, "{:?} changed the state: {}", d.outcome, d.reason);
        prop_assert_eq!(d.reminder_plan, ReminderPlan::Keep);
    }
    if let Outcome::Stale { latest } = d.outcome {
        prop_assert!(kind.is_appointment_fact() && event.at < latest);
        prop_assert_eq!(Some(latest), before.and_then(|s| s.last_applied_at));
        prop_assert!(d.notices.is_empty());
    }
    if let Some(after) = &d.state {
        prop_assert!(coherent(after), "{kind} left {after:?}: {}", d.reason);
        prop_assert!(after.last_applied_at >= before.and_then(|s| s.last_applied_at), "time went back");
        let revived = after.reminders.is_pending() && before.is_some_and(|b| b.status.is_terminal());
        prop_assert!(
            !revived || matches!(kind, EventKind::Booked | EventKind::Rescheduled),
            "{kind} revived"
        );
        if d.outcome == Outcome::Applied && kind.is_appointment_fact() && event.patient_opted_out {
            prop_assert!(!after.reminders.is_pending(), "pending reminders for an opted-out patient");
        }
    } else {
        prop_assert!(before.is_none());
    }
    let was_pending = before.is_some_and(|b| b.reminders.is_pending());
    let is_pending = d.state.as_ref().is_some_and(|s| s.reminders.is_pending());
    match d.reminder_plan {
        ReminderPlan::Stop => prop_assert!(was_pending && !is_pending),
        ReminderPlan::ReplanFromScratch | ReminderPlan::ResetAndReplan => prop_assert!(is_pending),
        ReminderPlan::Keep => {}
    }
    if kind.is_patient_request() {
        prop_assert_eq!(d.state.as_ref(), before, "a patient reply moved the state");
    }
    if kind == EventKind::PatientCancel {
        prop_assert!(!d.notices.contains(&Notice::EhrRequest(EhrRequest::Confirm)));
    }
    if kind == EventKind::EnteredInError || kind.is_consent() {
        prop_assert!(d.notices.is_empty(), "{kind} sent {:?}", d.notices);
    }
    Ok(d.state)
}

proptest! {
    #[test]
    fn any_sequence_is_handled_and_replays_to_the_same_state(
        events in proptest::collection::vec(arb_event(), 0..40),
        policy in arb_policy(),
    ) {
        let mut state = None;
        for event in &events {
            state = check_step(state.as_ref(), event, &policy)?;
        }
        prop_assert_eq!(replay(&events, &policy), state);
    }

    #[test]
    fn a_stale_event_never_changes_the_state(
        history in proptest::collection::vec(arb_event(), 1..25),
        late in arb_event(),
        earlier_by in 1_i64..90,
        policy in arb_policy(),
    ) {
        let state = replay(&history, &policy);
        let Some(latest) = state.as_ref().and_then(|s| s.last_applied_at) else { return Ok(()) };
        prop_assume!(late.kind.is_appointment_fact());
        let late = Event { at: latest.plus(SignedDuration::from_mins(-earlier_by)), ..late };
        let d = apply(state.as_ref(), &late, &policy);
        prop_assert_eq!(d.outcome, Outcome::Stale { latest });
        prop_assert_eq!(d.state, state);
        prop_assert!(d.notices.is_empty());
        prop_assert_eq!(d.reminder_plan, ReminderPlan::Keep);
    }

    #[test]
    fn after_a_cancel_only_booked_or_rescheduled_bring_reminders_back(
        history in proptest::collection::vec(arb_event(), 0..15),
        after in proptest::collection::vec(arb_event(), 0..30),
        policy in arb_policy(),
    ) {
        let mut state = replay(&history, &policy);
        let cancel_at = state.as_ref().and_then(|s| s.last_applied_at).unwrap_or(minute(0));
        state = apply(state.as_ref(), &Event::new(EventKind::Canceled, cancel_at), &policy).state;
        if state.as_ref().map(|s| s.status) != Some(Status::Cancelled) {
            // Only an appointment deleted as entered in error refuses a cancel.
            prop_assert_eq!(state.as_ref().map(|s| s.status), Some(Status::EnteredInError));
        }
        for event in &after {
            let d = apply(state.as_ref(), event, &policy);
            let reopened = d.outcome == Outcome::Applied
                && matches!(event.kind, EventKind::Booked | EventKind::Rescheduled);
            if reopened {
                break;
            }
            prop_assert!(
                !d.state.as_ref().is_some_and(|s| s.reminders.is_pending()),
                "{} brought reminders back: {}", event.kind, d.reason
            );
            state = d.state;
        }
    }

    #[test]
    fn event_kinds_parse_in_any_case(kind in select(EventKind::ALL), mask in any::<u64>()) {
        let mixed: String = kind
            .as_str()
            .chars()
            .enumerate()
            .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c })
            .collect();
        prop_assert_eq!(EventKind::parse(&mixed).unwrap(), kind);
    }

    #[test]
    fn reminder_text_round_trips_and_garbage_never_panics(next_k in any::<u32>(), garbage in "\\PC{0,24}") {
        let pending = Reminders::Pending { next_k };
        prop_assert_eq!(Reminders::parse(&pending.as_db_text()).unwrap(), pending);
        if let Ok(parsed) = Reminders::parse(&garbage) {
            prop_assert_eq!(parsed.as_db_text(), garbage.trim());
        }
        let _ = EventKind::parse(&garbage);
        let _ = Status::parse(&garbage);
    }
}
