//! Plans one patient's reminders into the outbox: gathers what the planner needs (upcoming
//! appointments, what went out, what counts for the caps), runs `hearth_core::outreach::plan`, and
//! makes the outbox match: a queued reminder moves or changes its text, a new one is enqueued with
//! the key `reminder:{appointment}:{k}:{start}` (unique: never twice for one start), one the plan no
//! longer wants is canceled with the reason. Every decision is saved for the appointment's history.

use std::collections::{BTreeMap, HashSet};

use hearth_core::appointment::{Reminders, SuppressReason};
use hearth_core::messaging::{MessageStatus, Purpose};
use hearth_core::outreach::{self, Decision, Planned, Rule};
use hearth_core::{AppointmentId, MessageId, OrgId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::appointments::AppointmentRow;
use hearth_store::outbox::{HistoryRow, MessageRow};
use hearth_store::reminders::DecisionRow;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::message::{self, Recipient};
use super::rules;
use crate::error::AppError;
use crate::notifications::outbox::{NewMessage, consent_allows, enqueue, segments};
use crate::state::AppState;

pub const REMINDER: &str = "appointment_reminder";
/// Purposes that count against the patient's caps (rule 10).
pub(crate) const COUNTED: &[&str] = &[REMINDER, "survey_invitation", "survey_reminder"];

/// What a plan did to the outbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanReport {
    pub enqueued: usize,
    pub moved: usize,
    pub canceled: usize,
}

/// The appointments a message is about: `cause` = (`appointment`, id) or (`appointments`, "id,id").
pub fn about(m: &MessageRow) -> Vec<AppointmentId> {
    match (m.cause_type.as_deref(), m.cause_id.as_deref()) {
        (Some("appointment" | "appointments"), Some(ids)) => {
            ids.split(',').filter_map(|i| i.parse().ok()).collect()
        }
        _ => Vec::new(),
    }
}

fn alive(m: &MessageRow) -> bool {
    !matches!(m.status.as_str(), "canceled" | "failed" | "dead" | "undelivered")
}

fn went_out(m: &MessageRow) -> bool {
    !matches!(m.status.as_str(), "queued" | "canceled")
}

/// When a message went (or will go) out.
fn at(m: &MessageRow) -> UtcTime {
    m.sent_at.or(m.next_attempt_at).unwrap_or(m.created_at)
}

struct Inputs {
    appointments: Vec<AppointmentRow>,
    messages: Vec<MessageRow>,
    decisions: Vec<DecisionRow>,
    rules: Vec<(Rule, Vec<usize>)>,
    zone: TimeZone,
    recipient: Option<Recipient>,
    /// The consent ledger allows the recipient's address now (it decides over an appointment's
    /// `suppressed:opted_out`, which only records the consent at its last event).
    consented: bool,
}

async fn gather(
    tx: &mut Tx,
    app: &AppState,
    org: OrgId,
    patient: PatientId,
    now: UtcTime,
) -> Result<Inputs, AppError> {
    let appointments: Vec<AppointmentRow> = tx
        .upcoming_appointments_of(org, patient, now)
        .await?
        .into_iter()
        .filter(|a| matches!(reminders_of(a), Reminders::Pending { .. } | Reminders::Suppressed(_)))
        .collect();
    let messages =
        tx.planning_messages(org, patient, now.plus(jiff::SignedDuration::from_hours(-24 * 8))).await?;
    let ids: Vec<AppointmentId> = appointments.iter().map(|a| a.id).collect();
    let decisions = tx.reminder_decisions_of(org, &ids).await?;
    let stored = tx.reminder_rules_in(org).await?;
    let mut rules: Vec<(Rule, Vec<usize>)> = Vec::new();
    for (i, a) in appointments.iter().enumerate() {
        let r = rules::resolve(&stored, a);
        match rules.iter_mut().find(|(x, _)| *x == r) {
            Some((_, v)) => v.push(i),
            None => rules.push((r, vec![i])),
        }
    }
    let recipient =
        if appointments.is_empty() { None } else { message::recipient(tx, app, org, patient).await? };
    let zone_name = recipient
        .as_ref()
        .and_then(|r| r.zone.clone())
        .or_else(|| appointments.first().map(|a| a.time_zone.clone()))
        .unwrap_or_else(|| "UTC".into());
    let zone = TimeZone::get(&zone_name).unwrap_or(TimeZone::UTC);
    let consented = match &recipient {
        Some(r) => consent_allows(tx, org, Some(patient), r.channel, &r.address).await?,
        None => false,
    };
    Ok(Inputs { appointments, messages, decisions, rules, zone, recipient, consented })
}

