//! The EHR simulator's world and script: seeded patients, their appointments, and the events an EHR
//! would send about them, in the webhook's wire format. `hearth simulate` sends them to a running
//! Hearth over HTTP; the simulator page (`/admin/simulate`) applies them in process with [`play`],
//! through the same ingest engine as the webhook.
//!
//! Each simulated patient (names, an E.164 phone in the fictional 555-01xx range, an EHR patient id,
//! an appointment, a provider and a location) is derived from the seed alone, and so is every event
//! and its `source_message_id`: a second run with the same seed is answered as a replay and changes
//! nothing. Events come in the order an EHR would send them, with increasing `event_datetime_utc`;
//! appointment times are in the future, as local wall-clock time in `America/Chicago`.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Serialize;
use serde_json::{Value, json};

use crate::appointments::EventResult;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// The zone of every simulated appointment.
pub const TIME_ZONE: &str = "America/Chicago";
/// `source_system` of every simulated event, so simulated patients never mix with a real EHR's.
pub const SOURCE_SYSTEM: &str = "hearth-simulate";
/// At most this many patients per run (their events fit in one day of `event_datetime_utc`).
pub const MAX_PATIENTS: u32 = 10_000;

/// One step of the script: an EHR fact about the appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Step {
    /// BOOKED: a new booking.
    #[value(alias = "booked")]
    Book,
    /// CONFIRMED: the patient accepted.
    #[value(alias = "confirmed")]
    Confirm,
    /// RESCHEDULED: a new time.
    #[value(alias = "rescheduled")]
    Reschedule,
    /// MODIFIED: another provider and location.
    #[value(alias = "modified")]
    Modify,
    /// CANCELED.
    #[value(aliases = ["canceled", "cancelled"])]
    Cancel,
    /// NOSHOWED: the patient did not come.
    #[value(aliases = ["noshowed", "no-show"])]
    Noshow,
    /// ARRIVED: the patient is at the front desk.
    #[value(alias = "arrived")]
    Arrive,
    /// FULFILLED: the visit ended.
    #[value(aliases = ["fulfilled", "visit_end"])]
    VisitEnd,
}

impl Step {
    /// The wire `event_type`.
    pub const fn event_type(self) -> &'static str {
        match self {
            Step::Book => "BOOKED",
            Step::Confirm => "CONFIRMED",
            Step::Reschedule => "RESCHEDULED",
            Step::Modify => "MODIFIED",
            Step::Cancel => "CANCELED",
            Step::Noshow => "NOSHOWED",
            Step::Arrive => "ARRIVED",
            Step::VisitEnd => "FULFILLED",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated world (pure, deterministic for a seed).

const FIRST_NAMES: &[&str] = &[
    "María", "José", "Aisha", "Liam", "Zoë", "Chidi", "Mei", "Olivia", "Mateo", "Fatima", "Noah", "Sofía",
    "Darnell", "Anh", "Ewa", "Rahul", "Grace", "Tomás", "Yusuf", "Hannah",
];
const LAST_NAMES: &[&str] = &[
    "García",
    "Johnson",
    "Nguyễn",
    "O'Brien",
    "Kowalski",
    "Okafor",
    "Patel",
    "Smith",
    "Hernández",
    "Washington",
    "Chen",
    "Müller",
    "Rodríguez-Pérez",
    "Kim",
    "Abdi",
    "Williams",
    "Novak",
    "Lee",
];
/// Chicago-area codes; with 555-0100…0199 the numbers are fictional but valid.
const AREA_CODES: &[u16] = &[312, 773, 872, 630, 708, 847];
/// (NPI-like id, first name, last name, callback phone).
const PROVIDERS: &[(&str, &str, &str, &str)] = &[
    ("1093817465", "Ana", "Okafor", "+13125550150"),
    ("1184726390", "David", "Lindqvist", "+13125550151"),
    ("1275635201", "Priya", "Raman", "+17735550152"),
    ("1366544112", "Samuel", "Ortiz", "+17735550153"),
];
const LOCATIONS: &[&str] =
    &["Lakeview Family Medicine, Suite 200", "Hyde Park Clinic", "Pilsen Community Health, 2nd Floor"];
const APPOINTMENT_TYPES: &[(&str, i32)] =
    &[("Follow-up", 20), ("New patient", 40), ("Annual physical", 30), ("Telehealth check-in", 15)];

/// A small, stable PRNG (SplitMix64): the same seed gives the same world on every platform and with
/// every version of the `rand` crate.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    #[expect(clippy::cast_possible_truncation, reason = "the remainder is below n, a usize")]
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n as u64)) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One simulated patient and the current state of their appointment, as the EHR knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPatient {
    /// 1-based.
    pub number: u32,
    pub patient_id: String,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// E.164, +1 NPA 555-01xx.
    pub phone: String,
    pub language: &'static str,
    pub appointment_id: String,
    /// Local wall-clock time in [`TIME_ZONE`].
    pub start: DateTime,
    pub appointment_type: &'static str,
    pub duration_minutes: i32,
    /// Index into the providers and locations.
    pub provider: usize,
    pub location: usize,
}

