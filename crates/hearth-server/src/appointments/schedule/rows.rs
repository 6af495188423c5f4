//! Reading a schedule CSV with a [`Mapping`]: one wire event per data row, or the row's errors with
//! its line number.
//!
//! Line numbers are physical lines of the file, the first being 1 (so with `skip_rows = 0` the header
//! is line 1 and the first data row line 2); a row whose quoted value spans lines is named by the
//! line it starts on.

use std::collections::HashMap;
use std::fmt;

use hearth_core::appointment::EventKind;
use jiff::civil::DateTime;
use jiff::fmt::strtime::BrokenDownTime;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::mapping::{Field, Mapping, When, Word, normalize_word};

/// A problem with one line of the file (or with the file as a whole, at the line where it shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based physical line in the file; the header is line 1 unless `skip_rows` says otherwise.
    pub line: usize,
    /// The CSV column (as the header names it), `(row)` for the row as a whole, `(file)` for the
    /// file, or a wire field that has no column.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl LineError {
    fn new(line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { line, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

/// One data row as a wire event.
#[derive(Debug, Clone, PartialEq)]
pub struct RowEvent {
    /// Where the row starts in the file.
    pub line: usize,
    /// The EHR's appointment id (also in the event).
    pub appointment_id: String,
    /// The event in the webhook's wire format, with `source_system` and a `source_message_id`.
    pub event: Value,
}

/// A row left out on purpose: filtered, a `skip` status word, or a repeat of an earlier row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where the row starts in the file.
    pub line: usize,
    /// Why, in a sentence.
    pub reason: String,
}

/// A schedule file read with its mapping. Every data row is in exactly one of `events`, `skipped` and
/// (with one or more entries) `errors`; all three are in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    /// Data rows read (blank lines not counted).
    pub rows: usize,
    /// The rows to send, in file order.
    pub events: Vec<RowEvent>,
    /// The rows left out on purpose.
    pub skipped: Vec<Skipped>,
    /// The malformed rows' problems, by line.
    pub errors: Vec<LineError>,
}

/// Reads a schedule file. `Err` means no row can be read at all — the file is not UTF-8, has no
/// header, or its header lacks a mapped column (one error per missing column); otherwise every row is
/// either an event, skipped, or has its errors listed in [`Schedule::errors`].
pub fn read_schedule(bytes: &[u8], mapping: &Mapping) -> Result<Schedule, Vec<LineError>> {
    let text = decode(bytes).map_err(|e| vec![e])?;
    // Old Mac files end lines with a lone CR; count those as lines too.
    let text =
        if text.contains('\r') && !text.contains('\n') { text.replace('\r', "\n") } else { text.to_owned() };
    let body = skip_lines(&text, mapping.skip_rows).ok_or_else(|| {
        vec![LineError::new(
            text.lines().count().max(1),
            "(file)",
            format!(
                "the file has {} lines; expected {} line(s) above the header (skip_rows) and a header row",
                text.lines().count(),
                mapping.skip_rows
            ),
        )]
    })?;
    let offset = mapping.skip_rows;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .delimiter(mapping.delimiter)
        .from_reader(body.as_bytes());
    let header = match reader.headers() {
        Ok(h) if h.iter().any(|c| !c.trim().is_empty()) => h.clone(),
        Ok(_) => {
            return Err(vec![LineError::new(
                offset + 1,
                "(file)",
                "no header row; expected a first line with the column names",
            )]);
        }
        Err(e) => return Err(vec![csv_error(&e, &Lines::new(body, offset))]),
    };
    let lines = Lines::new(body, offset);
    let header_line = lines.of(header.position());
    let columns = Columns::resolve(&header, header_line, mapping)?;

    let mut schedule = Schedule::default();
    let mut read: Vec<(usize, Option<String>, RowResult)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|v| v.trim().is_empty()) {
                    continue;
                }
                let line = lines.of(record.position());
                schedule.rows += 1;
                let id = columns.value(&record, Field::AppointmentId).map(str::to_owned);
                read.push((line, id, convert(&record, line, &columns, mapping)));
            }
            Err(e) => {
                schedule.rows += 1;
                let err = csv_error(&e, &lines);
                read.push((err.line, None, RowResult::Errors(vec![err])));
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    flag_repeats(&mut read);
    for (line, id, result) in read {
        match result {
            RowResult::Event(event) => {
                schedule.events.push(RowEvent { line, appointment_id: id.unwrap_or_default(), event });
            }
            RowResult::Skip(reason) => schedule.skipped.push(Skipped { line, reason }),
            RowResult::Errors(errors) => schedule.errors.extend(errors),
        }
    }
    Ok(schedule)
}

