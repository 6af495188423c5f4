//! `hearth reminders explain`: what the planner decides for one appointment under a rule — the same
//! explanation staff see on the appointment page.

use std::io::Write;
use std::process::ExitCode;

use hearth_core::outreach::{self, Offset, Rule, Window};
use jiff::tz::TimeZone;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The appointment's local start, YYYY-MM-DDTHH:MM.
    #[arg(long, value_name = "LOCAL")]
    pub start: String,
    /// The IANA time zone the times are local to (e.g. Europe/London).
    #[arg(long, value_name = "ZONE")]
    pub zone: String,
    /// When the booking was received, local YYYY-MM-DDTHH:MM.
    #[arg(long, value_name = "LOCAL")]
    pub booked: String,
    /// Reminder offsets before the start [default: 48h,24h]; 24h multiples are calendar days.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub offsets: Option<Vec<String>>,
    /// Local hours for outreach [default: 08:00-21:00].
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub window: Option<String>,
    /// Never remind closer to the start than this [default: 1h].
    #[arg(long, value_name = "LENGTH")]
    pub min_lead: Option<String>,
    /// Never remind within this long after another message about the appointment [default: 12h].
    #[arg(long, value_name = "LENGTH")]
    pub min_gap: Option<String>,
    /// The organization whose rule is the base [default: the only organization of this Hearth's
    /// database, if it has exactly one; else the spec's rule].
    #[arg(long, value_name = "UUID")]
    pub org: Option<hearth_core::OrgId>,
    /// Print {"reminders":[{"k","due_local","send_local","send_utc","decision","reason"}]}.
    #[arg(long)]
    pub json: bool,
}

pub async fn explain(overrides: &crate::config::Overrides, args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let (base, whose) = match organization_rule(overrides, args.org).await {
        Some(rule) => (rule, "the organization's rule"),
        None => (Rule::default(), "the spec's rule"),
    };
    let (rule, zone, start, booked) = match parse(args, base) {
        Ok(parsed) => parsed,
        Err(message) => {
            writeln!(std::io::stderr().lock(), "hearth reminders explain: {message}")?;
            return Ok(ExitCode::from(2));
        }
    };
    let rows = outreach::explain(&rule, &zone, start, booked);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&serde_json::json!({ "reminders": rows }))?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "appointment {} {} booked {}; {whose}{}: offsets {}, window {}, min lead {}, min gap {}",
        args.start,
        args.zone,
        args.booked,
        if has_options(args) { " with the options given" } else { "" },
        rule.offsets.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        rule.window,
        Offset::Exact(rule.min_lead),
        Offset::Exact(rule.min_gap),
    )?;
    for r in &rows {
        writeln!(
            out,
            "reminder {} ({} before): due {}  send {} ({})  {}: {}",
            r.k,
            r.offset,
            r.due_local,
            r.send_local.as_deref().unwrap_or("-"),
            r.send_utc.as_deref().unwrap_or("-"),
            r.decision,
            r.reason.replace('_', " "),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn has_options(args: &ExplainArgs) -> bool {
    args.offsets.is_some() || args.window.is_some() || args.min_lead.is_some() || args.min_gap.is_some()
}

/// The organization's stored rule, when this Hearth's database exists (nothing is created) and the
/// organization is named or the only one.
async fn organization_rule(
    overrides: &crate::config::Overrides,
    org: Option<hearth_core::OrgId>,
) -> Option<Rule> {
    let (config, _) = crate::config::load(overrides, &super::env_vars()).ok()?;
    if config.database_url.is_none() && !config.data_dir.join("hearth.db").exists() {
        return None;
    }
    let opts = hearth_store::StoreOptions { max_connections: 1, ..hearth_store::StoreOptions::default() };
    let store = hearth_store::Store::connect(config.database_url().expose(), &opts).await.ok()?;
    let org = match org {
        Some(o) => Some(o),
        None => store.sole_organization().await.ok().flatten(),
    };
    let rule = match org {
        Some(o) => crate::reminders::rules::stored_organization_rule(&store, o).await,
        None => None,
    };
    store.close().await;
    rule
}

/// The rule (`base`, with the options given) and the times; errors name the option.
fn parse(
    args: &ExplainArgs,
    base: Rule,
) -> Result<(Rule, TimeZone, jiff::Timestamp, jiff::Timestamp), String> {
    let zone = TimeZone::get(&args.zone)
        .map_err(|_| format!("--zone: `{}` is not an IANA time zone (e.g. Europe/London)", args.zone))?;
    let local = |name: &str, text: &str| {
        text.parse::<jiff::civil::DateTime>()
            .ok()
            .filter(|_| text.len() == 16)
            .and_then(|dt| dt.to_zoned(zone.clone()).ok())
            .map(|z| z.timestamp())
            .ok_or_else(|| format!("{name}: `{text}` is not a local time YYYY-MM-DDTHH:MM"))
    };
    let start = local("--start", &args.start)?;
    let booked = local("--booked", &args.booked)?;
    let mut rule = base;
    if let Some(list) = &args.offsets {
        rule.offsets = list
            .iter()
            .map(|o| o.parse::<Offset>().map_err(|e| format!("--offsets: {e}")))
            .collect::<Result<_, _>>()?;
        if rule.offsets.is_empty() {
            return Err("--offsets: expected at least one length".into());
        }
    }
    if let Some(w) = &args.window {
        rule.window = w.parse::<Window>().map_err(|e| format!("--window: {e}"))?;
    }
    if let Some(l) = &args.min_lead {
        rule.min_lead = outreach::parse_length(l).map_err(|e| format!("--min-lead: {e}"))?;
    }
    if let Some(g) = &args.min_gap {
        rule.min_gap = outreach::parse_length(g).map_err(|e| format!("--min-gap: {e}"))?;
    }
    Ok((rule, zone, start, booked))
}
