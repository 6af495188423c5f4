//! Administration pages: staff users and roles, API keys, the audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::{ApiKeyId, ApiScope, LocationId, Role, UserId};
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::api_keys::{self, ApiKeyView, CreateApiKeyInput};
use crate::auth::{Authorized, perms};
use crate::directory::{self, LocationView};
use crate::error::{AppError, FieldError};
use crate::staff::{self, CreateUserInput, UpdateUserInput, UserView};
use crate::state::AppState;
use crate::web::ApiPath;

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub users: Vec<UserView>,
    pub roles: Vec<(&'static str, &'static str)>,
    pub locations: Vec<LocationView>,
    pub can_manage: bool,
    pub errors: Vec<FieldError>,
    /// (e-mail, password) to show once after creating a user or resetting a password.
    pub shown_once: Option<(String, String)>,
}

impl UsersPage {
    fn location_name(&self, id: Option<LocationId>) -> String {
        id.and_then(|id| self.locations.iter().find(|l| l.id == id))
            .map_or_else(|| "—".to_owned(), |l| l.name.clone())
    }
    fn selected(u: &UserView, l: &LocationView) -> bool {
        u.department_id == Some(l.id)
    }
    fn role_label(role: &str) -> &'static str {
        Role::parse(role).map_or("?", Role::label)
    }
}

async fn users_page(
    app: &AppState,
    auth: &Authorized<perms::UserRead>,
    errors: Vec<FieldError>,
    shown_once: Option<(String, String)>,
) -> Result<UsersPage, AppError> {
    let actor = &auth.actor;
    let ceiling = actor.role_ceiling();
    Ok(UsersPage {
        nav: Nav::new(actor, &auth.csrf, "/admin/users"),
        users: staff::list(app, actor).await?,
        roles: Role::ALL.iter().filter(|r| ceiling.at_least(**r)).map(|r| (r.as_str(), r.label())).collect(),
        locations: directory::list_locations(app, actor).await?,
        can_manage: actor.grants(hearth_core::Permission::UserManage),
        errors,
        shown_once,
    })
}

fn render(result: Result<UsersPage, AppError>, status: StatusCode) -> Response {
    match result {
        Ok(p) => (status, Page(p)).into_response(),
        Err(e) => error_page(&e),
    }
}

pub async fn list_users(State(app): State<AppState>, auth: Authorized<perms::UserRead>) -> Response {
    render(users_page(&app, &auth, Vec::new(), None).await, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CreateUserForm {
    email: String,
    display_name: String,
    role: String,
    #[serde(default)]
    department_id: String,
}

fn parse_role(s: &str) -> Result<Role, AppError> {
    Role::parse(s).ok_or_else(|| AppError::field("role", "choose one of the listed roles"))
}

fn parse_department(s: &str) -> Result<Option<LocationId>, AppError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| AppError::field("department_id", "choose one of the listed departments"))
}

pub async fn create_user(
    State(app): State<AppState>,
    auth: Authorized<perms::UserRead>,
    manage: Authorized<perms::UserManage>,
    PageForm(f): PageForm<CreateUserForm>,
) -> Response {
    let input = match (parse_role(&f.role), parse_department(&f.department_id)) {
        (Ok(role), Ok(department_id)) => CreateUserInput {
            email: f.email.clone(),
            display_name: f.display_name,
            role,
            department_id,
            password: None,
        },
        (Err(e), _) | (_, Err(e)) => return field_errors(&app, &auth, e).await,
    };
    match staff::create(&app, &manage.actor, input).await {
        Ok(created) => {
            let shown = created.temporary_password.map(|p| (created.user.email.clone(), p));
            render(users_page(&app, &auth, Vec::new(), shown).await, StatusCode::CREATED)
        }
        Err(e) => field_errors(&app, &auth, e).await,
    }
}

