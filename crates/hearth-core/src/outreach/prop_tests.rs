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
            Appointment { start, booked, contacts: vec![booked], stopped: None }
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
}
