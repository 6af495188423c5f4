//! `hearth keys rotate`: add a key (to the keyring file) and re-encrypt every sealed value under it:
//! patients' sensitive identifiers and staff TOTP secrets (sealing any still in plaintext). Old keys
//! stay in the keyring so that a process that has not reloaded yet can still read; once this has
//! run, they are no longer needed by any stored value.

use std::collections::BTreeMap;

use hearth_core::OrgId;
use hearth_core::crypto::Keyring;
use hearth_store::Store;
use serde::Serialize;

use crate::auth::Actor;
use crate::config::Config;
use crate::patients::PatientRecord;

#[derive(Debug, Serialize)]
pub struct RotationReport {
    /// The key new values are sealed with.
    pub active_key: String,
    /// The key this run added to the keyring file (none when keys come from `encryption.keys`).
    pub added_key: Option<String>,
    /// Sensitive patient values re-encrypted.
    pub patient_values: u64,
    /// TOTP secrets re-encrypted (or encrypted for the first time).
    pub totp_secrets: u64,
}

/// Adds a key (when the keyring is a file) and re-encrypts everything under the active key.
pub async fn rotate(
    config: &Config,
    store: &Store,
    now: hearth_core::UtcTime,
) -> anyhow::Result<RotationReport> {
    let added_key = super::add_key(config)?;
    let ring = super::load(config)?;
    let mut per_org: BTreeMap<OrgId, (u64, u64)> = BTreeMap::new();
    let patient_values = reseal_patients(&ring, store, &mut per_org).await?;
    let totp_secrets = reseal_totp(&ring, store, &mut per_org).await?;
    for (org, (patients, totp)) in per_org {
        let mut tx = store.begin().await?;
        let actor = Actor::system(org, "hearth keys rotate");
        let after = crate::audit::snapshot(&serde_json::json!({
            "active_key": ring.active_id(), "patient_values": patients, "totp_secrets": totp,
        }));
        crate::audit::record(&mut tx, now, &actor, "encryption.rotate", None, None, after)
            .await
            .map_err(|e| anyhow::anyhow!("audit: {e}"))?;
        tx.commit().await?;
    }
    Ok(RotationReport { active_key: ring.active_id().to_owned(), added_key, patient_values, totp_secrets })
}

async fn reseal_patients(
    ring: &Keyring,
    store: &Store,
    per_org: &mut BTreeMap<OrgId, (u64, u64)>,
) -> anyhow::Result<u64> {
    let mut count = 0;
    let mut after = None;
    loop {
        let page = store.sealed_patient_documents(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let mut tx = store.begin().await?;
        for doc in &page {
            let mut record: PatientRecord = serde_json::from_str(&doc.document)?;
            let mut changed = 0;
            for i in &mut record.identifiers {
                let Some(sealed) = &i.sealed else { continue };
                let context = crate::patients::sensitive_context(doc.org_id, doc.id, &i.system);
                if let Some(fresh) =
                    ring.reseal(sealed, &context).map_err(|e| anyhow::anyhow!("patient {}: {e}", doc.id))?
                {
                    i.sealed = Some(fresh);
                    changed += 1;
                }
            }
            if changed > 0 {
                tx.set_patient_document(doc.org_id, doc.id, &serde_json::to_string(&record)?).await?;
                per_org.entry(doc.org_id).or_default().0 += changed;
                count += changed;
            }
        }
        tx.commit().await?;
    }
    Ok(count)
}

async fn reseal_totp(
    ring: &Keyring,
    store: &Store,
    per_org: &mut BTreeMap<OrgId, (u64, u64)>,
) -> anyhow::Result<u64> {
    let mut count = 0;
    let mut tx = store.begin().await?;
    for u in store.totp_secrets().await? {
        let context = crate::auth::totp::secret_context(u.org_id, u.id);
        let fresh = if hearth_core::crypto::is_sealed(&u.totp_secret) {
            ring.reseal(&u.totp_secret, &context).map_err(|e| anyhow::anyhow!("user {}: {e}", u.id))?
        } else {
            Some(ring.seal(&u.totp_secret, &context))
        };
        if let Some(fresh) = fresh {
            tx.replace_totp_secret(u.org_id, u.id, &fresh).await?;
            per_org.entry(u.org_id).or_default().1 += 1;
            count += 1;
        }
    }
    tx.commit().await?;
    Ok(count)
}
