//! Applying a [`Plan`] in one transaction that starts by claiming the receipt: consent entries,
//! canceled outreach, the answer or acknowledgement, the EHR requests, the reply record (and inbox
//! item), and the entries of the patient's timeline (audit events by the `replies` system actor).

use hearth_core::ConsentId;
use hearth_core::messaging::reply::ReplyKind;
use hearth_store::Tx;
use hearth_store::inbound::InboundRow;
use hearth_store::patients::ConsentRow;
use hearth_store::replies::ReplyRow;

use super::plan::{Action, Plan};
use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::notifications::enqueue;
use crate::notifications::outbox::enqueue_answer;
use crate::state::AppState;

/// What processing a reply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Another processor had processed it already; nothing was done.
    Already,
    /// No organization could be told for it (see docs/replies.md): kept, not acted on.
    NoOrganization,
    /// Acted on; the outcome (`opted_out`, `confirm_requested`, `to_inbox`, …).
    Done { outcome: &'static str, inbox: bool },
}

impl Processed {
    pub fn outcome(&self) -> &'static str {
        match self {
            Processed::Already => "already_processed",
            Processed::NoOrganization => "no_organization",
            Processed::Done { outcome, .. } => outcome,
        }
    }
}

/// A receipt without an organization is marked processed with `no_organization`.
pub async fn without_organization(app: &AppState, row: &InboundRow) -> Result<Processed, AppError> {
    let mut tx = app.store.begin().await?;
    if !tx.claim_inbound(row.id, "no_organization", app.clock.now()).await? {
        tx.rollback().await?;
        return Ok(Processed::Already);
    }
    tx.commit().await?;
    tracing::warn!(reply_id = %row.id, "reply from an unknown organization: set ?org= on the webhook URL");
    Ok(Processed::NoOrganization)
}

pub async fn apply(app: &AppState, row: &InboundRow, plan: Plan) -> Result<Processed, AppError> {
    let mut tx = app.store.begin().await?;
    if !tx.claim_inbound(row.id, plan.outcome, plan.now).await? {
        tx.rollback().await?;
        return Ok(Processed::Already);
    }
    let inbox = plan.action == Action::Inbox || plan.needs_review;
    tx.insert_reply(&reply_row(row, &plan, inbox)).await?;
    let ids: Vec<_> = plan.appointments.iter().map(|a| a.id).collect();
    tx.insert_reply_appointments(plan.org, row.id, &ids).await?;
    let mut canceled = Vec::new();
    match plan.action {
        Action::OptOut => {
            consent(&mut tx, &plan, false).await?;
            let c = plan.channel.as_str();
            canceled = tx.cancel_queued_to(plan.org, c, &plan.from, "opted_out", plan.now).await?;
        }
        Action::OptIn => consent(&mut tx, &plan, true).await?,
        Action::Help | Action::Request(_) | Action::Inbox => {}
    }
    if let Some(answer) = plan.answer.clone() {
        // It answers the patient's own message: neither consent (the answer to STOP goes to a number
        // that just opted out; HELP is answered whatever the consent) nor the caps apply.
        enqueue_answer(&mut tx, app, answer, "answer to a keyword").await?;
    }
    if let Some(ack) = plan.ack.clone() {
        enqueue(&mut tx, app, ack).await?;
    }
    for r in &plan.requests {
        tx.insert_ehr_request(r).await?;
    }
    timeline(&mut tx, row, &plan, canceled.len()).await?;
    tx.commit().await?;
    if plan.answer.is_some() || plan.ack.is_some() {
        app.outbox.wake();
    }
    if !plan.requests.is_empty() {
        super::writeback::wake();
    }
    if matches!(plan.action, Action::OptIn | Action::OptOut) {
        app.reminders.wake();
    }
    Ok(Processed::Done { outcome: plan.outcome, inbox })
}

fn reply_row(row: &InboundRow, p: &Plan, inbox: bool) -> ReplyRow {
    ReplyRow {
        id: row.id,
        org_id: p.org,
        channel: p.channel.as_str().to_owned(),
        from_address: p.from.clone(),
        body: p.body.clone(),
        received_at: row.received_at,
        kind: p.reply.kind.as_str().to_owned(),
        normalized: p.reply.normalized.chars().take(2000).collect(),
        reads_as_opt_out: p.reply.reads_as_opt_out,
        outcome: p.outcome.to_owned(),
        patients_on_number: i32::try_from(p.patients.len()).unwrap_or(i32::MAX),
        patient_id: p.patient,
        appointment_id: p.appointments.first().map(|a| a.id),
        prompt_message_id: p.prompt,
        inbox_status: inbox.then(|| "open".to_owned()),
        assigned_to: None,
        assigned_at: None,
        done_at: None,
        done_by: None,
        updated_at: p.now,
    }
}

/// A consent entry (source `keyword`, the words used) for every patient with the number.
async fn consent(tx: &mut Tx, p: &Plan, opted_in: bool) -> Result<(), AppError> {
    for patient in &p.patients {
        let c = ConsentRow {
            id: ConsentId::new(),
            patient_id: patient.id,
            channel: p.channel.as_str().to_owned(),
            address: p.from.clone(),
            opted_in,
            source: "keyword".into(),
            words: Some(p.body.trim().chars().take(500).collect()),
            recorded_at: p.now,
        };
        tx.append_consent(p.org, &c).await?;
        // Reminders follow the consent: stopped ones resume after START, and the history says why.
        crate::reminders::queue_replan(tx, p.org, patient.id, p.now).await?;
    }
    Ok(())
}

/// The patient's timeline: one audit event per patient concerned, by the `replies` actor.
async fn timeline(tx: &mut Tx, row: &InboundRow, p: &Plan, canceled: usize) -> Result<(), AppError> {
    let action = match (p.action, p.outcome) {
        (Action::OptOut, _) => "reply.opted_out",
        (Action::OptIn, _) => "reply.opted_in",
        (Action::Help, _) => "reply.help",
        (Action::Request(ReplyKind::Confirm), _) => "reply.confirm_requested",
        (Action::Request(_), _) => "reply.cancel_requested",
        (Action::Inbox, _) if p.reply.reads_as_opt_out => "reply.needs_human",
        (Action::Inbox, _) => "reply.to_inbox",
    };
    let mut who: Vec<_> = match p.action {
        Action::OptOut | Action::OptIn => p.patients.iter().map(|x| x.id).collect(),
        _ => p.patient.into_iter().collect(),
    };
    who.extend(p.appointments.iter().map(|a| a.patient_id));
    who.sort();
    who.dedup();
    let detail = serde_json::json!({
        "reply_id": row.id,
        "kind": p.reply.kind.as_str(),
        "outcome": p.outcome,
        "channel": p.channel.as_str(),
        "appointment_ids": p.appointments.iter().map(|a| a.id.to_string()).collect::<Vec<_>>(),
        "ehr_requests": p.requests.len(),
        "outreach_canceled": canceled,
    });
    let actor = Actor::system(p.org, super::NAME);
    for patient in who {
        let subject = Some(("patient", patient.to_string()));
        audit::record(tx, p.now, &actor, action, subject, None, audit::snapshot(&detail)).await?;
    }
    Ok(())
}
