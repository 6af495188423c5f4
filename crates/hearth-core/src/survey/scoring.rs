//! Scores and follow-up rules. A score is the sum or mean of the ordinals of listed items (or the
//! difference of two scores), with a missing-item policy and bands; an action rule opens follow-up
//! work when a score falls in a band or an item has a given answer.
//!
//! Written in the Questionnaire as Hearth extensions (docs/surveys.md "Scoring"):
//! `survey-score` with parts `name`, `method` (sum | mean | difference), `item` (repeated; for
//! difference: two score names), `missing` (incomplete | prorate), `minAnswered`, `band`
//! (repeated, `label:min-max`); `survey-action` with parts `name`, `score` + `band`, or `item` +
//! `answer`, `owner` and `dueHours`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::answers::{Answer, Answers};
use super::model::{Instrument, ItemType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Sum,
    Mean,
    /// The first listed score minus the second.
    Difference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum Missing {
    /// Any unanswered item leaves the score empty.
    Incomplete,
    /// With at least `min_answered` items answered, the sum is scaled up to all items (a mean is
    /// the mean of the answered ones).
    Prorate { min_answered: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub label: String,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRule {
    pub name: String,
    pub method: Method,
    pub items: Vec<String>,
    pub missing: Missing,
    pub bands: Vec<Band>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    Complete,
    Prorated,
    Incomplete,
}

/// A computed score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub name: String,
    pub value: Option<f64>,
    pub band: Option<String>,
    pub answered: usize,
    pub of: usize,
    pub status: ScoreStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "on")]
pub enum Condition {
    Band { score: String, band: String },
    Answer { item: String, answer: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRule {
    pub name: String,
    pub when: Condition,
    /// A role (`px_coordinator`) or a staff e-mail address.
    pub owner: String,
    pub due_hours: i64,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(parts: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    parts.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn all(parts: &[(String, Value)], name: &str) -> Vec<String> {
    parts.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| text_of(v)).collect()
}

fn band(raw: &str) -> Result<Band, String> {
    let bad = || format!("band {raw:?}: expected label:min-max, e.g. detractor:0-6");
    let (label, range) = raw.rsplit_once(':').ok_or_else(bad)?;
    // The separator is a '-' after the first character (the minimum may itself be negative).
    let (min, max) = range
        .char_indices()
        .filter(|(i, c)| *i > 0 && *c == '-')
        .find_map(|(i, _)| {
            Some((range[..i].trim().parse::<f64>().ok()?, range[i + 1..].trim().parse::<f64>().ok()?))
        })
        .ok_or_else(bad)?;
    if label.trim().is_empty() || min > max {
        return Err(bad());
    }
    Ok(Band { label: label.trim().to_owned(), min, max })
}

/// A `survey-score` extension's parts as a rule.
pub(crate) fn score_rule(parts: &[(String, Value)]) -> Result<ScoreRule, String> {
    let name = get(parts, "name").and_then(text_of).ok_or("survey-score needs a `name`")?;
    let method = match get(parts, "method").and_then(Value::as_str) {
        Some("sum") => Method::Sum,
        Some("mean") => Method::Mean,
        Some("difference") => Method::Difference,
        other => return Err(format!("score {name}: method {other:?}: expected sum, mean or difference")),
    };
    let items = all(parts, "item");
    if items.is_empty() || (method == Method::Difference && items.len() != 2) {
        return Err(format!("score {name}: list the items (for difference: exactly two score names)"));
    }
    let missing = match get(parts, "missing").and_then(Value::as_str) {
        None | Some("incomplete") => Missing::Incomplete,
        Some("prorate") => {
            let n = get(parts, "minAnswered").and_then(Value::as_u64).ok_or(format!(
                "score {name}: prorate needs `minAnswered` (valueInteger), the fewest answered items"
            ))?;
            Missing::Prorate { min_answered: usize::try_from(n).unwrap_or(usize::MAX) }
        }
        Some(other) => {
            return Err(format!("score {name}: missing {other:?}: expected incomplete or prorate"));
        }
    };
    let bands = all(parts, "band").iter().map(|b| band(b)).collect::<Result<Vec<_>, _>>()?;
    Ok(ScoreRule { name, method, items, missing, bands })
}

/// A `survey-action` extension's parts as a rule.
pub(crate) fn action_rule(parts: &[(String, Value)]) -> Result<ActionRule, String> {
    let name = get(parts, "name").and_then(text_of).ok_or("survey-action needs a `name`")?;
    let when = match (get(parts, "score"), get(parts, "band"), get(parts, "item"), get(parts, "answer")) {
        (Some(s), Some(b), None, None) => {
            Condition::Band { score: text_of(s).unwrap_or_default(), band: text_of(b).unwrap_or_default() }
        }
        (None, None, Some(i), Some(a)) => {
            Condition::Answer { item: text_of(i).unwrap_or_default(), answer: text_of(a).unwrap_or_default() }
        }
        _ => return Err(format!("action {name}: give `score` and `band`, or `item` and `answer`")),
    };
    let owner = get(parts, "owner").and_then(text_of).ok_or(format!("action {name}: `owner` is required"))?;
    let due_hours = get(parts, "dueHours")
        .and_then(Value::as_i64)
        .filter(|h| *h > 0)
        .ok_or(format!("action {name}: `dueHours` (a positive valueInteger) is required"))?;
    Ok(ActionRule { name, when, owner, due_hours })
}

/// Problems of score and action rules against the items: (path, message).
pub(crate) fn check_rules(
    ins: &Instrument,
    scores: &[ScoreRule],
    actions: &[ActionRule],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, s) in scores.iter().enumerate() {
        let path = format!("extension(survey-score {})", s.name);
        if scores[..i].iter().any(|o| o.name == s.name) {
            out.push((path.clone(), "another score has the same name".to_owned()));
        }
        for l in &s.items {
            if s.method == Method::Difference {
                if !scores[..i].iter().any(|o| &o.name == l) {
                    out.push((path.clone(), format!("{l:?} is not an earlier score")));
                }
                continue;
            }
            match ins.item(l) {
                None => out.push((path.clone(), format!("{l:?} is not the linkId of an item"))),
                Some(item) if item.kind.has_options() && item.options.iter().any(|o| o.ordinal.is_none()) => {
                    out.push((path.clone(), format!("item {l:?} has options without an ordinalValue")));
                }
                Some(item)
                    if !item.kind.has_options()
                        && !matches!(item.kind, ItemType::Integer | ItemType::Decimal) =>
                {
                    out.push((
                        path.clone(),
                        format!(
                            "item {l:?} is a {} item; scores take scored choices or numbers",
                            item.kind.as_str()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    for a in actions {
        let path = format!("extension(survey-action {})", a.name);
        match &a.when {
            Condition::Band { score, band } => match scores.iter().find(|s| &s.name == score) {
                None => out.push((path, format!("{score:?} is not a score"))),
                Some(s) if !s.bands.iter().any(|b| &b.label == band) => {
                    out.push((path, format!("score {score:?} has no band {band:?}")));
                }
                Some(_) => {}
            },
            Condition::Answer { item, .. } if ins.item(item).is_none() => {
                out.push((path, format!("{item:?} is not the linkId of an item")));
            }
            Condition::Answer { .. } => {}
        }
    }
    out
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Computes every score of the instrument from (pruned) answers.
pub fn score(ins: &Instrument, answers: &Answers) -> Vec<Score> {
    let mut out: Vec<Score> = Vec::new();
    for rule in &ins.scores {
        let s = if rule.method == Method::Difference {
            let v = |n: &str| out.iter().find(|s| s.name == n).and_then(|s| s.value);
            let value = match (v(&rule.items[0]), v(&rule.items[1])) {
                (Some(a), Some(b)) => Some(round(a - b)),
                _ => None,
            };
            let status = if value.is_some() { ScoreStatus::Complete } else { ScoreStatus::Incomplete };
            Score { name: rule.name.clone(), value, band: None, answered: 0, of: 2, status }
        } else {
            items_score(ins, rule, answers)
        };
        let band = s
            .value
            .and_then(|v| rule.bands.iter().find(|b| v >= b.min && v <= b.max))
            .map(|b| b.label.clone());
        out.push(Score { band, ..s });
    }
    out
}

#[allow(clippy::cast_precision_loss)] // item counts are small
fn items_score(ins: &Instrument, rule: &ScoreRule, answers: &Answers) -> Score {
    let values: Vec<f64> = rule
        .items
        .iter()
        .filter_map(|l| {
            let item = ins.item(l)?;
            let given = answers.get(l)?;
            let ords: Vec<f64> = given.iter().filter_map(|a| a.ordinal(item)).collect();
            (!ords.is_empty()).then(|| ords.iter().sum())
        })
        .collect();
    let (answered, of) = (values.len(), rule.items.len());
    let total: f64 = values.iter().sum();
    let (value, status) = match rule.missing {
        _ if answered == of => {
            let v = if rule.method == Method::Mean { total / of as f64 } else { total };
            (Some(round(v)), ScoreStatus::Complete)
        }
        Missing::Prorate { min_answered } if answered >= min_answered && answered > 0 => {
            let mean = total / answered as f64;
            let v = if rule.method == Method::Mean { mean } else { mean * of as f64 };
            (Some(round(v)), ScoreStatus::Prorated)
        }
        _ => (None, ScoreStatus::Incomplete),
    };
    Score { name: rule.name.clone(), value, band: None, answered, of, status }
}

/// The action rules that fire for these answers and scores.
pub fn triggered_actions<'a>(
    ins: &'a Instrument,
    answers: &Answers,
    scores: &[Score],
) -> Vec<&'a ActionRule> {
    ins.actions
        .iter()
        .filter(|a| match &a.when {
            Condition::Band { score, band } => {
                scores.iter().any(|s| &s.name == score && s.band.as_deref() == Some(band.as_str()))
            }
            Condition::Answer { item, answer } => answers.get(item).is_some_and(|given| {
                given
                    .iter()
                    .any(|g| g.form_value() == *answer || matches!(g, Answer::Coding(c) if c == answer))
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::survey::{import, model::SCORE_URL, parse_form};

    fn opts(n: i64) -> Value {
        Value::Array(
            (1..=n)
                .map(|i| {
                    json!({"valueCoding": {"code": i.to_string()},
            "extension": [{"url": crate::survey::ORDINAL_URL, "valueDecimal": i}]})
                })
                .collect(),
        )
    }

    fn ins(missing: &str) -> Instrument {
        let items: Vec<Value> = (1..=4).map(|i| json!({"linkId": format!("h{i}"), "type": "choice", "text": "?", "answerOption": opts(8)})).collect();
        let mut items = items;
        items.push(json!({"linkId": "nps", "type": "integer", "text": "0-10"}));
        import(&json!({"resourceType": "Questionnaire", "url": "https://x.example/q", "version": "1", "item": items,
            "extension": [
                {"url": SCORE_URL, "extension": [{"url": "name", "valueString": "total"}, {"url": "method", "valueCode": "sum"},
                    {"url": "item", "valueString": "h1"}, {"url": "item", "valueString": "h2"}, {"url": "item", "valueString": "h3"}, {"url": "item", "valueString": "h4"},
                    {"url": "missing", "valueCode": missing}, {"url": "minAnswered", "valueInteger": 3}]},
                {"url": SCORE_URL, "extension": [{"url": "name", "valueString": "first"}, {"url": "method", "valueCode": "mean"},
                    {"url": "item", "valueString": "h1"}, {"url": "item", "valueString": "h2"}]},
                {"url": SCORE_URL, "extension": [{"url": "name", "valueString": "gap"}, {"url": "method", "valueCode": "difference"},
                    {"url": "item", "valueString": "total"}, {"url": "item", "valueString": "first"}]},
                {"url": SCORE_URL, "extension": [{"url": "name", "valueString": "nps"}, {"url": "method", "valueCode": "sum"},
                    {"url": "item", "valueString": "nps"}, {"url": "band", "valueString": "detractor:0-6"},
                    {"url": "band", "valueString": "passive:7-8"}, {"url": "band", "valueString": "promoter:9-10"}]},
                {"url": crate::survey::model::ACTION_URL, "extension": [{"url": "name", "valueString": "call back"},
                    {"url": "score", "valueString": "nps"}, {"url": "band", "valueString": "detractor"},
                    {"url": "owner", "valueString": "px_coordinator"}, {"url": "dueHours", "valueInteger": 48}]}
            ]}))
        .unwrap()
    }

    fn answers(ins: &Instrument, pairs: &[(&str, &str)]) -> Answers {
        let f: Vec<(String, String)> =
            pairs.iter().map(|(a, b)| (format!("q.{a}"), (*b).to_owned())).collect();
        parse_form(ins, &f).0
    }

    fn value(scores: &[Score], name: &str) -> (Option<f64>, ScoreStatus, Option<String>) {
        let s = scores.iter().find(|s| s.name == name).unwrap();
        (s.value, s.status, s.band.clone())
    }

    #[test]
    fn sums_means_and_differences() {
        let i = ins("incomplete");
        let s = score(&i, &answers(&i, &[("h1", "8"), ("h2", "6"), ("h3", "5"), ("h4", "1"), ("nps", "9")]));
        assert_eq!(value(&s, "total"), (Some(20.0), ScoreStatus::Complete, None));
        assert_eq!(value(&s, "first"), (Some(7.0), ScoreStatus::Complete, None));
        assert_eq!(value(&s, "gap").0, Some(13.0));
        assert_eq!(value(&s, "nps"), (Some(9.0), ScoreStatus::Complete, Some("promoter".into())));
    }

    #[test]
    fn missing_items_leave_the_score_incomplete_or_prorate_it() {
        let i = ins("incomplete");
        let s = score(&i, &answers(&i, &[("h1", "8"), ("h2", "6"), ("h3", "4")]));
        assert_eq!(value(&s, "total"), (None, ScoreStatus::Incomplete, None));
        assert_eq!(value(&s, "gap").0, None);
        let i = ins("prorate");
        let s = score(&i, &answers(&i, &[("h1", "8"), ("h2", "6"), ("h3", "4")]));
        assert_eq!(value(&s, "total"), (Some(24.0), ScoreStatus::Prorated, None));
        let s = score(&i, &answers(&i, &[("h1", "8"), ("h2", "6")]));
        assert_eq!(value(&s, "total").1, ScoreStatus::Incomplete, "fewer than minAnswered");
    }

    #[test]
    fn nps_bands_and_the_detractor_action() {
        let i = ins("incomplete");
        for (n, band) in
            [("0", "detractor"), ("6", "detractor"), ("7", "passive"), ("8", "passive"), ("10", "promoter")]
        {
            let a = answers(&i, &[("nps", n)]);
            let s = score(&i, &a);
            assert_eq!(value(&s, "nps").2.as_deref(), Some(band), "{n}");
            assert_eq!(triggered_actions(&i, &a, &s).len(), usize::from(band == "detractor"));
        }
    }

    #[test]
    fn rules_naming_unknown_items_or_bands_are_refused() {
        let bad = json!({"resourceType": "Questionnaire", "url": "https://x.example/q", "version": "1",
            "item": [{"linkId": "t", "type": "string", "text": "?"}],
            "extension": [{"url": SCORE_URL, "extension": [{"url": "name", "valueString": "s"}, {"url": "method", "valueCode": "sum"},
                {"url": "item", "valueString": "t"}, {"url": "item", "valueString": "nope"}, {"url": "band", "valueString": "x:9-1"}]}]});
        let e = import(&bad).unwrap_err();
        assert!(e[0].message.contains("band"), "{e:#?}");
        let bad2 = json!({"resourceType": "Questionnaire", "url": "https://x.example/q", "version": "1",
            "item": [{"linkId": "t", "type": "string", "text": "?"}],
            "extension": [{"url": SCORE_URL, "extension": [{"url": "name", "valueString": "s"}, {"url": "method", "valueCode": "sum"},
                {"url": "item", "valueString": "t"}, {"url": "item", "valueString": "nope"}]}]});
        let msgs: Vec<String> = import(&bad2).unwrap_err().iter().map(|e| e.message.clone()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("string item")) && msgs.iter().any(|m| m.contains("\"nope\"")),
            "{msgs:#?}"
        );
    }
}
