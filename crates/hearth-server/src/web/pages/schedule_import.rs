//! The schedule upload page: a CSV export and its mapping file, previewed (a dry run) or imported
//! through the same service as `hearth import schedule` ([`schedule::import`]), with the report of
//! every line. The form posts `multipart/form-data` (files), and works without JavaScript: what was
//! sent comes back in the text boxes, so a preview is followed by Import without choosing the files
//! again.

use askama::Template;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::ErrorCode;

use super::{Nav, Page, error_page};
use crate::appointments::schedule::{self, ImportReport, Mapping};
use crate::auth::{Authorized, perms};
use crate::error::AppError;
use crate::state::AppState;

/// What the form holds: the texts are shown again in the text boxes.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// The CSV as text (from the file chosen, or pasted).
    pub csv_text: String,
    /// The name of the CSV file chosen, if any (kept across posts for the report's title).
    pub csv_name: String,
    pub mapping_text: String,
}

/// A problem that stops the upload, and the form field it points at.
pub struct FormError {
    /// The id of the field, for the error summary's link.
    pub anchor: &'static str,
    /// What it is about: `mapping key time_zone`, `line 1, column Appt Status`.
    pub subject: String,
    pub message: String,
}

impl FormError {
    fn new(anchor: &'static str, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self { anchor, subject: subject.into(), message: message.into() }
    }
}

/// One line of the report, for the page.
pub struct ReportLine {
    pub line: usize,
    /// The EHR's appointment id.
    pub appointment: String,
    /// The appointment's timeline, when it exists.
    pub link: Option<String>,
    /// `created`, or `would be created` in a preview.
    pub result: String,
    pub status: String,
    pub field: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "appointments/import.html")]
pub struct ImportPage {
    pub nav: Nav,
    pub f: UploadForm,
    pub errors: Vec<FormError>,
    /// The run, if one was made.
    pub report: Option<ImportReport>,
    pub dry_run: bool,
    pub error_lines: Vec<ReportLine>,
    pub other_lines: Vec<ReportLine>,
    /// The largest upload, in MiB (the server's request limit).
    pub max_mib: usize,
}

impl ImportPage {
    fn new(app: &AppState, auth: &Authorized<perms::IngestWrite>, f: UploadForm) -> Self {
        Self {
            nav: Nav::new(&auth.actor, &auth.csrf, "/appointments"),
            f,
            errors: Vec::new(),
            report: None,
            dry_run: true,
            error_lines: Vec::new(),
            other_lines: Vec::new(),
            max_mib: app.config.http.max_body_bytes.div_ceil(1024 * 1024),
        }
    }

    /// The report's title: which file, and whether anything was written.
    fn title(&self) -> String {
        let name = if self.f.csv_name.is_empty() { "the schedule" } else { self.f.csv_name.as_str() };
        if self.dry_run {
            format!("Preview of {name}: nothing written yet")
        } else {
            format!("Imported {name}")
        }
    }
}

pub async fn show_import(State(app): State<AppState>, auth: Authorized<perms::IngestWrite>) -> Response {
    Page(ImportPage::new(&app, &auth, UploadForm::default())).into_response()
}

