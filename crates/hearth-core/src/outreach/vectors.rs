//! Every vector of `shared/specs/reminders.md` (zone America/Los_Angeles, window 08:00–21:00,
//! offsets 48h/24h, min_lead 1h, min_gap 12h, cap 2/day), plus vectors in other zones. Times are
//! local; the week is Sun 2026-06-07 … Wed 2026-06-10 unless a row says otherwise.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::*;
use crate::appointment::SuppressReason;

fn rule() -> Rule {
    Rule { caps: Caps { per_day: 2, per_week: 6 }, ..Rule::default() }
}

fn at(zone: &TimeZone, local: &str) -> Timestamp {
    local.parse::<jiff::civil::DateTime>().unwrap().to_zoned(zone.clone()).unwrap().timestamp()
}

fn show(zone: &TimeZone, t: Timestamp) -> String {
    t.to_zoned(zone.clone()).strftime("%a %H:%M").to_string()
}

/// One line per reminder: `due[→send] decision`.
fn explain(zone: &TimeZone, planned: &[Planned]) -> Vec<String> {
    planned
        .iter()
        .map(|p| {
            let mut s = show(zone, p.due);
            if let Some(send) = p.send.filter(|&s| s != p.due) {
                s = format!("{s}→{}", show(zone, send));
            }
            let d = match p.decision {
                Decision::Send if p.combined_with.is_empty() => "send".to_owned(),
                Decision::Send => format!("send with {:?}", p.combined_with),
                Decision::Skipped(r) => format!("skipped {}", r.as_str()),
                Decision::Dropped(r) => format!("dropped {}", r.as_str()),
            };
            format!("{s} {d}")
        })
        .collect()
}

/// An appointment at `start`, booked at `booked`, whose booking notice went out at the window's
/// first opening after the booking.
fn appt(zone: &TimeZone, start: &str, booked: &str) -> Appointment {
    let booked = at(zone, booked);
    Appointment {
        start: at(zone, start),
        booked,
        contacts: vec![open_at_or_after(booked, &rule(), zone)],
        stopped: None,
        sent: vec![],
    }
}

fn la() -> TimeZone {
    TimeZone::get("America/Los_Angeles").unwrap()
}

fn one(zone: &TimeZone, a: Appointment) -> Vec<String> {
    explain(zone, &plan(&rule(), zone, &[a], &[])[0])
}

#[test]
fn booked_days_ahead_two_reminders_at_the_appointment_time() {
    let z = la();
    assert_eq!(
        one(&z, appt(&z, "2026-06-10T10:00", "2026-06-07T09:00")),
        ["Mon 10:00 send", "Tue 10:00 send"]
    );
}

#[test]
fn a_reminder_right_after_the_booking_notice_is_skipped() {
    let z = la();
    assert_eq!(
        one(&z, appt(&z, "2026-06-10T10:00", "2026-06-08T09:00")),
        ["Mon 10:00 skipped recently_contacted", "Tue 10:00 send"]
    );
}

#[test]
fn due_before_booking_is_skipped_and_early_morning_waits_for_the_window() {
    let z = la();
    assert_eq!(
        one(&z, appt(&z, "2026-06-10T07:00", "2026-06-08T09:00")),
        ["Mon 07:00 skipped before_booking", "Tue 07:00→Tue 08:00 send"]
    );
}

#[test]
fn late_evening_reminders_are_deferred_to_the_next_opening() {
    let z = la();
    assert_eq!(
        one(&z, appt(&z, "2026-06-10T22:00", "2026-06-07T09:00")),
        ["Mon 22:00→Tue 08:00 send", "Tue 22:00→Wed 08:00 send"]
    );
}

#[test]
fn booked_the_day_before_only_the_notice_goes_out() {
    let z = la();
    assert_eq!(
        one(&z, appt(&z, "2026-06-10T10:00", "2026-06-09T15:00")),
        ["Mon 10:00 skipped before_booking", "Tue 10:00 skipped before_booking"]
    );
}

#[test]
fn a_cancellation_suppresses_what_is_left() {
    let z = la();
    let mut a = appt(&z, "2026-06-10T10:00", "2026-06-07T09:00");
    a.stopped = Some((at(&z, "2026-06-09T09:00"), SuppressReason::Cancelled));
    assert_eq!(one(&z, a), ["Mon 10:00 send", "Tue 10:00 dropped suppressed"]);
}

