//! The bodies written back to the EHR: the signed JSON webhook and the FHIR R4 `AppointmentResponse`.
//! Both carry the EHR's ids (the appointment's `source` and `external_id`, the patient's identifier
//! in that system, the practitioner's external id) and Hearth's, and the request id that lets the
//! EHR recognise a repeat. Neither carries the reply's text or the phone number.

use hearth_core::messaging::reply::ReplyKind;
use serde_json::{Value, json};

/// What a request says.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub request_id: String,
    pub kind: ReplyKind,
    pub source: &'a str,
    pub appointment_external_id: &'a str,
    pub appointment_id: String,
    pub patient_ehr_id: Option<String>,
    pub patient_id: String,
    pub provider_id: Option<String>,
    pub received_at: String,
    pub channel: &'a str,
    pub reply_id: String,
}

/// `Confirm` or `Cancel`.
pub fn event_type(kind: ReplyKind) -> &'static str {
    if kind == ReplyKind::Confirm { "Confirm" } else { "Cancel" }
}

/// The JSON webhook body (docs/replies.md "Write-back to the EHR").
pub fn webhook(f: &Facts<'_>) -> Value {
    json!({
        "event_type": event_type(f.kind),
        "request_id": f.request_id,
        "appointment_id": f.appointment_external_id,
        "appointment_source": f.source,
        "hearth_appointment_id": f.appointment_id,
        "patient_id": f.patient_ehr_id,
        "hearth_patient_id": f.patient_id,
        "provider_id": f.provider_id,
        "received_at": f.received_at,
        "channel": f.channel,
        "reply_id": f.reply_id,
    })
}

/// Whether `s` can be a FHIR logical id (`[A-Za-z0-9\-\.]{1,64}`).
fn fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// A Reference to `kind/id` when `id` is a valid logical id, always with the business identifier.
fn reference(kind: &str, system: &str, value: &str) -> Value {
    let mut r = json!({ "type": kind, "identifier": { "system": system, "value": value } });
    if fhir_id(value) {
        r["reference"] = Value::String(format!("{kind}/{value}"));
    }
    r
}

/// The FHIR R4 `AppointmentResponse`: `accepted` for a confirmation, `declined` for a cancel request.
pub fn appointment_response(f: &Facts<'_>) -> Value {
    let status = if f.kind == ReplyKind::Confirm { "accepted" } else { "declined" };
    let what = if f.kind == ReplyKind::Confirm { "confirmed" } else { "asked to cancel" };
    let mut r = json!({
        "resourceType": "AppointmentResponse",
        "identifier": [{ "system": "urn:hearth:ehr-request", "value": f.request_id }],
        "appointment": reference("Appointment", f.source, f.appointment_external_id),
        "participantStatus": status,
        "comment": format!("The patient {what} by {} reply received {}.", f.channel, f.received_at),
    });
    if let Some(p) = &f.patient_ehr_id {
        r["actor"] = reference("Patient", f.source, p);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: ReplyKind, appt: &str) -> Facts<'_> {
        Facts {
            request_id: "r1".into(),
            kind,
            source: "epic",
            appointment_external_id: appt,
            appointment_id: "a1".into(),
            patient_ehr_id: Some("P-9".into()),
            patient_id: "p1".into(),
            provider_id: None,
            received_at: "2026-01-06T09:00:00Z".into(),
            channel: "sms",
            reply_id: "in1".into(),
        }
    }

    #[test]
    fn a_cancel_is_declined_and_never_a_confirmation() {
        let c = webhook(&facts(ReplyKind::Cancel, "A-1"));
        assert_eq!(c["event_type"], "Cancel");
        let r = appointment_response(&facts(ReplyKind::Cancel, "A-1"));
        assert_eq!(r["participantStatus"], "declined");
        assert_eq!(appointment_response(&facts(ReplyKind::Confirm, "A-1"))["participantStatus"], "accepted");
    }

    #[test]
    fn references_are_logical_only_for_valid_ids() {
        let r = appointment_response(&facts(ReplyKind::Confirm, "A-1"));
        assert_eq!(r["appointment"]["reference"], "Appointment/A-1");
        assert_eq!(r["actor"]["reference"], "Patient/P-9");
        let r = appointment_response(&facts(ReplyKind::Confirm, "A 1/2"));
        assert!(r["appointment"].get("reference").is_none());
        assert_eq!(r["appointment"]["identifier"]["value"], "A 1/2");
    }
}