fn reminders_of(a: &AppointmentRow) -> Reminders {
    Reminders::parse(&a.reminders).unwrap_or(Reminders::Done)
}

/// The planner's view of one appointment.
fn planner_input(inp: &Inputs, rule: &Rule, a: &AppointmentRow) -> outreach::Appointment {
    let stopped = match reminders_of(a) {
        Reminders::Suppressed(SuppressReason::OptedOut) if inp.consented => None,
        Reminders::Suppressed(why) => Some((Timestamp::MIN, why)),
        _ if rule.stop_after_confirm && a.participant_accepted => {
            Some((Timestamp::MIN, SuppressReason::Confirmed))
        }
        _ => None,
    };
    let contacts = inp
        .messages
        .iter()
        .filter(|m| m.purpose != REMINDER && alive(m) && about(m).contains(&a.id))
        .map(|m| at(m).get())
        .collect();
    let sent = inp
        .decisions
        .iter()
        .filter(|d| d.appointment_id == a.id && d.start_at == a.start_at)
        .filter_map(|d| {
            let m = inp.messages.iter().find(|m| Some(m.id) == d.message_id)?;
            went_out(m).then(|| (u32::try_from(d.k).unwrap_or(0), at(m).get()))
        })
        .collect();
    outreach::Appointment { start: a.start_at.get(), booked: a.created_at.get(), contacts, stopped, sent }
}

/// Re-plans the patient's reminders (in `tx`, with the patient locked by the caller).
pub async fn plan_patient(
    tx: &mut Tx,
    app: &AppState,
    org: OrgId,
    patient: PatientId,
    now: UtcTime,
) -> Result<PlanReport, AppError> {
    let inp = gather(tx, app, org, patient, now).await?;
    let planned_ids: HashSet<AppointmentId> = inp.appointments.iter().map(|a| a.id).collect();
    // What counts for the caps but is not re-planned here: survey messages, and reminders about
    // appointments outside this plan (already started, or done).
    let mut counted: Vec<Timestamp> = inp
        .messages
        .iter()
        .filter(|m| COUNTED.contains(&m.purpose.as_str()) && alive(m))
        .filter(|m| m.purpose != REMINDER || !about(m).iter().any(|a| planned_ids.contains(a)))
        .map(|m| at(m).get())
        .collect();
    let mut report = PlanReport::default();
    let mut used: HashSet<MessageId> = HashSet::new();
    let mut decisions: Vec<DecisionRow> = Vec::new();
    for (rule, members) in &inp.rules {
        let input: Vec<_> =
            members.iter().map(|&i| planner_input(&inp, rule, &inp.appointments[i])).collect();
        let plans = outreach::plan(rule, &inp.zone, &input, &counted);
        for p in plans.iter().flatten().filter(|p| p.decision == Decision::Send) {
            counted.extend(p.send);
        }
        let rows: Vec<&AppointmentRow> = members.iter().map(|&i| &inp.appointments[i]).collect();
        let groups = send_groups(&plans, &input, rule.combine_same_day);
        let mut message_of: BTreeMap<(usize, u32), MessageId> = BTreeMap::new();
        for (send, group) in groups {
            let id = send_group(tx, app, &inp, rule, &rows, send, &group, now, &mut report).await?;
            if let Some(id) = id {
                used.insert(id);
                for &(j, k) in &group {
                    message_of.insert((j, k), id);
                }
            }
        }
        for (j, (a, planned)) in rows.iter().zip(&plans).enumerate() {
            for p in planned {
                let already = input[j].sent.iter().any(|s| s.0 == p.k);
                let kept = inp.decisions.iter().find(|d| {
                    d.appointment_id == a.id
                        && d.start_at == a.start_at
                        && d.k == i32::try_from(p.k).unwrap_or(0)
                });
                let message_id = if already {
                    kept.and_then(|d| d.message_id)
                } else {
                    message_of.get(&(j, p.k)).copied()
                };
                if let Some(m) = message_id {
                    used.insert(m);
                }
                decisions.push(decision_row(a, p, message_id, unreachable(&inp), now));
            }
        }
    }
    report.canceled = cancel_unused(tx, &inp, &used, now).await?;
    tx.save_reminder_decisions(&decisions).await?;
    Ok(report)
}