/// A weekday slot between 08:00 and 16:15, `days_ahead` (or the next weekday) after `from`.
fn slot(rng: &mut SplitMix, from: Date, days_ahead: i64) -> DateTime {
    let mut day = from.saturating_add(days_ahead.days());
    while matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
        day = day.saturating_add(1.days());
    }
    let quarter = i8::try_from(rng.below(34)).unwrap_or(0);
    day.at(8 + quarter / 4, (quarter % 4) * 15, 0, 0)
}

/// Patient `number` (1-based) of the world of `seed`; their appointment is one to four weeks after
/// `today`.
pub fn patient(seed: u64, number: u32, today: Date) -> SimPatient {
    let mut rng = SplitMix::new(seed, u64::from(number));
    let area = rng.pick(AREA_CODES);
    let line = 100 + rng.below(100);
    let (appointment_type, duration_minutes) = rng.pick(APPOINTMENT_TYPES);
    let days_ahead = 7 + i64::try_from(rng.below(21)).unwrap_or(0);
    SimPatient {
        number,
        patient_id: format!("SIM{seed}-P{number:05}"),
        first_name: rng.pick(FIRST_NAMES),
        last_name: rng.pick(LAST_NAMES),
        phone: format!("+1{area}555{line:04}"),
        language: if rng.below(5) == 0 { "es" } else { "en" },
        appointment_id: format!("SIM{seed}-A{number:05}"),
        start: slot(&mut rng, today, days_ahead),
        appointment_type,
        duration_minutes,
        provider: rng.below(PROVIDERS.len()),
        location: rng.below(LOCATIONS.len()),
    }
}

/// One event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    /// The patient's number (1-based).
    pub patient: u32,
    pub step: Step,
    pub patient_id: String,
    pub appointment_id: String,
    pub source_message_id: String,
    /// The request body, in the wire format of specs/appointments.md §1.
    pub body: Value,
}

/// The events of a run, in the order they are sent: step by step, every patient's appointment in
/// turn, the way an EHR's day goes by. `anchor` is when the simulated EHR's clock starts: event `k`
/// (0-based) happens at `anchor + k` seconds; appointments are one to four weeks after its date.
pub fn plan(
    seed: u64,
    patients: u32,
    script: &[Step],
    anchor: Timestamp,
) -> Result<Vec<PlannedEvent>, jiff::Error> {
    let today = anchor.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut world: Vec<(SimPatient, SplitMix)> = (1..=patients)
        .map(|n| (patient(seed, n, today), SplitMix::new(seed, u64::from(n) | (1 << 63))))
        .collect();
    let mut events = Vec::with_capacity(world.len() * script.len());
    let mut k = 0_i64;
    for (index, &step) in script.iter().enumerate() {
        for (p, rng) in &mut world {
            match step {
                Step::Reschedule => {
                    let days = 1 + i64::try_from(rng.below(7)).unwrap_or(0);
                    let mut next = slot(rng, p.start.date(), days);
                    if next == p.start {
                        next = next.saturating_add(1.hour());
                    }
                    p.start = next;
                }
                Step::Modify => {
                    p.provider = (p.provider + 1 + rng.below(PROVIDERS.len() - 1)) % PROVIDERS.len();
                    p.location = (p.location + 1 + rng.below(LOCATIONS.len() - 1)) % LOCATIONS.len();
                }
                _ => {}
            }
            let at = anchor.checked_add(SignedDuration::from_secs(k))?;
            k += 1;
            let source_message_id =
                format!("sim-{seed}-{:05}-{index}-{}", p.number, step.event_type().to_ascii_lowercase());
            events.push(PlannedEvent {
                patient: p.number,
                step,
                patient_id: p.patient_id.clone(),
                appointment_id: p.appointment_id.clone(),
                body: event_body(p, step, at, &source_message_id),
                source_message_id,
            });
        }
    }
    Ok(events)
}

