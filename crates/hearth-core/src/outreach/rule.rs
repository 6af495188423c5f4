//! A reminder rule (`shared/specs/reminders.md`) and the text forms staff and the CLI write it in.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use jiff::civil::Time;
use serde::{Deserialize, Serialize};

/// How long before the start a reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Offset {
    /// Whole days: applied as calendar days in the appointment's zone (the wall-clock time is kept
    /// across a DST change).
    Days(i32),
    /// Any other length: an absolute duration.
    Exact(SignedDuration),
}

impl Offset {
    /// The offset as an absolute length (days as 24 hours), for ordering and display.
    pub fn nominal(self) -> SignedDuration {
        match self {
            Offset::Days(d) => SignedDuration::from_hours(i64::from(d) * 24),
            Offset::Exact(d) => d,
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_length(f, self.nominal())
    }
}

fn write_length(f: &mut fmt::Formatter<'_>, d: SignedDuration) -> fmt::Result {
    let minutes = d.as_secs() / 60;
    match (minutes / 60, minutes % 60) {
        (h, 0) => write!(f, "{h}h"),
        (0, m) => write!(f, "{m}m"),
        (h, m) => write!(f, "{h}h{m}m"),
    }
}

/// A text that is not a length: expected `48h`, `90m`, `1h30m`, `2d` or the `HHMM` form `4800`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a length: expected e.g. 48h, 90m, 1h30m, 2d or HHMM such as 4800")]
pub struct BadLength(pub String);

/// Parses `48h`, `90m`, `1h30m`, `2d`, or the `HHMM` form (`4800` = 48 hours, `0130` = 1 h 30 min).
pub fn parse_length(text: &str) -> Result<SignedDuration, BadLength> {
    let bad = || BadLength(text.to_owned());
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.len() >= 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        let (h, m) = t.split_at(t.len() - 2);
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 {
            return Err(bad());
        }
        return Ok(SignedDuration::from_mins(h * 60 + m));
    }
    let mut total = 0i64;
    let mut number = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += match c {
            'd' => n.checked_mul(1440).ok_or_else(bad)?,
            'h' => n.checked_mul(60).ok_or_else(bad)?,
            'm' => n,
            _ => return Err(bad()),
        };
        any = true;
    }
    if !number.is_empty() || !any || total > 366 * 1440 {
        return Err(bad());
    }
    Ok(SignedDuration::from_mins(total))
}

impl FromStr for Offset {
    type Err = BadLength;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = parse_length(s)?;
        if d.is_zero() {
            return Err(BadLength(s.to_owned()));
        }
        let mins = d.as_secs() / 60;
        #[allow(clippy::cast_possible_truncation)] // at most 366 days
        Ok(if mins % 1440 == 0 { Offset::Days((mins / 1440) as i32) } else { Offset::Exact(d) })
    }
}

/// The local hours in which outreach may go out: start inclusive, end exclusive. A window whose end
/// is before its start runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub start: Time,
    pub end: Time,
}

impl Window {
    pub fn contains(self, t: Time) -> bool {
        if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.strftime("%H:%M"), self.end.strftime("%H:%M"))
    }
}

/// A text that is not a window: expected `HH:MM-HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a window: expected HH:MM-HH:MM such as 08:00-21:00")]
pub struct BadWindow(pub String);

impl FromStr for Window {
    type Err = BadWindow;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadWindow(s.to_owned());
        let (a, b) = s.split_once(['-', '–']).ok_or_else(bad)?;
        let time = |t: &str| Time::strptime("%H:%M", t.trim()).map_err(|_| bad());
        let w = Window { start: time(a)?, end: time(b)? };
        if w.start == w.end {
            return Err(bad());
        }
        Ok(w)
    }
}

/// Outreach caps per patient, counted in the patient's local days and weeks (Monday to Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caps {
    pub per_day: u32,
    pub per_week: u32,
}

/// A reminder rule; [`Rule::default`] is the spec's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Reminder k is due at start − offset_k.
    pub offsets: Vec<Offset>,
    pub window: Window,
    /// Never remind closer to the start than this.
    pub min_lead: SignedDuration,
    /// Never remind within this long after another message about the same appointment.
    pub min_gap: SignedDuration,
    pub caps: Caps,
    pub stop_after_confirm: bool,
    /// One message for several appointments of a patient on one local day.
    pub combine_same_day: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            offsets: vec![Offset::Days(2), Offset::Days(1)],
            window: Window { start: Time::constant(8, 0, 0, 0), end: Time::constant(21, 0, 0, 0) },
            min_lead: SignedDuration::from_hours(1),
            min_gap: SignedDuration::from_hours(12),
            caps: Caps { per_day: 1, per_week: 3 },
            stop_after_confirm: false,
            combine_same_day: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_every_accepted_form() {
        assert_eq!("48h".parse::<Offset>(), Ok(Offset::Days(2)));
        assert_eq!("4800".parse::<Offset>(), Ok(Offset::Days(2)));
        assert_eq!("2d".parse::<Offset>(), Ok(Offset::Days(2)));
        assert_eq!("2h".parse::<Offset>(), Ok(Offset::Exact(SignedDuration::from_hours(2))));
        assert_eq!("0130".parse::<Offset>(), Ok(Offset::Exact(SignedDuration::from_mins(90))));
        assert_eq!("1h30m".parse::<Offset>(), Ok(Offset::Exact(SignedDuration::from_mins(90))));
        for bad in ["", "h", "48", "0h", "12x", "1h30", "0160", "-2h", "9999d"] {
            assert!(bad.parse::<Offset>().is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Offset::Days(2).to_string(), "48h");
        assert_eq!(Offset::Exact(SignedDuration::from_mins(90)).to_string(), "1h30m");
    }

    #[test]
    fn windows_parse_and_may_run_over_midnight() {
        let w: Window = "08:00-21:00".parse().unwrap();
        assert!(w.contains(Time::constant(8, 0, 0, 0)));
        assert!(!w.contains(Time::constant(21, 0, 0, 0)));
        assert_eq!(w.to_string(), "08:00-21:00");
        let night: Window = "22:00–06:00".parse().unwrap();
        assert!(night.contains(Time::constant(23, 0, 0, 0)));
        assert!(night.contains(Time::constant(5, 59, 0, 0)));
        assert!(!night.contains(Time::constant(12, 0, 0, 0)));
        for bad in ["8-21", "08:00", "08:00-08:00", "25:00-26:00"] {
            assert!(bad.parse::<Window>().is_err(), "{bad:?} should be refused");
        }
    }
}
