//! Hearth's domain vocabulary: identifiers, validated newtypes, the error catalogue, the clock and the
//! redaction wrappers. Pure: no tokio, no network, no SQL. Everything else in the workspace depends on
//! this crate and nothing here depends on them.

pub mod access;
pub mod appointment;
pub mod audit;
pub mod clock;
pub mod contact;
pub mod crypto;
pub mod error_code;
pub mod ids;
pub mod linkage;
pub mod messaging;
pub mod names;
pub mod outreach;
pub mod redact;
pub mod time;

#[cfg(feature = "sqlx")]
mod sqlx_types;

pub use access::{ApiScope, Permission, Role};
pub use clock::{Clock, FakeClock, SystemClock};
pub use error_code::{ErrorCode, ErrorKind};
pub use ids::{
    ApiKeyId, AppointmentEventId, AppointmentId, AuditEventId, ConsentId, DuplicateId, EhrRequestId,
    InboundMessageId, IntegrationEventId, LocationId, MergeId, MessageAttemptId, MessageId, OrgId,
    OutreachWorkId, PatientEventId, PatientId, PractitionerId, ReminderDecisionId, TemplateId, UserId,
};
pub use redact::{Phi, Secret};
pub use time::{TimeZoneName, UtcTime};
