//! The outreach caps for what the planner does not plan itself (spec rule 10): a survey invitation
//! or survey reminder to a patient who already has a day's (or a week's) worth of reminders and
//! invitations waits for the window's opening on the next local day with room; reminders are capped
//! by the planner. Installed as the outbox's [`OutreachPolicy`] at start-up.

use futures_util::future::BoxFuture;
use hearth_core::UtcTime;
use hearth_core::outreach::{Rule, open_at_or_after};
use hearth_store::{StoreError, Tx};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::planning::COUNTED;
use crate::notifications::outbox::{NewMessage, OutreachPolicy, Verdict};

const CAPPED: &[&str] = &["survey_invitation", "survey_reminder"];

#[derive(Debug, Default)]
pub struct CapsPolicy;

impl OutreachPolicy for CapsPolicy {
    fn check<'a>(
        &'a self,
        tx: &'a mut Tx,
        msg: &'a NewMessage,
        now: UtcTime,
    ) -> BoxFuture<'a, Result<Verdict, StoreError>> {
        Box::pin(async move {
            let Some(patient) = msg.patient.filter(|_| CAPPED.contains(&msg.purpose.as_str())) else {
                return Ok(Verdict::Allow);
            };
            let rules = tx.reminder_rules_in(msg.org).await?;
            let rule = rules
                .iter()
                .find(|r| r.scope == "organization")
                .and_then(|r| serde_json::from_str::<super::rules::RuleText>(&r.rule).ok())
                .and_then(|t| t.to_rule().ok())
                .unwrap_or_default();
            // Local days are the patient's: the zone of their recent appointments, else the
            // organization's.
            let since = now.plus(jiff::SignedDuration::from_hours(-24 * 8));
            let recent = tx.upcoming_appointments_of(msg.org, patient, since).await?;
            let zone_name = match recent.first() {
                Some(a) => a.time_zone.clone(),
                None => tx.organization_time_zone(msg.org).await?,
            };
            let zone = TimeZone::get(&zone_name).unwrap_or(TimeZone::UTC);
            let counted: Vec<Timestamp> = tx
                .planning_messages(msg.org, patient, since)
                .await?
                .iter()
                .filter(|m| {
                    COUNTED.contains(&m.purpose.as_str())
                        && !matches!(m.status.as_str(), "canceled" | "failed" | "dead")
                })
                .map(|m| m.sent_at.or(m.next_attempt_at).unwrap_or(m.created_at).get())
                .collect();
            let wanted = msg.not_before.map_or(now, |t| t.max(now)).get();
            Ok(match first_day_with_room(&rule, &zone, wanted, &counted) {
                Some(at) if at == wanted => Verdict::Allow,
                Some(at) => Verdict::Defer { until: UtcTime::from(at) },
                None => Verdict::Refuse { reason: "capped".into() },
            })
        })
    }
}

/// The first send time at or after `wanted` (moved to the next days' window openings, for at most
/// a fortnight) whose local day and week are under the caps.
fn first_day_with_room(
    rule: &Rule,
    zone: &TimeZone,
    wanted: Timestamp,
    counted: &[Timestamp],
) -> Option<Timestamp> {
    let mut at = wanted;
    for _ in 0..14 {
        let day = at.to_zoned(zone.clone()).date();
        let monday = day.checked_sub(i32::from(day.weekday().to_monday_zero_offset()).days()).ok()?;
        let sunday = monday.checked_add(6.days()).ok()?;
        let (mut today, mut week) = (0u32, 0u32);
        for t in counted {
            let d = t.to_zoned(zone.clone()).date();
            today += u32::from(d == day);
            week += u32::from(d >= monday && d <= sunday);
        }
        if today < rule.caps.per_day && week < rule.caps.per_week {
            return Some(at);
        }
        let next = day.checked_add(1.days()).ok()?.to_zoned(zone.clone()).ok()?.timestamp();
        at = open_at_or_after(next, rule, zone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la(s: &str) -> Timestamp {
        s.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(TimeZone::get("America/Los_Angeles").unwrap())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn an_invitation_waits_for_a_day_with_room() {
        let zone = TimeZone::get("America/Los_Angeles").unwrap();
        let rule = Rule::default(); // 1 per day, 3 per week
        // Nothing sent: as wanted.
        assert_eq!(
            first_day_with_room(&rule, &zone, la("2026-06-09T14:00"), &[]),
            Some(la("2026-06-09T14:00"))
        );
        // A reminder that Tuesday: Wednesday's opening.
        let r = [la("2026-06-09T10:00")];
        assert_eq!(
            first_day_with_room(&rule, &zone, la("2026-06-09T14:00"), &r),
            Some(la("2026-06-10T08:00"))
        );
        // Three this week (Mon–Wed): the next Monday's opening.
        let r = [la("2026-06-08T10:00"), la("2026-06-09T10:00"), la("2026-06-10T10:00")];
        assert_eq!(
            first_day_with_room(&rule, &zone, la("2026-06-10T14:00"), &r),
            Some(la("2026-06-15T08:00"))
        );
    }
}
