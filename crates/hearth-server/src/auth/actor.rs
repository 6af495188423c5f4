//! The actor behind a request: a staff user, an integration's API key, or Hearth itself (CLI and
//! workers). Every service function takes one, and the audit trail records it.

use hearth_core::{ApiKeyId, ApiScope, LocationId, OrgId, Permission, Role, UserId};

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ActorKind {
    User {
        id: UserId,
        role: Role,
        department: Option<LocationId>,
        email: String,
    },
    ApiKey {
        id: ApiKeyId,
        name: String,
        scopes: Vec<ApiScope>,
    },
    /// Hearth itself: the CLI or a worker. Holds every permission.
    System {
        label: &'static str,
    },
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub org: OrgId,
    pub kind: ActorKind,
    pub meta: RequestMeta,
}

impl Actor {
    pub fn system(org: OrgId, label: &'static str) -> Self {
        Self { org, kind: ActorKind::System { label }, meta: RequestMeta::default() }
    }

    pub fn grants(&self, p: Permission) -> bool {
        match &self.kind {
            ActorKind::User { role, .. } => role.grants(p),
            ActorKind::ApiKey { scopes, .. } => scopes.iter().any(|s| s.grants(p)),
            ActorKind::System { .. } => true,
        }
    }

    /// The department this actor is confined to where a resource has one: `None` means the whole
    /// organization.
    pub fn department_scope(&self) -> Option<LocationId> {
        match &self.kind {
            ActorKind::User { role, department, .. } if !role.is_org_wide() => *department,
            _ => None,
        }
    }

    /// The highest role this actor may grant or manage.
    pub fn role_ceiling(&self) -> Role {
        match &self.kind {
            ActorKind::User { role, .. } => *role,
            ActorKind::ApiKey { .. } | ActorKind::System { .. } => Role::PxAdmin,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match &self.kind {
            ActorKind::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// (`actor_type`, `actor_id`, `actor_label`) as the audit trail stores them.
    pub fn audit_identity(&self) -> (&'static str, Option<String>, Option<String>) {
        match &self.kind {
            ActorKind::User { id, email, .. } => ("user", Some(id.to_string()), Some(email.clone())),
            ActorKind::ApiKey { id, name, .. } => ("api_key", Some(id.to_string()), Some(name.clone())),
            ActorKind::System { label } => ("system", None, Some((*label).to_owned())),
        }
    }
}