/// UTF-8, with or without a byte-order mark; anything else is refused naming the line of the first
/// offending byte.
fn decode(bytes: &[u8]) -> Result<&str, LineError> {
    let utf16 = || {
        LineError::new(
            1,
            "(file)",
            "the file is UTF-16; expected UTF-8 (export it as \"CSV UTF-8\", or convert it with \
             `iconv -f UTF-16 -t UTF-8`)",
        )
    };
    // UTF-16 with a byte-order mark, or without one (ASCII text then has a NUL in every other byte).
    if bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || bytes.get(..2).is_some_and(|b| b.contains(&0))
    {
        return Err(utf16());
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let line_at = |i: usize| bytes[..i].split(|b| *b == b'\n').count();
    match std::str::from_utf8(bytes) {
        Ok(text) => match text.find('\0') {
            Some(i) => {
                Err(LineError::new(line_at(i), "(file)", "a NUL byte; expected text (is this a CSV file?)"))
            }
            None => Ok(text),
        },
        Err(e) => {
            let at = e.valid_up_to();
            Err(LineError::new(
                line_at(at),
                "(file)",
                format!(
                    "byte 0x{:02X} is not UTF-8; expected a UTF-8 file (this one looks like Windows-1252 or \
                     Latin-1: export it as \"CSV UTF-8\", or convert it with `iconv -f WINDOWS-1252 -t UTF-8`)",
                    bytes.get(at).copied().unwrap_or(0)
                ),
            ))
        }
    }
}

/// The text after the first `n` lines, or `None` when the file has no more lines than that.
fn skip_lines(text: &str, n: usize) -> Option<&str> {
    let mut rest = text;
    for _ in 0..n {
        let end = rest.find('\n')?;
        rest = &rest[end + 1..];
    }
    Some(rest)
}

/// Physical line numbers from byte offsets. (The csv crate's own line numbers count a CRLF's LF or a
/// blank line before a record as part of the previous one, so they run behind.)
struct Lines<'a> {
    body: &'a [u8],
    /// Byte offsets of every LF in the body.
    newlines: Vec<usize>,
    /// Lines before the body (`skip_rows`).
    offset: usize,
}

impl<'a> Lines<'a> {
    fn new(body: &'a str, offset: usize) -> Self {
        let body = body.as_bytes();
        let newlines = body.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect();
        Self { body, newlines, offset }
    }

    /// The line a record starts on: the reader's byte position, past any line ends left over from the
    /// lines before.
    fn of(&self, position: Option<&csv::Position>) -> usize {
        let mut at = position.and_then(|p| usize::try_from(p.byte()).ok()).unwrap_or(0);
        while self.body.get(at).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            at += 1;
        }
        self.offset + self.newlines.partition_point(|nl| *nl < at) + 1
    }
}

fn csv_error(e: &csv::Error, lines: &Lines<'_>) -> LineError {
    let line = lines.of(e.position());
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => LineError::new(
            line,
            "(row)",
            format!(
                "{len} values, but the header has {expected_len} columns; expected one value per column \
                 (a value containing the delimiter must be in double quotes)"
            ),
        ),
        _ => LineError::new(line, "(file)", format!("cannot read the CSV: {e}")),
    }
}

/// The header position of every mapped column.
struct Columns {
    fields: Vec<(Field, String, usize)>,
    /// (date or datetime column, index), and the time column when split.
    when: ((String, usize), Option<(String, usize)>),
    status: Option<(String, usize)>,
}

