//! A respondent's answers: read from a form's fields, kept only for enabled items, checked against
//! the instrument. Field names are `q.<linkId>` (plus `q.<linkId>.other` for an open-choice's own
//! text); a repeating choice sends its field once per ticked option.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{EnableWhen, Expected, Instrument, Item, ItemType, Operator};

/// One answer to an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Bool(bool),
    Integer(i64),
    Decimal(f64),
    /// YYYY-MM-DD
    Date(String),
    String(String),
    /// A listed option, by code.
    Coding(String),
}

impl Answer {
    /// What the answer counts in a score: the option's ordinal, or the number itself.
    pub fn ordinal(&self, item: &Item) -> Option<f64> {
        match self {
            Answer::Coding(code) => item.option(code).and_then(|o| o.ordinal),
            Answer::Integer(n) => {
                #[allow(clippy::cast_precision_loss)] // answers are small numbers
                Some(*n as f64)
            }
            Answer::Decimal(x) => Some(*x),
            _ => None,
        }
    }

    /// The answer as the form sends it back (to re-fill a form).
    pub fn form_value(&self) -> String {
        match self {
            Answer::Bool(b) => b.to_string(),
            Answer::Integer(n) => n.to_string(),
            Answer::Decimal(x) => x.to_string(),
            Answer::Date(s) | Answer::String(s) | Answer::Coding(s) => s.clone(),
        }
    }
}

/// Answers by linkId, each item's in the order given.
pub type Answers = BTreeMap<String, Vec<Answer>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerErrorKind {
    Required,
    NotANumber,
    NotAWholeNumber,
    NotADate,
    UnknownOption,
    TooLong,
    OneAnswerOnly,
}

impl AnswerErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::NotANumber => "not_a_number",
            Self::NotAWholeNumber => "not_a_whole_number",
            Self::NotADate => "not_a_date",
            Self::UnknownOption => "unknown_option",
            Self::TooLong => "too_long",
            Self::OneAnswerOnly => "one_answer_only",
        }
    }
}

/// A problem with the answer to one item (the page words it in the respondent's language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerError {
    pub link_id: String,
    pub kind: AnswerErrorKind,
}

/// The longest free-text answer kept when the item sets no `maxLength`.
pub const DEFAULT_MAX_TEXT: usize = 4000;

/// Reads the answers of a form post. Fields of unknown items and empty fields are ignored; values
/// that do not fit their item are returned as errors (and also kept as typed, so the form shows them
/// again).
pub fn parse_form(
    ins: &Instrument,
    fields: &[(String, String)],
) -> (Answers, Vec<AnswerError>, BTreeMap<String, Vec<String>>) {
    let mut answers = Answers::new();
    let mut errors = Vec::new();
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in fields {
        let Some(link_id) = name.strip_prefix("q.") else { continue };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        raw.entry(link_id.to_owned()).or_default().push(value.to_owned());
    }
    for item in ins.all_items() {
        if !item.kind.is_question() {
            continue;
        }
        let Some(values) = raw.get(&item.link_id) else { continue };
        let other = raw.get(&format!("{}.other", item.link_id)).and_then(|v| v.first());
        let mut err = |kind| errors.push(AnswerError { link_id: item.link_id.clone(), kind });
        if values.len() > 1 && !item.repeats {
            err(AnswerErrorKind::OneAnswerOnly);
            continue;
        }
        let mut out = Vec::new();
        for v in values {
            match one(item, v, other) {
                Ok(a) => out.push(a),
                Err(kind) => err(kind),
            }
        }
        if !out.is_empty() {
            answers.insert(item.link_id.clone(), out);
        }
    }
    (answers, errors, raw)
}

