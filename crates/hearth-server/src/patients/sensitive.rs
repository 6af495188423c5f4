//! Sensitive identifiers (SSNs and any system listed in `patients.sensitive_identifier_systems`):
//! encrypted at rest with AES-256-GCM, bound to their patient; shown masked (`*****2222`); read in
//! full only with `patient:read_sensitive`, and that read is audited.

use hearth_core::{OrgId, PatientId};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Identifier, PatientRecord};
use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// Where a sealed identifier belongs; a ciphertext moved elsewhere does not open.
pub fn context(org: OrgId, id: PatientId, system: &str) -> String {
    format!("patient:{org}:{id}:identifier:{system}")
}

/// The last four characters, the rest starred: `*****2222`.
pub(crate) fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let shown = if chars.len() > 4 { chars.len() - 4 } else { chars.len() };
    "*".repeat(shown.max(4)) + &chars[shown..].iter().collect::<String>()
}

/// Seals the sensitive identifiers of `record`. One the client sent back masked, unchanged, keeps
/// the sealed value stored before (`stored`); a new value is sealed and masked.
pub(crate) fn seal(
    app: &AppState,
    org: OrgId,
    id: PatientId,
    record: &mut PatientRecord,
    stored: Option<&PatientRecord>,
) {
    let systems = &app.config.patients.sensitive_identifier_systems;
    for i in record.identifiers.iter_mut().filter(|i| systems.contains(&i.system)) {
        let kept = stored
            .into_iter()
            .flat_map(|s| &s.identifiers)
            .find(|s| s.system == i.system && s.value == i.value && s.sealed.is_some());
        if let Some(kept) = kept {
            i.sealed.clone_from(&kept.sealed);
        } else {
            i.sealed = Some(app.keys.seal(&i.value, &context(org, id, &i.system)));
            i.value = mask(&i.value);
        }
    }
}

/// A patient's sensitive identifiers in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensitiveView {
    pub identifiers: Vec<Identifier>,
}

/// Opens a patient's sensitive identifiers; the read is audited (`patient.sensitive_read`).
pub async fn reveal(app: &AppState, actor: &Actor, id: PatientId) -> Result<SensitiveView, AppError> {
    let row = app.store.patient(actor.org, id).await?;
    let record: PatientRecord = serde_json::from_str(&row.document).map_err(anyhow::Error::from)?;
    let mut identifiers = Vec::new();
    for i in record.identifiers.iter().filter(|i| i.sealed.is_some()) {
        let sealed = i.sealed.as_deref().unwrap_or_default();
        let value = app
            .keys
            .open(sealed, &context(actor.org, id, &i.system))
            .map_err(|e| anyhow::anyhow!("patient {id}: identifier of {}: {e}", i.system))?;
        identifiers.push(Identifier { system: i.system.clone(), value, sealed: None });
    }
    let systems: Vec<&str> = identifiers.iter().map(|i| i.system.as_str()).collect();
    let after = audit::snapshot(&serde_json::json!({ "systems": systems }));
    audit::record_read(app, actor, "patient.sensitive_read", Some(("patient", id.to_string())), after)
        .await?;
    Ok(SensitiveView { identifiers })
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(super::mask("444222222"), "*****2222");
        assert_eq!(super::mask("12"), "****", "too short to show any of it");
        assert_eq!(super::mask("123-45-6789"), "*******6789");
    }
}
