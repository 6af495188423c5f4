//! Event notices: the message an appointment event calls for (booked, rescheduled, changed,
//! canceled, missed, confirmed), from the organization's template in the patient's language. They
//! wait for the outreach window but do not count against the caps (spec rule 10), and each is written
//! once per event (`notice:{event}:{notice}`).

use hearth_core::appointment::Notice;
use hearth_core::messaging::Purpose;
use hearth_core::outreach::open_at_or_after;
use hearth_core::{OrgId, UtcTime};
use hearth_store::Tx;
use hearth_store::reminders::WorkRow;
use jiff::tz::TimeZone;

use super::message::{self, Recipient};
use super::rules;
use crate::error::AppError;
use crate::notifications::outbox::{NewMessage, enqueue};
use crate::state::AppState;

/// The template purpose of a notice Hearth sends itself; `None` for the rest (survey invitations
/// are the surveys' business, EHR requests and acknowledgements the replies').
pub fn purpose_of(n: Notice) -> Option<Purpose> {
    Some(match n {
        Notice::BookingConfirmation => Purpose::AppointmentBooked,
        Notice::RescheduledNotice => Purpose::AppointmentRescheduled,
        Notice::ModifiedNotice => Purpose::AppointmentModified,
        Notice::ConfirmationNotice => Purpose::AppointmentConfirmed,
        Notice::CancellationNotice => Purpose::AppointmentCanceled,
        Notice::MissedAppointmentNotice => Purpose::AppointmentNoShow,
        _ => return None,
    })
}

/// The notice names worth queuing from an event's answer.
pub fn wanted(notices: &[String]) -> String {
    notices
        .iter()
        .filter(|n| Notice::parse(n).ok().and_then(purpose_of).is_some())
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes the notices the patient's queued changes call for. Returns how many were enqueued.
pub async fn send(
    tx: &mut Tx,
    app: &AppState,
    org: OrgId,
    work: &[WorkRow],
    now: UtcTime,
) -> Result<usize, AppError> {
    if !app.config.reminders.notices || work.iter().all(|w| w.notices.is_empty()) {
        return Ok(0);
    }
    let Some(to) = message::recipient(tx, app, org, work[0].patient_id).await? else { return Ok(0) };
    let stored = tx.reminder_rules_in(org).await?;
    let mut sent = 0;
    for w in work {
        let Some(appointment) = w.appointment_id else { continue };
        for name in w.notices.split(',').filter(|n| !n.is_empty()) {
            let Some(purpose) = Notice::parse(name).ok().and_then(purpose_of) else { continue };
            let a = app.store.appointment(org, appointment).await?;
            let rule = rules::resolve(&stored, &a);
            let zone = zone(&to, &a.time_zone);
            let rendered = message::render(app, purpose, &to, &[&a], w.previous_start).await?;
            // Booked, moved, changed or confirmed: worth nothing after the start. Canceled or
            // missed: worth a day.
            let valid_until = match purpose {
                Purpose::AppointmentCanceled | Purpose::AppointmentNoShow => {
                    now.plus(jiff::SignedDuration::from_hours(24))
                }
                _ => a.start_at,
            };
            let msg = NewMessage {
                org,
                patient: Some(to.patient),
                channel: to.channel,
                to: to.address.clone(),
                from: None,
                subject: rendered.subject,
                body: rendered.body,
                language: rendered.language,
                purpose: purpose.as_str().into(),
                dedup_key: format!(
                    "notice:{}:{name}",
                    w.event_id.map_or(w.id.to_string(), |e| e.to_string())
                ),
                cause: Some(("appointment".into(), a.id.to_string())),
                valid_until: Some(valid_until),
                not_before: Some(UtcTime::from(open_at_or_after(now.get(), &rule, &zone))),
            };
            sent += usize::from(enqueue(tx, app, msg).await?.created);
        }
    }
    Ok(sent)
}

fn zone(to: &Recipient, fallback: &str) -> TimeZone {
    to.zone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(fallback).ok())
        .unwrap_or(TimeZone::UTC)
}
