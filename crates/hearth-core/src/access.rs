//! Who may do what: staff roles, API-key scopes and the one table of permissions they grant.
//! Handlers name the permission they need in their signature; nothing else decides access.
//! `docs/permissions.md` is generated from this file and a test keeps the two identical.

use std::fmt;

/// Staff roles, highest first. A user may only grant roles at or below their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PxAdmin,
    HospitalAdmin,
    DepartmentManager,
    PxCoordinator,
    Physician,
    Nurse,
    Staff,
    Viewer,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::PxAdmin,
        Role::HospitalAdmin,
        Role::DepartmentManager,
        Role::PxCoordinator,
        Role::Physician,
        Role::Nurse,
        Role::Staff,
        Role::Viewer,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::PxAdmin => "px_admin",
            Role::HospitalAdmin => "hospital_admin",
            Role::DepartmentManager => "department_manager",
            Role::PxCoordinator => "px_coordinator",
            Role::Physician => "physician",
            Role::Nurse => "nurse",
            Role::Staff => "staff",
            Role::Viewer => "viewer",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Role::PxAdmin => "PX admin",
            Role::HospitalAdmin => "Hospital admin",
            Role::DepartmentManager => "Department manager",
            Role::PxCoordinator => "PX coordinator",
            Role::Physician => "Physician",
            Role::Nurse => "Nurse",
            Role::Staff => "Staff",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    /// True when `self` ranks at or above `other` (the list is highest first).
    pub fn at_least(self, other: Role) -> bool {
        self <= other
    }

    /// Roles that see the whole organization; the others are limited to their department where a
    /// resource has one.
    pub fn is_org_wide(self) -> bool {
        self.at_least(Role::HospitalAdmin)
    }

    pub fn grants(self, p: Permission) -> bool {
        GRANTS.iter().any(|(perm, roles, _)| *perm == p && roles.contains(&self))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an integration's API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// Push events from the EHR.
    Ingest,
    /// Read everything but the audit trail and credentials.
    Read,
    /// Read, and change clinical and scheduling data.
    Write,
    /// Everything, including users, API keys and the audit trail.
    Admin,
}

impl ApiScope {
    pub const ALL: &'static [ApiScope] =
        &[ApiScope::Ingest, ApiScope::Read, ApiScope::Write, ApiScope::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            ApiScope::Ingest => "ingest",
            ApiScope::Read => "read",
            ApiScope::Write => "write",
            ApiScope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<ApiScope> {
        ApiScope::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    pub fn grants(self, p: Permission) -> bool {
        GRANTS.iter().any(|(perm, _, scopes)| *perm == p && scopes.contains(&self))
    }
}

macro_rules! permissions {
    ($($variant:ident = $wire:literal, $doc:literal;)+) => {
        /// An action on a kind of resource, named `resource:action`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Permission { $($variant),+ }
        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];
            pub const fn as_str(self) -> &'static str { match self { $(Permission::$variant => $wire),+ } }
            pub const fn description(self) -> &'static str { match self { $(Permission::$variant => $doc),+ } }
            pub fn parse(s: &str) -> Option<Permission> { Self::ALL.iter().copied().find(|p| p.as_str() == s) }
        }
    };
}

permissions! {
    OrganizationRead  = "organization:read",  "See the organization's name and settings.";
    LocationRead      = "location:read",      "List and read locations and departments.";
    LocationWrite     = "location:write",     "Create and change locations and departments.";
    PractitionerRead  = "practitioner:read",  "List and read practitioners.";
    PractitionerWrite = "practitioner:write", "Create and change practitioners.";
    UserRead          = "user:read",          "List and read staff accounts (own department unless organization-wide).";
    UserManage        = "user:manage",        "Create staff accounts, change roles, reset passwords, deactivate.";
    ApiKeyManage      = "api_key:manage",     "Create, list and revoke API keys.";
    AuditRead         = "audit:read",         "Read the audit trail.";
    PatientRead       = "patient:read",       "Read patient records (every read is audited).";
    PatientWrite      = "patient:write",      "Create and change patient records.";
    PatientSensitiveRead = "patient:read_sensitive", "Read sensitive identifiers (e.g. SSNs) in full; every read is audited.";
    AppointmentRead   = "appointment:read",   "Read appointments and their event history (every read is audited).";
    IngestWrite       = "ingest:write",       "Send EHR events: the ingest endpoints, the schedule upload and simulator pages.";
    TemplateRead      = "template:read",      "List and read message templates and their versions; preview a message.";
    TemplateWrite     = "template:write",     "Create, change and deactivate the organization's message templates.";
    MessageRead       = "message:read",       "Read outbound messages, their attempts and history: the outbox (every read is audited).";
    MessageSend       = "message:send",       "Send a message to a patient or address; retry or cancel a message.";
    ReminderRuleWrite = "reminder_rule:write", "Set when reminders go out: the organization's reminder rules and their overrides per location and appointment type.";
    InboxRead         = "inbox:read",         "Read patient replies that need a person: the staff inbox (every read is audited).";
    InboxWrite        = "inbox:write",        "Work the staff inbox: assign an item, answer the patient, mark it done.";
}

use ApiScope as S;
use Role as R;

