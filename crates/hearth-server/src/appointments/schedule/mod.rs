//! CSV schedule import for EHRs without an API (issue #5): a [`Mapping`] file says how to read one
//! EHR's export; [`read_schedule`] turns the file into appointment events in the webhook's wire
//! format (specs/appointments.md, section 1), each tagged with its line, which the ingest engine then
//! applies like any other batch.
//!
//! The mapping and the reader are pure: no I/O, no clock. Re-reading the same file gives the same
//! events with the same `source_message_id`s (a hash of the row's content), which is what makes a
//! re-import change nothing; [`chained_message_id`] links that hash to the appointment's last applied event, so that a
//! return to an earlier state (booked, cancelled, booked again) is not mistaken for a replay.
//!
//! [`import`] then sends a read schedule through the ingest engine and reports each line; it is the
//! one path of `hearth import schedule` and the upload page.

mod import;
mod mapping;
mod rows;

pub use import::{ImportReport, ImportSummary, LineReport, import};
pub use mapping::{Field, Filters, Mapping, MappingError, StatusWords, When, Word};
pub use rows::{LineError, RowEvent, Schedule, Skipped, chained_message_id, read_schedule};