fn one(item: &Item, v: &str, other: Option<&String>) -> Result<Answer, AnswerErrorKind> {
    let max = item.max_length.unwrap_or(DEFAULT_MAX_TEXT);
    match item.kind {
        ItemType::Boolean => match v {
            "true" | "yes" => Ok(Answer::Bool(true)),
            "false" | "no" => Ok(Answer::Bool(false)),
            _ => Err(AnswerErrorKind::UnknownOption),
        },
        ItemType::Integer => v.parse().map(Answer::Integer).map_err(|_| {
            if v.replace(',', ".").parse::<f64>().is_ok() {
                AnswerErrorKind::NotAWholeNumber
            } else {
                AnswerErrorKind::NotANumber
            }
        }),
        ItemType::Decimal => v
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Answer::Decimal)
            .ok_or(AnswerErrorKind::NotANumber),
        ItemType::Date => jiff::civil::Date::strptime("%Y-%m-%d", v)
            .map(|d| Answer::Date(d.to_string()))
            .map_err(|_| AnswerErrorKind::NotADate),
        ItemType::String | ItemType::Text => {
            if v.chars().count() > max {
                Err(AnswerErrorKind::TooLong)
            } else {
                Ok(Answer::String(v.to_owned()))
            }
        }
        ItemType::Choice => {
            item.option(v).map(|o| Answer::Coding(o.code.clone())).ok_or(AnswerErrorKind::UnknownOption)
        }
        ItemType::OpenChoice => match (item.option(v), other) {
            (Some(o), _) => Ok(Answer::Coding(o.code.clone())),
            (None, Some(text)) if v == "other" => {
                if text.chars().count() > max {
                    Err(AnswerErrorKind::TooLong)
                } else {
                    Ok(Answer::String(text.clone()))
                }
            }
            (None, _) => Err(AnswerErrorKind::UnknownOption),
        },
        ItemType::Group | ItemType::Display => Err(AnswerErrorKind::UnknownOption),
    }
}

fn holds(cond: &EnableWhen, given: Option<&Vec<Answer>>, source: Option<&Item>) -> bool {
    let answered = given.is_some_and(|a| !a.is_empty());
    if cond.operator == Operator::Exists {
        return matches!(cond.answer, Expected::Bool(b) if b == answered);
    }
    let Some(given) = given else { return false };
    let any =
        given.iter().any(|a| compare(a, &cond.answer, source).is_some_and(|o| op_holds(cond.operator, o)));
    if cond.operator == Operator::Ne {
        // != holds when no answer equals the value.
        return answered
            && !given.iter().any(|a| compare(a, &cond.answer, source) == Some(std::cmp::Ordering::Equal));
    }
    any
}

fn op_holds(op: Operator, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Operator::Eq => o == Equal,
        Operator::Ne => o != Equal,
        Operator::Gt => o == Greater,
        Operator::Lt => o == Less,
        Operator::Ge => o != Less,
        Operator::Le => o != Greater,
        Operator::Exists => false,
    }
}

/// How `a` compares with the expected value (numbers numerically, a scored choice by its ordinal for
/// `<` and `>`, text as text).
fn compare(a: &Answer, e: &Expected, item: Option<&Item>) -> Option<std::cmp::Ordering> {
    #[allow(clippy::cast_precision_loss)]
    let num = |e: &Expected| match e {
        Expected::Integer(n) => Some(*n as f64),
        Expected::Decimal(x) => Some(*x),
        Expected::Text(s) => s.parse().ok(),
        Expected::Bool(_) => None,
    };
    match (a, e) {
        (Answer::Bool(x), Expected::Bool(y)) => Some(x.cmp(y)),
        (Answer::Coding(code), Expected::Text(t)) if code == t => Some(std::cmp::Ordering::Equal),
        (Answer::Coding(code), _) => {
            let ord =
                item.and_then(|i| i.option(code)).and_then(|o| o.ordinal).or_else(|| code.parse().ok())?;
            ord.partial_cmp(&num(e)?)
        }
        (Answer::Integer(_) | Answer::Decimal(_), _) => a.ordinal(item?)?.partial_cmp(&num(e)?),
        (Answer::Date(s) | Answer::String(s), Expected::Text(t)) => Some(s.as_str().cmp(t.as_str())),
        _ => None,
    }
}

/// Whether `item` is enabled by `answers` (its own enableWhen only).
pub fn enabled(ins: &Instrument, item: &Item, answers: &Answers) -> bool {
    if item.enable_when.is_empty() {
        return true;
    }
    let mut results =
        item.enable_when.iter().map(|c| holds(c, answers.get(&c.question), ins.item(&c.question)));
    if item.enable_any { results.any(|r| r) } else { results.all(|r| r) }
}

