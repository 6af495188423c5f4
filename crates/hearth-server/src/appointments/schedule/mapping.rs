//! The mapping file: which CSV column holds which wire field, how dates and times are written, the
//! time zone of the wall-clock times, and what the EHR's status words mean.
//!
//! Read from TOML (unknown keys refused) and validated as a whole: every problem is reported at once,
//! each naming its key (`columns.datetime`, `status_words."No Show"`) and what was expected.

use std::collections::BTreeMap;
use std::fmt;

use hearth_core::TimeZoneName;
use hearth_core::appointment::{EventKind, Status};
use jiff::civil::DateTime;
use jiff::fmt::strtime::BrokenDownTime;
use serde::Deserialize;

/// A problem with the mapping file: the key and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The TOML key, dotted (`formats.datetime`), or `(file)` for a syntax error.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl MappingError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A wire field (specs/appointments.md, section 1) that a CSV column can fill with its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    AppointmentId,
    PatientId,
    PatientFirstName,
    PatientLastName,
    PatientPhone,
    PatientEmail,
    PatientLanguage,
    ProviderId,
    ProviderFirstName,
    ProviderLastName,
    ProviderCallbackPhone,
    AppointmentLocation,
    AppointmentType,
    AppointmentDurationMinutes,
}

impl Field {
    /// Every field, in the order of the spec's table.
    pub const ALL: &'static [Field] = &[
        Field::AppointmentId,
        Field::PatientId,
        Field::PatientFirstName,
        Field::PatientLastName,
        Field::PatientPhone,
        Field::PatientEmail,
        Field::PatientLanguage,
        Field::ProviderId,
        Field::ProviderFirstName,
        Field::ProviderLastName,
        Field::ProviderCallbackPhone,
        Field::AppointmentLocation,
        Field::AppointmentType,
        Field::AppointmentDurationMinutes,
    ];

    /// The wire name, which is also the key under `[columns]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::AppointmentId => "appointment_id",
            Field::PatientId => "patient_id",
            Field::PatientFirstName => "patient_first_name",
            Field::PatientLastName => "patient_last_name",
            Field::PatientPhone => "patient_phone",
            Field::PatientEmail => "patient_email",
            Field::PatientLanguage => "patient_language",
            Field::ProviderId => "provider_id",
            Field::ProviderFirstName => "provider_first_name",
            Field::ProviderLastName => "provider_last_name",
            Field::ProviderCallbackPhone => "provider_callback_phone",
            Field::AppointmentLocation => "appointment_location",
            Field::AppointmentType => "appointment_type",
            Field::AppointmentDurationMinutes => "appointment_duration_minutes",
        }
    }

    /// Every row must have a value for it.
    pub const fn is_required(self) -> bool {
        matches!(self, Field::AppointmentId | Field::PatientId)
    }
}

/// Where the appointment's local start time is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// One column with the date and the time, e.g. `03/07/2026 2:05 PM`.
    DateTime { column: String, format: String },
    /// A date column and a time column.
    Split { date_column: String, date_format: String, time_column: String, time_format: String },
}

/// What a status word of the EHR means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// Send this event.
    Event(EventKind),
    /// Leave the row out (e.g. a "Template" or "Blocked" slot that is no appointment).
    Skip,
}

/// The status column and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusWords {
    /// The CSV column.
    pub column: String,
    /// (word as written in the mapping, meaning), sorted by word.
    pub words: Vec<(String, Word)>,
}

impl StatusWords {
    /// The meaning of a cell, ignoring case and runs of spaces; `None` for an unknown word.
    pub fn lookup(&self, cell: &str) -> Option<Word> {
        let key = normalize_word(cell);
        self.words.iter().find(|(w, _)| normalize_word(w) == key).map(|(_, m)| *m)
    }

