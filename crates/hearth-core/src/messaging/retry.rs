//! When to try a message again: exponential backoff with full jitter (base 2 s, cap 15 min), never
//! sooner than the provider's `Retry-After`, and no more tries than the maximum.

use std::time::Duration;

/// The first retry waits up to this long.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// No retry waits longer than this (before `Retry-After`).
pub const BACKOFF_CAP: Duration = Duration::from_mins(15);

/// The delay before the next try after `attempts` tries (1 after the first), with "full jitter":
/// a uniformly random point in `[0, min(cap, base · 2^(attempts−1))]`. `jitter` is that random point as
/// a fraction in `[0, 1]` (passed in, so the function is pure). The provider's `retry_after` is a
/// floor.
pub fn backoff(attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let ceiling = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_CAP);
    let delay = ceiling.mul_f64(jitter.clamp(0.0, 1.0));
    retry_after.map_or(delay, |r| delay.max(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_two_seconds_up_to_fifteen_minutes() {
        assert_eq!(backoff(1, 1.0, None), Duration::from_secs(2));
        assert_eq!(backoff(2, 1.0, None), Duration::from_secs(4));
        assert_eq!(backoff(5, 1.0, None), Duration::from_secs(32));
        assert_eq!(backoff(10, 1.0, None), Duration::from_mins(15));
        assert_eq!(backoff(60, 1.0, None), Duration::from_mins(15));
        assert_eq!(backoff(3, 0.5, None), Duration::from_secs(4));
        assert_eq!(backoff(3, 0.0, None), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(backoff(1, 0.1, Some(Duration::from_secs(30))), Duration::from_secs(30));
        assert_eq!(backoff(12, 1.0, Some(Duration::from_secs(30))), Duration::from_mins(15));
    }
}
