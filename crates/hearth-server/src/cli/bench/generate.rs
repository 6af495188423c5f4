//! Deterministic, realistic patients for benchmarks. Patient `i` of seed `s` is always the same record
//! (each field is drawn from its own stream seeded by `(s, i, field)`), so a run can rebuild any
//! patient, and so its queries, without keeping a million records in memory.
//!
//! Surnames follow the 2010 US Census (Smith is 0.83% of patients: about 8,300 in a million) with a
//! Zipf-shaped tail of made-up names; given names follow common US first names; ages 0–104; 95% have a
//! phone (E.164 after normalization, written in assorted notations), 65% an e-mail, 92% an EHR
//! identifier; 4% share a household (surname, phone, address) with the patient before them; 1.5% were
//! imported in capitals, 2% have a double-barrelled surname, 8% of women a maiden name; 2.5% are
//! inactive and 1% deleted.

use hearth_core::{OrgId, PatientId, UtcTime};

use super::names;
use crate::patients::{Address, ContactPoint, EmergencyContact, HumanName, Identifier, PatientRecord};

/// "Today" for generated records: birth dates are before it, and it bounds them when they are checked.
pub const REFERENCE_DATE: jiff::civil::Date = jiff::civil::date(2026, 1, 1);
/// The EHR's identifier system (the HL7 example OID).
pub const EHR_SYSTEM: &str = "urn:oid:2.16.840.1.113883.19.5";
/// How MRNs look (Hearth's default pattern).
const MRN_PATTERN: &str = "MRN-{year}{seq:6}";
/// Registrations are spread from 2012-01-01 to 2025-12-31 (milliseconds since the epoch).
const FIRST_REGISTRATION_MS: u64 = 1_325_376_000_000;
const LAST_REGISTRATION_MS: u64 = 1_767_139_200_000;
/// Made-up surnames in the tail, and the Zipf offset that keeps the commonest of them rarer than the
/// rarest census name.
const TAIL_SURNAMES: f64 = 200_000.0;
const TAIL_OFFSET: f64 = 400.0;

/// SplitMix64: tiny, fast, and the same on every platform and version (a benchmark's data must not
/// change when a dependency is upgraded).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    pub fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// Uniform in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)] // 53 bits: exact
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One stream per (seed, patient, field).
fn stream(seed: u64, index: u64, field: u64) -> Rng {
    let mut r = Rng::new(
        seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ field.wrapping_mul(0xA076_1D64_78BD_642F),
    );
    r.next_u64();
    r
}

mod field {
    pub const ID: u64 = 1;
    pub const STATUS: u64 = 2;
    pub const HOUSEHOLD: u64 = 3;
    pub const SURNAME: u64 = 4;
    pub const PHONE: u64 = 5;
    pub const ADDRESS: u64 = 6;
    pub const PERSON: u64 = 7;
    pub const CONTACT: u64 = 8;
}

/// Names with cumulative weights, for weighted draws.
#[derive(Debug)]
struct Weighted {
    names: Vec<&'static str>,
    cumulative: Vec<u64>,
}

impl Weighted {
    fn new(table: &[(&'static str, u32)]) -> Self {
        let mut total = 0;
        let cumulative = table
            .iter()
            .map(|(_, w)| {
                total += u64::from(*w);
                total
            })
            .collect();
        Self { names: table.iter().map(|(n, _)| *n).collect(), cumulative }
    }

    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    fn pick(&self, rng: &mut Rng) -> &'static str {
        let x = rng.below(self.total());
        self.names[self.cumulative.partition_point(|c| *c <= x)]
    }
}

/// A generated patient, with what the store needs besides the record.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedPatient {
    pub index: u64,
    pub id: PatientId,
    pub mrn: String,
    pub status: &'static str,
    pub created_at: UtcTime,
    pub record: PatientRecord,
}

/// The data set of one seed and size.
#[derive(Debug)]
pub struct Generator {
    seed: u64,
    count: u64,
    surnames: Weighted,
    male: Weighted,
    female: Weighted,
}

