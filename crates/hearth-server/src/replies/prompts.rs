//! Which prompt a reply answers: the most recent reminder or booking notice sent (or delivered) to
//! the number, within `replies.prompt_max_age_days`, about an appointment that is still open and has
//! not started yet (until `replies.cutoff_minutes_before_start` before its start). A message's
//! appointment is its cause: (`appointment`, id), or (`appointments`, "id1,id2") for a combined
//! reminder, which names them all.

use hearth_core::messaging::Purpose;
use hearth_core::{AppointmentId, OrgId, PatientId, UtcTime};
use hearth_store::StoreError;
use hearth_store::appointments::AppointmentRow;
use hearth_store::replies::PromptRow;

use crate::error::AppError;
use crate::state::AppState;

/// The purposes of messages that ask the patient to confirm or cancel.
pub const PROMPT_PURPOSES: &[&str] = &[
    Purpose::AppointmentReminder.as_str(),
    Purpose::AppointmentBooked.as_str(),
    Purpose::AppointmentRescheduled.as_str(),
    Purpose::AppointmentModified.as_str(),
];

/// FHIR statuses of an appointment that can still be confirmed or canceled.
const OPEN_STATUSES: &[&str] = &["proposed", "pending", "booked", "waitlist"];

/// How many recent prompts are looked at, newest first.
const LOOK_BACK: i64 = 20;

/// A prompt and the appointments it named.
#[derive(Debug, Clone)]
pub struct Prompted {
    pub prompt: PromptRow,
    /// The named appointments that are still outstanding (for [`outstanding`]), or all that exist
    /// (for [`latest`]); in start order.
    pub appointments: Vec<AppointmentRow>,
}

impl Prompted {
    /// The patient the prompt was for: its recipient, else its first appointment's patient.
    pub fn patient(&self) -> Option<PatientId> {
        self.prompt.patient_id.or_else(|| self.appointments.first().map(|a| a.patient_id))
    }
}

/// The appointment ids a message's cause names.
pub fn cause_appointments(cause_type: Option<&str>, cause_id: Option<&str>) -> Vec<AppointmentId> {
    match (cause_type, cause_id) {
        (Some("appointment" | "appointments"), Some(ids)) => {
            ids.split(',').filter_map(|s| s.trim().parse::<AppointmentId>().ok()).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether a reply at `now` may still confirm or cancel `a`.
pub fn is_outstanding(a: &AppointmentRow, now: UtcTime, cutoff_minutes: i64) -> bool {
    let cutoff = a.start_at.plus(jiff::SignedDuration::from_mins(-cutoff_minutes));
    OPEN_STATUSES.contains(&a.status.as_str()) && now < cutoff
}

async fn recent(app: &AppState, org: OrgId, address: &str, now: UtcTime) -> Result<Vec<PromptRow>, AppError> {
    let days = i64::from(app.config.replies.prompt_max_age_days);
    let since = now.plus(jiff::SignedDuration::from_hours(-24 * days));
    Ok(app.store.prompts_to(org, address, PROMPT_PURPOSES, since, LOOK_BACK).await?)
}

async fn appointments_of(app: &AppState, org: OrgId, p: &PromptRow) -> Result<Vec<AppointmentRow>, AppError> {
    let mut out = Vec::new();
    for id in cause_appointments(p.cause_type.as_deref(), p.cause_id.as_deref()) {
        match app.store.appointment(org, id).await {
            Ok(a) => out.push(a),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.sort_by_key(|a| (a.start_at, a.id));
    Ok(out)
}

/// The most recent prompt to `address` with an appointment still outstanding, and those
/// appointments.
pub async fn outstanding(
    app: &AppState,
    org: OrgId,
    address: &str,
    now: UtcTime,
) -> Result<Option<Prompted>, AppError> {
    let cutoff = app.config.replies.cutoff_minutes_before_start;
    for prompt in recent(app, org, address, now).await? {
        let open: Vec<AppointmentRow> = appointments_of(app, org, &prompt)
            .await?
            .into_iter()
            .filter(|a| is_outstanding(a, now, cutoff))
            .collect();
        if !open.is_empty() {
            return Ok(Some(Prompted { prompt, appointments: open }));
        }
    }
    Ok(None)
}

/// The most recent prompt to `address` about any appointment that still exists, outstanding or not
/// (what staff see as the likely appointment of a reply that could not be matched).
pub async fn latest(
    app: &AppState,
    org: OrgId,
    address: &str,
    now: UtcTime,
) -> Result<Option<Prompted>, AppError> {
    for prompt in recent(app, org, address, now).await? {
        let all = appointments_of(app, org, &prompt).await?;
        if !all.is_empty() {
            return Ok(Some(Prompted { prompt, appointments: all }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_name_one_or_several_appointments() {
        let a = AppointmentId::new();
        let b = AppointmentId::new();
        assert_eq!(cause_appointments(Some("appointment"), Some(&a.to_string())), [a]);
        assert_eq!(cause_appointments(Some("appointments"), Some(&format!("{a}, {b}"))), [a, b]);
        assert_eq!(cause_appointments(Some("appointments"), Some(&format!("{a},nonsense"))), [a]);
        assert!(cause_appointments(Some("survey"), Some(&a.to_string())).is_empty());
        assert!(cause_appointments(None, None).is_empty());
    }
}
