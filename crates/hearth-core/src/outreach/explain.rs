//! The planner's decisions for one appointment in words: what `hearth reminders explain` prints and
//! the appointment page shows. Times are local to the zone (`YYYY-MM-DDTHH:MM`) and UTC.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::plan::{Appointment, Decision, Planned, open_at_or_after, plan};
use super::rule::Rule;

/// One reminder, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub k: u32,
    pub offset: String,
    pub due_local: String,
    pub send_local: Option<String>,
    pub send_utc: Option<String>,
    /// send | skipped | dropped
    pub decision: &'static str,
    /// For a send: in_window, deferred_to_window, moved_by_cap or combined; otherwise why not
    /// (before_booking, collapsed, recently_contacted, too_late, capped, suppressed).
    pub reason: &'static str,
}

/// Explains the reminders of an appointment at `start`, booked at `booked`, under `rule`, assuming
/// the booking notice went out at the window's first opening after the booking and nothing else was
/// sent to the patient.
pub fn explain(rule: &Rule, zone: &TimeZone, start: Timestamp, booked: Timestamp) -> Vec<Explained> {
    let appointment = Appointment {
        start,
        booked,
        contacts: vec![open_at_or_after(booked, rule, zone)],
        stopped: None,
        sent: vec![],
    };
    plan(rule, zone, &[appointment], &[]).remove(0).iter().map(|p| explained(p, zone)).collect()
}

/// One planned reminder in words.
pub fn explained(p: &Planned, zone: &TimeZone) -> Explained {
    let local = |t: Timestamp| t.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M").to_string();
    let utc = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%MZ").to_string();
    let (decision, reason) = match p.decision {
        Decision::Send => (
            "send",
            match p.moved_by {
                None => "in_window",
                Some("window") => "deferred_to_window",
                Some("cap") => "moved_by_cap",
                Some(_) => "combined",
            },
        ),
        Decision::Skipped(r) => ("skipped", r.as_str()),
        Decision::Dropped(r) => ("dropped", r.as_str()),
    };
    Explained {
        k: p.k,
        offset: p.offset.to_string(),
        due_local: local(p.due),
        send_local: p.send.map(local),
        send_utc: p.send.map(utc),
        decision,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_in_london_across_the_clock_change() {
        let zone = TimeZone::get("Europe/London").unwrap();
        let at =
            |s: &str| s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(zone.clone()).unwrap().timestamp();
        let rows = explain(&Rule::default(), &zone, at("2026-10-26T09:30"), at("2026-10-22T12:00"));
        let short: Vec<_> = rows
            .iter()
            .map(|r| (r.k, r.send_local.as_deref(), r.send_utc.as_deref(), r.decision, r.reason))
            .collect();
        // Saturday is still summer time (UTC+1); Sunday is winter time (UTC+0): same wall clock.
        assert_eq!(
            short,
            [
                (1, Some("2026-10-24T09:30"), Some("2026-10-24T08:30Z"), "send", "in_window"),
                (2, Some("2026-10-25T09:30"), Some("2026-10-25T09:30Z"), "send", "in_window"),
            ]
        );
    }
}
