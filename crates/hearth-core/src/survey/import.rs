//! Reading a FHIR R4 Questionnaire into an [`Instrument`]. Every problem is reported, each with the
//! JSON path of the offending element and the `linkId` of the item it belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::model::{
    ACTION_URL, AnswerOption, EnableWhen, Expected, ITEM_WEIGHT_URL, Instrument, Item, ItemType, ORDINAL_URL,
    Operator, SCORE_URL, TRANSLATION_URL, Text,
};
use super::scoring::{self, ActionRule, ScoreRule};

/// One problem of an imported Questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportError {
    /// JSON path, e.g. `item[1].item[0].answerOption[2]`.
    pub path: String,
    /// The item the problem belongs to, when it belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_id: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.link_id {
            Some(l) => write!(f, "{} (linkId {l:?}): {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

struct Ctx {
    errors: Vec<ImportError>,
    seen: BTreeSet<String>,
    /// linkId → type, of the items read so far (enableWhen may only name earlier items).
    earlier: BTreeMap<String, ItemType>,
}

impl Ctx {
    fn err(&mut self, path: &str, link_id: Option<&str>, message: impl Into<String>) {
        self.errors.push(ImportError {
            path: path.to_owned(),
            link_id: link_id.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// Reads and checks a Questionnaire.
pub fn import(q: &Value) -> Result<Instrument, Vec<ImportError>> {
    let mut cx = Ctx { errors: Vec::new(), seen: BTreeSet::new(), earlier: BTreeMap::new() };
    let Some(obj) = q.as_object() else {
        cx.err("$", None, "expected a JSON object (a FHIR Questionnaire)");
        return Err(cx.errors);
    };
    if obj.get("resourceType").and_then(Value::as_str) != Some("Questionnaire") {
        cx.err("resourceType", None, "expected \"Questionnaire\"");
    }
    let url = required_str(&mut cx, q, "url");
    if !url.is_empty() && !url.contains(':') {
        cx.err("url", None, "expected an absolute URI, e.g. https://clinic.example/fhir/Questionnaire/visit");
    }
    let version = required_str(&mut cx, q, "version");
    let language = q.get("language").and_then(Value::as_str).unwrap_or("en").to_owned();
    let title = text(&mut cx, q, "title", None);
    let description = text(&mut cx, q, "description", None);
    let items = match q.get("item") {
        Some(Value::Array(list)) if !list.is_empty() => items(&mut cx, list, "item"),
        _ => {
            cx.err("item", None, "expected a non-empty array of items");
            Vec::new()
        }
    };
    let mut languages = vec![language.clone()];
    languages.extend(title.translations.keys().filter(|l| **l != language).cloned());
    let mut instrument = Instrument {
        url,
        version,
        name: q.get("name").and_then(Value::as_str).map(str::to_owned),
        title,
        description,
        language,
        languages,
        items,
        scores: Vec::new(),
        actions: Vec::new(),
    };
    let (scores, actions) = rules(&mut cx, q);
    for (path, e) in scoring::check_rules(&instrument, &scores, &actions) {
        cx.err(&path, None, e);
    }
    instrument.scores = scores;
    instrument.actions = actions;
    if cx.errors.is_empty() { Ok(instrument) } else { Err(cx.errors) }
}

fn required_str(cx: &mut Ctx, v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) | None => {
            cx.err(key, None, "required");
            String::new()
        }
        Some(_) => {
            cx.err(key, None, "expected a string");
            String::new()
        }
    }
}

/// `key` of `v` with its translations from `_key`.
fn text(cx: &mut Ctx, v: &Value, key: &str, link_id: Option<&str>) -> Text {
    let default = match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => {
            cx.err(key, link_id, "expected a string");
            String::new()
        }
    };
    let mut translations = BTreeMap::new();
    let under = format!("_{key}");
    if let Some(exts) = v.get(&under).and_then(|e| e.get("extension")).and_then(Value::as_array) {
        for (i, ext) in exts.iter().enumerate() {
            if ext.get("url").and_then(Value::as_str) != Some(TRANSLATION_URL) {
                continue;
            }
            let part = |name: &str, field: &str| {
                ext.get("extension")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(name)))
                    .and_then(|e| e.get(field))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            match (part("lang", "valueCode"), part("content", "valueString")) {
                (Some(lang), Some(content)) => {
                    translations.insert(lang, content);
                }
                _ => cx.err(
                    &format!("{under}.extension[{i}]"),
                    link_id,
                    "a translation needs `lang` (valueCode) and `content` (valueString)",
                ),
            }
        }
    }
    Text { default, translations }
}

fn items(cx: &mut Ctx, list: &[Value], path: &str) -> Vec<Item> {
    list.iter().enumerate().filter_map(|(i, v)| item(cx, v, &format!("{path}[{i}]"))).collect()
}

#[allow(clippy::too_many_lines)] // one item's checks, in the order of its fields
fn item(cx: &mut Ctx, v: &Value, path: &str) -> Option<Item> {
    let Some(link_id) = v.get("linkId").and_then(Value::as_str).map(str::to_owned) else {
        cx.err(&format!("{path}.linkId"), None, "required");
        return None;
    };
    let l = Some(link_id.as_str());
    if !link_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        || link_id.len() > 64
    {
        cx.err(&format!("{path}.linkId"), l, "use letters, digits, '.', '-' and '_' only (at most 64)");
    }
    if !cx.seen.insert(link_id.clone()) {
        cx.err(&format!("{path}.linkId"), l, "another item has the same linkId");
    }
    let kind_raw = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(kind) = ItemType::parse(kind_raw) else {
        cx.err(
            &format!("{path}.type"),
            l,
            format!(
                "{kind_raw:?} is not supported; expected group, display, boolean, decimal, integer, date, \
                 string, text, choice or open-choice"
            ),
        );
        return None;
    };
    let mut t = text(cx, v, "text", l);
    if t.is_empty() && kind != ItemType::Group {
        cx.err(&format!("{path}.text"), l, "required: the question or text shown");
        t = Text::plain(&link_id);
    }
    let flag = |cx: &mut Ctx, key: &str| match v.get(key) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            cx.err(&format!("{path}.{key}"), l, "expected true or false");
            false
        }
    };
    let required = flag(cx, "required");
    let repeats = flag(cx, "repeats");
    if repeats && !kind.has_options() {
        cx.err(&format!("{path}.repeats"), l, "only choice and open-choice items may repeat");
    }
    if !kind.is_question() && required {
        cx.err(&format!("{path}.required"), l, format!("a {} item takes no answer", kind.as_str()));
    }
    if v.get("answerValueSet").is_some() {
        cx.err(&format!("{path}.answerValueSet"), l, "not supported: list the choices in answerOption");
    }
    let options = match (kind.has_options(), v.get("answerOption")) {
        (true, Some(Value::Array(a))) if !a.is_empty() => options(cx, a, path, &link_id),
        (true, _) => {
            cx.err(&format!("{path}.answerOption"), l, "a choice item needs a non-empty answerOption");
            Vec::new()
        }
        (false, Some(_)) => {
            cx.err(&format!("{path}.answerOption"), l, "only choice and open-choice items have answerOption");
            Vec::new()
        }
        (false, None) => Vec::new(),
    };
    let max_length = v.get("maxLength").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
    let (enable_when, enable_any) = enable_when(cx, v, path, &link_id);
    // Record this item before its children: they may depend on it, it may not depend on them.
    cx.earlier.insert(link_id.clone(), kind);
    let children = match (kind, v.get("item")) {
        (ItemType::Group, Some(Value::Array(a))) if !a.is_empty() => items(cx, a, &format!("{path}.item")),
        (ItemType::Group, _) => {
            cx.err(&format!("{path}.item"), l, "a group needs a non-empty item array");
            Vec::new()
        }
        (_, Some(_)) => {
            cx.err(&format!("{path}.item"), l, "only group items may contain items");
            Vec::new()
        }
        (_, None) => Vec::new(),
    };
    Some(Item {
        link_id,
        text: t,
        kind,
        required,
        repeats,
        enable_when,
        enable_any,
        options,
        items: children,
        max_length,
    })
}

