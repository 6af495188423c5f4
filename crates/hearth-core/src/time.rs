//! Time values that cross the database boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An instant in UTC, at microsecond precision (what both databases keep).
///
/// Stored as `timestamptz` on PostgreSQL and as fixed-width RFC 3339 TEXT
/// (`2026-11-23T10:00:00.000000Z`) on SQLite, which sorts and compares correctly as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UtcTime(jiff::Timestamp);

impl UtcTime {
    /// Truncates to whole microseconds, so a value survives a round trip through either database.
    pub fn new(ts: jiff::Timestamp) -> Self {
        let micros = ts.as_microsecond();
        Self(jiff::Timestamp::from_microsecond(micros).unwrap_or(ts))
    }
    pub fn from_micros(micros: i64) -> Option<Self> {
        jiff::Timestamp::from_microsecond(micros).ok().map(Self)
    }
    pub fn get(self) -> jiff::Timestamp {
        self.0
    }
    pub fn as_micros(self) -> i64 {
        self.0.as_microsecond()
    }
    /// This instant moved by `d`, saturating at the ends of the representable range.
    #[must_use]
    pub fn plus(self, d: jiff::SignedDuration) -> Self {
        Self(self.0.saturating_add(d).unwrap_or(self.0))
    }
    /// Seconds since the Unix epoch (negative before it).
    pub fn unix_seconds(self) -> i64 {
        self.0.as_second()
    }
    /// For people: `2026-11-23 07:27:50 UTC`.
    pub fn to_display(self) -> String {
        format!("{} UTC", self.0.strftime("%Y-%m-%d %H:%M:%S"))
    }
    /// The fixed-width text form used by SQLite.
    pub fn to_db_text(self) -> String {
        format!("{}", self.0.strftime("%Y-%m-%dT%H:%M:%S.%6fZ"))
    }
}

impl From<jiff::Timestamp> for UtcTime {
    fn from(ts: jiff::Timestamp) -> Self {
        Self::new(ts)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for UtcTime {
    type Err = jiff::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<jiff::Timestamp>().map(Self::new)
    }
}

/// A validated IANA time zone name such as `America/Los_Angeles`, checked against the tz database
/// bundled in the binary (never the host's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, InvalidTimeZone> {
        let raw = raw.trim();
        // Only IANA names: a fixed offset carries no DST rules, and "UTC" style aliases are accepted
        // because the database knows them.
        if raw.is_empty() || raw.starts_with(['+', '-']) {
            return Err(InvalidTimeZone(raw.to_owned()));
        }
        match jiff::tz::db().get(raw) {
            Ok(tz) => Ok(Self(tz.iana_name().unwrap_or(raw).to_owned())),
            Err(_) => Err(InvalidTimeZone(raw.to_owned())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::db().get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an IANA time zone name; expected a name such as America/New_York")]
pub struct InvalidTimeZone(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_text_is_fixed_width_and_sorts_like_time() {
        let a: UtcTime = "2026-03-08T09:00:00Z".parse().unwrap();
        let b: UtcTime = "2026-03-08T09:00:00.5Z".parse().unwrap();
        let c: UtcTime = "2026-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(a.to_db_text(), "2026-03-08T09:00:00.000000Z");
        assert_eq!(b.to_db_text(), "2026-03-08T09:00:00.500000Z");
        let mut texts = [c.to_db_text(), b.to_db_text(), a.to_db_text()];
        texts.sort();
        assert_eq!(texts, [a.to_db_text(), b.to_db_text(), c.to_db_text()]);
    }

    #[test]
    fn new_truncates_to_microseconds() {
        let ts = jiff::Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap();
        assert_eq!(UtcTime::new(ts).as_micros(), 1_700_000_000_123_456);
    }

    #[test]
    fn time_zone_names_are_checked_against_the_bundled_database() {
        assert_eq!(TimeZoneName::parse("Europe/London").unwrap().as_str(), "Europe/London");
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("+0200").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }
}
