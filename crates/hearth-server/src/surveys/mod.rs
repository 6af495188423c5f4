//! Surveys (docs/surveys.md): Questionnaires imported and versioned per organization (with the three
//! built-in instruments), distribution rules evaluated when an appointment changes status,
//! invitations with single-use links, the public survey page, responses stored as FHIR
//! QuestionnaireResponses with scores, follow-up actions, the completion webhook and results.

pub mod i18n;
pub mod invite;
pub mod questionnaires;
pub mod respond;
pub mod results;
pub mod results_csv;
pub mod rules;
pub mod webhook;

pub use invite::{StatusTriggers, on_appointment_status};
pub use questionnaires::{QuestionnaireDetail, QuestionnaireView, ensure_builtins, instrument};
pub use rules::{SurveyRuleInput, SurveyRuleView};