    /// The words, comma-separated, for error messages.
    pub fn expected(&self) -> String {
        self.words.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// Rows to import; the others are skipped (reported, not errors). Values compare ignoring case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only rows whose `appointment_type` is one of these.
    pub only_types: Option<Vec<String>>,
    /// Only rows whose `provider_id` is one of these.
    pub only_providers: Option<Vec<String>>,
    /// Only rows whose `appointment_location` is one of these.
    pub only_locations: Option<Vec<String>>,
}

/// A validated mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The EHR system the file comes from; with the appointment id, the key of an appointment.
    pub source: String,
    /// The IANA zone of the wall-clock times in the file.
    pub time_zone: TimeZoneName,
    /// The field separator (one ASCII character; `,` by default).
    pub delimiter: u8,
    /// Lines before the header (a report title, a date range…).
    pub skip_rows: usize,
    /// The CSV column of each mapped wire field.
    pub columns: BTreeMap<Field, String>,
    /// Where the start time is.
    pub when: When,
    /// The status column and its words; without one every row is a booking.
    pub status: Option<StatusWords>,
    /// Which rows to import.
    pub filters: Filters,
}

/// Formats that would put a zone or an instant in the text: the mapping's `time_zone` says the zone.
const ZONE_DIRECTIVES: &[&str] = &["%z", "%:z", "%::z", "%:::z", "%Z", "%Q", "%:Q", "%s"];

/// The date and time used to show and check formats: Saturday 7 March 2026, 2:05:09 PM.
const SAMPLE: DateTime = jiff::civil::date(2026, 3, 7).at(14, 5, 9, 0);

/// The accepted values of `status_words`, for error messages.
const WORD_VALUES: &str = "booked, cancelled, noshow, fulfilled, arrived, checked-in, entered-in-error (FHIR \
     statuses), BOOKED, RESCHEDULED, MODIFIED, CONFIRMED, CANCELED, NOSHOWED, ARRIVED, CHECKED-IN, FULFILLED, \
     ENTERED-IN-ERROR (Hearth events), or skip";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    source: String,
    time_zone: String,
    delimiter: Option<String>,
    skip_rows: Option<usize>,
    columns: RawColumns,
    #[serde(default)]
    formats: RawFormats,
    status_words: Option<BTreeMap<String, String>>,
    #[serde(default)]
    filters: RawFilters,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    appointment_id: Option<String>,
    patient_id: Option<String>,
    patient_first_name: Option<String>,
    patient_last_name: Option<String>,
    patient_phone: Option<String>,
    patient_email: Option<String>,
    patient_language: Option<String>,
    provider_id: Option<String>,
    provider_first_name: Option<String>,
    provider_last_name: Option<String>,
    provider_callback_phone: Option<String>,
    appointment_location: Option<String>,
    appointment_type: Option<String>,
    appointment_duration_minutes: Option<String>,
    status: Option<String>,
    datetime: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

