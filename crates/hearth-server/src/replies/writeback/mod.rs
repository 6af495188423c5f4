//! Write-back of patients' confirm and cancel requests to the EHR (`docs/replies.md`): a request
//! is written in the transaction that processed the reply, then delivered by the outbox workers'
//! process with the outbox's rules: claimed with a lease (a lease that expires is claimed again and
//! the request resent with the same `request_id`), no transaction open during the HTTP call, 429,
//! 5xx, timeouts and connection errors retried with the outbox's backoff (`outbox.max_attempts`),
//! any other 4xx failed at once. Hearth never changes the appointment on a request: the EHR's next
//! event does.

pub mod payload;
mod send;

use std::sync::LazyLock;

use futures_util::StreamExt as _;
use hearth_core::messaging::reply::ReplyKind;
use hearth_core::messaging::retry::backoff;
use hearth_core::{EhrRequestId, UtcTime};
use hearth_store::appointments::AppointmentRow;
use hearth_store::ehr_requests::{EhrOutcome, EhrRequestRow};
use hearth_store::inbound::InboundRow;
use tokio::sync::Notify;

use crate::config::WritebackMethod;
use crate::error::AppError;
use crate::notifications::SendOutcome;
use crate::state::AppState;

pub use send::signature;

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Wakes this process's write-back loop (after a request was committed).
pub fn wake() {
    WAKE.notify_waiters();
}

/// Resolves when [`wake`] is called.
pub async fn woken() {
    WAKE.notified().await;
}

/// The request for one appointment, ready to insert (`None` when nothing is written back).
pub async fn request(
    app: &AppState,
    reply: &InboundRow,
    a: &AppointmentRow,
    kind: ReplyKind,
    method: WritebackMethod,
    now: UtcTime,
) -> Result<Option<EhrRequestRow>, AppError> {
    if method == WritebackMethod::None {
        return Ok(None);
    }
    let id = EhrRequestId::new();
    let provider_id = match a.practitioner_id {
        Some(p) => app.store.practitioner(a.org_id, p).await.ok().and_then(|x| x.external_id),
        None => None,
    };
    let facts = payload::Facts {
        request_id: id.to_string(),
        kind,
        source: &a.source,
        appointment_external_id: &a.external_id,
        appointment_id: a.id.to_string(),
        patient_ehr_id: app.store.patient_identifier(a.org_id, a.patient_id, &a.source).await?,
        patient_id: a.patient_id.to_string(),
        provider_id,
        received_at: reply.received_at.to_string(),
        channel: reply.channel.as_deref().unwrap_or("sms"),
        reply_id: reply.id.to_string(),
    };
    let body = match method {
        WritebackMethod::Fhir => payload::appointment_response(&facts),
        _ => payload::webhook(&facts),
    };
    Ok(Some(EhrRequestRow {
        id,
        org_id: a.org_id,
        reply_id: reply.id,
        appointment_id: a.id,
        patient_id: a.patient_id,
        kind: kind.as_str().to_owned(),
        method: method.as_str().to_owned(),
        payload: body.to_string(),
        status: "queued".into(),
        attempts: 0,
        max_attempts: i32::try_from(app.config.outbox.max_attempts).unwrap_or(8),
        next_attempt_at: Some(now),
        lease_until: None,
        lease_owner: None,
        response_code: None,
        error_text: None,
        created_at: now,
        updated_at: now,
        delivered_at: None,
    }))
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    pub dead: usize,
}

fn owner() -> &'static str {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER.get_or_init(|| format!("writeback/{}/{:08x}", std::process::id(), rand::random::<u32>()))
}

