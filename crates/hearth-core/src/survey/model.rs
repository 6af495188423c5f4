//! The parsed form of a Questionnaire: what the page renders, answers are checked against and scores
//! are computed from. Built only by [`super::import`], so holders never re-validate.

use std::collections::BTreeMap;

use serde::Serialize;

use super::scoring::{ActionRule, ScoreRule};

/// `answerOption.extension` (or its `valueCoding.extension`) carrying the option's score.
pub const ORDINAL_URL: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
/// Also accepted for the option's score (its name from FHIR R5 on).
pub const ITEM_WEIGHT_URL: &str = "http://hl7.org/fhir/StructureDefinition/itemWeight";
/// FHIR's translation extension, on `_text`, `_title` and `valueCoding._display`.
pub const TRANSLATION_URL: &str = "http://hl7.org/fhir/StructureDefinition/translation";
/// Hearth's score rule extension on the Questionnaire (docs/surveys.md "Scoring").
pub const SCORE_URL: &str = "https://hearth.dev/fhir/StructureDefinition/survey-score";
/// Hearth's follow-up action extension on the Questionnaire.
pub const ACTION_URL: &str = "https://hearth.dev/fhir/StructureDefinition/survey-action";

/// A text with its translations, by BCP 47 language tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Text {
    /// In the Questionnaire's own `language`.
    pub default: String,
    pub translations: BTreeMap<String, String>,
}

impl Text {
    pub fn plain(s: &str) -> Self {
        Self { default: s.to_owned(), translations: BTreeMap::new() }
    }

    /// The text in `language` (or its primary language), else the default.
    pub fn get(&self, language: &str) -> &str {
        let primary = language.split('-').next().unwrap_or(language);
        self.translations
            .get(language)
            .or_else(|| self.translations.get(primary))
            .map_or(self.default.as_str(), String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.default.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemType {
    Group,
    Display,
    Boolean,
    Decimal,
    Integer,
    Date,
    String,
    Text,
    Choice,
    OpenChoice,
}

impl ItemType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "group" => Self::Group,
            "display" => Self::Display,
            "boolean" => Self::Boolean,
            "decimal" => Self::Decimal,
            "integer" => Self::Integer,
            "date" => Self::Date,
            "string" => Self::String,
            "text" => Self::Text,
            "choice" => Self::Choice,
            "open-choice" => Self::OpenChoice,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Display => "display",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::Date => "date",
            Self::String => "string",
            Self::Text => "text",
            Self::Choice => "choice",
            Self::OpenChoice => "open-choice",
        }
    }

    /// Items that take an answer (not groups or display texts).
    pub const fn is_question(self) -> bool {
        !matches!(self, Self::Group | Self::Display)
    }

    pub const fn has_options(self) -> bool {
        matches!(self, Self::Choice | Self::OpenChoice)
    }
}

/// One choice of a choice item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerOption {
    pub code: String,
    pub system: Option<String>,
    pub display: Text,
    /// The ordinalValue extension: what the option counts in scores.
    pub ordinal: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Operator {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "exists")]
    Exists,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "=" => Self::Eq,
            "!=" => Self::Ne,
            "exists" => Self::Exists,
            ">" => Self::Gt,
            "<" => Self::Lt,
            ">=" => Self::Ge,
            "<=" => Self::Le,
            _ => return None,
        })
    }
}

/// The `answer[x]` of an `enableWhen`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Expected {
    Bool(bool),
    Integer(i64),
    Decimal(f64),
    /// `answerDate`, `answerString`, or the code of `answerCoding`.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnableWhen {
    pub question: String,
    pub operator: Operator,
    pub answer: Expected,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub link_id: String,
    pub text: Text,
    pub kind: ItemType,
    pub required: bool,
    pub repeats: bool,
    pub enable_when: Vec<EnableWhen>,
    /// `enableBehavior` = any (else all).
    pub enable_any: bool,
    pub options: Vec<AnswerOption>,
    /// A group's items.
    pub items: Vec<Item>,
    /// `maxLength` of string and text answers.
    pub max_length: Option<usize>,
}

impl Item {
    pub fn option(&self, code: &str) -> Option<&AnswerOption> {
        self.options.iter().find(|o| o.code == code)
    }
}

/// An imported Questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instrument {
    pub url: String,
    pub version: String,
    pub name: Option<String>,
    pub title: Text,
    pub description: Text,
    /// The language of the default texts.
    pub language: String,
    /// Every language with a translation of the title (the default language first).
    pub languages: Vec<String>,
    pub items: Vec<Item>,
    pub scores: Vec<ScoreRule>,
    pub actions: Vec<ActionRule>,
}

impl Instrument {
    /// Every item, depth first in document order.
    pub fn all_items(&self) -> Vec<&Item> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
            for i in items {
                out.push(i);
                walk(&i.items, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    pub fn item(&self, link_id: &str) -> Option<&Item> {
        self.all_items().into_iter().find(|i| i.link_id == link_id)
    }

    /// Whether `language` (or its primary language) has texts; else the default language is shown.
    pub fn speaks(&self, language: &str) -> bool {
        let primary = language.split('-').next().unwrap_or(language);
        self.languages.iter().any(|l| l == language || l == primary)
    }
}
