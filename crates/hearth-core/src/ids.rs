//! Typed identifiers. Each is a UUIDv7 (time-ordered, so indexes stay append-friendly) wrapped in its
//! own type, so a `PatientId` can never be passed where an `OrgId` is expected.
//!
//! In the database an id is a native `uuid` on PostgreSQL and canonical hyphenated TEXT on SQLite, so a
//! person reading either database sees the same string the API shows (see `sqlx_types.rs`).

/// Declares id newtypes with parsing, display and serde as the canonical hyphenated string.
#[macro_export]
macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self { Self(uuid::Uuid::now_v7()) }
            pub fn as_uuid(&self) -> uuid::Uuid { self.0 }
        }
        impl Default for $name { fn default() -> Self { Self::new() } }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.hyphenated().fmt(f) }
        }
        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> { uuid::Uuid::parse_str(s).map(Self) }
        }
        impl From<uuid::Uuid> for $name { fn from(u: uuid::Uuid) -> Self { Self(u) } }
        $crate::__id_sqlx!($name);
    )+};
}

#[cfg(feature = "sqlx")]
#[doc(hidden)]
#[macro_export]
macro_rules! __id_sqlx {
    ($name:ident) => {
        $crate::sqlx_uuid_newtype!($name);
    };
}
#[cfg(not(feature = "sqlx"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __id_sqlx {
    ($name:ident) => {};
}

id_type! {
    /// A tenant: one clinic group or hospital. Every tenant-owned row carries one.
    OrgId,
    /// A site or department of an organization, with its own IANA time zone.
    LocationId,
    /// A clinician who sees patients.
    PractitionerId,
    /// A staff account.
    UserId,
    /// An integration's API key.
    ApiKeyId,
    /// One entry of the audit trail.
    AuditEventId,
    /// A patient record.
    PatientId,
    /// One entry of a patient's consent ledger.
    ConsentId,
    /// One patient lifecycle event.
    PatientEventId,
    /// A pair in the duplicate review queue.
    DuplicateId,
    /// A merge of two patient records (kept so it can be undone).
    MergeId,
    /// An appointment.
    AppointmentId,
    /// One received appointment event (applied, stale, ignored or rejected).
    AppointmentEventId,
    /// One event from a patient-experience integration (PX360 style).
    IntegrationEventId,
    /// A message template (all versions of one organization/channel/purpose/language).
    TemplateId,
    /// One outbound message in the outbox.
    MessageId,
    /// One delivery attempt of an outbound message.
    MessageAttemptId,
    /// One inbound message or provider callback as received.
    InboundMessageId,
    /// A change still to be planned by the reminder scheduler.
    OutreachWorkId,
    /// One decision of the reminder planner (reminder k of an appointment at one start).
    ReminderDecisionId,
}

id_type! {
    /// A patient's confirm or cancel request on its way to the EHR (its `request_id`).
    EhrRequestId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip_as_hyphenated_strings() {
        let id = OrgId::new();
        let s = id.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(s.parse::<OrgId>().unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{s}\""));
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = LocationId::new();
        let b = LocationId::new();
        assert!(a < b, "UUIDv7 ids created later sort later");
    }
}
