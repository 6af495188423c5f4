//! The appointment-event wire format (specs/appointments.md §1): field names as EHR integrations of
//! the two-way appointment app send them. Each event is checked on its own; every problem names the
//! field and what was expected.

use hearth_core::TimeZoneName;
use hearth_core::UtcTime;
use hearth_core::appointment::EventKind;
use hearth_core::contact::{Email, Phone};
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::error::FieldError;

const FIELDS: &[&str] = &[
    "event_type",
    "event_datetime_utc",
    "patient_id",
    "patient_first_name",
    "patient_last_name",
    "patient_phone",
    "patient_email",
    "patient_language",
    "provider_id",
    "provider_first_name",
    "provider_last_name",
    "provider_callback_phone",
    "appointment_location",
    "appointment_id",
    "appointment_datetime",
    "appointment_timezone",
    "appointment_type",
    "appointment_duration_minutes",
    "source_message_id",
    "source_system",
];

/// Where the appointment's local time is anchored.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Iana(TimeZoneName),
    /// A fixed offset (no DST rules apply).
    Fixed(jiff::tz::Offset),
    /// None given: the location's zone, else the organization's.
    Default,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// One valid event.
#[derive(Debug, Clone, PartialEq)]
pub struct WireEvent {
    pub kind: EventKind,
    pub event_at: Option<UtcTime>,
    pub patient_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub provider: Option<Provider>,
    pub location: Option<String>,
    pub appointment_id: Option<String>,
    /// Local wall-clock time at the appointment's place, and the zone that anchors it.
    pub local_start: Option<(jiff::civil::DateTime, Zone)>,
    pub appointment_type: Option<String>,
    pub duration_minutes: Option<i32>,
}

/// The source system and the idempotency key of an event, readable even when the event is invalid:
/// `source_message_id`, else a hash of `canonical`, the event's [`canonical`] text.
pub fn identity(obj: &Value, canonical: &str) -> (String, String) {
    let source = obj
        .get("source_system")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("ehr")
        .to_owned();
    let message_id = match obj.get("source_message_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("sha256:{}", hearth_core::audit::to_hex(&sha2::Sha256::digest(canonical.as_bytes()))),
    };
    (source, message_id)
}

/// The event as text with keys sorted (serde_json's map is ordered), for hashing and the history.
pub fn canonical(obj: &Value) -> String {
    obj.to_string()
}

fn text(obj: &Map<String, Value>, field: &str, e: &mut Vec<FieldError>) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        // EHRs send numeric ids as numbers.
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            e.push(FieldError::new(field, "expected a string"));
            None
        }
    }
}

fn required(obj: &Map<String, Value>, field: &str, e: &mut Vec<FieldError>) -> Option<String> {
    let v = text(obj, field, e);
    if v.is_none() && !e.iter().any(|x| x.field == field) {
        e.push(FieldError::new(field, "required"));
    }
    v
}