impl Generator {
    pub fn new(seed: u64, count: u64) -> Self {
        Self {
            seed,
            count: count.max(1),
            surnames: Weighted::new(names::SURNAMES),
            male: Weighted::new(names::MALE),
            female: Weighted::new(names::FEMALE),
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The organization holding this data set (the same id for the same seed and size).
    pub fn org_id(&self) -> OrgId {
        let mut r = stream(self.seed, self.count, 0);
        let bytes: [u8; 16] = (u128::from(r.next_u64()) << 64 | u128::from(r.next_u64())).to_be_bytes();
        OrgId::from(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// `active` (96.5%), `inactive` (2.5%) or `deleted` (1%).
    pub fn status(&self, i: u64) -> &'static str {
        match stream(self.seed, i, field::STATUS).below(1000) {
            0..10 => "deleted",
            10..35 => "inactive",
            _ => "active",
        }
    }

    fn registered_ms(&self, i: u64) -> u64 {
        let span = u128::from(LAST_REGISTRATION_MS - FIRST_REGISTRATION_MS);
        FIRST_REGISTRATION_MS + u64::try_from(span * u128::from(i) / u128::from(self.count)).unwrap_or(0)
    }

    /// The patient's id: a UUIDv7 of its registration time, like the ids Hearth makes.
    pub fn id(&self, i: u64) -> PatientId {
        let mut r = stream(self.seed, i, field::ID);
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&r.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&r.next_u64().to_be_bytes()[..2]);
        PatientId::from(uuid::Builder::from_unix_timestamp_millis(self.registered_ms(i), &bytes).into_uuid())
    }

    /// The MRN as Hearth's default pattern makes it: the registration year and that year's counter.
    fn mrn(&self, i: u64) -> String {
        let ms = self.registered_ms(i);
        let ts = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(0)).unwrap_or_default();
        let year = ts.to_zoned(jiff::tz::TimeZone::UTC).year();
        let start = jiff::civil::date(year, 1, 1).to_zoned(jiff::tz::TimeZone::UTC).map_or(0, |z| {
            u64::try_from(z.timestamp().as_millisecond()).unwrap_or(0).max(FIRST_REGISTRATION_MS)
        });
        // The first patient registered in `year`: the smallest j with registered_ms(j) >= start.
        let span = u128::from(LAST_REGISTRATION_MS - FIRST_REGISTRATION_MS);
        let first = (u128::from(start - FIRST_REGISTRATION_MS) * u128::from(self.count)).div_ceil(span);
        let seq = i64::try_from(u128::from(i) - first.min(u128::from(i))).unwrap_or(0) + 1;
        crate::patients::mrn::render(MRN_PATTERN, year, seq).unwrap_or_default()
    }

    /// Patient `i` (`0 <= i < count`).
    pub fn patient(&self, i: u64) -> GeneratedPatient {
        let mut p = stream(self.seed, i, field::PERSON);
        let household = if i > 0 && stream(self.seed, i, field::HOUSEHOLD).chance(0.04) { i - 1 } else { i };
        let (gender, name, other_names) = self.names(&mut p, household);
        let birth_date = birth_date(&mut p);
        let phones = self.phones(household, &mut p);
        let emails = if p.chance(0.65) {
            let given = name.given.first().map_or("", String::as_str);
            vec![ContactPoint { value: email(&mut p, given, &name.family), ..ContactPoint::default() }]
        } else {
            Vec::new()
        };
        let (address, zone) = address(self.seed, household);
        let identifiers = if p.chance(0.92) {
            // An affine map of the index mod 10^8 with a multiplier coprime to 10: unique per patient.
            let value = (i.wrapping_mul(48_271).wrapping_add(self.seed % 100_000_000)) % 100_000_000;
            vec![Identifier {
                system: EHR_SYSTEM.into(),
                value: format!("E{value:08}"),
                ..Identifier::default()
            }]
        } else {
            Vec::new()
        };
        let language = match p.below(1000) {
            0..780 => "en",
            780..950 => "es",
            950..965 => "vi",
            965..980 => "zh",
            980..990 => "ar",
            _ => "fr",
        };
        let channel = match p.below(10) {
            0..6 => Some("sms"),
            6..8 if !emails.is_empty() => Some("email"),
            8 => Some("voice"),
            _ => None,
        };
        let mut c = stream(self.seed, i, field::CONTACT);
        let emergency_contacts = if c.chance(0.3) {
            let relationship = c.pick(&["spouse", "parent", "child", "sibling", "friend"]);
            vec![EmergencyContact {
                name: {
                    let female = c.chance(0.5);
                    format!("{} {}", self.given_name(&mut c, female), self.surname_draw(&mut c))
                },
                relationship: Some((*relationship).into()),
                phone: Some(phone_number(&mut c).1),
            }]
        } else {
            Vec::new()
        };
        let record = PatientRecord {
            name,
            other_names,
            birth_date: Some(birth_date.to_string()),
            gender: Some(gender.into()),
            phones,
            emails,
            addresses: vec![address],
            identifiers,
            preferred_language: Some(language.into()),
            preferred_channel: channel.map(Into::into),
            time_zone: Some(zone.into()),
            emergency_contacts,
            ..PatientRecord::default()
        };
        let created_at = UtcTime::from_micros(i64::try_from(self.registered_ms(i)).unwrap_or(0) * 1000)
            .unwrap_or_else(|| UtcTime::new(jiff::Timestamp::UNIX_EPOCH));
        GeneratedPatient {
            index: i,
            id: self.id(i),
            mrn: self.mrn(i),
            status: self.status(i),
            created_at,
            record,
        }
    }

    /// Sex, name and maiden name.
    fn names(&self, p: &mut Rng, household: u64) -> (&'static str, HumanName, Vec<HumanName>) {
        let gender = match p.below(1000) {
            0..3 => "other",
            3..5 => "unknown",
            5..500 => "male",
            _ => "female",
        };
        let female = gender == "female" || (gender != "male" && p.chance(0.5));
        let mut given = vec![self.given_name(p, female)];
        if p.chance(0.4) {
            let middle = self.given_name(p, female);
            if middle != given[0] {
                given.push(middle);
            }
        }
        let mut family = self.surname(household);
        let mut other_names = Vec::new();
        if female && p.chance(0.08) {
            let maiden = self.surname_draw(p);
            if maiden != family {
                other_names.push(HumanName {
                    use_: Some("maiden".into()),
                    family: maiden,
                    given: given.clone(),
                    ..HumanName::default()
                });
            }
        }
        if p.chance(0.015) {
            family = family.to_uppercase();
            given = given.iter().map(|g| g.to_uppercase()).collect();
        }
        (gender, HumanName { family, given, ..HumanName::default() }, other_names)
    }

    fn given_name(&self, r: &mut Rng, female: bool) -> String {
        if r.chance(0.12) {
            let endings = if female { names::TAIL_GIVEN_ENDINGS.1 } else { names::TAIL_GIVEN_ENDINGS.0 };
            let onset = r.pick(names::TAIL_ONSETS);
            let middle = r.pick(&["", "", "l", "n", "r", "s", "d", "v", "m"]);
            return format!("{onset}{middle}{}", r.pick(endings));
        }
        if female { self.female.pick(r) } else { self.male.pick(r) }.to_owned()
    }

    /// The household's surname (shared by everyone in it).
    fn surname(&self, household: u64) -> String {
        self.surname_draw(&mut stream(self.seed, household, field::SURNAME))
    }

    fn surname_draw(&self, r: &mut Rng) -> String {
        let listed = self.surnames.total();
        // The census list holds its real share of people; the rest are in the made-up tail.
        let one = if r.below(100_000) < listed { self.surnames.pick(r).to_owned() } else { tail_surname(r) };
        if r.chance(0.02) {
            let other =
                if r.below(100_000) < listed { self.surnames.pick(r).to_owned() } else { tail_surname(r) };
            if other != one {
                return format!("{one}-{other}");
            }
        }
        one
    }

    /// A mobile phone (shared by the household) and sometimes a home phone, in assorted notations.
    fn phones(&self, household: u64, p: &mut Rng) -> Vec<ContactPoint> {
        let mut h = stream(self.seed, household, field::PHONE);
        if !h.chance(0.95) {
            return Vec::new();
        }
        let mut out = vec![ContactPoint {
            value: written(p, &phone_number(&mut h).0),
            use_: Some("mobile".into()),
            ..ContactPoint::default()
        }];
        if p.chance(0.25) {
            out.push(ContactPoint {
                value: {
                    let digits = phone_number(p).0;
                    written(p, &digits)
                },
                use_: Some("home".into()),
                ..ContactPoint::default()
            });
        }
        out
    }
}

/// A surname of the made-up tail: Zipf-distributed ranks, each rank a fixed name.
fn tail_surname(r: &mut Rng) -> String {
    let u = r.unit();
    let rank = TAIL_OFFSET * (u * ((TAIL_SURNAMES + TAIL_OFFSET) / TAIL_OFFSET).ln()).exp() - TAIL_OFFSET;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 <= rank < 200,000
    let mut n = Rng::new((rank as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let onset = n.pick(names::TAIL_ONSETS);
    let vowel = n.pick(&["a", "e", "i", "o", "u", "y", "ie", "ou", "ei", "ar", "er", "or"]);
    let middle = n.pick(names::TAIL_MIDDLES);
    let suffix = n.pick(names::TAIL_SUFFIXES);
    format!("{onset}{vowel}{middle}{suffix}")
}

/// Ages weighted by decade (fewer over 70), any day of the year.
fn birth_date(r: &mut Rng) -> jiff::civil::Date {
    const DECADES: [u64; 11] = [12, 12, 13, 13, 12, 13, 12, 8, 4, 1, 0];
    let total: u64 = DECADES.iter().sum();
    let mut x = r.below(total);
    let mut decade = 0;
    while x >= DECADES[decade] {
        x -= DECADES[decade];
        decade += 1;
    }
    let days = i64::try_from(decade as u64 * 3652 + r.below(3652) + 1).unwrap_or(1);
    REFERENCE_DATE.checked_sub(jiff::Span::new().days(days)).unwrap_or(REFERENCE_DATE)
}

/// A valid US number: (national digits, E.164).
pub fn phone_number(r: &mut Rng) -> (String, String) {
    loop {
        let area = r.pick(names::AREA_CODES);
        let exchange = 200 + r.below(800);
        let line = r.below(10_000);
        if exchange % 100 == 11 {
            continue; // N11 codes are services, not exchanges
        }
        let digits = format!("{area}{exchange:03}{line:04}");
        let e164 = format!("+1{digits}");
        if hearth_core::contact::Phone::parse(&e164, "US").is_ok() {
            return (digits, e164);
        }
    }
}

/// National digits in one of the notations people type.
pub fn written(r: &mut Rng, digits: &str) -> String {
    let (a, b, c) = (&digits[..3], &digits[3..6], &digits[6..]);
    match r.below(7) {
        0 => format!("({a}) {b}-{c}"),
        1 => format!("{a}-{b}-{c}"),
        2 => format!("{a}.{b}.{c}"),
        3 => format!("+1 {a} {b} {c}"),
        4 => format!("1-{a}-{b}-{c}"),
        5 => format!("+1{digits}"),
        _ => digits.to_owned(),
    }
}

fn email(r: &mut Rng, given: &str, family: &str) -> String {
    let clean = |s: &str| hearth_core::names::tokens(s).concat();
    let (g, f) = (clean(given), clean(family));
    let local = match r.below(4) {
        0 => format!("{g}.{f}"),
        1 => format!("{}{f}{}", &g[..1.min(g.len())], r.below(100)),
        2 => format!("{g}{}", 1950 + r.below(70)),
        _ => format!("{f}.{g}{}", r.below(1000)),
    };
    let domain = r.pick(&["example.com", "example.net", "example.org"]);
    format!("{local}@{domain}")
}

/// The household's address and time zone.
fn address(seed: u64, household: u64) -> (Address, &'static str) {
    let mut r = stream(seed, household, field::ADDRESS);
    let (city, state, zip, zone) = *r.pick(names::CITIES);
    let kind = r.pick(&["St", "Ave", "Rd", "Dr", "Ln"]);
    let address = Address {
        line: vec![format!("{} {} {kind}", 1 + r.below(9999), r.pick(names::STREETS))],
        city: Some(city.into()),
        state: Some(state.into()),
        postal_code: Some(format!("{zip}{:02}", r.below(100))),
        country: Some("US".into()),
        use_: Some("home".into()),
        ..Address::default()
    };
    (address, zone)
}

/// A name as a hurried or unsure person types it: one or two tokens changed by a sound-alike spelling
/// (y/i, ph/f, c/k, a dropped h or doubled letter) or a slip (transposed, dropped, doubled or wrong
/// letter). Capitals are kept where they were.
pub fn misspell(r: &mut Rng, token: &str) -> String {
    const SOUNDS: &[(&str, &str)] = &[
        ("ph", "f"),
        ("f", "ph"),
        ("y", "i"),
        ("i", "y"),
        ("ck", "k"),
        ("c", "k"),
        ("k", "c"),
        ("th", "t"),
        ("oh", "o"),
        ("hn", "n"),
        ("ie", "y"),
        ("ee", "ea"),
        ("s", "z"),
        ("z", "s"),
        ("ll", "l"),
        ("tt", "t"),
        ("nn", "n"),
        ("mm", "m"),
        ("ou", "ow"),
        ("ey", "y"),
        ("er", "ar"),
    ];
    let lower = token.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < 3 {
        return lower;
    }
    if r.chance(0.5) {
        let start = r.index(SOUNDS.len());
        for k in 0..SOUNDS.len() {
            let (from, to) = SOUNDS[(start + k) % SOUNDS.len()];
            // Not the first letter: people rarely get that wrong.
            if let Some(pos) = lower[1..].find(from).map(|p| p + 1) {
                return format!("{}{to}{}", &lower[..pos], &lower[pos + from.len()..]);
            }
        }
    }
    let mut out = chars.clone();
    let pos = 1 + r.index(chars.len() - 1);
    match r.below(4) {
        0 if pos + 1 < out.len() => out.swap(pos, pos + 1),
        1 => drop(out.remove(pos)),
        2 => out.insert(pos, chars[pos]),
        _ => out[pos] = *r.pick(&['a', 'e', 'i', 'o', 'u', 'n', 'r', 's', 't', 'l']),
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_patients_and_another_seed_others() {
        let (a, b, c) = (Generator::new(7, 10_000), Generator::new(7, 10_000), Generator::new(8, 10_000));
        for i in [0, 1, 2, 999, 5_000, 9_999] {
            assert_eq!(a.patient(i), b.patient(i), "patient {i}");
            assert_ne!(a.patient(i).record, c.patient(i).record, "patient {i}");
        }
        assert_eq!(a.org_id(), b.org_id());
        assert_ne!(a.org_id(), c.org_id());
        let mut r = (Rng::new(3), Rng::new(3));
        assert_eq!(misspell(&mut r.0, "smith"), misspell(&mut r.1, "smith"));
    }

    #[test]
    fn every_patient_passes_strict_validation_with_unique_ids_mrns_and_identifiers() {
        let g = Generator::new(1, 3_000);
        let (mut ids, mut mrns, mut idents) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..g.count() {
            let p = g.patient(i);
            let (_, fields) = crate::patients::normalize(
                &p.record,
                REFERENCE_DATE,
                "US",
                crate::patients::Strictness::Strict,
            )
            .unwrap_or_else(|e| panic!("patient {i}: {e:?}\n{:?}", p.record));
            assert!(!fields.name_keys.is_empty(), "patient {i}");
            ids.push(p.id);
            mrns.push(p.mrn);
            idents.extend(fields.identifiers);
        }
        for list in [ids.len(), mrns.len(), idents.len()] {
            assert!(list > 2_000);
        }
        ids.sort();
        ids.dedup();
        mrns.sort();
        mrns.dedup();
        let n = idents.len();
        idents.sort();
        idents.dedup();
        assert_eq!((ids.len(), mrns.len(), idents.len()), (3_000, 3_000, n));
        assert!(g.patient(0).mrn.starts_with("MRN-2012"), "{}", g.patient(0).mrn);
    }

    #[test]
    fn surnames_are_skewed_like_a_real_population() {
        let g = Generator::new(2, 50_000);
        let families: Vec<String> = (0..20_000).map(|i| g.patient(i).record.name.family).collect();
        let smiths = families.iter().filter(|f| f.eq_ignore_ascii_case("smith")).count();
        // 0.83% expected: about 166 of 20,000.
        assert!((110..230).contains(&smiths), "{smiths} Smiths");
        let mut distinct = families.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 8_000, "{} distinct surnames", distinct.len());
    }

    #[test]
    fn misspellings_keep_the_first_letter_and_mostly_change_the_name() {
        let mut r = Rng::new(11);
        for name in ["smith", "john", "catherine", "nguyen"] {
            let changed = (0..50)
                .filter(|_| {
                    let m = misspell(&mut r, name);
                    assert_eq!(m.chars().next(), name.chars().next(), "{name} → {m}");
                    m != name
                })
                .count();
            assert!(changed >= 40, "{name}: {changed} of 50 changed");
        }
        assert_eq!(misspell(&mut r, "Li"), "li", "too short to misspell");
    }
}