impl RawColumns {
    fn get(&self, f: Field) -> Option<&String> {
        match f {
            Field::AppointmentId => self.appointment_id.as_ref(),
            Field::PatientId => self.patient_id.as_ref(),
            Field::PatientFirstName => self.patient_first_name.as_ref(),
            Field::PatientLastName => self.patient_last_name.as_ref(),
            Field::PatientPhone => self.patient_phone.as_ref(),
            Field::PatientEmail => self.patient_email.as_ref(),
            Field::PatientLanguage => self.patient_language.as_ref(),
            Field::ProviderId => self.provider_id.as_ref(),
            Field::ProviderFirstName => self.provider_first_name.as_ref(),
            Field::ProviderLastName => self.provider_last_name.as_ref(),
            Field::ProviderCallbackPhone => self.provider_callback_phone.as_ref(),
            Field::AppointmentLocation => self.appointment_location.as_ref(),
            Field::AppointmentType => self.appointment_type.as_ref(),
            Field::AppointmentDurationMinutes => self.appointment_duration_minutes.as_ref(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormats {
    datetime: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_field_names)] // the keys of the file
struct RawFilters {
    only_types: Option<Vec<String>>,
    only_providers: Option<Vec<String>>,
    only_locations: Option<Vec<String>>,
}

impl Mapping {
    /// Reads and checks a mapping file. The error lists every problem found, each naming its key.
    pub fn from_toml(text: &str) -> Result<Mapping, Vec<MappingError>> {
        let raw = parse_raw(text).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut err = |key: &str, message: String| errors.push(MappingError::new(key, message));

        let source = raw.source.trim().to_owned();
        if source.is_empty() || source.len() > 100 || source.chars().any(char::is_control) {
            err(
                "source",
                "expected the name of the EHR system, e.g. \"clinic-csv\" (1 to 100 characters)".into(),
            );
        }
        let time_zone = TimeZoneName::parse(&raw.time_zone).ok();
        if time_zone.is_none() {
            err(
                "time_zone",
                format!(
                    "`{}` is not an IANA time zone; expected a name such as \"America/Chicago\" \
                     (a fixed offset has no daylight-saving rules)",
                    raw.time_zone.trim()
                ),
            );
        }
        let delimiter = match raw.delimiter.as_deref() {
            None => b',',
            Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => d.as_bytes()[0],
            Some(d) => {
                err(
                    "delimiter",
                    format!("`{d}` is not one ASCII character; expected e.g. \",\", \";\" or \"\\t\""),
                );
                b','
            }
        };
        let skip_rows = raw.skip_rows.unwrap_or(0);
        if skip_rows > 1000 {
            err(
                "skip_rows",
                format!("{skip_rows} is too many; expected the number of lines above the header (0 to 1000)"),
            );
        }

        let mut columns = BTreeMap::new();
        for &f in Field::ALL {
            match raw.columns.get(f) {
                Some(c) if c.trim().is_empty() => {
                    err(
                        &format!("columns.{}", f.as_str()),
                        "expected a column name of the header, not an empty string".into(),
                    );
                }
                Some(c) => {
                    columns.insert(f, c.trim().to_owned());
                }
                None if f.is_required() => {
                    err(
                        &format!("columns.{}", f.as_str()),
                        format!("missing; expected the header name of the column with the {}", describe(f)),
                    );
                }
                None => {}
            }
        }

        let when = check_when(&raw.columns, &raw.formats, &mut err);
        let status = check_status(raw.columns.status.as_deref(), raw.status_words.as_ref(), &mut err);
        let filters = check_filters(raw.filters, &columns, &mut err);

        match (errors.is_empty(), time_zone, when) {
            (true, Some(time_zone), Some(when)) => {
                Ok(Mapping { source, time_zone, delimiter, skip_rows, columns, when, status, filters })
            }
            _ => Err(errors),
        }
    }

    /// The CSV column that fills a wire field, if mapped (`event_type` → the status column,
    /// `appointment_datetime` → the date/time column(s)).
    pub fn column_for(&self, wire_field: &str) -> Option<String> {
        match wire_field {
            "event_type" => self.status.as_ref().map(|s| s.column.clone()),
            "appointment_datetime" => Some(match &self.when {
                When::DateTime { column, .. } => column.clone(),
                When::Split { date_column, time_column, .. } => format!("{date_column} + {time_column}"),
            }),
            _ => Field::ALL
                .iter()
                .find(|f| f.as_str() == wire_field)
                .and_then(|f| self.columns.get(f).cloned()),
        }
    }
}

/// Deserializes the TOML, naming the key of the first problem (TOML stops there).
fn parse_raw(text: &str) -> Result<RawMapping, MappingError> {
    let located = |e: &toml::de::Error| {
        let msg = e.message().trim_end().to_owned();
        match e.span() {
            Some(span) => {
                let line = text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1);
                format!("{msg} (line {line} of the mapping file)")
            }
            None => msg,
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| MappingError::new("(file)", located(&e)))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." { "(file)".to_owned() } else { path };
        MappingError::new(key, located(e.inner()))
    })
}

fn describe(f: Field) -> &'static str {
    match f {
        Field::AppointmentId => "EHR's appointment id",
        Field::PatientId => "EHR's patient id (or MRN)",
        _ => "value",
    }
}

