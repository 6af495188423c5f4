//! OperationOutcome: how FHIR endpoints report errors.

use serde::{Deserialize, Serialize};

use crate::datatypes::CodeableConcept;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    pub resource_type: String,
    pub issue: Vec<Issue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// fatal | error | warning | information
    pub severity: String,
    /// An IssueType code: invalid, required, value, not-found, conflict, security, forbidden, …
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// FHIRPath of the offending element, e.g. `Patient.telecom[1].value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

impl OperationOutcome {
    pub fn new(issue: Vec<Issue>) -> Self {
        Self { resource_type: "OperationOutcome".to_owned(), issue }
    }
}

impl Issue {
    /// An error with an IssueType code and a message.
    pub fn error(code: &str, diagnostics: impl Into<String>) -> Self {
        Self {
            severity: "error".to_owned(),
            code: code.to_owned(),
            details: None,
            diagnostics: Some(diagnostics.into()),
            expression: Vec::new(),
        }
    }

    #[must_use]
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression.push(expression.into());
        self
    }
}