impl Columns {
    fn resolve(
        header: &csv::StringRecord,
        line: usize,
        mapping: &Mapping,
    ) -> Result<Columns, Vec<LineError>> {
        let names: Vec<&str> = header.iter().collect();
        let mut errors = Vec::new();
        let mut find = |key: &str, column: &str| -> usize {
            let want = normalize_word(column);
            let hits: Vec<usize> = (0..names.len()).filter(|i| normalize_word(names[*i]) == want).collect();
            match hits.as_slice() {
                [i] => *i,
                [] => {
                    let close = names
                        .iter()
                        .map(|n| (strsim::jaro_winkler(&normalize_word(n), &want), *n))
                        .filter(|(score, _)| *score >= 0.85)
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .map(|(_, n)| format!(" — did you mean `{n}`?"))
                        .unwrap_or_default();
                    errors.push(LineError::new(
                        line,
                        column,
                        format!(
                            "no such column in the header ({key} names it){close}; the header has: {}",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                    0
                }
                many => {
                    errors.push(LineError::new(
                        line,
                        column,
                        format!(
                            "the header has this column {} times (columns {}); expected it once",
                            many.len(),
                            many.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                    0
                }
            }
        };
        let fields = mapping
            .columns
            .iter()
            .map(|(f, c)| (*f, c.clone(), find(&format!("columns.{}", f.as_str()), c)))
            .collect();
        let when = match &mapping.when {
            When::DateTime { column, .. } => ((column.clone(), find("columns.datetime", column)), None),
            When::Split { date_column, time_column, .. } => (
                (date_column.clone(), find("columns.date", date_column)),
                Some((time_column.clone(), find("columns.time", time_column))),
            ),
        };
        let status = mapping.status.as_ref().map(|s| (s.column.clone(), find("columns.status", &s.column)));
        if errors.is_empty() { Ok(Columns { fields, when, status }) } else { Err(errors) }
    }

    /// A mapped field's value in a row, trimmed; `None` when empty or not mapped.
    fn value<'r>(&self, record: &'r csv::StringRecord, field: Field) -> Option<&'r str> {
        let (_, _, i) = self.fields.iter().find(|(f, _, _)| *f == field)?;
        cell(record, *i)
    }
}

fn cell(record: &csv::StringRecord, i: usize) -> Option<&str> {
    record.get(i).map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Debug)]
enum RowResult {
    Event(Value),
    Skip(String),
    Errors(Vec<LineError>),
}

fn convert(record: &csv::StringRecord, line: usize, columns: &Columns, mapping: &Mapping) -> RowResult {
    if let Some(reason) = filtered_out(record, columns, mapping) {
        return RowResult::Skip(reason);
    }
    let mut errors = Vec::new();
    let kind = match (&columns.status, &mapping.status) {
        (Some((column, i)), Some(words)) => match cell(record, *i) {
            None => {
                errors.push(LineError::new(
                    line,
                    column,
                    format!("missing; expected a status word: {}", words.expected()),
                ));
                None
            }
            Some(word) => match words.lookup(word) {
                Some(Word::Event(kind)) => Some(kind),
                Some(Word::Skip) => return RowResult::Skip(format!("status `{word}` is mapped to skip")),
                None => {
                    errors.push(LineError::new(
                        line,
                        column,
                        format!(
                            "`{word}` is not a status word of the mapping; expected one of: {} \
                             (or add it to status_words)",
                            words.expected()
                        ),
                    ));
                    None
                }
            },
        },
        _ => Some(EventKind::Booked),
    };
    let start = start_time(record, line, columns, mapping, &mut errors);

    let mut event = Map::new();
    for (field, column, i) in &columns.fields {
        let Some(value) = cell(record, *i) else {
            if field.is_required() {
                let what =
                    if *field == Field::AppointmentId { "the appointment id" } else { "the patient id" };
                errors.push(LineError::new(line, column, format!("missing; expected {what}")));
            }
            continue;
        };
        if *field == Field::AppointmentDurationMinutes {
            match value.parse::<u16>() {
                Ok(m) if (1..=1440).contains(&m) => {
                    event.insert(field.as_str().to_owned(), Value::from(m));
                }
                _ => errors.push(LineError::new(
                    line,
                    column,
                    format!("`{value}` is not a duration; expected whole minutes from 1 to 1440"),
                )),
            }
        } else {
            event.insert(field.as_str().to_owned(), Value::from(value));
        }
    }
    match (kind, start) {
        (Some(kind), Some(start)) if errors.is_empty() => {
            event.insert("event_type".into(), Value::from(kind.as_str()));
            event.insert(
                "appointment_datetime".into(),
                Value::from(start.strftime("%Y-%m-%dT%H:%M:%S").to_string()),
            );
            event.insert("appointment_timezone".into(), Value::from(mapping.time_zone.as_str()));
            event.insert("source_system".into(), Value::from(mapping.source.as_str()));
            let id = message_id(&event);
            event.insert("source_message_id".into(), Value::from(id));
            RowResult::Event(Value::Object(event))
        }
        _ => RowResult::Errors(errors),
    }
}

/// Why the mapping's filters leave this row out, if they do.
fn filtered_out(record: &csv::StringRecord, columns: &Columns, mapping: &Mapping) -> Option<String> {
    let f = &mapping.filters;
    for (allowed, field, key) in [
        (&f.only_types, Field::AppointmentType, "only_types"),
        (&f.only_providers, Field::ProviderId, "only_providers"),
        (&f.only_locations, Field::AppointmentLocation, "only_locations"),
    ] {
        let Some(allowed) = allowed else { continue };
        let value = columns.value(record, field).unwrap_or("");
        let wanted = normalize_word(value);
        if !allowed.iter().any(|a| normalize_word(a) == wanted) {
            return Some(format!("{} `{value}` is not in filters.{key}", field.as_str()));
        }
    }
    None
}

fn start_time(
    record: &csv::StringRecord,
    line: usize,
    columns: &Columns,
    mapping: &Mapping,
    errors: &mut Vec<LineError>,
) -> Option<DateTime> {
    let ((first_column, first), second) = &columns.when;
    match &mapping.when {
        When::DateTime { format, .. } => read_part(
            record,
            line,
            (first_column, *first),
            format,
            "a date and time",
            errors,
            BrokenDownTime::to_datetime,
        ),
        When::Split { date_format, time_format, .. } => {
            let date = read_part(
                record,
                line,
                (first_column, *first),
                date_format,
                "a date",
                errors,
                BrokenDownTime::to_date,
            );
            let time = second.as_ref().and_then(|(column, i)| {
                read_part(record, line, (column, *i), time_format, "a time", errors, BrokenDownTime::to_time)
            });
            Some(date?.to_datetime(time?))
        }
    }
}

/// Parses one cell with a strptime format; the error shows the format, an example in it, and jiff's
/// reason (`February has 28 days`…).
fn read_part<T>(
    record: &csv::StringRecord,
    line: usize,
    (column, i): (&str, usize),
    format: &str,
    what: &str,
    errors: &mut Vec<LineError>,
    finish: impl Fn(&BrokenDownTime) -> Result<T, jiff::Error>,
) -> Option<T> {
    let example = || {
        BrokenDownTime::from(jiff::civil::date(2026, 3, 7).at(14, 5, 0, 0))
            .to_string(format)
            .map(|s| format!(", e.g. `{s}`"))
            .unwrap_or_default()
    };
    let Some(value) = cell(record, i) else {
        errors.push(LineError::new(
            line,
            column,
            format!("missing; expected {what} as `{format}`{}", example()),
        ));
        return None;
    };
    match BrokenDownTime::parse(format, value).and_then(|b| finish(&b)) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(LineError::new(
                line,
                column,
                format!("`{value}` is not {what} as `{format}`{} ({e})", example()),
            ));
            None
        }
    }
}

/// The idempotency key of a row's event: a hash of its canonical content (keys sorted, independent of
/// serde_json's map order and of the row's place in the file). The same row in a later export gives
/// the same key, so importing it again is a no-op.
fn message_id(event: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, &Value)> = event.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = sha2::Sha256::new();
    h.update(b"hearth-csv-schedule-v1\0");
    for (k, v) in pairs {
        h.update(k.as_bytes());
        h.update(b"\0");
        h.update(v.to_string().as_bytes());
        h.update(b"\0");
    }
    let digest = h.finalize();
    format!("csv:{}", hearth_core::audit::to_hex(&digest[..16]))
}

