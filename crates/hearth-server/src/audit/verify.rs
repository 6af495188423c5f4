//! `hearth audit verify`: walk every organization's chain and name the first broken link.

use hearth_core::OrgId;
use hearth_core::audit::GENESIS_HASH;
use hearth_store::{Store, StoreError};

const PAGE: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub org: OrgId,
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub chains: usize,
    pub events: u64,
    pub broken: Option<Broken>,
}

pub async fn verify(store: &Store) -> Result<Report, StoreError> {
    let mut report = Report::default();
    for (org, last_seq, last_hash) in store.audit_chains().await? {
        report.chains += 1;
        let mut prev = GENESIS_HASH.to_owned();
        let mut expected_seq = 1;
        let mut after = 0;
        loop {
            let page = store.audit_chain_page(org, after, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for row in &page {
                let problem = if row.seq != expected_seq {
                    Some(format!("expected event {expected_seq} but found {} (events missing)", row.seq))
                } else if row.prev_hash != prev {
                    Some("its previous-hash does not match the event before it".to_owned())
                } else if row.computed_hash(&prev) != row.hash {
                    Some("its contents do not match its hash (the row was modified)".to_owned())
                } else {
                    None
                };
                if let Some(reason) = problem {
                    report.broken = Some(Broken { org, seq: row.seq, reason });
                    return Ok(report);
                }
                prev.clone_from(&row.hash);
                expected_seq += 1;
                report.events += 1;
            }
            after = page.last().map_or(after, |r| r.seq);
        }
        if expected_seq - 1 != last_seq || prev != last_hash {
            report.broken = Some(Broken {
                org,
                seq: expected_seq,
                reason: format!(
                    "the chain ends at event {} but its head says {last_seq} (events removed)",
                    expected_seq - 1
                ),
            });
            return Ok(report);
        }
    }
    Ok(report)
}