/// The messages of a plan: each send time with the reminders `(appointment index, k)` it carries
/// (several when combined), leaving out what already went out.
fn send_groups(
    plans: &[Vec<Planned>],
    input: &[outreach::Appointment],
    combine: bool,
) -> Vec<(Timestamp, Vec<(usize, u32)>)> {
    let mut groups: Vec<(Timestamp, Vec<(usize, u32)>)> = Vec::new();
    for (j, planned) in plans.iter().enumerate() {
        for p in planned.iter().filter(|p| p.decision == Decision::Send) {
            if input[j].sent.iter().any(|s| s.0 == p.k) {
                continue;
            }
            let Some(send) = p.send else { continue };
            match groups.iter_mut().find(|g| combine && g.0 == send) {
                Some(g) => g.1.push((j, p.k)),
                None => groups.push((send, vec![(j, p.k)])),
            }
        }
    }
    groups
}

/// Makes the outbox hold one message for `group` at `send`: the queued one of a member moved, or a
/// new one. Returns its id (`None` when the patient has no address).
#[allow(clippy::too_many_arguments)]
async fn send_group(
    tx: &mut Tx,
    app: &AppState,
    inp: &Inputs,
    rule: &Rule,
    rows: &[&AppointmentRow],
    send: Timestamp,
    group: &[(usize, u32)],
    now: UtcTime,
    report: &mut PlanReport,
) -> Result<Option<MessageId>, AppError> {
    let Some(to) = inp.recipient.as_ref().filter(|_| inp.consented) else { return Ok(None) };
    let about: Vec<&AppointmentRow> = group.iter().map(|&(j, _)| rows[j]).collect();
    let valid_until = about.iter().map(|a| a.start_at.plus(-rule.min_lead)).min();
    let ids = about.iter().map(|a| a.id.to_string()).collect::<Vec<_>>().join(",");
    let cause = if about.len() == 1 { "appointment" } else { "appointments" };
    let rendered = message::render(app, Purpose::AppointmentReminder, to, &about, None).await?;
    let existing = group.iter().find_map(|&(j, k)| {
        let a = rows[j];
        let d = inp.decisions.iter().find(|d| {
            d.appointment_id == a.id && d.start_at == a.start_at && d.k == i32::try_from(k).unwrap_or(0)
        })?;
        inp.messages.iter().find(|m| Some(m.id) == d.message_id && m.status == MessageStatus::Queued.as_str())
    });
    if let Some(m) = existing {
        let changed = m.next_attempt_at.map(UtcTime::get) != Some(send.max(now.get()))
            || m.body != rendered.body
            || m.cause_id.as_deref() != Some(ids.as_str());
        if changed {
            let segs = segments(to.channel, &rendered.body);
            let next = UtcTime::from(send).max(now);
            let cause = (cause, ids.as_str());
            if tx
                .replan_queued_message(m.org_id, m.id, next, valid_until, &rendered.body, segs, cause, now)
                .await?
            {
                report.moved += 1;
            }
        }
        return Ok(Some(m.id));
    }
    let (j, k) = group[0];
    let first = rows[j];
    let mut msg = NewMessage {
        org: first.org_id,
        patient: Some(to.patient),
        channel: to.channel,
        to: to.address.clone(),
        from: None,
        subject: rendered.subject,
        body: rendered.body,
        language: rendered.language,
        purpose: REMINDER.into(),
        dedup_key: format!("reminder:{}:{k}:{}", first.id, first.start_at.as_micros()),
        cause: Some((cause.into(), ids)),
        valid_until,
        not_before: Some(UtcTime::from(send)),
    };
    // A reminder canceled before it went out (an opt-out, a rule since reverted) comes back under
    // the next revision of its key once it may go: never sent twice, since none of them was sent.
    let base = msg.dedup_key.clone();
    let mut done = enqueue(tx, app, msg.clone()).await?;
    for revision in 2..=MAX_REVISIONS {
        let revivable = matches!(
            done.message.status_reason.as_deref(),
            Some("opted_out" | "no_consent" | "replanned" | "suppressed")
        );
        if done.created || done.message.status != "canceled" || !revivable {
            break;
        }
        if !consent_allows(tx, first.org_id, Some(to.patient), to.channel, &to.address).await? {
            break;
        }
        msg.dedup_key = format!("{base}:r{revision}");
        done = enqueue(tx, app, msg.clone()).await?;
    }
    report.enqueued += usize::from(done.created);
    Ok(Some(done.message.id))
}

/// Re-enqueues of one reminder after cancellations, at most.
const MAX_REVISIONS: u32 = 5;

/// Why nothing can be sent to the patient now, if so: no usable address, or no consent for it.
fn unreachable(inp: &Inputs) -> Option<&'static str> {
    match (&inp.recipient, inp.consented) {
        (None, _) => Some("no_address"),
        (Some(_), false) => Some("no_consent"),
        (Some(_), true) => None,
    }
}

