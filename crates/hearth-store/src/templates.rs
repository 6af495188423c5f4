//! Message templates: an organization's own wording for a channel, purpose and language, with every
//! version kept. Editing appends a version and moves `current_version`; nothing is rewritten.
//! Channel and purpose are stored as their wire names (`sms`, `appointment_reminder`); the service
//! parses them.

use hearth_core::{OrgId, TemplateId, UtcTime};

use crate::{Store, StoreError, Tx};

/// A template with the text of its current version (one column per option, as stored).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: TemplateId,
    pub org_id: OrgId,
    pub channel: String,
    pub purpose: String,
    pub language: String,
    pub active: bool,
    pub current_version: i64,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    pub subject: Option<String>,
    pub body: String,
    pub include_practitioner: bool,
    pub include_location: bool,
    pub include_appointment_type: bool,
}

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateVersionRow {
    pub template_id: TemplateId,
    pub version: i64,
    pub subject: Option<String>,
    pub body: String,
    pub include_practitioner: bool,
    pub include_location: bool,
    pub include_appointment_type: bool,
    pub created_at: UtcTime,
    pub created_by: String,
}

/// The text and options of a new version.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub include_practitioner: bool,
    pub include_location: bool,
    pub include_appointment_type: bool,
    pub created_by: &'a str,
    pub now: UtcTime,
}

/// What a new template is for.
#[derive(Debug, Clone)]
pub struct NewTemplate<'a> {
    pub id: TemplateId,
    pub channel: &'a str,
    pub purpose: &'a str,
    pub language: &'a str,
}

/// A template joined to its current version, followed by `$tail` (a `where` clause).
macro_rules! select_template {
    ($tail:literal) => {
        concat!(
            "select t.id, t.org_id, t.channel, t.purpose, t.language, t.active, t.current_version,
                    t.created_at, t.updated_at, v.subject, v.body, v.include_practitioner,
                    v.include_location, v.include_appointment_type
               from message_templates t
               join message_template_versions v on v.template_id = t.id and v.version = t.current_version ",
            $tail
        )
    };
}

impl Tx {
    /// Creates a template with its first version.
    pub async fn create_template(
        &mut self,
        org: OrgId,
        new: &NewTemplate<'_>,
        first: &NewVersion<'_>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "insert into message_templates
                               (id, org_id, channel, purpose, language, active, current_version, created_at, updated_at)
                           values ($1, $2, $3, $4, $5, $6, 1, $7, $7)";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(new.id)
            .bind(org)
            .bind(new.channel)
            .bind(new.purpose)
            .bind(new.language)
            .bind(true)
            .bind(first.now)
            .execute(c)
            .await
            .map(|_| ()))?;
        self.insert_version(org, new.id, 1, first).await
    }

    /// Appends a version, makes it current and (re)activates the template; returns its number.
    pub async fn add_template_version(
        &mut self,
        org: OrgId,
        id: TemplateId,
        version: &NewVersion<'_>,
    ) -> Result<i64, StoreError> {
        const SQL: &str = "update message_templates
                              set current_version = current_version + 1, active = $3, updated_at = $4
                            where org_id = $1 and id = $2
                        returning current_version";
        let (n,): (i64,) = on_tx!(self, |c| sqlx::query_as(SQL)
            .bind(org)
            .bind(id)
            .bind(true)
            .bind(version.now)
            .fetch_one(c)
            .await)?;
        self.insert_version(org, id, n, version).await?;
        Ok(n)
    }

    async fn insert_version(
        &mut self,
        org: OrgId,
        id: TemplateId,
        n: i64,
        v: &NewVersion<'_>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "insert into message_template_versions
                               (template_id, version, org_id, subject, body, include_practitioner,
                                include_location, include_appointment_type, created_at, created_by)
                           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(id)
            .bind(n)
            .bind(org)
            .bind(v.subject)
            .bind(v.body)
            .bind(v.include_practitioner)
            .bind(v.include_location)
            .bind(v.include_appointment_type)
            .bind(v.now)
            .bind(v.created_by)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Turns a template off (the built-in default is used again) or back on.
    pub async fn set_template_active(
        &mut self,
        org: OrgId,
        id: TemplateId,
        active: bool,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "update message_templates set active = $3, updated_at = $4 where org_id = $1 and id = $2";
        let done = on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(active)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

impl Store {
    /// The organization's templates, active or not, with their current text.
    pub async fn list_templates(&self, org: OrgId) -> Result<Vec<TemplateRow>, StoreError> {
        const SQL: &str =
            select_template!("where t.org_id = $1 order by t.purpose, t.channel, t.language, t.id");
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_all(p).await)?)
    }

    pub async fn template(&self, org: OrgId, id: TemplateId) -> Result<TemplateRow, StoreError> {
        const SQL: &str = select_template!("where t.org_id = $1 and t.id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(id).fetch_one(p).await)?)
    }

    /// The template in use for a channel, purpose and language, if the organization has an active one.
    pub async fn active_template(
        &self,
        org: OrgId,
        channel: &str,
        purpose: &str,
        language: &str,
    ) -> Result<Option<TemplateRow>, StoreError> {
        const SQL: &str = select_template!(
            "where t.org_id = $1 and t.channel = $2 and t.purpose = $3 and t.language = $4 and t.active"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(SQL)
            .bind(org)
            .bind(channel)
            .bind(purpose)
            .bind(language)
            .fetch_optional(p)
            .await)?)
    }

    /// Every version of a template, newest first.
    pub async fn template_versions(
        &self,
        org: OrgId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersionRow>, StoreError> {
        const SQL: &str =
            "select template_id, version, subject, body, include_practitioner, include_location,
                                  include_appointment_type, created_at, created_by
                             from message_template_versions
                            where org_id = $1 and template_id = $2
                            order by version desc";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(id).fetch_all(p).await)?)
    }

    /// The language messages fall back to when a patient's is not available (`en` unless set).
    pub async fn organization_language(&self, org: OrgId) -> Result<String, StoreError> {
        const SQL: &str = "select default_language from organizations where id = $1";
        let (lang,): (String,) = on_pool!(self, |p| sqlx::query_as(SQL).bind(org).fetch_one(p).await)?;
        Ok(lang)
    }
}
