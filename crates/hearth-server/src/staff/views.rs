//! What the API shows of a staff account, and what it accepts. No password hash or TOTP secret ever
//! leaves the store layer.

use hearth_core::{LocationId, Role, UserId, UtcTime};
use hearth_store::users::UserRow;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = String, example = "nurse")]
    pub role: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub department_id: Option<LocationId>,
    pub active: bool,
    pub mfa_enabled: bool,
    pub must_change_password: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<UtcTime>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
}

impl From<&UserRow> for UserView {
    fn from(r: &UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email.clone(),
            display_name: r.display_name.clone(),
            role: r.role.clone(),
            department_id: r.department_id,
            active: r.active,
            mfa_enabled: r.totp_enabled,
            must_change_password: r.must_change_password,
            locked_until: r.locked_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    #[schema(value_type = String, example = "nurse")]
    pub role: Role,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub department_id: Option<LocationId>,
    /// Leave out to have Hearth generate a temporary password (returned once) that must be changed
    /// at first sign-in.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// Shown once, when Hearth generated the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserInput {
    pub display_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// A location id, or `null` to clear; leave out to keep.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    #[allow(clippy::option_option)]
    pub department_id: Option<Option<LocationId>>,
    pub active: Option<bool>,
}

/// Distinguishes a field that is absent (`None`) from one that is `null` (`Some(None)`).
#[allow(clippy::option_option)] // exactly the three states a JSON PATCH field has
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