fn decision_row(
    a: &AppointmentRow,
    p: &Planned,
    message_id: Option<MessageId>,
    unreachable: Option<&'static str>,
    now: UtcTime,
) -> DecisionRow {
    let (decision, reason) = match (p.decision, unreachable) {
        (Decision::Send, _) if message_id.is_some() => ("send", None),
        (Decision::Send, Some(why)) => ("dropped", Some(why.to_owned())),
        (Decision::Send, None) => ("send", None),
        (Decision::Skipped(r), _) => ("skipped", Some(reason_text(r))),
        (Decision::Dropped(r), _) => ("dropped", Some(reason_text(r))),
    };
    DecisionRow {
        id: hearth_core::ReminderDecisionId::new(),
        org_id: a.org_id,
        appointment_id: a.id,
        k: i32::try_from(p.k).unwrap_or(0),
        start_at: a.start_at,
        patient_id: a.patient_id,
        offset_text: p.offset.to_string(),
        due_at: UtcTime::from(p.due),
        send_at: p.send.map(UtcTime::from),
        decision: decision.into(),
        reason,
        moved_by: p.moved_by.map(str::to_owned),
        message_id,
        decided_at: now,
    }
}

fn reason_text(r: outreach::Reason) -> String {
    match r {
        outreach::Reason::Suppressed(why) => format!("suppressed:{}", why.as_str()),
        other => other.as_str().to_owned(),
    }
}

/// Cancels the patient's queued reminders the plan no longer wants.
async fn cancel_unused(
    tx: &mut Tx,
    inp: &Inputs,
    used: &HashSet<MessageId>,
    now: UtcTime,
) -> Result<usize, AppError> {
    let mut n = 0;
    for m in
        inp.messages.iter().filter(|m| m.purpose == REMINDER && m.status == "queued" && !used.contains(&m.id))
    {
        let suppressed = about(m).iter().any(|id| {
            inp.appointments
                .iter()
                .any(|a| a.id == *id && matches!(reminders_of(a), Reminders::Suppressed(_)))
        });
        let reason = match (suppressed, unreachable(inp)) {
            (_, Some(why)) => why,
            (true, None) => "suppressed",
            (false, None) => "replanned",
        };
        if tx.cancel_queued_message(m.org_id, m.id, reason, now).await? {
            tx.insert_history(&[HistoryRow {
                org_id: m.org_id,
                message_id: m.id,
                at: now,
                from_status: Some("queued".into()),
                to_status: "canceled".into(),
                source: "scheduler".into(),
                reason: Some(reason.into()),
                applied: true,
            }])
            .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// One reminder decision, as the appointment's history shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub k: i32,
    pub offset: String,
    /// The start this decision was for (a reschedule re-plans; the old decisions stay).
    pub start: String,
    pub due: String,
    pub send: Option<String>,
    /// send | skipped | dropped
    pub decision: String,
    pub reason: Option<String>,
    /// Why the send time is not the due time: window, cap, combined.
    pub moved_by: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub message_id: Option<MessageId>,
}

/// A message about the appointment.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AboutMessage {
    #[schema(value_type = String, format = Uuid)]
    pub id: MessageId,
    pub purpose: String,
    pub channel: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// When it is due (queued) or went out.
    pub at: String,
}

/// The appointment's reminder decisions and the messages about it.
pub async fn history(
    app: &AppState,
    a: &AppointmentRow,
) -> Result<(Vec<DecisionView>, Vec<AboutMessage>), AppError> {
    let decisions = app.store.reminder_decisions(a.org_id, a.id).await?;
    let filter = hearth_store::outbox::MessageFilter {
        patient: Some(a.patient_id),
        limit: 1000,
        ..hearth_store::outbox::MessageFilter::default()
    };
    let mut messages: Vec<MessageRow> = app.store.list_messages(a.org_id, &filter).await?;
    messages.retain(|m| about(m).contains(&a.id));
    messages.sort_by_key(|m| (m.created_at, m.id));
    let d = decisions
        .iter()
        .map(|d| DecisionView {
            k: d.k,
            offset: d.offset_text.clone(),
            start: d.start_at.get().to_string(),
            due: d.due_at.get().to_string(),
            send: d.send_at.map(|t| t.get().to_string()),
            decision: d.decision.clone(),
            reason: d.reason.clone(),
            moved_by: d.moved_by.clone(),
            message_id: d.message_id,
        })
        .collect();
    let m = messages
        .iter()
        .map(|m| AboutMessage {
            id: m.id,
            purpose: m.purpose.clone(),
            channel: m.channel.clone(),
            status: m.status.clone(),
            status_reason: m.status_reason.clone(),
            at: at(m).get().to_string(),
        })
        .collect();
    Ok((d, m))
}