/// The ordinal extension of `v`: `None` without one, `Some(Err(()))` when it has no number.
fn ordinal(v: &Value) -> Option<Result<f64, ()>> {
    let exts = v.get("extension").and_then(Value::as_array)?;
    let e = exts.iter().find(|e| {
        matches!(e.get("url").and_then(Value::as_str), Some(u) if u == ORDINAL_URL || u == ITEM_WEIGHT_URL)
    })?;
    Some(e.get("valueDecimal").or_else(|| e.get("valueInteger")).and_then(Value::as_f64).ok_or(()))
}

fn options(cx: &mut Ctx, list: &[Value], path: &str, link_id: &str) -> Vec<AnswerOption> {
    let l = Some(link_id);
    let mut out: Vec<AnswerOption> = Vec::new();
    for (i, o) in list.iter().enumerate() {
        let p = format!("{path}.answerOption[{i}]");
        let opt = if let Some(c) = o.get("valueCoding") {
            let Some(code) = c.get("code").and_then(Value::as_str) else {
                cx.err(&format!("{p}.valueCoding.code"), l, "required");
                continue;
            };
            let mut display = text(cx, c, "display", l);
            if display.is_empty() {
                display = Text::plain(code);
            }
            AnswerOption {
                code: code.to_owned(),
                system: c.get("system").and_then(Value::as_str).map(str::to_owned),
                display,
                ordinal: None,
            }
        } else if let Some(s) = o.get("valueString").and_then(Value::as_str) {
            AnswerOption {
                code: s.to_owned(),
                system: None,
                display: text(cx, o, "valueString", l),
                ordinal: None,
            }
        } else if let Some(n) = o.get("valueInteger").and_then(Value::as_i64) {
            #[allow(clippy::cast_precision_loss)] // answer values are small
            let ordinal = Some(n as f64);
            AnswerOption { code: n.to_string(), system: None, display: Text::plain(&n.to_string()), ordinal }
        } else {
            cx.err(&p, l, "expected valueCoding, valueString or valueInteger");
            continue;
        };
        let ord = ordinal(o).or_else(|| o.get("valueCoding").and_then(ordinal));
        let opt = match ord {
            Some(Ok(x)) => AnswerOption { ordinal: Some(x), ..opt },
            Some(Err(())) => {
                cx.err(&format!("{p}.extension"), l, "the ordinalValue extension needs a valueDecimal");
                opt
            }
            None => opt,
        };
        if out.iter().any(|x| x.code == opt.code) {
            cx.err(&p, l, format!("the code {:?} is listed twice", opt.code));
        }
        out.push(opt);
    }
    out
}

