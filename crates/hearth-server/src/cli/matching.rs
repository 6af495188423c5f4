//! `hearth patients eval-matching RECORDS.csv LINKS.csv [--json]`: precision, recall and F1 of
//! duplicate detection on a FEBRL-style file, in memory (no database, no configuration).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use hearth_core::linkage::{LIKELY, febrl};

pub fn eval_matching(records: &Path, links: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    };
    let (records_text, links_text) = (read(records)?, read(links)?);
    let fail = |e: febrl::FebrlError| -> anyhow::Result<ExitCode> {
        writeln!(std::io::stderr().lock(), "hearth: {e}")?;
        Ok(ExitCode::from(2))
    };
    let (ids, recs) = match febrl::parse_records(&records_text) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let truth = match febrl::parse_links(&links_text, &ids) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let e = febrl::evaluate(&recs, &truth, LIKELY);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&e)?)?;
    } else {
        writeln!(out, "records:          {}", recs.len())?;
        writeln!(out, "true pairs:       {}", e.true_pairs)?;
        writeln!(out, "pairs predicted:  {} (score ≥ {LIKELY})", e.pairs_predicted)?;
        writeln!(out, "precision:        {:.4}", e.precision)?;
        writeln!(out, "recall:           {:.4}", e.recall)?;
        writeln!(out, "F1:               {:.4}", e.f1)?;
        writeln!(out, "time:             {:.1} ms", started.elapsed().as_secs_f64() * 1000.0)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth patients find-duplicates`: checks every active patient of every organization and puts
/// possible duplicates in the review queue (decided pairs stay decided).
pub async fn find_duplicates(overrides: &crate::config::Overrides) -> anyhow::Result<ExitCode> {
    use crate::app::{App, Deps, Roles};
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::telemetry::init(&config.log)?;
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    for org in state.store.list_organizations().await? {
        let actor = crate::auth::Actor::system(org.id, "cli: hearth patients find-duplicates");
        let ids = state.store.active_patient_ids(org.id).await?;
        for id in &ids {
            crate::patients::refresh_queue(&state, &actor, *id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let pending = state.store.list_duplicates(org.id, "pending", 500).await?.len();
        writeln!(out, "{}: {} patients checked, {pending} pairs pending review", org.name, ids.len())?;
    }
    writeln!(out, "done in {:.1} s", started.elapsed().as_secs_f64())?;
    state.store.close().await;
    Ok(ExitCode::SUCCESS)
}
