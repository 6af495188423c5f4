//! The R4 Patient resource, as far as Hearth models it.

use serde::{Deserialize, Serialize};

use crate::datatypes::{Address, CodeableConcept, ContactPoint, HumanName, Identifier, Meta, Reference};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    /// Always `Patient`.
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    /// male | female | other | unknown
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// YYYY, YYYY-MM or YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_boolean: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<PatientContact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communication: Vec<PatientCommunication>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<PatientLink>,
}

impl Default for Patient {
    fn default() -> Self {
        Self {
            resource_type: "Patient".to_owned(),
            id: None,
            meta: None,
            identifier: Vec::new(),
            active: None,
            name: Vec::new(),
            telecom: Vec::new(),
            gender: None,
            birth_date: None,
            deceased_boolean: None,
            deceased_date_time: None,
            address: Vec::new(),
            contact: Vec::new(),
            communication: Vec::new(),
            link: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatientContact {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationship: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<HumanName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatientCommunication {
    pub language: CodeableConcept,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientLink {
    pub other: Reference,
    /// replaced-by | replaces | refer | seealso
    #[serde(rename = "type")]
    pub type_: String,
}
