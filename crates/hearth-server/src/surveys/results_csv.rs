//! The responses of a questionnaire version as CSV, streamed row by row from the store with the
//! filters of the results page: one line per response, its visit, each score and band, and each
//! answer. Text answers that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) are
//! written with a leading `'`.

use std::collections::HashMap;

use bytes::Bytes;
use hearth_core::survey::{Instrument, ItemType, QuestionnaireId, Score};
use hearth_store::surveys::ResponseRow;
use serde_json::Value;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use super::results::ResultsQuery;
use crate::appointments::ExportStream;
use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// The fixed columns; then `score.<name>` and `band.<name>` per score, then `q.<linkId>` per question.
pub const FIXED_COLUMNS: [&str; 12] = [
    "response_id",
    "authored_at",
    "visit_week",
    "language",
    "anonymous",
    "patient_id",
    "appointment_id",
    "appointment_type",
    "practitioner_id",
    "practitioner",
    "location_id",
    "location",
];

/// Names of practitioners and locations, by id.
struct Names {
    practitioners: HashMap<String, String>,
    locations: HashMap<String, String>,
}

/// Everything a line needs: the instrument's scores and questions, and the names.
struct Shape {
    scores: Vec<String>,
    questions: Vec<String>,
    names: Names,
}

impl Shape {
    fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = FIXED_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        for s in &self.scores {
            h.push(format!("score.{s}"));
            h.push(format!("band.{s}"));
        }
        h.extend(self.questions.iter().map(|q| format!("q.{q}")));
        h
    }

    fn line(&self, r: &ResponseRow) -> Vec<String> {
        let id = |v: Option<String>| v.unwrap_or_default();
        let practitioner = r.practitioner_id.map(|p| p.to_string());
        let location = r.location_id.map(|l| l.to_string());
        let name = |map: &HashMap<String, String>, k: &Option<String>| {
            k.as_ref().and_then(|k| map.get(k)).cloned().unwrap_or_default()
        };
        let mut out = vec![
            r.id.to_string(),
            r.authored_at.to_string(),
            r.visit_week.clone(),
            r.language.clone(),
            r.anonymous.to_string(),
            id(r.patient_id.map(|p| p.to_string())),
            id(r.appointment_id.map(|a| a.to_string())),
            r.appointment_type.clone().unwrap_or_default(),
            id(practitioner.clone()),
            name(&self.names.practitioners, &practitioner),
            id(location.clone()),
            name(&self.names.locations, &location),
        ];
        let scores: Vec<Score> = serde_json::from_str(&r.scores).unwrap_or_default();
        for s in &self.scores {
            let score = scores.iter().find(|x| &x.name == s);
            out.push(score.and_then(|x| x.value).map(|v| v.to_string()).unwrap_or_default());
            out.push(score.and_then(|x| x.band.clone()).unwrap_or_default());
        }
        let resource: Value = serde_json::from_str(&r.resource).unwrap_or(Value::Null);
        let mut answers = HashMap::new();
        collect_answers(&resource, &mut answers);
        for q in &self.questions {
            out.push(answers.remove(q.as_str()).map(|v: Vec<String>| v.join("|")).unwrap_or_default());
        }
        out
    }
}

/// linkId → answers (codes, numbers, text), walking nested items.
fn collect_answers<'a>(node: &'a Value, out: &mut HashMap<&'a str, Vec<String>>) {
    let Some(items) = node.get("item").and_then(Value::as_array) else { return };
    for item in items {
        if let (Some(link), Some(answers)) =
            (item.get("linkId").and_then(Value::as_str), item.get("answer").and_then(Value::as_array))
        {
            let values = answers.iter().filter_map(answer_text).collect();
            out.insert(link, values);
        }
        collect_answers(item, out);
    }
}

fn answer_text(a: &Value) -> Option<String> {
    let obj = a.as_object()?;
    let (key, v) = obj.iter().find(|(k, _)| k.starts_with("value"))?;
    Some(match (key.as_str(), v) {
        ("valueCoding", c) => c.get("code").and_then(Value::as_str).unwrap_or_default().to_owned(),
        (_, Value::String(s)) => defuse(s),
        (_, other) => other.to_string(),
    })
}

/// A text a spreadsheet would evaluate gets a leading apostrophe.
pub fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

fn questions(ins: &Instrument) -> Vec<String> {
    ins.all_items()
        .into_iter()
        .filter(|i| !matches!(i.kind, ItemType::Group | ItemType::Display))
        .map(|i| i.link_id.clone())
        .collect()
}

fn csv_line(fields: &[String]) -> Result<Bytes, std::io::Error> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::with_capacity(256));
    w.write_record(fields).map_err(std::io::Error::other)?;
    w.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}

/// The export as a stream of CSV lines (the header first, even with no responses); audited with
/// its filters.
pub async fn export_csv(
    app: &AppState,
    actor: &Actor,
    id: QuestionnaireId,
    query: &ResultsQuery,
) -> Result<ExportStream, AppError> {
    let filter = query.filter()?;
    let q = app.store.questionnaire(actor.org, id).await?;
    let ins = super::instrument(&q)?;
    let names = Names {
        practitioners: app
            .store
            .list_practitioners(actor.org)
            .await?
            .into_iter()
            .map(|p| (p.id.to_string(), format!("{} {}", p.given_name, p.family_name).trim().to_owned()))
            .collect(),
        locations: app
            .store
            .list_locations(actor.org)
            .await?
            .into_iter()
            .map(|l| (l.id.to_string(), l.name))
            .collect(),
    };
    let shape = Shape {
        scores: ins.scores.iter().map(|s| s.name.clone()).collect(),
        questions: questions(&ins),
        names,
    };
    audit::record_read(
        app,
        actor,
        "survey_response.export",
        Some(("questionnaire", id.to_string())),
        audit::snapshot(&serde_json::json!({"export": "csv", "filters": query})),
    )
    .await?;
    let header = tokio_stream::iter(std::iter::once(csv_line(&shape.header())));
    let rows = ReceiverStream::new(app.store.stream_responses(actor.org, id, filter));
    let lines = rows.map(move |r| {
        r.map_err(|e| {
            tracing::error!(error = %e, "export interrupted");
            std::io::Error::other("export interrupted")
        })
        .and_then(|row| csv_line(&shape.line(&row)))
    });
    Ok(Box::pin(header.chain(lines)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_from_nested_items_and_formulas_are_defused() {
        let qr = serde_json::json!({"item": [
            {"linkId": "g", "item": [{"linkId": "a", "answer": [{"valueCoding": {"code": "3"}}, {"valueCoding": {"code": "4"}}]}]},
            {"linkId": "t", "answer": [{"valueString": "=HYPERLINK(\"x\")"}]},
            {"linkId": "b", "answer": [{"valueBoolean": true}]},
            {"linkId": "n", "answer": [{"valueInteger": -2}]}]});
        let mut out = HashMap::new();
        collect_answers(&qr, &mut out);
        assert_eq!(out["a"], ["3", "4"]);
        assert_eq!(out["t"], ["'=HYPERLINK(\"x\")"]);
        assert_eq!(out["b"], ["true"]);
        assert_eq!(out["n"], ["-2"], "numbers are not text");
    }
}
