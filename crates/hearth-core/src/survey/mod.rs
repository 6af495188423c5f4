//! Surveys: instruments as FHIR R4 Questionnaires (`docs/surveys.md`). Pure: importing and
//! validating a Questionnaire ([`import`]), reading a form's answers and checking them against the
//! instrument ([`answers`]), `enableWhen`, scores with bands and a missing-item policy, and the rules
//! that open follow-up actions ([`scoring`]), and the FHIR QuestionnaireResponse and Observations of
//! a completed response ([`fhir`]). Storage, links and pages live in `hearth-server`.

pub mod answers;
pub mod builtin;
pub mod fhir;
pub mod import;
pub mod model;
pub mod scoring;

pub use answers::{Answer, AnswerError, AnswerErrorKind, Answers, check, enabled, parse_form};
pub use import::{ImportError, import};
pub use model::{
    AnswerOption, EnableWhen, Expected, Instrument, Item, ItemType, ORDINAL_URL, Operator, TRANSLATION_URL,
    Text,
};
pub use scoring::{
    ActionRule, Band, Condition, Method, Missing, Score, ScoreRule, ScoreStatus, score, triggered_actions,
};

crate::id_type! {
    /// One imported version of a Questionnaire (url + version) of an organization.
    QuestionnaireId,
    /// A distribution rule: which appointments get which survey, when and how.
    SurveyRuleId,
    /// One invitation of a patient to answer a survey (the link's token hash lives with it).
    SurveyInvitationId,
    /// A completed survey response (a FHIR QuestionnaireResponse plus scores).
    SurveyResponseId,
    /// A follow-up action opened by a score rule.
    SurveyActionId,
    /// One completion webhook delivery.
    SurveyWebhookId,
    /// One funnel event of an invitation (sent, opened, started, completed, expired).
    SurveyEventId,
}