pub async fn import_schedule(
    State(app): State<AppState>,
    auth: Authorized<perms::IngestWrite>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(form) = form else {
        return error_page(&AppError::with_message(
            ErrorCode::InvalidRequest,
            "expected the upload form (multipart/form-data)",
        ));
    };
    let (f, csv, dry_run, mut errors) = match read_form(form).await {
        Ok(read) => read,
        Err(e) => return error_page(&e),
    };
    let mut page = ImportPage::new(&app, &auth, f);
    page.dry_run = dry_run;
    if csv.iter().all(u8::is_ascii_whitespace) {
        errors.push(FormError::new("i-csv", "Schedule", "choose the CSV file (or paste the CSV)"));
    }
    if page.f.mapping_text.trim().is_empty() {
        errors.push(FormError::new("i-mapping", "Mapping", "choose the mapping file (or paste the mapping)"));
    }
    let mapping = if errors.is_empty() {
        Mapping::from_toml(&page.f.mapping_text).map_err(|list| {
            list.into_iter()
                .map(|e| FormError::new("i-mapping-text", format!("mapping key {}", e.key), e.message))
                .collect::<Vec<_>>()
        })
    } else {
        Err(Vec::new())
    };
    let read = mapping.map(|m| {
        let read = schedule::read_schedule(&csv, &m).map_err(|list| {
            list.into_iter()
                .map(|e| FormError::new("i-csv", format!("line {}, {}", e.line, e.field), e.message))
                .collect::<Vec<_>>()
        });
        (m, read)
    });
    let (mapping, rows) = match read {
        Ok((m, Ok(rows))) => (m, rows),
        Ok((_, Err(list))) | Err(list) => {
            errors.extend(list);
            page.errors = errors;
            return (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response();
        }
    };
    match schedule::import(&app, &auth.actor, &mapping, rows, dry_run).await {
        Ok(report) => {
            let (error_lines, other_lines) = report_lines(&report, dry_run);
            page.error_lines = error_lines;
            page.other_lines = other_lines;
            page.report = Some(report);
            Page(page).into_response()
        }
        Err(e) => error_page(&e),
    }
}

/// Reads the multipart form: the form's texts, the CSV's bytes (a chosen file wins over pasted text)
/// and whether this is a dry run (Preview, the default) or an import; plus problems with the files.
async fn read_form(mut form: Multipart) -> Result<(UploadForm, Vec<u8>, bool, Vec<FormError>), AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::with_message(ErrorCode::InvalidRequest, format!("the upload could not be read: {e}"))
    };
    let mut f = UploadForm::default();
    let (mut csv_file, mut mapping_file, mut dry_run, mut errors) = (None, None, true, Vec::new());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(bad)?;
        match name.as_str() {
            "csv_file" if !bytes.is_empty() => {
                f.csv_name = file_name.unwrap_or_default();
                csv_file = Some(bytes.to_vec());
            }
            "mapping_file" if !bytes.is_empty() => match String::from_utf8(bytes.to_vec()) {
                Ok(text) => mapping_file = Some(text),
                Err(_) => errors.push(FormError::new(
                    "i-mapping",
                    "Mapping",
                    "the mapping file is not UTF-8 text; expected a TOML file",
                )),
            },
            "csv_text" => f.csv_text = String::from_utf8_lossy(&bytes).into_owned(),
            "csv_name" if f.csv_name.is_empty() => f.csv_name = String::from_utf8_lossy(&bytes).into_owned(),
            "mapping_text" => f.mapping_text = String::from_utf8_lossy(&bytes).into_owned(),
            "action" => dry_run = bytes.as_ref() != b"import",
            _ => {}
        }
    }
    if let Some(text) = mapping_file {
        f.mapping_text = text;
    }
    let csv = match csv_file {
        Some(bytes) => {
            // Shown again for the next post only when it is text; a file in another encoding is
            // refused by the reader, naming the line.
            f.csv_text = String::from_utf8(bytes.clone()).unwrap_or_default();
            bytes
        }
        None => f.csv_text.clone().into_bytes(),
    };
    Ok((f, csv, dry_run, errors))
}

/// The report's lines for the page: the errors, then every other line.
fn report_lines(report: &ImportReport, dry_run: bool) -> (Vec<ReportLine>, Vec<ReportLine>) {
    let mut errors = Vec::new();
    let mut others = Vec::new();
    for l in &report.lines {
        // A preview's new appointments were not written; every other id is on file.
        let exists = !(dry_run && l.result == "created");
        let result = match l.result {
            "created" | "updated" if dry_run => format!("would be {}", l.result),
            r => r.to_owned(),
        };
        let line = ReportLine {
            line: l.line,
            appointment: l.appointment_id.clone().unwrap_or_default(),
            link: l.hearth_id.filter(|_| exists).map(|id| format!("/appointments/{id}")),
            result,
            status: l.status.clone().unwrap_or_default(),
            field: l.field.clone().unwrap_or_default(),
            message: l.message.clone(),
        };
        if l.result == "error" { errors.push(line) } else { others.push(line) }
    }
    (errors, others)
}
