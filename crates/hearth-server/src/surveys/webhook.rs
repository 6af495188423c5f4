//! The completion webhook: each stored response is POSTed once as JSON to `surveys.webhook_url`,
//! signed like the messaging webhook (`X-Hearth-Timestamp`, `X-Hearth-Signature` = `sha256=` HMAC of
//! `<timestamp>.<body>`), with retries and backoff until it is accepted (2xx) or after 10 attempts
//! dead. Deliveries are rows of `survey_webhooks`: written with the response, settled once.

use std::time::Duration;

use hearth_core::survey::{Instrument, Score};
use hearth_store::surveys::{ResponseRow, WebhookRow};

use crate::state::AppState;

/// Attempts before a delivery is given up (`dead`).
pub const MAX_ATTEMPTS: i64 = 10;

/// The webhook body.
pub fn payload(
    ins: &Instrument,
    r: &ResponseRow,
    resource: &serde_json::Value,
    scores: &[Score],
) -> serde_json::Value {
    serde_json::json!({
        "event": "survey.completed",
        "response_id": r.id,
        "questionnaire": {"id": r.questionnaire_id, "url": ins.url, "version": ins.version},
        "anonymous": r.anonymous,
        "patient_id": r.patient_id,
        "appointment_id": r.appointment_id,
        "practitioner_id": r.practitioner_id,
        "location_id": r.location_id,
        "appointment_type": r.appointment_type,
        "visit_week": r.visit_week,
        "scores": scores,
        "questionnaire_response": resource,
    })
}

/// 30 s, 1 min, 2 min … capped at an hour.
fn backoff(attempts: i64) -> jiff::SignedDuration {
    let exp = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    jiff::SignedDuration::from_secs((30_i64 * 2_i64.pow(exp)).min(3600))
}

/// Delivers every due webhook once; returns how many were accepted.
pub async fn deliver_due(app: &AppState) -> usize {
    let (Some(secret), now) = (app.config.surveys.webhook_secret.as_ref(), app.clock.now()) else {
        if app.config.surveys.webhook_url.is_some() {
            tracing::warn!("surveys.webhook_url is set without surveys.webhook_secret; deliveries wait");
        }
        return 0;
    };
    let due = match app.store.due_survey_webhooks(now, 50).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "survey webhooks: could not read due deliveries");
            return 0;
        }
    };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let mut delivered = 0;
    for mut w in due {
        let ts = now.unix_seconds().to_string();
        let sig =
            crate::notifications::providers::webhook::signature(secret.expose(), &ts, w.payload.as_bytes());
        let res = client
            .post(&w.url)
            .header("content-type", "application/json")
            .header("x-hearth-timestamp", &ts)
            .header("x-hearth-signature", sig)
            .header("x-hearth-delivery", w.id.to_string())
            .body(w.payload.clone())
            .send()
            .await;
        w.attempts += 1;
        match res {
            Ok(r) if r.status().is_success() => {
                "delivered".clone_into(&mut w.status);
                w.delivered_at = Some(app.clock.now());
                w.next_attempt_at = None;
                delivered += 1;
            }
            other => {
                w.last_error = Some(match other {
                    Ok(r) => format!("HTTP {}", r.status().as_u16()),
                    Err(e) => e.without_url().to_string(),
                });
                settle_failure(&mut w, app.clock.now());
            }
        }
        if let Err(e) = app.store.settle_survey_webhook(&w).await {
            tracing::warn!(error = %e, webhook_id = %w.id, "survey webhook: could not record the outcome");
        }
    }
    delivered
}

fn settle_failure(w: &mut WebhookRow, now: hearth_core::UtcTime) {
    if w.attempts >= MAX_ATTEMPTS {
        "dead".clone_into(&mut w.status);
        w.next_attempt_at = None;
    } else {
        w.next_attempt_at = Some(now.plus(backoff(w.attempts)));
    }
}