async fn field_errors(app: &AppState, auth: &Authorized<perms::UserRead>, e: AppError) -> Response {
    match e {
        AppError::Fields(errors) => {
            render(users_page(app, auth, errors, None).await, StatusCode::UNPROCESSABLE_ENTITY)
        }
        e => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct UpdateUserForm {
    role: String,
    #[serde(default)]
    department_id: String,
    /// Checkbox: present when ticked.
    active: Option<String>,
}

pub async fn update_user(
    State(app): State<AppState>,
    auth: Authorized<perms::UserRead>,
    manage: Authorized<perms::UserManage>,
    ApiPath(id): ApiPath<UserId>,
    PageForm(f): PageForm<UpdateUserForm>,
) -> Response {
    let input = match (parse_role(&f.role), parse_department(&f.department_id)) {
        (Ok(role), Ok(dept)) => UpdateUserInput {
            role: Some(role),
            department_id: Some(dept),
            active: Some(f.active.is_some()),
            display_name: None,
        },
        (Err(e), _) | (_, Err(e)) => return field_errors(&app, &auth, e).await,
    };
    match staff::update(&app, &manage.actor, id, input).await {
        Ok(_) => Redirect::to("/admin/users").into_response(),
        Err(e) => field_errors(&app, &auth, e).await,
    }
}

pub async fn reset_password(
    State(app): State<AppState>,
    auth: Authorized<perms::UserRead>,
    manage: Authorized<perms::UserManage>,
    ApiPath(id): ApiPath<UserId>,
) -> Response {
    let email = match staff::get(&app, &manage.actor, id).await {
        Ok(u) => u.email,
        Err(e) => return error_page(&e),
    };
    match staff::reset_password(&app, &manage.actor, id).await {
        Ok(p) => render(users_page(&app, &auth, Vec::new(), Some((email, p))).await, StatusCode::OK),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
pub struct ApiKeysPage {
    pub nav: Nav,
    pub keys: Vec<ApiKeyView>,
    pub scopes: &'static [ApiScope],
    pub errors: Vec<FieldError>,
    pub created: Option<(String, String)>,
}

async fn keys_page(
    app: &AppState,
    auth: &Authorized<perms::ApiKeyManage>,
    errors: Vec<FieldError>,
    created: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    match api_keys::list(app, &auth.actor).await {
        Ok(keys) => {
            let page = ApiKeysPage {
                nav: Nav::new(&auth.actor, &auth.csrf, "/admin/api-keys"),
                keys,
                scopes: ApiScope::ALL,
                errors,
                created,
            };
            (status, Page(page)).into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn list_api_keys(State(app): State<AppState>, auth: Authorized<perms::ApiKeyManage>) -> Response {
    keys_page(&app, &auth, Vec::new(), None, StatusCode::OK).await
}

pub async fn create_api_key(
    State(app): State<AppState>,
    auth: Authorized<perms::ApiKeyManage>,
    axum::extract::RawForm(body): axum::extract::RawForm,
) -> Response {
    // Checkboxes repeat the `scope` key, which a struct cannot hold; read the pairs.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let name = pairs.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let scopes = pairs.iter().filter(|(k, _)| k == "scope").filter_map(|(_, v)| ApiScope::parse(v)).collect();
    match api_keys::create(&app, &auth.actor, CreateApiKeyInput { name, scopes }).await {
        Ok(c) => keys_page(&app, &auth, Vec::new(), Some((c.api_key.name, c.key)), StatusCode::CREATED).await,
        Err(AppError::Fields(errors)) => {
            keys_page(&app, &auth, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(&e),
    }
}

pub async fn revoke_api_key(
    State(app): State<AppState>,
    auth: Authorized<perms::ApiKeyManage>,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Response {
    match api_keys::revoke(&app, &auth.actor, id).await {
        Ok(_) => Redirect::to("/admin/api-keys").into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub events: Vec<crate::web::api::AuditEventView>,
    pub f: AuditPageQuery,
    pub next_before: Option<i64>,
}

/// The audit page's filters: the API's, with days (UTC) instead of instants.
#[derive(Debug, Default, Deserialize)]
pub struct AuditPageQuery {
    #[serde(default)]
    pub actor_id: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub subject_type: String,
    #[serde(default)]
    pub subject_id: String,
    /// YYYY-MM-DD, from the start of the day (UTC).
    #[serde(default)]
    pub from_date: String,
    /// YYYY-MM-DD, to the end of the day (UTC).
    #[serde(default)]
    pub to_date: String,
    pub before_seq: Option<i64>,
}

fn day_start(s: &str, field: &str, next_day: bool) -> Result<Option<hearth_core::UtcTime>, AppError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let day: jiff::civil::Date =
        s.trim().parse().map_err(|_| AppError::field(field, "expected a date as YYYY-MM-DD"))?;
    let day = if next_day { day.tomorrow().map_err(anyhow::Error::from)? } else { day };
    let ts = day.to_zoned(jiff::tz::TimeZone::UTC).map_err(anyhow::Error::from)?.timestamp();
    Ok(Some(hearth_core::UtcTime::new(ts)))
}

pub async fn audit_log(
    State(app): State<AppState>,
    auth: Authorized<perms::AuditRead>,
    query: Result<Query<AuditPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(f)) = query else {
        return error_page(&AppError::with_message(
            hearth_core::ErrorCode::InvalidQuery,
            "a filter is not valid",
        ));
    };
    let (from, to) =
        match (day_start(&f.from_date, "from_date", false), day_start(&f.to_date, "to_date", true)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return error_page(&e),
        };
    let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = hearth_store::audit::AuditFilter {
        actor_id: blank(&f.actor_id),
        action: blank(&f.action),
        subject_type: blank(&f.subject_type),
        subject_id: blank(&f.subject_id),
        from,
        to,
        before_seq: f.before_seq,
        limit: 200,
    };
    match crate::audit::list(&app, &auth.actor, &filter).await {
        Ok(events) => {
            let next_before = (events.len() >= 200).then(|| events.last().map(|e| e.seq)).flatten();
            Page(AuditPage { nav: Nav::new(&auth.actor, &auth.csrf, "/admin/audit"), events, f, next_before })
                .into_response()
        }
        Err(e) => error_page(&e),
    }
}
