//! Properties of the planner over many zones of the tz database and many dates: never outside the
//! window, never later than start − min_lead, never twice, never over the caps, and whole-day offsets
//! keep the wall-clock time across DST changes.

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

use super::*;

const ZONES: &[&str] = &[
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Cairo",
    "Asia/Riyadh",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "UTC",
];

prop_compose! {
    fn a_rule()(
        offsets in prop::collection::vec(prop_oneof![(1i32..=7).prop_map(Offset::Days), (30i64..=5000).prop_map(|m| Offset::Exact(SignedDuration::from_mins(m)))], 1..4),
        open in 0i8..20, len in 2i8..14,
        lead in 0i64..=240, gap in 0i64..=24,
        per_day in 1u32..=3, per_week in 1u32..=7,
    ) -> Rule {
        let end = (open + len).min(23);
        Rule {
            offsets,
            window: Window { start: jiff::civil::Time::constant(open, 0, 0, 0), end: jiff::civil::Time::constant(end, 0, 0, 0) },
            min_lead: SignedDuration::from_mins(lead),
            min_gap: SignedDuration::from_hours(gap),
            caps: Caps { per_day, per_week },
            stop_after_confirm: false,
            combine_same_day: true,
        }
    }
}

prop_compose! {
    /// Up to three appointments of one patient within a fortnight, each booked 0–10 days before.
    fn appointments()(
        base in 0i64..(2 * 366 * 24 * 4),
        parts in prop::collection::vec((0i64..(14 * 24 * 4), 0i64..(10 * 24 * 4)), 1..4),
    ) -> Vec<Appointment> {
        let base = Timestamp::from_second(1_767_225_600).unwrap() + SignedDuration::from_mins(base * 15); // from 2026-01-01
        parts.into_iter().map(|(at, before)| {
            let start = base + SignedDuration::from_mins(at * 15);
            let booked = start - SignedDuration::from_mins(before * 15);
            Appointment { start, booked, contacts: vec![booked], stopped: None, sent: vec![] }
        }).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_every_rule(zone in prop::sample::select(ZONES), rule in a_rule(), appts in appointments()) {
        let tz = TimeZone::get(zone).unwrap();
        let plans = plan(&rule, &tz, &appts, &[]);
        prop_assert_eq!(plans.len(), appts.len());
        let mut messages: Vec<Timestamp> = Vec::new();
        for (a, planned) in appts.iter().zip(&plans) {
            let mut ks: Vec<u32> = planned.iter().map(|p| p.k).collect();
            ks.dedup();
            prop_assert_eq!(ks.len(), planned.len(), "a reminder planned twice");
            for p in planned {
                if p.decision != Decision::Send {
                    continue;
                }
                let send = p.send.unwrap();
                let local = send.to_zoned(tz.clone()).time();
                prop_assert!(rule.window.contains(local), "{zone}: sent at {local} outside {}", rule.window);
                prop_assert!(send <= a.start - rule.min_lead, "{zone}: sent after start − min_lead");
                prop_assert!(send >= a.booked, "{zone}: sent before the booking");
                if p.combined_with.is_empty() || !messages.contains(&send) {
                    messages.push(send);
                }
            }
        }
        messages.sort();
        messages.dedup();
        for &m in &messages {
            let day = m.to_zoned(tz.clone()).date();
            let same_day = messages.iter().filter(|t| t.to_zoned(tz.clone()).date() == day).count();
            prop_assert!(same_day <= rule.caps.per_day as usize, "{zone}: {same_day} messages on {day}");
        }
    }

    #[test]
    fn whole_day_offsets_keep_the_wall_clock(zone in prop::sample::select(ZONES), days in 1i32..=7, appts in appointments()) {
        let tz = TimeZone::get(zone).unwrap();
        for a in &appts {
            let start = a.start.to_zoned(tz.clone());
            let expected = start.datetime().checked_sub(days.days()).unwrap();
            if !matches!(tz.to_ambiguous_zoned(expected).offset(), AmbiguousOffset::Unambiguous { .. }) {
                continue; // that wall-clock time does not exist (or exists twice) on the due day
            }
            let due = due(a.start, Offset::Days(days), &tz).to_zoned(tz.clone());
            prop_assert_eq!(due.datetime(), expected, "{} drifted", zone);
        }
    }

    /// Re-planning after some reminders went out (the scheduler re-plans on every change) keeps
    /// them where they were, never plans them again, and still keeps the caps counting them. For one
    /// appointment under whole-day offsets (the usual case) it also sends the rest exactly as before;
    /// with several competing for the caps, what is still queued may move.
    #[test]
    fn replanning_with_what_was_sent_keeps_it(zone in prop::sample::select(ZONES), rule in a_rule(), appts in appointments(), cut in 0usize..6) {
        let tz = TimeZone::get(zone).unwrap();
        let first = plan(&rule, &tz, &appts, &[]);
        let mut sends: Vec<(Timestamp, usize, u32)> = first.iter().enumerate()
            .flat_map(|(i, ps)| ps.iter().filter(|p| p.decision == Decision::Send).map(move |p| (p.send.unwrap(), i, p.k)))
            .collect();
        sends.sort();
        let Some(&(now, _, _)) = sends.get(cut) else { return Ok(()) };
        let mut later = appts.clone();
        for &(at, i, k) in sends.iter().filter(|s| s.0 < now) {
            later[i].sent.push((k, at));
        }
        let again = plan(&rule, &tz, &later, &[]);
        let whole_days = appts.len() == 1 && rule.offsets.iter().all(|o| matches!(o, Offset::Days(_)));
        let mut times: Vec<Timestamp> = Vec::new();
        for ((a, b), appt) in first.iter().zip(&again).zip(&later) {
            prop_assert_eq!(a.len(), b.len());
            for (p, q) in a.iter().zip(b) {
                if appt.sent.iter().any(|s| s.0 == p.k) {
                    prop_assert_eq!((q.send, q.decision), (p.send, Decision::Send), "{}: a sent reminder moved", zone);
                }
                if whole_days && (p.decision == Decision::Send || q.decision == Decision::Send) {
                    prop_assert_eq!((p.k, p.send, p.decision), (q.k, q.send, q.decision), "{} re-planned differently", zone);
                }
                if q.decision == Decision::Send {
                    times.push(q.send.unwrap());
                }
            }
        }
        times.sort();
        times.dedup();
        for &m in &times {
            let day = m.to_zoned(tz.clone()).date();
            let same_day = times.iter().filter(|t| t.to_zoned(tz.clone()).date() == day).count();
            prop_assert!(same_day <= rule.caps.per_day as usize, "{zone}: {same_day} messages on {day} after re-planning");
        }
    }
}
