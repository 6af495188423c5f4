//! The reminder dimension of an appointment, with its one-column text form.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// Where an appointment's reminders stand. Stored as one text column: `pending:0`, `done`,
/// `suppressed:cancelled`, `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reminders {
    /// Reminders are planned; `next_k` is the index of the next one to send (0 = none sent yet).
    Pending { next_k: u32 },
    /// The visit has begun or happened; nothing is left to remind of.
    Done,
    /// Stopped on purpose, for the reason given.
    Suppressed(SuppressReason),
    /// The appointment time passed while reminders were still pending (set by [`super::expire`], or
    /// at once when an event names a time that has already passed).
    Expired,
}

/// Why reminders were stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    Cancelled,
    Noshow,
    EnteredInError,
    /// The patient opted out of appointment messages.
    OptedOut,
    /// The appointment was confirmed and the organization's policy stops reminders after confirmation.
    Confirmed,
}

impl SuppressReason {
    pub const ALL: &'static [SuppressReason] = &[
        SuppressReason::Cancelled,
        SuppressReason::Noshow,
        SuppressReason::EnteredInError,
        SuppressReason::OptedOut,
        SuppressReason::Confirmed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Cancelled => "cancelled",
            SuppressReason::Noshow => "noshow",
            SuppressReason::EnteredInError => "entered_in_error",
            SuppressReason::OptedOut => "opted_out",
            SuppressReason::Confirmed => "confirmed",
        }
    }

    pub fn parse(s: &str) -> Result<SuppressReason, ParseError> {
        let t = s.trim();
        SuppressReason::ALL.iter().copied().find(|r| r.as_str() == t).ok_or_else(|| {
            ParseError::new("reminder suppression reason", s, SuppressReason::ALL.iter().map(|r| r.as_str()))
        })
    }
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Reminders {
    /// The stored forms, for error messages.
    const EXPECTED: &'static [&'static str] = &[
        "pending:<n>",
        "done",
        "suppressed:cancelled",
        "suppressed:noshow",
        "suppressed:entered_in_error",
        "suppressed:opted_out",
        "suppressed:confirmed",
        "expired",
    ];

    pub const fn is_pending(self) -> bool {
        matches!(self, Reminders::Pending { .. })
    }

    /// The stored form; [`Reminders::parse`] reads it back.
    pub fn as_db_text(self) -> String {
        self.to_string()
    }

    /// Reads the stored form. Only the canonical spelling is accepted (`pending:3`, not `pending:03`
    /// or `Pending:3`), so a value always round-trips to the same text.
    pub fn parse(s: &str) -> Result<Reminders, ParseError> {
        let t = s.trim();
        let err = || ParseError::new("reminder state", s, Reminders::EXPECTED.iter().copied());
        match t.split_once(':') {
            None if t == "done" => Ok(Reminders::Done),
            None if t == "expired" => Ok(Reminders::Expired),
            Some(("pending", k)) => {
                let canonical = !k.is_empty()
                    && k.bytes().all(|b| b.is_ascii_digit())
                    && (k.len() == 1 || !k.starts_with('0'));
                let next_k = k.parse::<u32>().ok().filter(|_| canonical).ok_or_else(err)?;
                Ok(Reminders::Pending { next_k })
            }
            Some(("suppressed", why)) if why.trim() == why => {
                SuppressReason::parse(why).map(Reminders::Suppressed).map_err(|_| err())
            }
            _ => Err(err()),
        }
    }
}

impl fmt::Display for Reminders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reminders::Pending { next_k } => write!(f, "pending:{next_k}"),
            Reminders::Done => f.write_str("done"),
            Reminders::Suppressed(why) => write!(f, "suppressed:{why}"),
            Reminders::Expired => f.write_str("expired"),
        }
    }
}

impl std::str::FromStr for Reminders {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reminders::parse(s)
    }
}

serde_as_str!(Reminders);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let mut all = vec![Reminders::Pending { next_k: 0 }, Reminders::Pending { next_k: 12 }];
        all.extend([Reminders::Done, Reminders::Expired]);
        all.extend(SuppressReason::ALL.iter().copied().map(Reminders::Suppressed));
        for r in all {
            assert_eq!(Reminders::parse(&r.as_db_text()).unwrap(), r, "{r}");
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Reminders>(&json).unwrap(), r);
        }
        assert_eq!(Reminders::Suppressed(SuppressReason::OptedOut).as_db_text(), "suppressed:opted_out");
        assert_eq!(serde_json::to_string(&Reminders::Pending { next_k: 2 }).unwrap(), r#""pending:2""#);
    }

    #[test]
    fn only_the_canonical_text_parses() {
        for bad in [
            "",
            "pending",
            "pending:",
            "pending:-1",
            "pending:+1",
            "pending:01",
            "pending:x",
            "Pending:1",
            "pending:99999999999",
            "suppressed",
            "suppressed:",
            "suppressed:maybe",
            "suppressed: noshow",
            "Done",
            "expired:1",
        ] {
            assert!(Reminders::parse(bad).is_err(), "{bad:?} parsed");
        }
        let msg = Reminders::parse("soon").unwrap_err().to_string();
        assert!(msg.contains("pending:<n>"), "{msg}");
        for why in SuppressReason::ALL {
            assert!(msg.contains(&Reminders::Suppressed(*why).as_db_text()), "{msg} lacks {why}");
        }
    }
}
