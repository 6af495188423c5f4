//! Background workers and their liveness. Each worker registers with [`Heartbeats`] and beats at
//! least once per interval; `/health` reports a worker silent for three intervals (stuck, panicked or
//! exited) as failing.

mod maintenance;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use maintenance::run as run_maintenance;

#[derive(Clone, Default)]
pub struct Heartbeats(Arc<Mutex<BTreeMap<&'static str, Beat>>>);

#[derive(Clone, Copy)]
struct Beat {
    last: Instant,
    interval: Duration,
}

/// One worker's liveness as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    pub name: &'static str,
    pub alive: bool,
    pub silent_for: Duration,
}

impl Heartbeats {
    /// Registers `name`, counting it as alive from now.
    pub fn register(&self, name: &'static str, interval: Duration) {
        self.lock().insert(name, Beat { last: Instant::now(), interval });
    }

    pub fn beat(&self, name: &'static str) {
        if let Some(b) = self.lock().get_mut(name) {
            b.last = Instant::now();
        }
    }

    pub fn statuses(&self) -> Vec<WorkerStatus> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|(name, b)| {
                let silent_for = now.saturating_duration_since(b.last);
                WorkerStatus { name, alive: silent_for <= b.interval * 3, silent_for }
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Beat>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_stops_beating_is_reported_dead() {
        let hb = Heartbeats::default();
        hb.register("fast", Duration::from_mins(1));
        hb.register("stuck", Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        let statuses = hb.statuses();
        assert!(statuses.iter().find(|s| s.name == "fast").unwrap().alive);
        assert!(!statuses.iter().find(|s| s.name == "stuck").unwrap().alive);
        hb.beat("stuck");
        assert!(hb.statuses().iter().find(|s| s.name == "stuck").unwrap().alive);
    }
}