/// Checks one event. `region` reads phone numbers written without a country code.
pub fn parse(value: &Value, region: &str) -> Result<WireEvent, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new("(event)", "expected a JSON object")]);
    };
    let mut e = Vec::new();
    for key in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        e.push(FieldError::new(
            key.clone(),
            "unknown field; see the appointment-event fields in docs/appointments.md",
        ));
    }
    let kind = required(obj, "event_type", &mut e).and_then(|t| {
        EventKind::parse(&t).map_err(|err| e.push(FieldError::new("event_type", err.to_string()))).ok()
    });
    let event_at = text(obj, "event_datetime_utc", &mut e).and_then(|t| {
        t.parse::<jiff::Timestamp>()
            .map(UtcTime::new)
            .map_err(|_| {
                e.push(FieldError::new(
                    "event_datetime_utc",
                    format!("`{t}` is not an ISO-8601 instant; expected e.g. 2026-03-14T15:09:26Z"),
                ));
            })
            .ok()
    });
    let patient_id = required(obj, "patient_id", &mut e);
    let phone = text(obj, "patient_phone", &mut e).and_then(|p| {
        Phone::parse(&p, region)
            .map(|p| p.as_str().to_owned())
            .map_err(|err| e.push(FieldError::new("patient_phone", err.to_string())))
            .ok()
    });
    let email = text(obj, "patient_email", &mut e).and_then(|m| {
        Email::parse(&m)
            .map(|m| m.as_str().to_owned())
            .map_err(|err| e.push(FieldError::new("patient_email", err.to_string())))
            .ok()
    });
    let per_patient = kind.is_some_and(|k| matches!(k, EventKind::OptedIn | EventKind::OptedOut));
    let (appointment_id, local_start) = if per_patient {
        (text(obj, "appointment_id", &mut e), None)
    } else {
        let id = required(obj, "appointment_id", &mut e);
        let zone = zone(obj, &mut e);
        let start = required(obj, "appointment_datetime", &mut e).and_then(|t| local_time(&t, zone, &mut e));
        (id, start)
    };
    let duration_minutes = match obj.get("appointment_duration_minutes") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(m) if (1..=24 * 60).contains(&m) => i32::try_from(m).ok(),
            _ => {
                e.push(FieldError::new(
                    "appointment_duration_minutes",
                    "expected whole minutes from 1 to 1440",
                ));
                None
            }
        },
    };
    let provider = text(obj, "provider_id", &mut e).map(|id| Provider {
        id,
        first_name: text(obj, "provider_first_name", &mut e),
        last_name: text(obj, "provider_last_name", &mut e),
    });
    let first_name = text(obj, "patient_first_name", &mut e);
    let last_name = text(obj, "patient_last_name", &mut e);
    let language = text(obj, "patient_language", &mut e);
    let location = text(obj, "appointment_location", &mut e);
    let appointment_type = text(obj, "appointment_type", &mut e);
    let _ = text(obj, "provider_callback_phone", &mut e);
    match (kind, patient_id) {
        (Some(kind), Some(patient_id)) if e.is_empty() => Ok(WireEvent {
            kind,
            event_at,
            patient_id,
            first_name,
            last_name,
            phone,
            email,
            language,
            provider,
            location,
            appointment_id,
            local_start,
            appointment_type,
            duration_minutes,
        }),
        _ => Err(e),
    }
}

fn zone(obj: &Map<String, Value>, e: &mut Vec<FieldError>) -> Option<Zone> {
    let Some(z) = text(obj, "appointment_timezone", e) else { return Some(Zone::Default) };
    if let Some(offset) = fixed_offset(&z) {
        return Some(Zone::Fixed(offset));
    }
    if let Ok(tz) = TimeZoneName::parse(&z) {
        return Some(Zone::Iana(tz));
    }
    e.push(FieldError::new(
        "appointment_timezone",
        format!("`{z}` is not an IANA time zone (e.g. America/Los_Angeles) or an offset like -0800"),
    ));
    None
}

/// An offset as `±HH:MM`.
pub(super) fn offset_text(o: jiff::tz::Offset) -> String {
    let secs = o.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", secs.abs() / 3600, secs.abs() % 3600 / 60)
}

