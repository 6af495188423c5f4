//! The reminder planner: a pure function from a patient's appointments, a rule and what already went
//! out to each reminder's due time, send time and decision (`shared/specs/reminders.md` rules 1–11).
//! The scheduler sends what it decides; the explanation (`hearth reminders explain`, the appointment
//! page) prints it.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use serde::Serialize;

use super::rule::{Offset, Rule};
use crate::appointment::SuppressReason;

/// One appointment of the patient, as the planner needs it.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub start: Timestamp,
    /// When the booking was received.
    pub booked: Timestamp,
    /// Messages about this appointment that went out (booking or reschedule notices…), for the gap.
    pub contacts: Vec<Timestamp>,
    /// Reminders stop from this instant, for this reason (cancelled, confirmed with
    /// `stop_after_confirm`, opted out…).
    pub stopped: Option<(Timestamp, SuppressReason)>,
    /// Reminders of this start that already went out: `(k, when)`. They stand as they were (rule 7:
    /// never twice), and count for the caps, the gap and combining like the planned ones.
    pub sent: Vec<(u32, Timestamp)>,
}

/// Why a reminder is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Due before the booking was received.
    BeforeBooking,
    /// Its send time reached the next reminder's due time: the next one stands.
    Collapsed,
    /// Another message about the appointment went out less than `min_gap` before.
    RecentlyContacted,
    /// It could only go out after `start − min_lead`.
    TooLate,
    /// The patient's caps left no day before `start − min_lead`.
    Capped,
    /// Reminders were stopped (see the appointment's state).
    Suppressed(SuppressReason),
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BeforeBooking => "before_booking",
            Reason::Collapsed => "collapsed",
            Reason::RecentlyContacted => "recently_contacted",
            Reason::TooLate => "too_late",
            Reason::Capped => "capped",
            Reason::Suppressed(_) => "suppressed",
        }
    }
}

/// What happens to one reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Not sent; the next reminder (or none) stands.
    Skipped(Reason),
    /// Not sent and nothing replaces it.
    Dropped(Reason),
}

/// One reminder of one appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// 1-based, in due order.
    pub k: u32,
    pub offset: Offset,
    pub due: Timestamp,
    /// When it goes out (also given for skipped and dropped reminders, where one was found: the time
    /// that was refused).
    pub send: Option<Timestamp>,
    pub decision: Decision,
    /// Why the send time is not the due time (`window`, `cap`, `combined`), if it is not.
    pub moved_by: Option<&'static str>,
    /// Other appointments (indices) named in the same message.
    pub combined_with: Vec<usize>,
}

/// A message the plan sends: its time and the reminders it carries.
struct Message {
    at: Timestamp,
    about: Vec<usize>,
    /// Already went out: nothing can join it.
    sent: bool,
}

/// Plans every reminder of every appointment of one patient. `zone` is the patient's (fallback: the
/// location's); `counted` are the messages already sent to the patient that count against the caps
/// (earlier reminders and survey invitations, any appointment). Returns, per appointment, its
/// reminders in due order.
pub fn plan(
    rule: &Rule,
    zone: &TimeZone,
    appointments: &[Appointment],
    counted: &[Timestamp],
) -> Vec<Vec<Planned>> {
    let mut offsets = rule.offsets.clone();
    offsets.sort_by_key(|o| std::cmp::Reverse(o.nominal()));
    offsets.dedup();
    let dues: Vec<Vec<Timestamp>> =
        appointments.iter().map(|a| offsets.iter().map(|&o| due(a.start, o, zone)).collect()).collect();
    let mut order: Vec<(Timestamp, usize, usize)> = dues
        .iter()
        .enumerate()
        .flat_map(|(i, ds)| ds.iter().enumerate().map(move |(k, &d)| (d, i, k)))
        .collect();
    order.sort();

    let mut out: Vec<Vec<Option<Planned>>> = dues.iter().map(|d| vec![None; d.len()]).collect();
    let mut messages: Vec<Message> = Vec::new();
    // What went out stands first, so what is still to plan fits around it.
    for (i, a) in appointments.iter().enumerate() {
        for &(k, at) in &a.sent {
            let Some(idx) = (k as usize).checked_sub(1).filter(|&x| x < offsets.len()) else { continue };
            messages.push(Message { at, about: vec![i], sent: true });
            let moved_by = (at != dues[i][idx]).then_some("window");
            out[i][idx] = Some(Planned {
                k,
                offset: offsets[idx],
                due: dues[i][idx],
                send: Some(at),
                decision: Decision::Send,
                moved_by,
                combined_with: Vec::new(),
            });
        }
    }
    for (due_at, i, k) in order {
        if out[i][k].is_some() {
            continue;
        }
        let a = &appointments[i];
        let next_due = dues[i].get(k + 1).copied();
        let planned = one(rule, zone, a, i, due_at, next_due, counted, &mut messages);
        #[allow(clippy::cast_possible_truncation)] // a handful of offsets
        let k1 = k as u32 + 1;
        out[i][k] = Some(Planned { k: k1, offset: offsets[k], ..planned });
    }
    out.into_iter().map(|v| v.into_iter().flatten().collect()).collect()
}