/// The wire JSON of one event about `p`'s appointment as it now is.
fn event_body(p: &SimPatient, step: Step, at: Timestamp, source_message_id: &str) -> Value {
    let (provider_id, provider_first, provider_last, callback) = PROVIDERS[p.provider];
    json!({
        "event_type": step.event_type(),
        "event_datetime_utc": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "patient_id": p.patient_id,
        "patient_first_name": p.first_name,
        "patient_last_name": p.last_name,
        "patient_phone": p.phone,
        "patient_language": p.language,
        "provider_id": provider_id,
        "provider_first_name": provider_first,
        "provider_last_name": provider_last,
        "provider_callback_phone": callback,
        "appointment_location": LOCATIONS[p.location],
        "appointment_id": p.appointment_id,
        "appointment_datetime": p.start.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        "appointment_timezone": TIME_ZONE,
        "appointment_type": p.appointment_type,
        "appointment_duration_minutes": p.duration_minutes,
        "source_message_id": source_message_id,
        "source_system": SOURCE_SYSTEM,
    })
}

// ---------------------------------------------------------------------------------------------
// Counting the answers.

/// The counts of a run. A replayed answer (Hearth had the event already, nothing changed) counts as
/// `unchanged` and in `replayed`; `failed` counts events Hearth did not answer with 202 (over HTTP;
/// never in process).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub sent: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub stale: usize,
    pub ignored: usize,
    pub rejected: usize,
    pub replayed: usize,
    pub failed: usize,
}