/// `±HHMM` or `±HH:MM`.
pub(super) fn fixed_offset(z: &str) -> Option<jiff::tz::Offset> {
    let sign = match z.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// A local wall-clock time. With an offset or `Z` in the string it is an instant: accepted only when
/// no `appointment_timezone` is given (the offset then anchors it).
fn local_time(t: &str, zone: Option<Zone>, e: &mut Vec<FieldError>) -> Option<(jiff::civil::DateTime, Zone)> {
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>()
        && !has_offset(t)
    {
        return zone.map(|z| (dt, z));
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return match zone {
            Some(Zone::Default) => {
                let offset = fixed_offset(offset_part(t)).unwrap_or(jiff::tz::Offset::UTC);
                Some((offset.to_datetime(ts), Zone::Fixed(offset)))
            }
            Some(_) => {
                e.push(FieldError::new(
                    "appointment_datetime",
                    "expected the local wall-clock time without an offset or Z when appointment_timezone is given",
                ));
                None
            }
            None => None,
        };
    }
    e.push(FieldError::new(
        "appointment_datetime",
        format!("`{t}` is not a date and time; expected local time as YYYY-MM-DDTHH:MM[:SS]"),
    ));
    None
}

fn has_offset(t: &str) -> bool {
    t.ends_with('Z')
        || t.ends_with('z')
        || t.get(10..).is_some_and(|rest| rest.contains('+') || rest.contains('-'))
}

fn offset_part(t: &str) -> &str {
    if t.ends_with(['Z', 'z']) {
        return "+0000";
    }
    t.get(10..).and_then(|rest| rest.rfind(['+', '-']).map(|i| &rest[i..])).unwrap_or("+0000")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: &Value) -> Vec<String> {
        parse(v, "US").unwrap_err().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_full_event_parses() {
        let ev = parse(
            &json!({"event_type": "booked", "patient_id": 4711, "patient_phone": "(415) 555-0100",
                "appointment_id": "A-1", "appointment_datetime": "2026-03-08T02:30:00",
                "appointment_timezone": "America/Los_Angeles", "appointment_location": "Main St, Suite 4",
                "provider_id": "P9", "appointment_duration_minutes": "30"}),
            "US",
        )
        .unwrap();
        assert_eq!((ev.kind, ev.patient_id.as_str()), (EventKind::Booked, "4711"));
        assert_eq!(ev.phone.as_deref(), Some("+14155550100"));
        assert_eq!(ev.location.as_deref(), Some("Main St, Suite 4"));
        assert_eq!(ev.duration_minutes, Some(30));
        assert!(matches!(ev.local_start, Some((_, Zone::Iana(_)))));
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            fields(&json!({"event_type": "BOOKT", "patient_phone": "555-CALL-NOW", "appointment_id": "A",
                "appointment_datetime": "2026-02-30T10:00", "appointment_timezone": "Mars/Base", "colour": "red"})),
            [
                "colour",
                "event_type",
                "patient_id",
                "patient_phone",
                "appointment_timezone",
                "appointment_datetime"
            ]
        );
        assert_eq!(
            fields(&json!({"event_type": "BOOKED", "patient_id": "1", "appointment_id": "A",
                "appointment_datetime": "2026-03-01T10:00:00Z", "appointment_timezone": "Europe/Paris"})),
            ["appointment_datetime"]
        );
        assert_eq!(
            fields(&json!({"event_type": "CANCELED", "patient_id": "1"})),
            ["appointment_id", "appointment_datetime"]
        );
        assert_eq!(fields(&json!([1])), ["(event)"]);
        assert_eq!(
            fields(
                &json!({"event_type": "BOOKED", "patient_id": {"x": 1}, "appointment_id": "A", "appointment_datetime": "2026-03-01T10:00", "appointment_duration_minutes": 0})
            ),
            ["patient_id", "appointment_duration_minutes"]
        );
    }

    #[test]
    fn offsets_anchor_the_time_only_without_a_zone() {
        let ev = parse(
            &json!({"event_type": "BOOKED", "patient_id": "1", "appointment_id": "A",
                "appointment_datetime": "2026-03-01T10:00:00-05:00"}),
            "US",
        )
        .unwrap();
        let (dt, zone) = ev.local_start.unwrap();
        assert_eq!(dt.to_string(), "2026-03-01T10:00:00");
        assert_eq!(zone, Zone::Fixed(jiff::tz::Offset::from_hours(-5).unwrap()));
        let fixed = parse(
            &json!({"event_type": "BOOKED", "patient_id": "1", "appointment_id": "A",
                "appointment_datetime": "2026-03-01T10:00", "appointment_timezone": "+0530"}),
            "US",
        )
        .unwrap();
        assert!(matches!(fixed.local_start, Some((_, Zone::Fixed(_)))));
        let opted = parse(&json!({"event_type": "opted-out", "patient_id": "1"}), "US").unwrap();
        assert_eq!((opted.kind, opted.local_start), (EventKind::OptedOut, None));
    }

    #[test]
    fn the_idempotency_key_is_the_message_id_or_the_canonical_hash() {
        let a = json!({"event_type": "BOOKED", "patient_id": "1"});
        let b = json!({"patient_id": "1", "event_type": "BOOKED"});
        assert_eq!(identity(&a, &canonical(&a)), identity(&b, &canonical(&b)), "key order does not matter");
        assert!(identity(&a, &canonical(&a)).1.starts_with("sha256:"));
        assert_eq!(
            identity(&json!({"source_message_id": "m-1", "source_system": "epic"}), ""),
            ("epic".into(), "m-1".into())
        );
    }
}