/// Drops the answers of disabled items (and of everything inside a disabled group), in document
/// order, so an item enabled only by a dropped answer is dropped too; returns the linkIds of the
/// enabled questions.
pub fn prune(ins: &Instrument, answers: &mut Answers) -> Vec<String> {
    fn walk(ins: &Instrument, items: &[Item], on: bool, answers: &mut Answers, out: &mut Vec<String>) {
        for i in items {
            let here = on && enabled(ins, i, answers);
            if here && i.kind.is_question() {
                out.push(i.link_id.clone());
            }
            if !here {
                answers.remove(&i.link_id);
            }
            walk(ins, &i.items, here, answers, out);
        }
    }
    let mut out = Vec::new();
    walk(ins, &ins.items, true, answers, &mut out);
    out
}

/// Prunes `answers` and reports every enabled required question left unanswered.
pub fn check(ins: &Instrument, answers: &mut Answers) -> Vec<AnswerError> {
    let on = prune(ins, answers);
    on.into_iter()
        .filter(|l| ins.item(l).is_some_and(|i| i.required) && !answers.contains_key(l))
        .map(|link_id| AnswerError { link_id, kind: AnswerErrorKind::Required })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::survey::import;

    fn ins() -> Instrument {
        import(&json!({"resourceType": "Questionnaire", "url": "https://x.example/q", "version": "1", "item": [
            {"linkId": "nps", "type": "integer", "text": "0-10", "required": true},
            {"linkId": "why", "type": "text", "text": "Why so low?", "required": true,
             "enableWhen": [{"question": "nps", "operator": "<", "answerInteger": 7}]},
            {"linkId": "contact", "type": "boolean", "text": "Contact me?"},
            {"linkId": "how", "type": "group", "enableWhen": [{"question": "contact", "operator": "=", "answerBoolean": true}],
             "item": [{"linkId": "via", "type": "choice", "repeats": true, "required": true, "text": "How?",
                       "answerOption": [{"valueCoding": {"code": "sms"}}, {"valueCoding": {"code": "phone"}}]}]},
            {"linkId": "when", "type": "date", "text": "Visit date"}
        ]}))
        .unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn values_are_typed_and_bad_ones_reported() {
        let (a, e, _) = parse_form(
            &ins(),
            &form(&[("q.nps", "x"), ("q.when", "2026-02-30"), ("q.via", "fax"), ("q.contact", "true")]),
        );
        let kinds: Vec<(&str, AnswerErrorKind)> = e.iter().map(|e| (e.link_id.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("nps", AnswerErrorKind::NotANumber),
                ("via", AnswerErrorKind::UnknownOption),
                ("when", AnswerErrorKind::NotADate)
            ]
        );
        assert_eq!(a["contact"], [Answer::Bool(true)]);
    }

    #[test]
    fn enable_when_decides_what_is_required_and_kept() {
        let i = ins();
        let (mut a, _, _) = parse_form(
            &i,
            &form(&[("q.nps", "9"), ("q.why", "kept?"), ("q.contact", "false"), ("q.via", "sms")]),
        );
        assert!(check(&i, &mut a).is_empty());
        assert!(
            !a.contains_key("why") && !a.contains_key("via"),
            "answers of disabled items are dropped: {a:?}"
        );
        let (mut a, _, _) = parse_form(&i, &form(&[("q.nps", "3"), ("q.contact", "true")]));
        let missing: Vec<String> = check(&i, &mut a).into_iter().map(|e| e.link_id).collect();
        assert_eq!(missing, ["why", "via"]);
        let (mut a, _, _) = parse_form(
            &i,
            &form(&[
                ("q.nps", "3"),
                ("q.why", "wait"),
                ("q.contact", "true"),
                ("q.via", "sms"),
                ("q.via", "phone"),
            ]),
        );
        assert!(check(&i, &mut a).is_empty());
        assert_eq!(a["via"].len(), 2);
    }

    #[test]
    fn one_answer_only_unless_the_item_repeats() {
        let (_, e, _) = parse_form(&ins(), &form(&[("q.nps", "3"), ("q.nps", "4")]));
        assert_eq!(e[0].kind, AnswerErrorKind::OneAnswerOnly);
    }
}
