//! The FHIR R4 resources of a completed response: a `QuestionnaireResponse` whose items follow the
//! Questionnaire's structure, and one `Observation` per computed score.

use serde_json::{Value, json};

use super::answers::{Answer, Answers};
use super::model::{Instrument, Item, ItemType};
use super::scoring::Score;

/// Whom a response is about; an anonymous response names no one. (The appointment is kept in
/// Hearth's tables: R4 `QuestionnaireResponse.basedOn` cannot reference an Appointment.)
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `Patient/<id>`.
    pub subject: Option<String>,
}

fn answer_json(item: &Item, a: &Answer) -> Value {
    match a {
        Answer::Bool(b) => json!({"valueBoolean": b}),
        Answer::Integer(n) => json!({"valueInteger": n}),
        Answer::Decimal(x) => json!({"valueDecimal": x}),
        Answer::Date(d) => json!({"valueDate": d}),
        Answer::String(s) => json!({"valueString": s}),
        Answer::Coding(code) => {
            let mut c = json!({"code": code});
            if let Some(o) = item.option(code) {
                c["display"] = json!(o.display.default);
                if let Some(s) = &o.system {
                    c["system"] = json!(s);
                }
            }
            json!({"valueCoding": c})
        }
    }
}

fn items_json(items: &[Item], answers: &Answers, language: &str) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| match i.kind {
            ItemType::Display => None,
            ItemType::Group => {
                let inner = items_json(&i.items, answers, language);
                (!inner.is_empty()).then(|| json!({"linkId": i.link_id, "item": inner}))
            }
            _ => answers.get(&i.link_id).map(|given| {
                json!({"linkId": i.link_id, "text": i.text.get(language),
                       "answer": given.iter().map(|a| answer_json(i, a)).collect::<Vec<_>>()})
            }),
        })
        .collect()
}

/// The QuestionnaireResponse (status `completed`).
pub fn questionnaire_response(
    ins: &Instrument,
    id: &str,
    answers: &Answers,
    language: &str,
    authored: &str,
    ctx: &Context,
) -> Value {
    let mut r = json!({
        "resourceType": "QuestionnaireResponse",
        "id": id,
        "language": language,
        "questionnaire": format!("{}|{}", ins.url, ins.version),
        "status": "completed",
        "authored": authored,
        "item": items_json(&ins.items, answers, language),
    });
    if let Some(s) = &ctx.subject {
        r["subject"] = json!({"reference": s});
    }
    r
}

/// One Observation per score with a value, derived from the response.
pub fn score_observations(
    ins: &Instrument,
    response_id: &str,
    scores: &[Score],
    issued: &str,
    ctx: &Context,
) -> Vec<Value> {
    scores
        .iter()
        .filter_map(|s| {
            let value = s.value?;
            let mut o = json!({
                "resourceType": "Observation",
                "id": format!("{response_id}-{}", s.name),
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}]}],
                "code": {"coding": [{"system": format!("{}#score", ins.url), "code": s.name}], "text": s.name},
                "effectiveDateTime": issued,
                "issued": issued,
                "valueQuantity": {"value": value},
                "derivedFrom": [{"reference": format!("QuestionnaireResponse/{response_id}")}],
            });
            if let Some(b) = &s.band {
                o["interpretation"] = json!([{"text": b}]);
            }
            if let Some(subject) = &ctx.subject {
                o["subject"] = json!({"reference": subject});
            }
            Some(o)
        })
        .collect()
}
