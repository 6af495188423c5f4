//! Outreach timing: reminder rules and the planner that decides, for each reminder of an appointment,
//! when it goes out or why it does not (`shared/specs/reminders.md`). Pure: the scheduler and
//! `hearth reminders explain` call it.

mod explain;
mod plan;
mod rule;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod vectors;

pub use explain::{Explained, explain, explained};
pub use plan::{Appointment, Decision, Planned, Reason, due, open_at_or_after, plan};
pub use rule::{BadLength, BadWindow, Caps, Offset, Rule, Window, parse_length};
