//! Staff accounts: who may create, see and change whom. A user manages only users at or below their
//! own role and, below hospital admin, only within their own department. Every change is audited
//! with the account as it was and as it became (never with password hashes or TOTP secrets).

mod mfa;
mod views;

use hearth_core::{ErrorCode, LocationId, Role, UserId};
use hearth_store::StoreError;
use hearth_store::users::{NewUser, UserChanges, UserRow};

pub use mfa::{Enrolment, confirm_enrolment, disable_mfa, start_enrolment};
pub use views::{CreateUserInput, CreatedUser, UpdateUserInput, UserView};

use crate::audit::{self, snapshot};
use crate::auth::secrets::{check_password_policy, hash_password, random_readable, verify_password};
use crate::auth::{Actor, ActorKind};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<UserView>, AppError> {
    let rows = app.store.list_users(actor.org, actor.department_scope()).await?;
    Ok(rows.iter().map(UserView::from).collect())
}

/// A user the actor may see: in their organization and, if confined, their department.
async fn visible(app: &AppState, actor: &Actor, id: UserId) -> Result<UserRow, AppError> {
    let row = app.store.user(actor.org, id).await?;
    if actor.department_scope().is_some_and(|d| row.department_id != Some(d)) {
        return Err(AppError::code(ErrorCode::NotFound));
    }
    Ok(row)
}

pub async fn get(app: &AppState, actor: &Actor, id: UserId) -> Result<UserView, AppError> {
    Ok(UserView::from(&visible(app, actor, id).await?))
}

fn may_manage(actor: &Actor, target_role: Role) -> Result<(), AppError> {
    if actor.role_ceiling().at_least(target_role) {
        Ok(())
    } else {
        Err(AppError::with_message(
            ErrorCode::Forbidden,
            "you cannot manage users whose role is above your own",
        ))
    }
}

fn parse_email(raw: &str) -> Result<String, FieldError> {
    hearth_core::contact::Email::parse(raw)
        .map(|e| e.as_str().to_owned())
        .map_err(|e| FieldError::new("email", e.to_string()))
}

async fn check_department(
    app: &AppState,
    actor: &Actor,
    dept: Option<LocationId>,
) -> Result<Option<LocationId>, AppError> {
    let dept = match (actor.department_scope(), dept) {
        (Some(own), None) => Some(own),
        (Some(own), Some(d)) if d != own => {
            return Err(AppError::field("department_id", "you can only place users in your own department"));
        }
        (_, d) => d,
    };
    if let Some(d) = dept {
        match app.store.location(actor.org, d).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::field("department_id", "no such location in this organization"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(dept)
}

pub async fn create(app: &AppState, actor: &Actor, input: CreateUserInput) -> Result<CreatedUser, AppError> {
    let mut errors = Vec::new();
    let email = parse_email(&input.email).map_err(|e| errors.push(e)).ok();
    let display_name = input.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        errors.push(FieldError::new("display_name", "expected a name of 1 to 200 characters"));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let email = email.unwrap_or_default();
    may_manage(actor, input.role)?;
    let department = check_department(app, actor, input.department_id).await?;
    let (password, temporary) = if let Some(p) = input.password {
        check_password_policy("password", &p, &email)?;
        (p, None)
    } else {
        let p = random_readable(16);
        (p.clone(), Some(p))
    };
    let hash = hash_password(password).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let new = NewUser {
        id: UserId::new(),
        email: &email,
        display_name: &display_name,
        role: input.role.as_str(),
        department_id: department,
        password_hash: &hash,
        must_change_password: temporary.is_some(),
        now,
    };
    let row = match tx.create_user(actor.org, &new).await {
        Ok(row) => row,
        Err(StoreError::Unique(_)) => {
            return Err(AppError::field("email", "an account with this e-mail address already exists"));
        }
        Err(e) => return Err(e.into()),
    };
    let view = UserView::from(&row);
    audit::record(
        &mut tx,
        now,
        actor,
        "user.create",
        Some(("user", row.id.to_string())),
        None,
        snapshot(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedUser { user: view, temporary_password: temporary })
}

pub async fn update(
    app: &AppState,
    actor: &Actor,
    id: UserId,
    input: UpdateUserInput,
) -> Result<UserView, AppError> {
    let before = visible(app, actor, id).await?;
    let before_role = Role::parse(&before.role).unwrap_or(Role::Viewer);
    may_manage(actor, before_role)?;
    if let Some(role) = input.role {
        may_manage(actor, role)?;
    }
    let is_self = actor.user_id() == Some(id);
    if is_self && (input.role.is_some_and(|r| r != before_role) || input.active == Some(false)) {
        return Err(AppError::with_message(
            ErrorCode::Conflict,
            "you cannot change your own role or deactivate yourself",
        ));
    }
    let display_name = input.display_name.as_deref().map(str::trim);
    if display_name.is_some_and(|n| n.is_empty() || n.chars().count() > 200) {
        return Err(AppError::field("display_name", "expected a name of 1 to 200 characters"));
    }
    let department = match input.department_id {
        Some(d) => Some(check_department(app, actor, d).await?),
        None => None,
    };
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let changes = UserChanges {
        display_name,
        role: input.role.map(Role::as_str),
        department_id: department,
        active: input.active,
    };
    let row = tx.update_user(actor.org, id, &changes, now).await?;
    if input.active == Some(false) {
        tx.delete_user_sessions(id, None).await?;
    }
    let (b, a) = (UserView::from(&before), UserView::from(&row));
    audit::record(
        &mut tx,
        now,
        actor,
        "user.update",
        Some(("user", id.to_string())),
        snapshot(&b),
        snapshot(&a),
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

/// Sets a temporary password (shown once), unlocks the account, ends its sessions, and requires a
/// new password at next sign-in.
pub async fn reset_password(app: &AppState, actor: &Actor, id: UserId) -> Result<String, AppError> {
    let target = visible(app, actor, id).await?;
    may_manage(actor, Role::parse(&target.role).unwrap_or(Role::Viewer))?;
    let temporary = random_readable(16);
    let hash = hash_password(temporary.clone()).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_password(actor.org, id, &hash, true, now).await?;
    tx.delete_user_sessions(id, None).await?;
    audit::record(&mut tx, now, actor, "user.password_reset", Some(("user", id.to_string())), None, None)
        .await?;
    tx.commit().await?;
    Ok(temporary)
}

/// A user changes their own password; their other sessions end.
pub async fn change_own_password(
    app: &AppState,
    actor: &Actor,
    keep_session: &str,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let ActorKind::User { id, .. } = &actor.kind else {
        return Err(AppError::code(ErrorCode::Forbidden));
    };
    let user = app.store.user(actor.org, *id).await?;
    if !verify_password(current.to_owned(), Some(user.password_hash.clone())).await {
        return Err(AppError::field("current_password", "this is not your current password"));
    }
    if current == new {
        return Err(AppError::field("new_password", "choose a password different from the current one"));
    }
    check_password_policy("new_password", new, &user.email)?;
    let hash = hash_password(new.to_owned()).await?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_password(actor.org, user.id, &hash, false, now).await?;
    tx.delete_user_sessions(user.id, Some(keep_session)).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.password_change",
        Some(("user", user.id.to_string())),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
