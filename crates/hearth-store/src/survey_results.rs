//! Results of a questionnaire version, filtered by practitioner, location and visit week: the
//! funnel (events joined to their invitations' visit), the responses, and the responses streamed
//! row by row for the CSV export.

use futures_util::StreamExt as _;
use hearth_core::survey::QuestionnaireId;
use hearth_core::{LocationId, OrgId, PractitionerId};
use tokio::sync::mpsc;

use crate::surveys::{FunnelCounts, RESP_COLUMNS, ResponseRow};
use crate::{Store, StoreError};

/// Responses buffered between the database and a slow reader of the export.
const STREAM_BUFFER: usize = 256;

/// Which visits count. Weeks are ISO weeks written `2026-W02` (they sort as text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsFilter {
    pub practitioner: Option<PractitionerId>,
    pub location: Option<LocationId>,
    pub from_week: Option<String>,
    pub to_week: Option<String>,
}

/// `$1` org, `$2` questionnaire, `$3`-`$6` the filter, on a table aliased `t`.
const FILTER_SQL: &str = "t.org_id = $1 and t.questionnaire_id = $2
    and ($3 is null or t.practitioner_id = $3) and ($4 is null or t.location_id = $4)
    and ($5 is null or t.visit_week >= $5) and ($6 is null or t.visit_week <= $6)";

fn aliased(columns: &str) -> String {
    columns.split(',').map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Invitations that reached each funnel step, among those for visits matching `f`.
    pub async fn survey_funnel_filtered(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
        f: &ResultsFilter,
    ) -> Result<FunnelCounts, StoreError> {
        let sql = format!(
            "select e.kind, count(*) from survey_events e join survey_invitations t on t.id = e.invitation_id
              where e.org_id = $1 and {FILTER_SQL} group by e.kind order by e.kind"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(questionnaire)
            .bind(f.practitioner)
            .bind(f.location)
            .bind(&f.from_week)
            .bind(&f.to_week)
            .fetch_all(p)
            .await)?)
    }

    /// Responses for visits matching `f`, oldest first.
    pub async fn responses_filtered(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
        f: &ResultsFilter,
    ) -> Result<Vec<ResponseRow>, StoreError> {
        let sql = format!(
            "select {} from survey_responses t where {FILTER_SQL} order by t.authored_at, t.id",
            aliased(RESP_COLUMNS)
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(questionnaire)
            .bind(f.practitioner)
            .bind(f.location)
            .bind(&f.from_week)
            .bind(&f.to_week)
            .fetch_all(p)
            .await)?)
    }

    /// The same responses, streamed through a bounded channel: any number, constant memory.
    pub fn stream_responses(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
        f: ResultsFilter,
    ) -> mpsc::Receiver<Result<ResponseRow, StoreError>> {
        let sql = format!(
            "select {} from survey_responses t where {FILTER_SQL} order by t.authored_at, t.id",
            aliased(RESP_COLUMNS)
        );
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let store = self.clone();
        tokio::spawn(async move {
            on_pool!(&store, |p| {
                let mut rows = sqlx::query_as::<_, ResponseRow>(sqlx::AssertSqlSafe(sql))
                    .bind(org)
                    .bind(questionnaire)
                    .bind(f.practitioner)
                    .bind(f.location)
                    .bind(&f.from_week)
                    .bind(&f.to_week)
                    .fetch(p);
                while let Some(row) = rows.next().await {
                    if tx.send(row.map_err(StoreError::from)).await.is_err() {
                        break; // the client went away
                    }
                }
            });
        });
        rx
    }
}