impl Summary {
    /// Counts one answer: its `result`, and whether it was a replay.
    pub fn count(&mut self, replayed: bool, result: &str) {
        if replayed {
            self.replayed += 1;
            self.unchanged += 1;
            return;
        }
        match result {
            "created" => self.created += 1,
            "updated" => self.updated += 1,
            "unchanged" => self.unchanged += 1,
            "stale" => self.stale += 1,
            "ignored" => self.ignored += 1,
            "rejected" => self.rejected += 1,
            _ => self.failed += 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Playing in process.

/// One planned event and the engine's answer to it.
#[derive(Debug, Clone)]
pub struct Played {
    pub event: PlannedEvent,
    pub answer: EventResult,
}

/// Plans a run of `patients` patients from `seed` and applies its events in process, as `actor`,
/// through the ingest engine the webhook uses (one batch, so all of it or none is written). The
/// simulated EHR's clock starts at the beginning of the UTC day of `now`, as `hearth simulate`'s
/// does, so a run repeated the same day is answered entirely as replays.
pub async fn play(
    app: &AppState,
    actor: &Actor,
    seed: u64,
    patients: u32,
    script: &[Step],
    now: Timestamp,
) -> Result<(Summary, Vec<Played>), AppError> {
    let anchor =
        now.to_zoned(jiff::tz::TimeZone::UTC).start_of_day().map_err(anyhow::Error::from)?.timestamp();
    let events = plan(seed, patients, script, anchor).map_err(anyhow::Error::from)?;
    if events.is_empty() {
        return Ok((Summary::default(), Vec::new()));
    }
    let bodies: Vec<Value> = events.iter().map(|e| e.body.clone()).collect();
    let report = crate::appointments::ingest(app, actor, bodies, false).await?;
    let mut summary = Summary::default();
    let mut played = Vec::with_capacity(events.len());
    for (event, answer) in events.into_iter().zip(report.results) {
        summary.sent += 1;
        summary.count(answer.replayed, &answer.result);
        played.push(Played { event, answer });
    }
    Ok((summary, played))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use hearth_core::TimeZoneName;
    use hearth_core::appointment::EventKind;
    use hearth_core::contact::Phone;

    use super::*;

    const ALL: &[Step] = &[
        Step::Book,
        Step::Confirm,
        Step::Reschedule,
        Step::Modify,
        Step::Cancel,
        Step::Noshow,
        Step::Arrive,
        Step::VisitEnd,
    ];

    /// The fields of specs/appointments.md §1 (and Hearth's extensions).
    const WIRE_FIELDS: &[&str] = &[
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

    fn anchor() -> Timestamp {
        "2026-03-05T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_seed_plays_the_same_world_and_another_seed_does_not() {
        let a = plan(7, 25, ALL, anchor()).unwrap();
        assert_eq!(a, plan(7, 25, ALL, anchor()).unwrap());
        let b = plan(8, 25, ALL, anchor()).unwrap();
        assert_ne!(a[0].body["patient_id"], b[0].body["patient_id"]);
        let names = |p: &[PlannedEvent]| -> Vec<Value> {
            p.iter().map(|e| e.body["patient_first_name"].clone()).collect()
        };
        assert_ne!(names(&a), names(&b), "another seed, other people");
        // A patient does not depend on how many others there are.
        let small = plan(7, 3, ALL, anchor()).unwrap();
        assert_eq!(small[0].body, a[0].body);
    }

    #[test]
    fn every_event_is_valid_on_the_wire() {
        for seed in [0, 1, 42, u64::MAX] {
            let events = plan(seed, 40, ALL, anchor()).unwrap();
            assert_eq!(events.len(), 40 * ALL.len());
            for ev in &events {
                let obj = ev.body.as_object().unwrap();
                for key in obj.keys() {
                    assert!(WIRE_FIELDS.contains(&key.as_str()), "unknown field {key}");
                }
                let text = |k: &str| obj[k].as_str().unwrap_or_else(|| panic!("{k} is not a string: {ev:?}"));
                let kind = EventKind::parse(text("event_type")).unwrap();
                assert_eq!(kind.as_str(), ev.step.event_type());
                assert!(!text("patient_id").is_empty() && !text("appointment_id").is_empty());
                text("event_datetime_utc").parse::<Timestamp>().unwrap();
                // Local wall-clock time without an offset, in a real zone, in the future, on a weekday
                // between 08:00 and 17:00.
                let local = text("appointment_datetime");
                assert!(!local.ends_with('Z') && !local.contains('+'), "{local}");
                let start: DateTime = local.parse().unwrap();
                assert!(start.date() > anchor().to_zoned(jiff::tz::TimeZone::UTC).date(), "{local}");
                assert!(!matches!(start.weekday(), Weekday::Saturday | Weekday::Sunday), "{local}");
                assert!((8..17).contains(&start.hour()), "{local}");
                TimeZoneName::parse(text("appointment_timezone")).unwrap();
                // A phone Hearth accepts, unchanged by normalization, in the fictional 555-01xx range.
                let phone = text("patient_phone");
                assert_eq!(Phone::parse(phone, "US").unwrap().as_str(), phone);
                assert!(phone.len() == 12 && phone[5..10].starts_with("55501"), "{phone}");
                Phone::parse(text("provider_callback_phone"), "US").unwrap();
                let minutes = obj["appointment_duration_minutes"].as_i64().unwrap();
                assert!((1..=1440).contains(&minutes));
                assert_eq!(text("source_message_id"), ev.source_message_id);
            }
            let ids: HashSet<&str> = events.iter().map(|e| e.source_message_id.as_str()).collect();
            assert_eq!(ids.len(), events.len(), "one message id per event");
        }
    }

    #[test]
    fn event_times_strictly_increase_in_sending_order() {
        let events = plan(3, 30, ALL, anchor()).unwrap();
        let times: Vec<Timestamp> =
            events.iter().map(|e| e.body["event_datetime_utc"].as_str().unwrap().parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(times[0], anchor());
    }

    #[test]
    fn each_appointment_gets_its_script_in_order_and_rescheduling_and_modifying_change_it() {
        let script = [Step::Book, Step::Reschedule, Step::Modify, Step::Confirm];
        let events = plan(11, 12, &script, anchor()).unwrap();
        for n in 1..=12 {
            let mine: Vec<&PlannedEvent> = events.iter().filter(|e| e.patient == n).collect();
            let steps: Vec<Step> = mine.iter().map(|e| e.step).collect();
            assert_eq!(steps, script);
            let field = |i: usize, k: &str| mine[i].body[k].clone();
            assert_ne!(field(0, "appointment_datetime"), field(1, "appointment_datetime"), "a new time");
            assert!(
                field(1, "appointment_datetime").as_str() > field(0, "appointment_datetime").as_str(),
                "rescheduled later"
            );
            assert_eq!(field(1, "provider_id"), field(0, "provider_id"));
            assert_ne!(field(2, "provider_id"), field(1, "provider_id"), "another provider");
            assert_ne!(field(2, "appointment_location"), field(1, "appointment_location"), "another place");
            assert_eq!(field(2, "appointment_datetime"), field(1, "appointment_datetime"));
            // Later events describe the appointment as it now is.
            assert_eq!(field(3, "provider_id"), field(2, "provider_id"));
            assert_eq!(field(3, "appointment_datetime"), field(1, "appointment_datetime"));
            let ids: HashSet<String> = mine.iter().map(|e| e.appointment_id.clone()).collect();
            assert_eq!(ids.len(), 1, "one appointment per patient");
        }
    }

    #[test]
    fn a_replayed_answer_counts_as_unchanged() {
        let mut s = Summary::default();
        s.count(false, "created");
        s.count(true, "created");
        s.count(false, "rejected");
        assert_eq!((s.created, s.unchanged, s.replayed, s.rejected), (1, 1, 1, 1));
    }
}
