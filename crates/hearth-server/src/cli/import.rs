//! `hearth import schedule FILE.csv --mapping MAPPING.toml [--dry-run] [--org NAME-or-ID] [--json]`:
//! an EHR's CSV schedule export through the same ingest engine as the appointment-event webhook.
//!
//! Each row is applied completely or not at all: a malformed row is reported with its line and never
//! reaches the engine, and the valid rows are applied in one transaction (as the webhook applies the
//! valid events of a batch). Exit codes: 0 every row imported (or skipped on purpose); 1 some lines
//! have errors — the others were applied (or, with `--dry-run`, would be); 2 nothing was read: the
//! configuration, the mapping, the file or its header is wrong, or the organization is unclear.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hearth_store::organizations::OrganizationRow;
use serde_json::json;

use crate::app::{App, Deps, Roles};
use crate::appointments::schedule::{ImportSummary, LineReport, Mapping, read_schedule};
use crate::auth::Actor;
use crate::config::Overrides;

/// The arguments of `hearth import schedule`.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// The CSV export (UTF-8, with or without a byte-order mark).
    pub file: PathBuf,
    /// How to read it: columns, date/time formats, time zone, status words (see
    /// config/schedule-mapping.example.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: PathBuf,
    /// Report what would be created, updated or left unchanged, and every error; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The organization, by name or id [default: the only one].
    #[arg(long, value_name = "NAME-or-ID")]
    pub org: Option<String>,
    /// Print one JSON object: the counts and every line's result.
    #[arg(long)]
    pub json: bool,
}

/// Reads the mapping and the file, then imports the rows through the ingest engine as the system
/// actor of the organization; prints the report and returns the exit code (see the module docs).
pub async fn schedule(overrides: &Overrides, args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    // Everything that can be checked without the database is checked first.
    let mapping = match read_file(&args.mapping).and_then(|text| {
        Mapping::from_toml(&text).map_err(|errors| {
            let mut lines = vec![format!("mapping {} refused:", args.mapping.display())];
            lines.extend(errors.iter().map(|e| format!("  - {e}")));
            lines.join("\n")
        })
    }) {
        Ok(m) => m,
        Err(message) => return refuse(&message),
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => return refuse(&format!("cannot read {}: {e}", args.file.display())),
    };
    let schedule = match read_schedule(&bytes, &mapping) {
        Ok(s) => s,
        Err(errors) => {
            let mut lines = vec![format!("{}: nothing imported:", args.file.display())];
            lines.extend(errors.iter().map(|e| format!("  - {e}")));
            return refuse(&lines.join("\n"));
        }
    };

    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::telemetry::init(&config.log)?;
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let orgs = state.store.list_organizations().await?;
    let org = match pick_org(&orgs, args.org.as_deref()) {
        Ok(o) => o,
        Err(message) => {
            state.store.close().await;
            return refuse(&message);
        }
    };
    let actor = Actor::system(org.id, "hearth import schedule");
    let result =
        crate::appointments::schedule::import(&state, &actor, &mapping, schedule, args.dry_run).await;
    state.store.close().await;
    let report = result.map_err(|e| anyhow::anyhow!("import failed, nothing was written: {e}"))?;
    let (summary, lines) = (report.summary, report.lines);

    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("dry_run".into(), json!(args.dry_run));
            o.insert("organization".into(), json!(org.name));
            o.insert("lines".into(), serde_json::to_value(&lines)?);
        }
        writeln!(out, "{v}")?;
    } else {
        print_text(&mut out, &args.file, &org.name, args.dry_run, &summary, &lines)?;
    }
    Ok(if summary.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn refuse(message: &str) -> anyhow::Result<ExitCode> {
    writeln!(std::io::stderr().lock(), "hearth: {message}")?;
    Ok(ExitCode::from(2))
}

/// The organization named by `--org` (its id, or its name ignoring case), or the only one.
fn pick_org<'a>(orgs: &'a [OrganizationRow], wanted: Option<&str>) -> Result<&'a OrganizationRow, String> {
    let listing = || orgs.iter().map(|o| format!("  {} ({})", o.name, o.id)).collect::<Vec<_>>().join("\n");
    match wanted.map(str::trim) {
        Some(w) => {
            let by_id: Vec<&OrganizationRow> = orgs.iter().filter(|o| o.id.to_string() == w).collect();
            let exact: Vec<&OrganizationRow> = orgs.iter().filter(|o| o.name == w).collect();
            let loose: Vec<&OrganizationRow> =
                orgs.iter().filter(|o| o.name.to_lowercase() == w.to_lowercase()).collect();
            match (by_id.as_slice(), exact.as_slice(), loose.as_slice()) {
                ([o], _, _) | ([], [o], _) | ([], [], [o]) => Ok(o),
                ([], [], []) => Err(format!(
                    "--org: no organization is called or has the id `{w}`; expected one of:\n{}",
                    listing()
                )),
                _ => Err(format!(
                    "--org: several organizations are called `{w}`; expected an id:\n{}",
                    listing()
                )),
            }
        }
        None => match orgs {
            [o] => Ok(o),
            [] => {
                Err("no organization yet; create one first with `hearth admin create --org NAME --email E`"
                    .into())
            }
            _ => Err(format!(
                "--org: this database has {} organizations; expected --org with a name or id:\n{}",
                orgs.len(),
                listing()
            )),
        },
    }
}