#[test]
fn whole_day_offsets_keep_the_wall_clock_across_dst() {
    let z = la();
    // Sun 2026-03-08 10:00: clocks went forward at 02:00 that night.
    assert_eq!(
        one(&z, appt(&z, "2026-03-08T10:00", "2026-03-05T09:00")),
        ["Fri 10:00 send", "Sat 10:00 send"]
    );
    // And when they go back (Sun 2026-11-01).
    assert_eq!(
        one(&z, appt(&z, "2026-11-01T10:00", "2026-10-29T09:00")),
        ["Fri 10:00 send", "Sat 10:00 send"]
    );
}

#[test]
fn two_appointments_on_one_day_share_each_message() {
    let z = la();
    let a = appt(&z, "2026-06-10T09:00", "2026-06-07T08:00");
    let b = appt(&z, "2026-06-10T14:00", "2026-06-07T08:00");
    let p = plan(&rule(), &z, &[a, b], &[]);
    assert_eq!(explain(&z, &p[0]), ["Mon 09:00 send", "Tue 09:00 send"]);
    assert_eq!(
        explain(&z, &p[1]),
        ["Mon 14:00→Mon 09:00 send with [0]", "Tue 14:00→Tue 09:00 send with [0]"]
    );
}

#[test]
fn a_short_offset_that_cannot_reach_the_window_in_time_is_dropped() {
    let z = la();
    let r = Rule { offsets: vec!["24h".parse().unwrap(), "2h".parse().unwrap()], ..rule() };
    let a = appt(&z, "2026-06-10T07:30", "2026-06-08T12:00");
    assert_eq!(
        explain(&z, &plan(&r, &z, &[a], &[])[0]),
        ["Tue 07:30→Tue 08:00 send", "Wed 05:30→Wed 08:00 dropped too_late"]
    );
}

#[test]
fn caps_move_a_reminder_to_the_next_day_or_drop_it() {
    let z = la();
    let r = Rule { caps: Caps { per_day: 1, per_week: 3 }, ..rule() };
    // A survey invitation already went out Monday: Monday's reminder waits for Tuesday's opening,
    // which pushes Tuesday's to Wednesday's (still before start − min_lead).
    let counted = [at(&z, "2026-06-08T08:30")];
    let a = appt(&z, "2026-06-10T10:00", "2026-06-07T09:00");
    assert_eq!(
        explain(&z, &plan(&r, &z, std::slice::from_ref(&a), &counted)[0]),
        ["Mon 10:00→Tue 08:00 send", "Tue 10:00→Wed 08:00 send"]
    );
    // Three messages already this week: nothing more fits before the appointment.
    let counted = [at(&z, "2026-06-08T08:30"), at(&z, "2026-06-08T12:00"), at(&z, "2026-06-09T08:30")];
    let r = Rule { caps: Caps { per_day: 5, per_week: 3 }, ..r };
    assert_eq!(
        explain(&z, &plan(&r, &z, &[a], &counted)[0]),
        ["Mon 10:00→Wed 08:00 skipped collapsed", "Tue 10:00→Thu 08:00 dropped capped"]
    );
}

#[test]
fn other_zones() {
    // London: the clocks went back on Sun 2026-10-25; a Monday 09:30 visit booked the Thursday before.
    let z = TimeZone::get("Europe/London").unwrap();
    assert_eq!(
        one(&z, appt(&z, "2026-10-26T09:30", "2026-10-22T12:00")),
        ["Sat 09:30 send", "Sun 09:30 send"]
    );
    // Riyadh (no DST), a Sunday 20:30 visit: reminders at 20:30 two days and one day before.
    let z = TimeZone::get("Asia/Riyadh").unwrap();
    assert_eq!(
        one(&z, appt(&z, "2026-06-14T20:30", "2026-06-01T10:00")),
        ["Fri 20:30 send", "Sat 20:30 send"]
    );
    // Auckland, late visit deferred to the next morning.
    let z = TimeZone::get("Pacific/Auckland").unwrap();
    assert_eq!(
        one(&z, appt(&z, "2026-04-08T21:15", "2026-04-01T10:00")),
        ["Mon 21:15→Tue 08:00 send", "Tue 21:15→Wed 08:00 send"]
    );
}