const ALL_STAFF: &[Role] = Role::ALL;
const ADMINS: &[Role] = &[R::PxAdmin, R::HospitalAdmin];
const MANAGERS: &[Role] = &[R::PxAdmin, R::HospitalAdmin, R::DepartmentManager];
const CLINICAL: &[Role] =
    &[R::PxAdmin, R::HospitalAdmin, R::DepartmentManager, R::PxCoordinator, R::Physician, R::Nurse, R::Staff];
const CHART_WRITERS: &[Role] =
    &[R::PxAdmin, R::HospitalAdmin, R::DepartmentManager, R::Physician, R::Nurse, R::Staff];

/// Who words the organization's messages: administrators, department managers and the PX coordinator.
const TEMPLATE_EDITORS: &[Role] = &[R::PxAdmin, R::HospitalAdmin, R::DepartmentManager, R::PxCoordinator];

/// Who works the replies inbox: the front desk (staff), the PX coordinator, managers and admins.
const INBOX_WORKERS: &[Role] =
    &[R::PxAdmin, R::HospitalAdmin, R::DepartmentManager, R::PxCoordinator, R::Staff];

/// The permission table: each permission, the roles and the API-key scopes that hold it.
pub const GRANTS: &[(Permission, &[Role], &[ApiScope])] = &[
    (Permission::OrganizationRead, ALL_STAFF, &[S::Ingest, S::Read, S::Write, S::Admin]),
    (Permission::LocationRead, ALL_STAFF, &[S::Read, S::Write, S::Admin]),
    (Permission::LocationWrite, ADMINS, &[S::Write, S::Admin]),
    (Permission::PractitionerRead, ALL_STAFF, &[S::Read, S::Write, S::Admin]),
    (Permission::PractitionerWrite, MANAGERS, &[S::Write, S::Admin]),
    (Permission::UserRead, MANAGERS, &[S::Admin]),
    (Permission::UserManage, MANAGERS, &[S::Admin]),
    (Permission::ApiKeyManage, &[R::PxAdmin], &[S::Admin]),
    (Permission::AuditRead, ADMINS, &[S::Admin]),
    (Permission::PatientRead, CLINICAL, &[S::Read, S::Write, S::Admin]),
    (Permission::PatientWrite, CHART_WRITERS, &[S::Write, S::Admin]),
    (Permission::PatientSensitiveRead, ADMINS, &[S::Admin]),
    (Permission::AppointmentRead, CLINICAL, &[S::Read, S::Write, S::Admin]),
    (Permission::IngestWrite, ADMINS, &[S::Ingest, S::Admin]),
    (Permission::TemplateRead, CLINICAL, &[S::Read, S::Write, S::Admin]),
    (Permission::TemplateWrite, TEMPLATE_EDITORS, &[S::Write, S::Admin]),
    (Permission::MessageRead, CLINICAL, &[S::Read, S::Write, S::Admin]),
    (Permission::MessageSend, CLINICAL, &[S::Write, S::Admin]),
    (Permission::ReminderRuleWrite, TEMPLATE_EDITORS, &[S::Write, S::Admin]),
    (Permission::InboxRead, INBOX_WORKERS, &[S::Read, S::Write, S::Admin]),
    (Permission::InboxWrite, INBOX_WORKERS, &[S::Write, S::Admin]),
];

/// The Markdown document generated from the table (`docs/permissions.md`).
pub fn markdown_permissions() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Roles and permissions\n\n\
         <!-- Generated from crates/hearth-core/src/access.rs; a test keeps this file identical. -->\n\n\
         Every request acts for one organization and never sees another's data. Roles are listed highest \
         first; a user may only grant roles at or below their own and may only change users at or below \
         it. Roles below hospital admin are limited to their own department wherever a resource has one \
         (today: staff accounts).\n\n",
    );
    out.push_str("| permission | meaning |");
    for r in Role::ALL {
        let _ = write!(out, " {} |", r.as_str());
    }
    out.push_str(" API-key scopes |\n|---|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for (p, roles, scopes) in GRANTS {
        let _ = write!(out, "| `{}` | {} |", p.as_str(), p.description());
        for r in Role::ALL {
            out.push_str(if roles.contains(r) { " ✓ |" } else { " |" });
        }
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(out, " {} |", scopes.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_exactly_one_row() {
        for p in Permission::ALL {
            assert_eq!(GRANTS.iter().filter(|(q, _, _)| q == p).count(), 1, "{}", p.as_str());
        }
    }

    #[test]
    fn higher_roles_hold_everything_lower_roles_hold_except_department_work() {
        assert!(Role::PxAdmin.at_least(Role::Viewer));
        assert!(!Role::Viewer.at_least(Role::Staff));
        for p in Permission::ALL {
            if Role::Viewer.grants(*p) {
                assert!(Role::PxAdmin.grants(*p), "{}", p.as_str());
            }
        }
        assert!(Permission::ALL.iter().all(|p| Role::PxAdmin.grants(*p)));
        assert!(Permission::ALL.iter().all(|p| ApiScope::Admin.grants(*p)));
    }

    #[test]
    fn names_roundtrip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        for s in ApiScope::ALL {
            assert_eq!(ApiScope::parse(s.as_str()), Some(*s));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
    }

    #[test]
    fn docs_permissions_md_matches_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md");
        let generated = markdown_permissions();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            generated,
            "docs/permissions.md is out of date; regenerate it with `BLESS=1 cargo test -p hearth-core`"
        );
    }
}