fn check_when(cols: &RawColumns, formats: &RawFormats, err: &mut impl FnMut(&str, String)) -> Option<When> {
    let named = |c: &Option<String>| c.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    match (named(&cols.datetime), named(&cols.date), named(&cols.time)) {
        (Some(column), None, None) => {
            if formats.date.is_some() || formats.time.is_some() {
                err("formats", "with columns.datetime only formats.datetime is used; remove formats.date and formats.time".into());
            }
            let format = check_format("formats.datetime", formats.datetime.as_deref(), Part::DateTime, err)?;
            Some(When::DateTime { column, format })
        }
        (None, Some(date_column), Some(time_column)) => {
            if formats.datetime.is_some() {
                err(
                    "formats.datetime",
                    "with columns.date and columns.time, expected formats.date and formats.time instead"
                        .into(),
                );
            }
            let date_format = check_format("formats.date", formats.date.as_deref(), Part::Date, err);
            let time_format = check_format("formats.time", formats.time.as_deref(), Part::Time, err);
            Some(When::Split {
                date_column,
                date_format: date_format?,
                time_column,
                time_format: time_format?,
            })
        }
        (Some(_), _, _) => {
            err(
                "columns.datetime",
                "expected either columns.datetime or columns.date with columns.time, not both".into(),
            );
            None
        }
        (None, Some(_), None) => {
            err(
                "columns.time",
                "missing; columns.date needs columns.time (or use columns.datetime for one column)".into(),
            );
            None
        }
        (None, None, Some(_)) => {
            err(
                "columns.date",
                "missing; columns.time needs columns.date (or use columns.datetime for one column)".into(),
            );
            None
        }
        (None, None, None) => {
            err(
                "columns.datetime",
                "missing; expected the column with the appointment's date and time (or columns.date and columns.time)"
                    .into(),
            );
            None
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Part {
    DateTime,
    Date,
    Time,
}

/// Checks a strptime format by writing the sample with it and reading it back.
fn check_format(
    key: &str,
    format: Option<&str>,
    part: Part,
    err: &mut impl FnMut(&str, String),
) -> Option<String> {
    let (what, example) = match part {
        Part::DateTime => ("a date and time", "\"%m/%d/%Y %I:%M %p\" or \"%Y-%m-%d %H:%M\""),
        Part::Date => ("a date", "\"%m/%d/%Y\" or \"%Y-%m-%d\""),
        Part::Time => ("a time", "\"%I:%M %p\" or \"%H:%M\""),
    };
    let Some(format) = format.filter(|f| !f.trim().is_empty()) else {
        err(key, format!("missing; expected the strptime format of {what}, e.g. {example}"));
        return None;
    };
    if let Some(d) = ZONE_DIRECTIVES.iter().find(|d| format.contains(*d)) {
        err(
            key,
            format!(
                "`{format}` contains {d}; times in the file are wall-clock times in `time_zone`, so expected a format without a zone or offset"
            ),
        );
        return None;
    }
    let written = match BrokenDownTime::from(SAMPLE).to_string(format) {
        Ok(s) => s,
        Err(e) => {
            err(key, format!("`{format}` is not a strptime format ({e}); expected e.g. {example}"));
            return None;
        }
    };
    let back = BrokenDownTime::parse(format, &written);
    let complete = back.ok().is_some_and(|b| match part {
        Part::DateTime => b.to_datetime().is_ok_and(|dt| dt.date() == SAMPLE.date() && same_hm(dt.time())),
        Part::Date => b.to_date().is_ok_and(|d| d == SAMPLE.date()),
        Part::Time => b.to_time().is_ok_and(same_hm),
    });
    if complete {
        Some(format.to_owned())
    } else {
        let needs = match part {
            Part::DateTime => "year, month, day, hour and minute (with %p after %I)",
            Part::Date => "year, month and day",
            Part::Time => "hour and minute (with %p after %I)",
        };
        err(
            key,
            format!(
                "`{format}` does not give {what} ({SAMPLE} would read back from `{written}` as something else); expected a format with the {needs}, e.g. {example}"
            ),
        );
        None
    }
}

fn same_hm(t: jiff::civil::Time) -> bool {
    t.hour() == SAMPLE.hour() && t.minute() == SAMPLE.minute()
}

fn check_status(
    column: Option<&str>,
    words: Option<&BTreeMap<String, String>>,
    err: &mut impl FnMut(&str, String),
) -> Option<StatusWords> {
    let column = column.map(str::trim);
    match (column, words) {
        (None, None) => None,
        (None, Some(_)) => {
            err("columns.status", "missing; status_words needs the column they are found in".into());
            None
        }
        (Some(""), _) => {
            err("columns.status", "expected a column name of the header, not an empty string".into());
            None
        }
        (Some(_), None) => {
            err(
                "status_words",
                "missing; with columns.status, expected a table of the EHR's words and their meaning, e.g. \
                 Seen = \"fulfilled\""
                    .into(),
            );
            None
        }
        (Some(column), Some(words)) => {
            if words.is_empty() {
                err("status_words", "expected at least one word, e.g. Booked = \"booked\"".into());
            }
            let mut out: Vec<(String, Word)> = Vec::new();
            for (word, meaning) in words {
                let key = format!("status_words.{}", toml_key(word));
                if word.trim().is_empty() {
                    err(&key, "expected a status word as the EHR writes it, not an empty string".into());
                    continue;
                }
                if let Some((other, _)) = out.iter().find(|(w, _)| normalize_word(w) == normalize_word(word))
                {
                    err(
                        &key,
                        format!(
                            "the same word as status_words.{} (words compare ignoring case)",
                            toml_key(other)
                        ),
                    );
                    continue;
                }
                match parse_word(meaning) {
                    Some(m) => out.push((word.trim().to_owned(), m)),
                    None => err(
                        &key,
                        format!("`{meaning}` is not a status Hearth knows; expected one of: {WORD_VALUES}"),
                    ),
                }
            }
            Some(StatusWords { column: column.to_owned(), words: out })
        }
    }
}

/// A status word's meaning: `skip`, a FHIR status (any case), or a Hearth event that is a fact about
/// an appointment.
fn parse_word(meaning: &str) -> Option<Word> {
    let m = meaning.trim();
    if m.eq_ignore_ascii_case("skip") {
        return Some(Word::Skip);
    }
    if let Ok(status) = Status::parse(&m.to_ascii_lowercase()) {
        let kind = match status {
            Status::Booked => EventKind::Booked,
            Status::Cancelled => EventKind::Canceled,
            Status::Noshow => EventKind::Noshowed,
            Status::Fulfilled => EventKind::Fulfilled,
            Status::Arrived => EventKind::Arrived,
            Status::CheckedIn => EventKind::CheckedIn,
            Status::EnteredInError => EventKind::EnteredInError,
            Status::Proposed | Status::Pending | Status::Waitlist => return None,
        };
        return Some(Word::Event(kind));
    }
    EventKind::parse(m).ok().filter(|k| k.is_appointment_fact()).map(Word::Event)
}

fn check_filters(
    raw: RawFilters,
    columns: &BTreeMap<Field, String>,
    err: &mut impl FnMut(&str, String),
) -> Filters {
    let mut one = |key: &str, values: Option<Vec<String>>, field: Field| -> Option<Vec<String>> {
        let values = values?;
        let values: Vec<String> =
            values.iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            err(key, "expected at least one value (or remove the key)".into());
            return None;
        }
        if !columns.contains_key(&field) {
            err(key, format!("needs columns.{} (the column to filter on)", field.as_str()));
        }
        Some(values)
    };
    Filters {
        only_types: one("filters.only_types", raw.only_types, Field::AppointmentType),
        only_providers: one("filters.only_providers", raw.only_providers, Field::ProviderId),
        only_locations: one("filters.only_locations", raw.only_locations, Field::AppointmentLocation),
    }
}

/// A key as TOML writes it: bare when it can be, quoted otherwise (`"No Show"`).
fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

/// Lower case, single spaces, trimmed: how status words and filter values are compared.
pub(super) fn normalize_word(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
source = "clinic-csv"
time_zone = "America/Chicago"

[columns]
appointment_id = "Appt ID"
patient_id = "MRN"
patient_first_name = "First Name"
datetime = "Appt Time"
status = "Status"
appointment_type = "Type"

[formats]
datetime = "%m/%d/%Y %I:%M %p"

[status_words]
Seen = "fulfilled"
Booked = "BOOKED"
"No Show" = "noshow"
Cancelled = "Cancelled"
Template = "skip"

[filters]
only_types = ["CLINICIAN"]
"#;

    fn errors(text: &str) -> Vec<MappingError> {
        Mapping::from_toml(text).expect_err("refused")
    }

    fn keys(errs: &[MappingError]) -> Vec<&str> {
        errs.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn a_complete_mapping_reads() {
        let m = Mapping::from_toml(GOOD).unwrap();
        assert_eq!(m.source, "clinic-csv");
        assert_eq!(m.time_zone.as_str(), "America/Chicago");
        assert_eq!(m.delimiter, b',');
        assert_eq!(m.columns[&Field::PatientFirstName], "First Name");
        assert_eq!(m.when, When::DateTime { column: "Appt Time".into(), format: "%m/%d/%Y %I:%M %p".into() });
        let s = m.status.unwrap();
        assert_eq!(s.lookup("seen"), Some(Word::Event(EventKind::Fulfilled)));
        assert_eq!(s.lookup("  NO   show "), Some(Word::Event(EventKind::Noshowed)));
        assert_eq!(s.lookup("Cancelled"), Some(Word::Event(EventKind::Canceled)));
        assert_eq!(s.lookup("Booked"), Some(Word::Event(EventKind::Booked)));
        assert_eq!(s.lookup("Template"), Some(Word::Skip));
        assert_eq!(s.lookup("Seen?"), None);
        assert_eq!(m.filters.only_types, Some(vec!["CLINICIAN".to_owned()]));
    }

    #[test]
    fn every_fhir_status_that_is_a_fact_maps_to_its_event() {
        for (word, kind) in [
            ("booked", EventKind::Booked),
            ("cancelled", EventKind::Canceled),
            ("noshow", EventKind::Noshowed),
            ("fulfilled", EventKind::Fulfilled),
            ("arrived", EventKind::Arrived),
            ("checked-in", EventKind::CheckedIn),
            ("entered-in-error", EventKind::EnteredInError),
            ("RESCHEDULED", EventKind::Rescheduled),
            ("canceled", EventKind::Canceled),
            ("NoShowed", EventKind::Noshowed),
        ] {
            assert_eq!(parse_word(word), Some(Word::Event(kind)), "{word}");
        }
        for word in ["waitlist", "proposed", "OPTED-OUT", "CONFIRM", "done", ""] {
            assert_eq!(parse_word(word), None, "{word}");
        }
    }

    #[test]
    fn split_date_and_time_columns() {
        let text = GOOD
            .replace("datetime = \"Appt Time\"", "date = \"Date\"\ntime = \"Time\"")
            .replace("datetime = \"%m/%d/%Y %I:%M %p\"", "date = \"%Y-%m-%d\"\ntime = \"%H:%M\"");
        let m = Mapping::from_toml(&text).unwrap();
        assert_eq!(
            m.when,
            When::Split {
                date_column: "Date".into(),
                date_format: "%Y-%m-%d".into(),
                time_column: "Time".into(),
                time_format: "%H:%M".into()
            }
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let errs = errors(&GOOD.replace("datetime = \"Appt Time\"", "datetim = \"Appt Time\""));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].key, "columns.datetim");
        assert!(errs[0].message.contains("unknown field `datetim`"), "{}", errs[0]);
        assert!(errs[0].message.contains("line 9 of the mapping file"), "{}", errs[0]);
    }

    #[test]
    fn a_wrong_type_and_a_syntax_error_are_located() {
        let errs = errors(&GOOD.replace("only_types = [\"CLINICIAN\"]", "only_types = \"CLINICIAN\""));
        assert_eq!(keys(&errs), ["filters.only_types"], "{errs:?}");
        assert!(errs[0].message.contains("line 24"), "{}", errs[0]);
        let errs = errors("source = \"x\nstatus = 1");
        assert_eq!(keys(&errs), ["(file)"]);
        assert!(errs[0].message.contains("line 1"), "{}", errs[0]);
        assert_eq!(keys(&errors("")), ["(file)"], "missing source");
        assert!(errors("").first().unwrap().message.contains("source"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key() {
        let text = r#"
source = " "
time_zone = "America/Chikago"
delimiter = ";;"
skip_rows = 5000
[columns]
patient_id = ""
date = "Date"
status = "Status"
[formats]
date = "%d/%m"
[status_words]
Seen = "done"
"No Show" = "noshow"
"no  show" = "cancelled"
[filters]
only_providers = []
only_locations = ["Main St"]
"#;
        let errs = errors(text);
        let k = keys(&errs);
        for key in [
            "source",
            "time_zone",
            "delimiter",
            "skip_rows",
            "columns.appointment_id",
            "columns.patient_id",
            "columns.time",
            "status_words.Seen",
            "status_words.\"no  show\"",
            "filters.only_providers",
            "filters.only_locations",
        ] {
            assert!(k.contains(&key), "{key} not in {errs:#?}");
        }
        let tz = errs.iter().find(|e| e.key == "time_zone").unwrap();
        assert!(tz.message.contains("America/Chikago") && tz.message.contains("IANA"), "{tz}");
        let seen = errs.iter().find(|e| e.key == "status_words.Seen").unwrap();
        assert!(seen.message.contains("`done`") && seen.message.contains("fulfilled"), "{seen}");
    }

    #[test]
    fn formats_are_checked_for_completeness() {
        let with = |f: &str| GOOD.replace("%m/%d/%Y %I:%M %p", f);
        for (format, why) in [
            ("%m/%d %H:%M", "does not give"),
            ("%m/%d/%Y %I:%M", "does not give"),
            ("%m/%d/%Y", "does not give"),
            ("%m/%d/%Y %H:%M %z", "contains %z"),
            ("%Y-%m-%d %H:%M %Q", "contains %Q"),
            ("%Y-%m-%d %H:%M %!", "not a strptime format"),
            ("", "missing"),
        ] {
            let errs = errors(&with(format));
            assert_eq!(keys(&errs), ["formats.datetime"], "{format}: {errs:?}");
            assert!(errs[0].message.contains(why), "{format}: {}", errs[0]);
        }
        for format in
            ["%Y-%m-%dT%H:%M:%S", "%d.%m.%y %H.%M", "%b %d %Y %l:%M%P", "%A %B %-d, %Y at %-I:%M %p"]
        {
            assert!(Mapping::from_toml(&with(format)).is_ok(), "{format}");
        }
    }

    #[test]
    fn datetime_xor_date_and_time() {
        let both =
            GOOD.replace("datetime = \"Appt Time\"", "datetime = \"Appt Time\"\ndate = \"D\"\ntime = \"T\"");
        assert_eq!(keys(&errors(&both)), ["columns.datetime"]);
        let none = GOOD.replace("datetime = \"Appt Time\"", "");
        let errs = errors(&none);
        assert_eq!(keys(&errs), ["columns.datetime"]);
        assert!(errs[0].message.contains("columns.date and columns.time"), "{}", errs[0]);
    }

    #[test]
    fn status_words_and_column_go_together() {
        let no_words = GOOD.split("[status_words]").next().unwrap().to_owned();
        assert_eq!(keys(&errors(&no_words)), ["status_words"]);
        let no_column = GOOD.replace("status = \"Status\"", "");
        assert_eq!(keys(&errors(&no_column)), ["columns.status"]);
        let neither = no_words.replace("status = \"Status\"", "");
        assert_eq!(Mapping::from_toml(&neither).unwrap().status, None);
    }

    #[test]
    fn a_filter_needs_its_column() {
        let text = GOOD.replace("appointment_type = \"Type\"", "");
        let errs = errors(&text);
        assert_eq!(keys(&errs), ["filters.only_types"]);
        assert!(errs[0].message.contains("columns.appointment_type"), "{}", errs[0]);
    }

    #[test]
    fn delimiters() {
        let with = |d: &str| GOOD.replace("time_zone =", &format!("delimiter = {d}\ntime_zone ="));
        assert_eq!(Mapping::from_toml(&with("\"\\t\"")).unwrap().delimiter, b'\t');
        assert_eq!(Mapping::from_toml(&with("\";\"")).unwrap().delimiter, b';');
        for bad in ["\"\"", "\"§\"", "\"\\\"\"", "\",;\""] {
            assert_eq!(keys(&errors(&with(bad))), ["delimiter"], "{bad}");
        }
    }

    #[test]
    fn the_example_mapping_reads() {
        let text = include_str!("../../../../../config/schedule-mapping.example.toml");
        let m = Mapping::from_toml(text).unwrap();
        assert!(m.status.is_some());
        assert_eq!(m.column_for("event_type").as_deref(), Some("Status"));
    }
}