fn enable_when(cx: &mut Ctx, v: &Value, path: &str, link_id: &str) -> (Vec<EnableWhen>, bool) {
    let l = Some(link_id);
    let list = match v.get("enableWhen") {
        None => return (Vec::new(), false),
        Some(Value::Array(a)) => a,
        Some(_) => {
            cx.err(&format!("{path}.enableWhen"), l, "expected an array");
            return (Vec::new(), false);
        }
    };
    let behavior = v.get("enableBehavior").and_then(Value::as_str);
    let enable_any = match behavior {
        Some("any") => true,
        None if list.len() > 1 => {
            cx.err(
                &format!("{path}.enableBehavior"),
                l,
                "required with more than one enableWhen: all or any",
            );
            false
        }
        Some("all") | None => false,
        Some(other) => {
            cx.err(&format!("{path}.enableBehavior"), l, format!("{other:?}: expected all or any"));
            false
        }
    };
    let mut out = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let p = format!("{path}.enableWhen[{i}]");
        let question = w.get("question").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some(kind) = cx.earlier.get(&question).copied() else {
            cx.err(&format!("{p}.question"), l, format!("{question:?} is not the linkId of an earlier item"));
            continue;
        };
        let op_raw = w.get("operator").and_then(Value::as_str).unwrap_or_default();
        let Some(operator) = Operator::parse(op_raw) else {
            cx.err(
                &format!("{p}.operator"),
                l,
                format!("{op_raw:?}: expected =, !=, exists, >, <, >= or <="),
            );
            continue;
        };
        let answer = if let Some(b) = w.get("answerBoolean").and_then(Value::as_bool) {
            Expected::Bool(b)
        } else if let Some(n) = w.get("answerInteger").and_then(Value::as_i64) {
            Expected::Integer(n)
        } else if let Some(n) = w.get("answerDecimal").and_then(Value::as_f64) {
            Expected::Decimal(n)
        } else if let Some(s) = w.get("answerDate").or_else(|| w.get("answerString")).and_then(Value::as_str)
        {
            Expected::Text(s.to_owned())
        } else if let Some(c) = w.get("answerCoding").and_then(|c| c.get("code")).and_then(Value::as_str) {
            Expected::Text(c.to_owned())
        } else {
            cx.err(&p, l, "expected an answer: answerBoolean, answerInteger, answerDecimal, answerDate, answerString or answerCoding");
            continue;
        };
        if operator == Operator::Exists && !matches!(answer, Expected::Bool(_)) {
            cx.err(&p, l, "`exists` takes answerBoolean");
        }
        let ordered = matches!(operator, Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le);
        let comparable =
            matches!(kind, ItemType::Integer | ItemType::Decimal | ItemType::Date | ItemType::Choice);
        if ordered && !comparable {
            cx.err(
                &p,
                l,
                format!("{op_raw} compares numbers, dates or scored choices, not a {} item", kind.as_str()),
            );
        }
        out.push(EnableWhen { question, operator, answer });
    }
    (out, enable_any)
}

