//! The patient record as the API takes and shows it (FHIR R4 Patient in spirit, flatter in shape),
//! and its normalization: every value is checked and put in canonical form (E.164 phones, lower-cased
//! e-mails, ISO dates, IANA zones), and every problem is reported with the path of its field.

use hearth_core::contact::{Email, Phone};
use hearth_core::{PatientId, TimeZoneName, UtcTime};
use hearth_store::patients::{PatientFields, PatientRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HumanName {
    /// usual | official | temp | nickname | anonymous | old | maiden
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Required unless `given` or `text` says who the patient is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub family: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
    /// The whole name as written, for names that do not split into family and given (e.g. 张无忌).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl HumanName {
    /// "Given Family", else the text; empty when nothing is recorded.
    pub fn display(&self) -> String {
        let parts: Vec<&str> = self
            .given
            .iter()
            .map(String::as_str)
            .chain([self.family.as_str()])
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() { self.text.clone().unwrap_or_default() } else { parts.join(" ") }
    }

    /// Every word of the name, for name keys and matching.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.family.as_str())
            .chain(self.given.iter().map(String::as_str))
            .chain(self.text.iter().flat_map(|t| t.split_whitespace()))
            .filter(|w| !w.is_empty())
    }

    fn is_empty(&self) -> bool {
        self.family.is_empty() && self.given.is_empty() && self.text.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPoint {
    pub value: String,
    /// home | work | mobile | temp | old
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Set by Hearth on records imported from an EHR when the value is not a usable address (e.g. a
    /// phone number without its country code): the value is kept as given, shown to staff, and never
    /// messaged. Ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// The issuing system, e.g. `urn:oid:2.16.840.1.113883.19.5` or `epic`.
    pub system: String,
    /// For a sensitive system (`patients.sensitive_identifier_systems`) this is shown masked
    /// (`*****2222`); the value itself is stored encrypted.
    pub value: String,
    /// The encrypted value of a sensitive identifier (stored only; never shown, ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub sealed: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    pub payer: String,
    pub member_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A patient record as written by clients. On create `mrn` may be supplied (else Hearth generates
/// one); afterwards it cannot change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrn: Option<String>,
    pub name: HumanName,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<HumanName>,
    /// YYYY-MM-DD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// male | female | other | unknown
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<ContactPoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<ContactPoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
    /// BCP 47 language tag, e.g. `es` or `ar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// sms | whatsapp | voice | email
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_channel: Option<String>,
    /// IANA time zone of the patient, when it differs from the location's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emergency_contacts: Vec<EmergencyContact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insurance: Vec<Insurance>,
    /// Deceased patients are never messaged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deceased: bool,
    /// YYYY-MM-DD, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_date: Option<String>,
}

impl PatientRecord {
    /// Drops what only Hearth sets (`problem` flags, `sealed` values) from a client's record.
    pub fn clear_problems(&mut self) {
        for c in self.phones.iter_mut().chain(self.emails.iter_mut()) {
            c.problem = None;
        }
        for i in &mut self.identifiers {
            i.sealed = None;
        }
    }

    /// Phones Hearth may message: valid, and the patient is alive.
    pub fn usable_phones(&self) -> impl Iterator<Item = &ContactPoint> {
        self.phones.iter().filter(|p| p.problem.is_none() && !self.deceased)
    }
}

/// How strictly a record is checked. Staff and API clients get every problem back as a 422; records
/// from an EHR's FHIR feed are real-world data that Hearth must take as they are: an unusable phone or
/// e-mail is kept and flagged (never messaged), a missing name is allowed, and the same identifier
/// listed twice counts once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Strict,
    Lenient,
}

/// A patient as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientView {
    #[schema(value_type = String, format = Uuid)]
    pub id: PatientId,
    pub mrn: String,
    /// active | inactive | deleted | merged
    pub status: String,
    /// Increases with every change; send it back in `If-Match` to update.
    pub version: i64,
    #[serde(flatten)]
    pub record: PatientRecord,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<UtcTime>,
    /// The survivor, when this record was merged into another.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub merged_into: Option<PatientId>,
}

impl TryFrom<&PatientRow> for PatientView {
    type Error = anyhow::Error;
    fn try_from(r: &PatientRow) -> Result<Self, anyhow::Error> {
        let mut record: PatientRecord = serde_json::from_str(&r.document)?;
        record.mrn = None;
        // Sealed values stay in the store; the view shows the mask.
        for i in &mut record.identifiers {
            i.sealed = None;
        }
        Ok(Self {
            id: r.id,
            mrn: r.mrn.clone(),
            status: r.status.clone(),
            version: r.version,
            record,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            merged_into: r.merged_into,
        })
    }
}

const GENDERS: &[&str] = &["male", "female", "other", "unknown"];
const CHANNELS: &[&str] = &["sms", "whatsapp", "voice", "email"];
const NAME_USES: &[&str] = &["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"];
const PHONE_USES: &[&str] = &["home", "work", "mobile", "temp", "old"];

fn text(errors: &mut Vec<FieldError>, path: &str, value: &str, max: usize) -> String {
    let v = value.trim().to_owned();
    if v.is_empty() || v.chars().count() > max {
        errors.push(FieldError::new(path, format!("expected 1 to {max} characters")));
    }
    v
}

fn one_of(errors: &mut Vec<FieldError>, path: &str, value: &str, allowed: &[&str]) -> String {
    let v = value.trim().to_lowercase();
    if !allowed.contains(&v.as_str()) {
        errors.push(FieldError::new(
            path,
            format!("`{value}` is not allowed; expected one of {}", allowed.join(", ")),
        ));
    }
    v
}

fn name(errors: &mut Vec<FieldError>, path: &str, n: &HumanName) -> HumanName {
    let list = |errors: &mut Vec<FieldError>, part: &str, v: &[String]| {
        v.iter().enumerate().map(|(i, g)| text(errors, &format!("{path}.{part}[{i}]"), g, 100)).collect()
    };
    let out = HumanName {
        use_: n.use_.as_deref().map(|u| one_of(errors, &format!("{path}.use"), u, NAME_USES)),
        family: if n.family.trim().is_empty() {
            String::new()
        } else {
            text(errors, &format!("{path}.family"), &n.family, 200)
        },
        given: list(errors, "given", &n.given),
        prefix: list(errors, "prefix", &n.prefix),
        suffix: list(errors, "suffix", &n.suffix),
        text: n
            .text
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| text(errors, &format!("{path}.text"), t, 300)),
    };
    if out.family.is_empty() && out.given.is_empty() && out.text.is_none() {
        errors.push(FieldError::new(
            format!("{path}.family"),
            "expected a family name (or given names, or the whole name as text)",
        ));
    }
    out
}

/// The name search keys of a (normalized) record: every word of its name and other names.
pub fn name_keys(r: &PatientRecord) -> Vec<String> {
    hearth_core::names::record_keys(std::iter::once(&r.name).chain(&r.other_names).flat_map(HumanName::words))
}

/// Checks and canonicalizes a record; `today` bounds the birth date and `region` reads phone numbers
/// written without a country code.
pub fn normalize(
    r: &PatientRecord,
    today: jiff::civil::Date,
    region: &str,
    strictness: Strictness,
) -> Result<(PatientRecord, PatientFields), Vec<FieldError>> {
    let mut e = Vec::new();
    let lenient = strictness == Strictness::Lenient;
    let mut out = PatientRecord {
        mrn: r.mrn.as_ref().map(|m| m.trim().to_owned()),
        name: if lenient && r.name.is_empty() { HumanName::default() } else { name(&mut e, "name", &r.name) },
        other_names: r
            .other_names
            .iter()
            .enumerate()
            .map(|(i, n)| name(&mut e, &format!("other_names[{i}]"), n))
            .collect(),
        addresses: r.addresses.clone(),
        deceased: r.deceased || r.deceased_date.is_some(),
        ..PatientRecord::default()
    };
    if let Some(mrn) = &out.mrn
        && (mrn.is_empty()
            || mrn.len() > 64
            || !mrn.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    {
        e.push(FieldError::new("mrn", "expected 1 to 64 letters, digits, '-', '_' or '.'"));
    }
    out.birth_date = r.birth_date.as_deref().map(|d| date(&mut e, "birth_date", d, today));
    out.deceased_date = r.deceased_date.as_deref().map(|d| date(&mut e, "deceased_date", d, today));
    out.gender = r.gender.as_deref().map(|g| one_of(&mut e, "gender", g, GENDERS));
    let contacts = contact_points(&mut e, r, region, strictness, &mut out);
    let identifiers = identifiers(&mut e, r, strictness, &mut out);
    preferences(&mut e, r, region, strictness, &mut out);
    if !e.is_empty() {
        return Err(e);
    }
    let mut stored = out.clone();
    stored.mrn = None;
    let fields = PatientFields {
        family_name: out.name.family.clone(),
        given_names: out.name.given.join(" "),
        birth_date: out.birth_date.clone(),
        gender: out.gender.clone(),
        preferred_language: out.preferred_language.clone(),
        preferred_channel: out.preferred_channel.clone(),
        time_zone: out.time_zone.clone(),
        document: serde_json::to_string(&stored).unwrap_or_default(),
        name_keys: name_keys(&out),
        identifiers,
        contacts,
    };
    Ok((out, fields))
}

fn date(e: &mut Vec<FieldError>, path: &str, d: &str, today: jiff::civil::Date) -> String {
    match d.trim().parse::<jiff::civil::Date>() {
        Ok(date) if date > today => e.push(FieldError::new(path, "the date is in the future")),
        Ok(date) if date.year() < 1880 => e.push(FieldError::new(path, "the date is before 1880")),
        Ok(_) => {}
        Err(_) => e.push(FieldError::new(
            path,
            format!("`{d}` is not a real date; expected YYYY-MM-DD, e.g. 1984-02-29"),
        )),
    }
    d.trim().to_owned()
}

fn phone(e: &mut Vec<FieldError>, path: String, raw: &str, region: &str) -> String {
    Phone::parse(raw, region).map_or_else(
        |err| {
            e.push(FieldError::new(path, err.to_string()));
            raw.to_owned()
        },
        |p| p.as_str().to_owned(),
    )
}

/// A checked contact point: the canonical value, or (lenient) the raw value with its problem.
fn contact_point(
    e: &mut Vec<FieldError>,
    path: &str,
    strictness: Strictness,
    raw: &ContactPoint,
    parse: impl Fn(&str) -> Result<String, String>,
) -> Option<ContactPoint> {
    let use_ = raw.use_.as_deref().map(|u| one_of(e, &format!("{path}.use"), u, PHONE_USES));
    match parse(raw.value.trim()) {
        Ok(value) => Some(ContactPoint { value, use_, problem: None }),
        // Kept from an earlier lenient import (clients cannot set `problem`; see `clear_problems`).
        Err(_) if raw.problem.is_some() => Some(ContactPoint { use_, ..raw.clone() }),
        Err(err) if strictness == Strictness::Lenient => {
            let value = raw.value.trim().to_owned();
            (!value.is_empty()).then(|| ContactPoint {
                value,
                use_,
                problem: Some(format!("{err}; kept as given and never messaged")),
            })
        }
        Err(err) => {
            e.push(FieldError::new(format!("{path}.value"), err));
            None
        }
    }
}

/// Phones and e-mails in canonical form; returns the lookup keys (of usable values only).
fn contact_points(
    e: &mut Vec<FieldError>,
    r: &PatientRecord,
    region: &str,
    strictness: Strictness,
    out: &mut PatientRecord,
) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    for (i, p) in r.phones.iter().enumerate() {
        let parse =
            |v: &str| Phone::parse(v, region).map(|p| p.as_str().to_owned()).map_err(|e| e.to_string());
        if let Some(c) = contact_point(e, &format!("phones[{i}]"), strictness, p, parse) {
            if c.problem.is_none() {
                keys.push(("phone", c.value.clone()));
            }
            out.phones.push(c);
        }
    }
    for (i, m) in r.emails.iter().enumerate() {
        let parse = |v: &str| Email::parse(v).map(|m| m.as_str().to_owned()).map_err(|e| e.to_string());
        if let Some(c) = contact_point(e, &format!("emails[{i}]"), strictness, m, parse) {
            if c.problem.is_none() {
                keys.push(("email", c.value.clone()));
            }
            out.emails.push(c);
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

fn identifiers(
    e: &mut Vec<FieldError>,
    r: &PatientRecord,
    strictness: Strictness,
    out: &mut PatientRecord,
) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for (i, id) in r.identifiers.iter().enumerate() {
        // An EHR may send a local identifier without its system; it is kept with an empty one.
        let system = if strictness == Strictness::Lenient && id.system.trim().is_empty() {
            String::new()
        } else {
            text(e, &format!("identifiers[{i}].system"), &id.system, 200)
        };
        let value = text(e, &format!("identifiers[{i}].value"), &id.value, 200);
        if keys.contains(&(system.clone(), value.clone())) {
            if strictness == Strictness::Lenient {
                continue;
            }
            e.push(FieldError::new(format!("identifiers[{i}]"), "the same identifier is listed twice"));
        }
        // A sensitive value is neither unique nor searchable: its key would be the mask.
        if id.sealed.is_none() {
            keys.push((system.clone(), value.clone()));
        }
        out.identifiers.push(Identifier { system, value, sealed: id.sealed.clone() });
    }
    keys
}

/// Language, channel, time zone, emergency contacts and insurance.
fn preferences(
    e: &mut Vec<FieldError>,
    r: &PatientRecord,
    region: &str,
    strictness: Strictness,
    out: &mut PatientRecord,
) {
    out.preferred_language = r.preferred_language.as_deref().map(|l| {
        let l = l.trim().to_owned();
        let ok = l.split('-').enumerate().all(|(i, part)| {
            (if i == 0 { (2..=3).contains(&part.len()) } else { (2..=8).contains(&part.len()) })
                && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !ok {
            e.push(FieldError::new("preferred_language", "expected a language tag such as en, es or ar"));
        }
        // BCP 47's conventional case: language lower, script title (Latn), region upper (nl-NL).
        l.split('-')
            .enumerate()
            .map(|(i, part)| match part.len() {
                2 if i > 0 => part.to_uppercase(),
                4 if i > 0 => part[..1].to_uppercase() + &part[1..].to_lowercase(),
                _ => part.to_lowercase(),
            })
            .collect::<Vec<_>>()
            .join("-")
    });
    out.preferred_channel =
        r.preferred_channel.as_deref().map(|c| one_of(e, "preferred_channel", c, CHANNELS));
    out.time_zone = r.time_zone.as_deref().map(|z| {
        TimeZoneName::parse(z).map_or_else(
            |err| {
                e.push(FieldError::new("time_zone", err.to_string()));
                z.to_owned()
            },
            |tz| tz.as_str().to_owned(),
        )
    });
    for (i, c) in r.emergency_contacts.iter().enumerate() {
        let name = text(e, &format!("emergency_contacts[{i}].name"), &c.name, 200);
        let phone = c.phone.as_deref().map(|p| match strictness {
            // An emergency contact is never messaged; an EHR's number is kept as written.
            Strictness::Lenient => {
                Phone::parse(p, region).map_or_else(|_| p.trim().to_owned(), |p| p.as_str().to_owned())
            }
            Strictness::Strict => phone(e, format!("emergency_contacts[{i}].phone"), p, region),
        });
        out.emergency_contacts.push(EmergencyContact { name, relationship: c.relationship.clone(), phone });
    }
    for (i, ins) in r.insurance.iter().enumerate() {
        let payer = text(e, &format!("insurance[{i}].payer"), &ins.payer, 200);
        let member_id = text(e, &format!("insurance[{i}].member_id"), &ins.member_id, 100);
        out.insurance.push(Insurance { payer, member_id, group: ins.group.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 1, 6)
    }

    fn record(json: serde_json::Value) -> PatientRecord {
        serde_json::from_value(json).unwrap()
    }

    fn fields_of(r: Result<(PatientRecord, PatientFields), Vec<FieldError>>) -> Vec<String> {
        r.err().unwrap().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn values_are_canonicalized() {
        let r = record(serde_json::json!({
            "name": {"family": " Smith ", "given": ["John", "Q"]},
            "birth_date": "1984-02-29", "gender": "Male",
            "phones": [{"value": "(202) 555-0143", "use": "mobile"}], "emails": [{"value": "J.Smith@Example.ORG"}],
            "preferred_language": "ES", "time_zone": "America/Chicago",
            "identifiers": [{"system": "epic", "value": "E123"}]
        }));
        let (out, f) = normalize(&r, today(), "US", Strictness::Strict).unwrap();
        assert_eq!(out.name.family, "Smith");
        assert_eq!(out.gender.as_deref(), Some("male"));
        assert_eq!(out.phones[0].value, "+12025550143");
        assert_eq!(out.emails[0].value, "j.smith@example.org");
        assert_eq!(f.given_names, "John Q");
        assert_eq!(
            f.contacts,
            vec![("email", "j.smith@example.org".into()), ("phone", "+12025550143".into())]
        );
        assert!(!f.document.contains("mrn"));
    }

    #[test]
    fn every_bad_value_is_named_by_its_path() {
        let r = record(serde_json::json!({
            "name": {"family": ""},
            "birth_date": "2023-02-30", "gender": "robot",
            "phones": [{"value": "+12025550143"}, {"value": "555-CALL-NOW"}],
            "emails": [{"value": "nope"}], "preferred_channel": "fax", "time_zone": "Mars/Base",
            "identifiers": [{"system": "epic", "value": "1"}, {"system": "epic", "value": "1"}]
        }));
        assert_eq!(
            fields_of(normalize(&r, today(), "US", Strictness::Strict)),
            [
                "name.family",
                "birth_date",
                "gender",
                "phones[1].value",
                "emails[0].value",
                "identifiers[1]",
                "preferred_channel",
                "time_zone"
            ]
        );
        let future = record(serde_json::json!({"name": {"family": "X"}, "birth_date": "2030-01-01"}));
        assert_eq!(fields_of(normalize(&future, today(), "US", Strictness::Strict)), ["birth_date"]);
    }
}