/// The `source_message_id` to send for a row whose content gives `content_id`, given the id of the
/// last event applied to its appointment from the same source (`None` for an appointment not seen).
///
/// A content hash alone would take a row back to an earlier state for a replay: Booked on Monday,
/// Cancelled on Tuesday, Booked again on Wednesday would answer Wednesday with Monday's answer and
/// leave the appointment cancelled. So a row that differs from the last applied event is chained to
/// it (`content~hash(last)`), while a row that repeats the last applied event reuses its id, which the
/// engine answers as a replay: unchanged, nothing sent twice.
pub fn chained_message_id(content_id: &str, last_applied: Option<&str>) -> String {
    match last_applied {
        None => content_id.to_owned(),
        Some(last)
            if last == content_id || last.strip_prefix(content_id).is_some_and(|r| r.starts_with('~')) =>
        {
            last.to_owned()
        }
        Some(last) => {
            let h = sha2::Sha256::digest(last.as_bytes());
            format!("{content_id}~{}", hearth_core::audit::to_hex(&h[..8]))
        }
    }
}

/// A schedule lists each appointment once. Exact repeats of a row are skipped; an appointment id on
/// rows that differ is an error on every one of those rows (which one the EHR meant is unknowable).
fn flag_repeats(read: &mut [(usize, Option<String>, RowResult)]) {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, id, result)) in read.iter().enumerate() {
        if let (Some(id), false) = (id, matches!(result, RowResult::Skip(_))) {
            by_id.entry(id.as_str()).or_default().push(i);
        }
    }
    let mut repeats: Vec<Vec<usize>> = by_id.into_values().filter(|rows| rows.len() > 1).collect();
    repeats.sort();
    for rows in repeats {
        let first = rows[0];
        let same = |i: usize| match (&read[first].2, &read[i].2) {
            (RowResult::Event(a), RowResult::Event(b)) => a == b,
            _ => false,
        };
        if rows.iter().all(|i| same(*i)) {
            let first_line = read[first].0;
            for i in &rows[1..] {
                read[*i].2 = RowResult::Skip(format!("the same row as line {first_line}"));
            }
            continue;
        }
        let lines: Vec<usize> = rows.iter().map(|i| read[*i].0).collect();
        let id = read[first].1.clone().unwrap_or_default();
        for i in &rows {
            let line = read[*i].0;
            let others =
                lines.iter().filter(|l| **l != line).map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let err = LineError::new(
                line,
                "appointment_id",
                format!(
                    "appointment id `{id}` is also on line {others} with other values; expected each appointment \
                     once in a schedule (none of these rows is imported)"
                ),
            );
            match &mut read[*i].2 {
                RowResult::Errors(errors) => errors.push(err),
                other => *other = RowResult::Errors(vec![err]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPING: &str = r#"
source = "clinic-csv"
time_zone = "America/Chicago"

[columns]
appointment_id = "Appt ID"
patient_id = "MRN"
patient_first_name = "First"
patient_last_name = "Last"
patient_phone = "Phone"
appointment_location = "Location"
appointment_type = "Type"
appointment_duration_minutes = "Minutes"
provider_id = "NPI"
datetime = "When"
status = "Status"

[formats]
datetime = "%m/%d/%Y %I:%M %p"

[status_words]
Seen = "fulfilled"
Booked = "booked"
Cancelled = "cancelled"
"No Show" = "noshow"
Arrived = "arrived"
Blocked = "skip"
"#;

    const HEADER: &str = "Appt ID,MRN,First,Last,Phone,Location,Type,Minutes,NPI,When,Status";

    fn mapping() -> Mapping {
        Mapping::from_toml(MAPPING).unwrap()
    }

    fn read(text: &str) -> Schedule {
        read_schedule(text.as_bytes(), &mapping()).unwrap()
    }

    fn csv(rows: &[&str]) -> String {
        let mut s = HEADER.to_owned();
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s
    }

    fn lines_of(errors: &[LineError]) -> Vec<(usize, &str)> {
        errors.iter().map(|e| (e.line, e.field.as_str())).collect()
    }

    const ROW: &str =
        r#"A-1,M100,Ana,Ruiz,(312) 555-0100,"Main St, Suite 4",CLINICIAN,30,P1,03/09/2026 02:30 PM,Booked"#;

    #[test]
    fn a_row_becomes_a_wire_event() {
        let s = read(&csv(&[ROW]));
        assert_eq!((s.rows, s.errors.len(), s.skipped.len()), (1, 0, 0), "{s:?}");
        let e = &s.events[0];
        assert_eq!((e.line, e.appointment_id.as_str()), (2, "A-1"));
        let ev = e.event.as_object().unwrap();
        assert_eq!(ev["event_type"], "BOOKED");
        assert_eq!(ev["appointment_datetime"], "2026-03-09T14:30:00");
        assert_eq!(ev["appointment_timezone"], "America/Chicago");
        assert_eq!(ev["appointment_location"], "Main St, Suite 4");
        assert_eq!(ev["appointment_duration_minutes"], 30);
        assert_eq!(ev["patient_phone"], "(312) 555-0100");
        assert_eq!(ev["source_system"], "clinic-csv");
        assert!(ev["source_message_id"].as_str().unwrap().starts_with("csv:"));
        let mut keys: Vec<&str> = ev.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "appointment_datetime",
                "appointment_duration_minutes",
                "appointment_id",
                "appointment_location",
                "appointment_timezone",
                "appointment_type",
                "event_type",
                "patient_first_name",
                "patient_id",
                "patient_last_name",
                "patient_phone",
                "provider_id",
                "source_message_id",
                "source_system",
            ]
        );
    }

    #[test]
    fn status_words_become_events() {
        let s = read(&csv(&[
            "A-1,M1,,,,,,,,03/09/2026 9:00 AM,seen",
            "A-2,M1,,,,,,,,03/09/2026 9:00 AM,No  Show",
            "A-3,M1,,,,,,,,03/09/2026 9:00 AM,CANCELLED",
            "A-4,M1,,,,,,,,03/09/2026 9:00 AM,Arrived",
            "A-5,M1,,,,,,,,03/09/2026 9:00 AM,Blocked",
        ]));
        let kinds: Vec<&str> = s.events.iter().map(|e| e.event["event_type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["FULFILLED", "NOSHOWED", "CANCELED", "ARRIVED"]);
        assert_eq!(s.skipped, [Skipped { line: 6, reason: "status `Blocked` is mapped to skip".into() }]);
        assert!(s.events[0].event.get("patient_phone").is_none(), "empty optional cells are left out");
    }

    #[test]
    fn bom_crlf_blank_lines_and_padding() {
        let text = format!(
            "\u{feff}{HEADER}\r\n\r\n  A-1 , M1 ,Ana,,,\"Main St, Suite 4\",,,,03/09/2026 2:30 pm , Seen \r\n,,,,,,,,,,\r\n\r\nA-2,M2,,,,,,,,03/10/2026 11:00 AM,Booked\r\n"
        );
        let s = read(&text);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.rows, 2, "blank and all-empty lines are not rows");
        assert_eq!(s.events.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 6]);
        assert_eq!(s.events[0].event["appointment_id"], "A-1");
        assert_eq!(s.events[0].event["appointment_datetime"], "2026-03-09T14:30:00");
        assert_eq!(s.events[0].event["event_type"], "FULFILLED");
        let plain =
            read(&format!("{HEADER}\nA-1,M1,Ana,,,\"Main St, Suite 4\",,,,03/09/2026 2:30 pm,Seen\n"));
        assert_eq!(
            plain.events[0].event["source_message_id"], s.events[0].event["source_message_id"],
            "BOM, CRLF and padding do not change the content hash"
        );
    }

    #[test]
    fn a_quoted_value_spanning_lines_keeps_the_line_numbers_right() {
        let s = read(&csv(&[
            "A-1,M1,,,,\"Main St\nSuite 4\",,,,03/09/2026 9:00 AM,Booked",
            "A-2,M1,,,,,,,,02/30/2026 9:00 AM,Booked",
        ]));
        assert_eq!(s.events[0].event["appointment_location"], "Main St\nSuite 4");
        assert_eq!(lines_of(&s.errors), [(4, "When")]);
    }

    #[test]
    fn malformed_rows_name_line_column_and_expectation() {
        let s = read(&csv(&[
            ROW,
            "A-2,M1,,,,,,,,02/30/2026 9:00 AM,Booked",
            "A-3,M1,,,,,,,,03/09/2026 13:00 PM,Booked",
            "A-4,M1,,,,,,,,2026-03-09 09:00,Booked",
            "A-5,M1,,,,,,,,03/09/2026 9:00 AM,Seen?",
            ",,,,,,,,,03/09/2026 9:00 AM,",
            "A-7,M1,,,,,,forty,,03/09/2026 9:00 AM,Booked",
            "A-8,M1,,,,Main St, Suite 4,,,,03/09/2026 9:00 AM,Booked",
            "A-9,M1,,,,,,,03/09/2026 9:00 AM,Booked",
            "A-10,M1,,,,,,0,,,Booked",
        ]));
        assert_eq!(s.rows, 10);
        assert_eq!(s.events.len(), 1);
        assert_eq!(
            lines_of(&s.errors),
            [
                (3, "When"),
                (4, "When"),
                (5, "When"),
                (6, "Status"),
                (7, "Status"),
                (7, "Appt ID"),
                (7, "MRN"),
                (8, "Minutes"),
                (9, "(row)"),
                (10, "(row)"),
                (11, "When"),
                (11, "Minutes"),
            ]
        );
        let msg = |line: usize| s.errors.iter().find(|e| e.line == line).unwrap().message.clone();
        assert!(
            msg(3).contains("`02/30/2026 9:00 AM`") && msg(3).contains("%m/%d/%Y %I:%M %p"),
            "{}",
            msg(3)
        );
        assert!(msg(3).contains("e.g. `03/07/2026 02:05 PM`"), "{}", msg(3));
        assert!(
            msg(6).contains("`Seen?`")
                && msg(6).contains("Arrived, Blocked, Booked, Cancelled, No Show, Seen"),
            "{}",
            msg(6)
        );
        assert!(msg(8).contains("`forty`") && msg(8).contains("whole minutes"), "{}", msg(8));
        assert!(
            msg(9).contains("12 values") && msg(9).contains("11 columns") && msg(9).contains("double quotes"),
            "{}",
            msg(9)
        );
        assert!(msg(10).contains("10 values"), "{}", msg(10));
    }

    #[test]
    fn twelve_and_twenty_four_hour_clocks_and_split_columns() {
        let text = MAPPING
            .replace("datetime = \"When\"", "date = \"Date\"\ntime = \"Time\"")
            .replace("datetime = \"%m/%d/%Y %I:%M %p\"", "date = \"%d.%m.%Y\"\ntime = \"%H:%M\"");
        let m = Mapping::from_toml(&text).unwrap();
        let file = "Appt ID,MRN,First,Last,Phone,Location,Type,Minutes,NPI,Date,Time,Status\n\
                    A-1,M1,,,,,,,,09.03.2026,00:05,Booked\n\
                    A-2,M1,,,,,,,,09.03.2026,23:59,Booked\n\
                    A-3,M1,,,,,,,,29.02.2026,10:00,Booked\n\
                    A-4,M1,,,,,,,,09.03.2026,24:00,Booked\n\
                    A-5,M1,,,,,,,,,,Booked\n";
        let s = read_schedule(file.as_bytes(), &m).unwrap();
        let starts: Vec<&str> =
            s.events.iter().map(|e| e.event["appointment_datetime"].as_str().unwrap()).collect();
        assert_eq!(starts, ["2026-03-09T00:05:00", "2026-03-09T23:59:00"]);
        assert_eq!(lines_of(&s.errors), [(4, "Date"), (5, "Time"), (6, "Date"), (6, "Time")]);
        assert!(s.errors[0].message.contains("29.02.2026"), "{}", s.errors[0]);
        assert!(s.errors[2].message.starts_with("missing"), "{}", s.errors[2]);

        let twelve = read(&csv(&[
            "A-1,M1,,,,,,,,03/09/2026 12:00 AM,Booked",
            "A-2,M1,,,,,,,,03/09/2026 12:00 PM,Booked",
            "A-3,M1,,,,,,,,3/9/2026 1:07 pm,Booked",
        ]));
        let starts: Vec<&str> =
            twelve.events.iter().map(|e| e.event["appointment_datetime"].as_str().unwrap()).collect();
        assert_eq!(starts, ["2026-03-09T00:00:00", "2026-03-09T12:00:00", "2026-03-09T13:07:00"]);
    }

    #[test]
    fn a_missing_column_is_one_error_before_any_row() {
        let file = "Appt ID,MRN,First,Last,Phone,Location,Type,Minutes,NPI,Whenn,Sta tus\nA-1,broken\n";
        let errs = read_schedule(file.as_bytes(), &mapping()).unwrap_err();
        assert_eq!(lines_of(&errs), [(1, "When"), (1, "Status")]);
        assert!(
            errs[0].message.contains("columns.datetime") && errs[0].message.contains("did you mean `Whenn`"),
            "{}",
            errs[0]
        );
        assert!(errs[0].message.contains("`NPI`"), "lists the header: {}", errs[0]);

        let dup = "Appt ID,MRN,First,Last,Phone,Location,Type,Minutes,NPI,When,Status,mrn\n";
        let errs = read_schedule(dup.as_bytes(), &mapping()).unwrap_err();
        assert_eq!(lines_of(&errs), [(1, "MRN")]);
        assert!(errs[0].message.contains("columns 2, 12"), "{}", errs[0]);

        let reordered = "status,when,npi,minutes,type,location,phone,last,first,mrn,appt id\nBooked,03/09/2026 9:00 AM,,,,,,,,M1,A-1\n";
        let s = read_schedule(reordered.as_bytes(), &mapping()).unwrap();
        assert_eq!(s.events[0].event["patient_id"], "M1", "columns are found by name, in any order and case");
    }

    #[test]
    fn encodings_other_than_utf8_are_refused_with_the_line() {
        let mut latin1 = csv(&[ROW]).into_bytes();
        latin1.extend_from_slice(b"A-2,M2,Jos\xE9,,,,,,,03/09/2026 9:00 AM,Booked\n");
        let errs = read_schedule(&latin1, &mapping()).unwrap_err();
        assert_eq!(lines_of(&errs), [(3, "(file)")]);
        assert!(errs[0].message.contains("0xE9") && errs[0].message.contains("UTF-8"), "{}", errs[0]);

        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain(HEADER.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let errs = read_schedule(&utf16, &mapping()).unwrap_err();
        assert!(errs[0].message.contains("UTF-16"), "{}", errs[0]);
        let utf16_no_bom: Vec<u8> = HEADER.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(read_schedule(&utf16_no_bom, &mapping()).unwrap_err()[0].message.contains("UTF-16"));

        let accented = read(&csv(&["A-1,M1,José,Ñúñez,,Clínica Sör,,,,03/09/2026 9:00 AM,Booked"]));
        assert_eq!(accented.events[0].event["patient_last_name"], "Ñúñez");
    }

    #[test]
    fn empty_files_and_skipped_title_lines() {
        for empty in ["", "\n\n", "\u{feff}"] {
            let errs = read_schedule(empty.as_bytes(), &mapping()).unwrap_err();
            assert_eq!(errs.len(), 1, "{empty:?}");
            assert!(errs[0].message.contains("header"), "{}", errs[0]);
        }
        let header_only = read(&format!("{HEADER}\n"));
        assert_eq!(header_only, Schedule::default());

        let titled = MAPPING.replace("time_zone =", "skip_rows = 2\ntime_zone =");
        let m = Mapping::from_toml(&titled).unwrap();
        let file = format!(
            "Daily schedule, all providers\nPrinted 03/08/2026\n{HEADER}\n{ROW}\nA-2,M1,,,,,,,,03/09/2026,Booked\n"
        );
        let s = read_schedule(file.as_bytes(), &m).unwrap();
        assert_eq!(s.events[0].line, 4);
        assert_eq!(lines_of(&s.errors), [(5, "When")]);
        let short = read_schedule(b"only a title\n", &m).unwrap_err();
        assert!(short[0].message.contains("skip_rows"), "{}", short[0]);

        let old_mac = format!("{HEADER}\r{ROW}\r");
        let s = read(&old_mac);
        assert_eq!((s.events.len(), s.events[0].line), (1, 2));
    }

    #[test]
    fn other_delimiters() {
        let m =
            Mapping::from_toml(&MAPPING.replace("time_zone =", "delimiter = \";\"\ntime_zone =")).unwrap();
        let file = format!(
            "{}\nA-1;M1;;;;Main St, Suite 4;;;;03/09/2026 9:00 AM;Booked\n",
            HEADER.replace(',', ";")
        );
        let s = read_schedule(file.as_bytes(), &m).unwrap();
        assert_eq!(s.events[0].event["appointment_location"], "Main St, Suite 4");
    }

    #[test]
    fn repeated_appointment_ids() {
        let s = read(&csv(&[
            ROW,
            "A-2,M2,,,,,,,,03/09/2026 9:00 AM,Booked",
            ROW,
            "A-2,M2,,,,,,,,03/09/2026 9:00 AM,Cancelled",
            "A-3,M3,,,,,,,,03/09/2026 9:00 AM,Booked",
            "A-3,M3,,,,,,,,03/09/2026 9:00 AM,Blocked",
            "A-4,M4,,,,,,,,02/30/2026 9:00 AM,Booked",
            "A-4,M4,,,,,,,,03/09/2026 9:00 AM,Booked",
        ]));
        assert_eq!(s.events.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 6]);
        assert_eq!(
            s.skipped.iter().map(|k| (k.line, k.reason.as_str())).collect::<Vec<_>>(),
            [(4, "the same row as line 2"), (7, "status `Blocked` is mapped to skip")]
        );
        assert_eq!(
            lines_of(&s.errors),
            [
                (3, "appointment_id"),
                (5, "appointment_id"),
                (8, "When"),
                (8, "appointment_id"),
                (9, "appointment_id")
            ]
        );
        assert!(s.errors[0].message.contains("also on line 5"), "{}", s.errors[0]);
        assert!(s.errors[4].message.contains("also on line 8"), "{}", s.errors[4]);
    }

    #[test]
    fn filters_skip_rows_with_a_reason() {
        let m = Mapping::from_toml(&format!("{MAPPING}\n[filters]\nonly_types = [\"clinician\"]\n")).unwrap();
        let file = csv(&[
            ROW,
            "A-2,M1,,,,,LAB,,,02/30/2026 9:00 AM,Booked",
            "A-3,M1,,,,,,,,03/09/2026 9:00 AM,Booked",
        ]);
        let s = read_schedule(file.as_bytes(), &m).unwrap();
        assert_eq!(s.events.len(), 1);
        assert!(s.errors.is_empty(), "a filtered row is not checked: {:?}", s.errors);
        assert_eq!(
            s.skipped.iter().map(|k| (k.line, k.reason.as_str())).collect::<Vec<_>>(),
            [
                (3, "appointment_type `LAB` is not in filters.only_types"),
                (4, "appointment_type `` is not in filters.only_types")
            ]
        );
    }

    #[test]
    fn the_message_id_is_stable_and_follows_the_content() {
        let id = |rows: &[&str]| -> Vec<String> {
            read(&csv(rows))
                .events
                .iter()
                .map(|e| e.event["source_message_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let other = "A-2,M2,,,,,,,,03/09/2026 9:00 AM,Booked";
        let a = id(&[ROW, other]);
        assert_eq!(a, id(&[ROW, other]), "the same file gives the same ids");
        let b = id(&[other, ROW]);
        assert_eq!(
            (a[0].as_str(), a[1].as_str()),
            (b[1].as_str(), b[0].as_str()),
            "independent of row order"
        );
        assert_ne!(a[0], id(&[&ROW.replace("Booked", "Seen")])[0], "a new status is a new event");
        assert_ne!(a[0], id(&[&ROW.replace("02:30 PM", "03:30 PM")])[0], "a new time is a new event");
        let m = Mapping::from_toml(&MAPPING.replace("clinic-csv", "other-ehr")).unwrap();
        let s = read_schedule(csv(&[ROW]).as_bytes(), &m).unwrap();
        assert_ne!(
            a[0],
            s.events[0].event["source_message_id"].as_str().unwrap(),
            "the source is part of it"
        );
        assert_eq!(a[0].len(), "csv:".len() + 32);
    }

    #[test]
    fn a_return_to_an_earlier_state_is_a_new_event_and_a_repeat_is_not() {
        let (booked, cancelled) = ("csv:aaaa", "csv:bbbb");
        assert_eq!(chained_message_id(booked, None), booked, "first sight");
        assert_eq!(chained_message_id(booked, Some(booked)), booked, "the same row again: a replay");
        let tuesday = chained_message_id(cancelled, Some(booked));
        assert!(tuesday.starts_with("csv:bbbb~") && tuesday.len() == "csv:bbbb~".len() + 16, "{tuesday}");
        assert_eq!(chained_message_id(cancelled, Some(&tuesday)), tuesday, "Tuesday's file again: a replay");
        let wednesday = chained_message_id(booked, Some(&tuesday));
        assert_ne!(wednesday, booked, "booked again after the cancellation is not Monday's event");
        assert_eq!(chained_message_id(booked, Some(&wednesday)), wednesday);
        assert_ne!(
            chained_message_id("csv:aa", Some("csv:aaaa")),
            "csv:aaaa",
            "a prefix is not the same content"
        );
    }

    #[test]
    fn without_a_status_column_every_row_is_a_booking() {
        let text =
            MAPPING.replace("status = \"Status\"", "").split("[status_words]").next().unwrap().to_owned();
        let m = Mapping::from_toml(&text).unwrap();
        let s = read_schedule(csv(&[ROW]).as_bytes(), &m).unwrap();
        assert_eq!(s.events[0].event["event_type"], "BOOKED");
    }

    #[test]
    fn no_input_panics() {
        // Every byte string made of the CSV's own pieces either reads or is refused; none panics.
        let pieces: [&[u8]; 12] = [
            b",",
            b"\"",
            b"\n",
            b"\r",
            b"A-1",
            b"03/09/2026 9:00 AM",
            b"Booked",
            b"\xEF\xBB\xBF",
            b"\xE9",
            b"\0",
            b" ",
            HEADER.as_bytes(),
        ];
        let m = mapping();
        let mut seed = 7u64;
        for _ in 0..3000 {
            let mut input = Vec::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                input.extend_from_slice(pieces[usize::try_from(seed >> 60).unwrap() % pieces.len()]);
            }
            let _ = read_schedule(&input, &m);
        }
    }
}
