//! The FHIR R4 (4.0.1) resources Hearth reads and writes, as plain serde structs: only the elements
//! Hearth models are typed; everything else in an incoming resource is ignored. Every element is
//! optional and skipped when empty, because FHIR forbids empty elements (`ele-1`).

mod bundle;
mod datatypes;
mod outcome;
mod patient;

pub use bundle::{Bundle, BundleEntry, BundleLink, BundleRequest, BundleResponse};
pub use datatypes::{Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Meta, Reference};
pub use outcome::{Issue, OperationOutcome};
pub use patient::{Patient, PatientCommunication, PatientContact, PatientLink};

/// The media type of FHIR JSON.
pub const CONTENT_TYPE: &str = "application/fhir+json";

/// The code system of identifier types (MR, SS, …).
pub const IDENTIFIER_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// The code system of BCP 47 language tags.
pub const LANGUAGE_SYSTEM: &str = "urn:ietf:bcp:47";
