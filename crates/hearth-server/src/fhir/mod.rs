//! The FHIR R4 facade over Hearth's records: mapping between FHIR resources and Hearth's own, and
//! FHIR paths for the errors found on the way. The HTTP side lives in `web::fhir`.

mod patient;

pub use patient::{ImportedPatient, fhir_error_path, from_fhir, to_fhir};

/// The identifier system of Hearth's MRNs in FHIR output, under the public URL.
pub fn mrn_system(public_url: &str) -> String {
    format!("{public_url}/fhir/sid/mrn")
}