fn print_text(
    out: &mut impl Write,
    file: &Path,
    org: &str,
    dry_run: bool,
    s: &ImportSummary,
    lines: &[LineReport],
) -> std::io::Result<()> {
    for l in lines {
        match (l.result, &l.field) {
            ("error", Some(field)) => writeln!(out, "line {}: error: {field}: {}", l.line, l.message)?,
            ("created" | "updated" | "unchanged", _) if !dry_run || l.result == "unchanged" => {}
            (result, _) => {
                let id = l.appointment_id.as_deref().map(|a| format!(" {a}")).unwrap_or_default();
                let result = if dry_run && result != "unchanged" {
                    format!("would be {result}")
                } else {
                    result.into()
                };
                writeln!(out, "line {}:{id} {result}: {}", l.line, l.message)?;
            }
        }
    }
    let (verb, create, update) = if dry_run {
        ("dry run, nothing written", "to create", "to update")
    } else {
        ("imported", "created", "updated")
    };
    writeln!(
        out,
        "{} into {org} ({verb}): {} rows — {} {create}, {} {update}, {} unchanged, {} ignored, {} skipped, {} with \
         errors",
        file.display(),
        s.rows,
        s.creates,
        s.updates,
        s.unchanged,
        s.ignored,
        s.skipped,
        s.errors
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str) -> OrganizationRow {
        let now = hearth_core::UtcTime::new(jiff::Timestamp::UNIX_EPOCH);
        OrganizationRow {
            id: hearth_core::OrgId::new(),
            name: name.into(),
            time_zone: "UTC".into(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_organization_is_picked_by_id_or_name_or_alone() {
        let orgs = [org("North Clinic"), org("South Clinic")];
        assert_eq!(pick_org(&orgs, Some("south clinic")).unwrap().name, "South Clinic");
        assert_eq!(pick_org(&orgs, Some(&orgs[0].id.to_string())).unwrap().name, "North Clinic");
        let err = pick_org(&orgs, None).unwrap_err();
        assert!(
            err.contains("--org") && err.contains("North Clinic") && err.contains("South Clinic"),
            "{err}"
        );
        assert!(pick_org(&orgs, Some("West")).unwrap_err().contains("no organization"));
        assert_eq!(pick_org(&orgs[..1], None).unwrap().name, "North Clinic");
        assert!(pick_org(&[], None).unwrap_err().contains("hearth admin create"));
    }
}
