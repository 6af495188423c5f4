//! API keys for integrations: created by an admin, shown once, stored as a hash, scoped to one
//! organization and to `ingest`, `read`, `write` or `admin`, revocable.

use hearth_core::{ApiKeyId, ApiScope, UtcTime};
use hearth_store::api_keys::{ApiKeyRow, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::auth::secrets::{random_hex, sha256_hex};
use crate::auth::session::API_KEY_PREFIX;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ApiKeyId,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<UtcTime>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<UtcTime>,
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(r: &ApiKeyRow) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            prefix: r.prefix.clone(),
            scopes: r.scopes.split(',').map(str::to_owned).collect(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyInput {
    pub name: String,
    #[schema(value_type = Vec<String>, example = json!(["ingest"]))]
    pub scopes: Vec<ApiScope>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyView,
    /// The key itself. Shown this once; Hearth keeps only a hash. Send it as
    /// `Authorization: Bearer <key>`.
    pub key: String,
}

pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<ApiKeyView>, AppError> {
    Ok(app.store.list_api_keys(actor.org).await?.iter().map(ApiKeyView::from).collect())
}

pub async fn create(
    app: &AppState,
    actor: &Actor,
    input: CreateApiKeyInput,
) -> Result<CreatedApiKey, AppError> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors
            .push(FieldError::new("name", "expected a name of 1 to 100 characters, e.g. \"Epic ADT feed\""));
    }
    if input.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "expected at least one of ingest, read, write, admin"));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let mut scopes: Vec<&str> = input.scopes.iter().map(|s| s.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let key = format!("{API_KEY_PREFIX}{}", random_hex(24));
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx
        .create_api_key(
            actor.org,
            &NewApiKey {
                id: ApiKeyId::new(),
                name,
                prefix: &key[..API_KEY_PREFIX.len() + 6],
                key_hash: &sha256_hex(&key),
                scopes: &scopes.join(","),
                created_by: actor.user_id(),
                now,
            },
        )
        .await?;
    let view = ApiKeyView::from(&row);
    audit::record(
        &mut tx,
        now,
        actor,
        "api_key.create",
        Some(("api_key", row.id.to_string())),
        None,
        snapshot(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedApiKey { api_key: view, key })
}

pub async fn revoke(app: &AppState, actor: &Actor, id: ApiKeyId) -> Result<ApiKeyView, AppError> {
    let before = ApiKeyView::from(&app.store.api_key(actor.org, id).await?);
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let after = ApiKeyView::from(&tx.revoke_api_key(actor.org, id, now).await?);
    audit::record(
        &mut tx,
        now,
        actor,
        "api_key.revoke",
        Some(("api_key", id.to_string())),
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