#[allow(clippy::too_many_arguments)]
fn one(
    rule: &Rule,
    zone: &TimeZone,
    a: &Appointment,
    i: usize,
    due_at: Timestamp,
    next_due: Option<Timestamp>,
    counted: &[Timestamp],
    messages: &mut Vec<Message>,
) -> Planned {
    let latest = a.start - rule.min_lead;
    let result = |send: Option<Timestamp>, decision, moved_by| Planned {
        k: 0,
        offset: Offset::Days(0),
        due: due_at,
        send,
        decision,
        moved_by,
        combined_with: Vec::new(),
    };
    if due_at < a.booked {
        return result(None, Decision::Skipped(Reason::BeforeBooking), None);
    }
    let mut send = open_at_or_after(due_at, rule, zone);
    let mut moved_by = (send != due_at).then_some("window");

    if rule.combine_same_day {
        let day = send.to_zoned(zone.clone()).date();
        let joinable = messages.iter_mut().find(|m| {
            !m.about.contains(&i)
                && !m.sent
                && m.at.to_zoned(zone.clone()).date() == day
                && m.at >= a.booked
                && m.at <= latest
        });
        if let Some(m) = joinable {
            let at = m.at.min(send);
            if stopped(a, at).is_none() && next_due.is_none_or(|n| at < n) && at >= a.booked {
                let others = m.about.clone();
                m.at = at;
                m.about.push(i);
                let mut p = result(Some(at), Decision::Send, (at != due_at).then_some("combined"));
                p.combined_with = others;
                return p;
            }
        }
    }

    // Caps: move to the next local day's opening until the day and week have room.
    for _ in 0..400 {
        if next_due.is_some_and(|n| send >= n) {
            return result(Some(send), Decision::Skipped(Reason::Collapsed), moved_by);
        }
        if send > latest {
            let why = if moved_by == Some("cap") { Reason::Capped } else { Reason::TooLate };
            return result(Some(send), Decision::Dropped(why), moved_by);
        }
        if !over_caps(rule, zone, send, counted, messages) {
            break;
        }
        send = next_day_opening(send, rule, zone);
        moved_by = Some("cap");
    }
    if let Some(reason) = stopped(a, send) {
        return result(Some(send), Decision::Dropped(Reason::Suppressed(reason)), moved_by);
    }
    let last_contact = a
        .contacts
        .iter()
        .copied()
        .chain(messages.iter().filter(|m| m.about.contains(&i)).map(|m| m.at))
        .filter(|&t| t <= send)
        .max();
    if last_contact.is_some_and(|t| send.duration_since(t) < rule.min_gap) {
        return result(Some(send), Decision::Skipped(Reason::RecentlyContacted), moved_by);
    }
    messages.push(Message { at: send, about: vec![i], sent: false });
    result(Some(send), Decision::Send, moved_by)
}

fn stopped(a: &Appointment, at: Timestamp) -> Option<SuppressReason> {
    a.stopped.and_then(|(from, why)| (at >= from).then_some(why))
}

/// Rule 1: whole days are calendar days in the zone; anything else is an absolute duration.
pub fn due(start: Timestamp, offset: Offset, zone: &TimeZone) -> Timestamp {
    match offset {
        Offset::Days(d) => start
            .to_zoned(zone.clone())
            .checked_sub(d.days())
            .map_or_else(|_| start - offset.nominal(), |z| z.timestamp()),
        Offset::Exact(d) => start.checked_sub(d).unwrap_or(start),
    }
}

/// Rule 3: the first instant at or after `t` whose local time is inside the window.
pub fn open_at_or_after(t: Timestamp, rule: &Rule, zone: &TimeZone) -> Timestamp {
    let z = t.to_zoned(zone.clone());
    if rule.window.contains(z.time()) {
        return t;
    }
    let date = if z.time() < rule.window.start { z.date() } else { z.date().tomorrow().unwrap_or(z.date()) };
    opening(date, rule, zone).unwrap_or(t)
}

fn next_day_opening(t: Timestamp, rule: &Rule, zone: &TimeZone) -> Timestamp {
    let z = t.to_zoned(zone.clone());
    z.date()
        .tomorrow()
        .ok()
        .and_then(|d| opening(d, rule, zone))
        .unwrap_or(t + SignedDuration::from_hours(24))
}

fn opening(date: jiff::civil::Date, rule: &Rule, zone: &TimeZone) -> Option<Timestamp> {
    // `compatible`: a window opening inside a DST gap is moved past the gap.
    date.to_datetime(rule.window.start).to_zoned(zone.clone()).ok().map(|z: Zoned| z.timestamp())
}

fn over_caps(
    rule: &Rule,
    zone: &TimeZone,
    at: Timestamp,
    counted: &[Timestamp],
    messages: &[Message],
) -> bool {
    let z = at.to_zoned(zone.clone());
    let day = z.date();
    let week = week_start(day);
    let (mut per_day, mut per_week) = (0u32, 0u32);
    for t in counted.iter().copied().chain(messages.iter().map(|m| m.at)) {
        let d = t.to_zoned(zone.clone()).date();
        if d == day {
            per_day += 1;
        }
        if week_start(d) == week {
            per_week += 1;
        }
    }
    per_day >= rule.caps.per_day || per_week >= rule.caps.per_week
}

/// The Monday of `d`'s week.
fn week_start(d: jiff::civil::Date) -> jiff::civil::Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(back.days()).unwrap_or(d)
}