/// Claims due requests and delivers them (no transaction open during the calls), then records
/// each outcome. Deterministic on `app.clock`: the hook for tests.
pub async fn run_once(app: &AppState) -> anyhow::Result<RoundReport> {
    let now = app.clock.now();
    let lease = i64::try_from(app.config.outbox.lease_secs).unwrap_or(60);
    let until = now.plus(jiff::SignedDuration::from_secs(lease));
    let limit = i64::from(app.config.outbox.batch_size);
    let rows = app.store.claim_ehr_requests(owner(), now, until, limit).await?;
    let mut report = RoundReport { claimed: rows.len(), ..RoundReport::default() };
    let concurrency = usize::try_from(app.config.outbox.concurrency).unwrap_or(16).max(1);
    let outcomes: Vec<EhrOutcome> = futures_util::stream::iter(rows)
        .map(|r| async move {
            let answer = send::deliver(app, &r).await;
            decide(&r, &answer, app.clock.now())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for o in outcomes {
        match o.status.as_str() {
            "delivered" => report.delivered += 1,
            "queued" => report.retried += 1,
            "dead" => report.dead += 1,
            _ => report.failed += 1,
        }
        tracing::info!(request_id = %o.id, status = %o.status, code = o.response_code.as_deref().unwrap_or(""), "ehr request attempt");
        if let Err(e) = app.store.settle_ehr_request(owner(), &o).await {
            tracing::warn!(request_id = %o.id, error = %e, "ehr request outcome not recorded; its lease will expire");
        }
    }
    Ok(report)
}

/// Rounds until one claims nothing (tests, the CLI); the summed report.
pub async fn run_until_idle(app: &AppState) -> anyhow::Result<RoundReport> {
    let mut total = RoundReport::default();
    for _ in 0..1000 {
        let r = run_once(app).await?;
        total.claimed += r.claimed;
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.failed += r.failed;
        total.dead += r.dead;
        if r.claimed == 0 {
            break;
        }
    }
    Ok(total)
}

/// The outcome of one attempt: delivered; retried with backoff (429, 5xx, network), dead after
/// the last attempt; failed at once on any other answer.
fn decide(r: &EhrRequestRow, answer: &SendOutcome, now: UtcTime) -> EhrOutcome {
    let mut o = EhrOutcome {
        id: r.id,
        status: String::new(),
        next_attempt_at: None,
        response_code: None,
        error_text: None,
        now,
    };
    match answer {
        SendOutcome::Accepted { provider_id, .. } => {
            o.status = "delivered".into();
            o.response_code = Some(provider_id.clone());
        }
        SendOutcome::Transient { code, reason, retry_after } => {
            o.response_code.clone_from(code);
            o.error_text = Some(reason.clone());
            if r.attempts >= r.max_attempts {
                o.status = "dead".into();
            } else {
                let delay =
                    backoff(u32::try_from(r.attempts).unwrap_or(1), rand::random::<f64>(), *retry_after);
                let delay = jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::ZERO);
                o.status = "queued".into();
                o.next_attempt_at = Some(now.plus(delay.max(jiff::SignedDuration::from_secs(1))));
            }
        }
        SendOutcome::Rejected { code, reason } => {
            o.status = "failed".into();
            o.response_code.clone_from(code);
            o.error_text = Some(reason.clone());
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(attempts: i32) -> EhrRequestRow {
        let now = UtcTime::new(jiff::Timestamp::UNIX_EPOCH);
        EhrRequestRow {
            id: EhrRequestId::new(),
            org_id: hearth_core::OrgId::new(),
            reply_id: hearth_core::InboundMessageId::new(),
            appointment_id: hearth_core::AppointmentId::new(),
            patient_id: hearth_core::PatientId::new(),
            kind: "confirm".into(),
            method: "webhook".into(),
            payload: "{}".into(),
            status: "sending".into(),
            attempts,
            max_attempts: 3,
            next_attempt_at: None,
            lease_until: None,
            lease_owner: None,
            response_code: None,
            error_text: None,
            created_at: now,
            updated_at: now,
            delivered_at: None,
        }
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt_other_4xx_fail_at_once() {
        let now = UtcTime::new(jiff::Timestamp::UNIX_EPOCH);
        let busy =
            SendOutcome::Transient { code: Some("503".into()), reason: "HTTP 503".into(), retry_after: None };
        let o = decide(&row(1), &busy, now);
        assert_eq!(o.status, "queued");
        assert!(o.next_attempt_at.unwrap() > now);
        assert_eq!(decide(&row(3), &busy, now).status, "dead");
        let bad = SendOutcome::Rejected { code: Some("400".into()), reason: "HTTP 400".into() };
        assert_eq!(decide(&row(1), &bad, now).status, "failed");
        let ok = SendOutcome::Accepted {
            provider_id: "202".into(),
            status: hearth_core::messaging::MessageStatus::Sent,
        };
        let o = decide(&row(1), &ok, now);
        assert_eq!((o.status.as_str(), o.response_code.as_deref()), ("delivered", Some("202")));
    }
}