/// Hearth's score and action extensions on the Questionnaire.
fn rules(cx: &mut Ctx, q: &Value) -> (Vec<ScoreRule>, Vec<ActionRule>) {
    let (mut scores, mut actions) = (Vec::new(), Vec::new());
    let Some(exts) = q.get("extension").and_then(Value::as_array) else {
        return (scores, actions);
    };
    for (i, e) in exts.iter().enumerate() {
        let path = format!("extension[{i}]");
        let url = e.get("url").and_then(Value::as_str).unwrap_or_default();
        if url != SCORE_URL && url != ACTION_URL {
            continue;
        }
        let parts: Vec<(String, Value)> = e
            .get("extension")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        let name = p.get("url")?.as_str()?.to_owned();
                        let value = p.as_object()?.iter().find(|(k, _)| k.starts_with("value"))?.1.clone();
                        Some((name, value))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let parsed = if url == SCORE_URL {
            scoring::score_rule(&parts).map(|r| scores.push(r))
        } else {
            scoring::action_rule(&parts).map(|r| actions.push(r))
        };
        if let Err(message) = parsed {
            cx.err(&path, None, message);
        }
    }
    (scores, actions)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value)] // reads better with json! literals
    fn q(items: Value) -> Value {
        json!({"resourceType": "Questionnaire", "url": "https://x.example/q", "version": "1", "item": items})
    }

    #[test]
    fn errors_name_the_link_id_and_the_path() {
        let errors = import(&q(json!([
            {"linkId": "a", "type": "choice", "text": "Pick"},
            {"linkId": "g", "type": "group", "item": [
                {"linkId": "b", "type": "slider", "text": "?"},
                {"linkId": "a", "type": "string", "text": "dup"},
                {"linkId": "c", "type": "integer", "text": "n", "enableWhen": [{"question": "zz", "operator": "=", "answerInteger": 1}]}
            ]}
        ])))
        .unwrap_err();
        let found = |p: &str, l: &str| errors.iter().any(|e| e.path == p && e.link_id.as_deref() == Some(l));
        assert!(found("item[0].answerOption", "a"), "{errors:#?}");
        assert!(found("item[1].item[0].type", "b"), "{errors:#?}");
        assert!(found("item[1].item[1].linkId", "a"), "{errors:#?}");
        assert!(found("item[1].item[2].enableWhen[0].question", "c"), "{errors:#?}");
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].to_string().contains("linkId \"a\""));
    }

    #[test]
    fn url_version_and_resource_type_are_required() {
        let errors = import(&json!({"resourceType": "Patient", "item": []})).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["resourceType", "url", "version", "item"]);
    }

    #[test]
    fn options_ordinals_and_translations_are_read() {
        let ins = import(&q(json!([{
            "linkId": "sat", "type": "choice", "required": true, "text": "How satisfied?",
            "_text": {"extension": [{"url": TRANSLATION_URL, "extension": [
                {"url": "lang", "valueCode": "es"}, {"url": "content", "valueString": "¿Qué tan satisfecho?"}]}]},
            "answerOption": [
                {"valueCoding": {"code": "1", "display": "Poor"}, "extension": [{"url": ORDINAL_URL, "valueDecimal": 1}]},
                {"valueCoding": {"code": "2", "display": "Good",
                  "extension": [{"url": ORDINAL_URL, "valueDecimal": 2}]}}
            ]
        }])))
        .unwrap();
        let item = &ins.items[0];
        assert_eq!(item.text.get("es"), "¿Qué tan satisfecho?");
        assert_eq!(item.text.get("es-MX"), "¿Qué tan satisfecho?");
        assert_eq!(item.text.get("ar"), "How satisfied?");
        assert_eq!(item.options[0].ordinal, Some(1.0));
        assert_eq!(item.options[1].ordinal, Some(2.0));
    }

    #[test]
    fn enable_when_only_names_earlier_items_and_checks_operators() {
        let errors = import(&q(json!([
            {"linkId": "a", "type": "string", "text": "A", "enableWhen": [{"question": "b", "operator": "exists", "answerBoolean": true}]},
            {"linkId": "b", "type": "string", "text": "B", "enableWhen": [{"question": "a", "operator": ">", "answerString": "x"}]},
            {"linkId": "c", "type": "boolean", "text": "C", "enableWhen": [
                {"question": "a", "operator": "exists", "answerBoolean": true},
                {"question": "b", "operator": "~", "answerBoolean": true}]}
        ])))
        .unwrap_err();
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(msgs.iter().any(|m| m.contains("item[0].enableWhen[0].question")), "{msgs:#?}");
        assert!(
            msgs.iter().any(|m| m.contains("item[1].enableWhen[0]") && m.contains("compares")),
            "{msgs:#?}"
        );
        assert!(msgs.iter().any(|m| m.contains("item[2].enableBehavior")), "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.contains("item[2].enableWhen[1].operator")), "{msgs:#?}");
    }

    #[test]
    fn the_official_fhir_example_is_refused_with_named_items() {
        let raw = include_str!(
            "../../../hearth-server/tests/fixtures/fhir-r4-questionnaires/questionnaire-example.json"
        );
        let errors = import(&serde_json::from_str(raw).unwrap()).unwrap_err();
        assert!(errors.iter().any(|e| e.link_id.as_deref() == Some("1.1")), "{errors:#?}");
    }
}
