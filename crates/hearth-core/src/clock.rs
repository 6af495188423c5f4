//! Where "now" comes from. Production uses the system clock; tests and the event simulator use a
//! clock they can set and move, so reminders and expiries can be exercised without waiting.

use std::sync::Mutex;

use crate::time::UtcTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UtcTime;
    /// Moves the clock forward by `by`; `false` when this clock cannot be moved (the system's).
    fn shift(&self, _by: jiff::SignedDuration) -> bool {
        false
    }
    /// Whether [`Clock::shift`] can move this clock.
    fn movable(&self) -> bool {
        false
    }
}

/// The host's clock plus an offset that only grows: what a test instance runs on when the
/// simulator may move time (`simulator.clock`).
#[derive(Debug, Default)]
pub struct ShiftedClock(std::sync::atomic::AtomicI64);

impl ShiftedClock {
    /// How far ahead of the host's clock this one is.
    pub fn offset(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_micros(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> UtcTime {
        let now = jiff::Timestamp::now();
        UtcTime::new(now.saturating_add(self.offset()).unwrap_or(now))
    }
    fn shift(&self, by: jiff::SignedDuration) -> bool {
        let micros = i64::try_from(by.as_micros()).unwrap_or(0).max(0);
        self.0.fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
        true
    }
    fn movable(&self) -> bool {
        true
    }
}

/// The host's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UtcTime {
        UtcTime::new(jiff::Timestamp::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FakeClock(Mutex<UtcTime>);

impl FakeClock {
    pub fn at(t: UtcTime) -> Self {
        Self(Mutex::new(t))
    }
    /// Starts at an RFC 3339 instant. Panics on a malformed literal: it is for tests and fixtures.
    pub fn at_str(rfc3339: &str) -> Self {
        Self::at(rfc3339.parse().expect("FakeClock::at_str needs an RFC 3339 instant"))
    }
    pub fn set(&self, t: UtcTime) {
        *self.lock() = t;
    }
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.lock();
        *now = UtcTime::new(now.get().saturating_add(by).unwrap_or(now.get()));
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, UtcTime> {
        // A poisoned clock still holds a valid instant.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for FakeClock {
    fn now(&self) -> UtcTime {
        *self.lock()
    }
    fn shift(&self, by: jiff::SignedDuration) -> bool {
        self.advance(by);
        true
    }
    fn movable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_runs_ahead_and_the_system_clock_cannot_move() {
        let c = ShiftedClock::default();
        assert!(c.shift(jiff::SignedDuration::from_hours(48)));
        let ahead = c.now().get().duration_since(jiff::Timestamp::now());
        assert!(ahead > jiff::SignedDuration::from_hours(47), "{ahead:?}");
        c.shift(jiff::SignedDuration::from_hours(-100));
        assert_eq!(c.offset(), jiff::SignedDuration::from_hours(48), "never backwards");
        assert!(!SystemClock.shift(jiff::SignedDuration::from_hours(1)));
    }

    #[test]
    fn fake_clock_moves_only_when_told() {
        let clock = FakeClock::at_str("2026-01-06T09:00:00Z");
        assert_eq!(clock.now().to_string(), "2026-01-06T09:00:00Z");
        clock.advance(jiff::SignedDuration::from_hours(25));
        assert_eq!(clock.now().to_string(), "2026-01-07T10:00:00Z");
        clock.set("2026-03-01T00:00:00Z".parse().unwrap());
        assert_eq!(clock.now().to_string(), "2026-03-01T00:00:00Z");
    }
}
