//! Usage analytics: every bucket of a range, from hourly rollups.

use chrono::{DateTime, Utc};
use tengine_domain::delivery::Webhook;
use tengine_domain::tool_call::ToolUsageFilter;
use tengine_domain::usage::{AnalyticsRange, ProjectTotals, UsageCounts};
use tengine_domain::{ApiKeyId, FieldError, MemberId, Permission, Principal, ProjectId, ToolId};

use crate::{AppError, Tengine};
use tengine_domain::session::PortalSection;

/// An analytics answer: totals and one entry per bucket, zeros included, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytics {
    /// The project.
    pub project_id: ProjectId,
    /// The range and granularity asked for.
    pub range: AnalyticsRange,
    /// Sums over all buckets.
    pub totals: UsageCounts,
    /// Each bucket's start and counts.
    pub buckets: Vec<(DateTime<Utc>, UsageCounts)>,
}

/// What an analytics query counts: every request of the project (optionally one key's),
/// or, with a tool or member dimension, the tool calls made through `/mcp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsFilter {
    /// Only this key's requests (or calls).
    pub api_key_id: Option<ApiKeyId>,
    /// Only the requests made with this integration's tokens.
    pub integration_id: Option<tengine_domain::IntegrationId>,
    /// Only this tool's calls.
    pub tool_id: Option<ToolId>,
    /// Only this member's calls.
    pub member_id: Option<MemberId>,
}

impl AnalyticsFilter {
    /// Whether the query counts tool calls rather than requests.
    pub fn counts_tool_calls(&self) -> bool {
        self.tool_id.is_some() || self.member_id.is_some()
    }
}

/// The account overview: request totals over a range across the projects a key sees,
/// the busiest of them, and the webhooks failing now.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountAnalytics {
    /// The range asked for.
    pub start: DateTime<Utc>,
    /// Its end (exclusive).
    pub end: DateTime<Utc>,
    /// Requests, errors and rate-limited requests over every project the key sees.
    pub totals: ProjectTotalsSum,
    /// How many projects had requests in the range.
    pub active_projects: u64,
    /// The busiest projects, at most the `limit` asked for.
    pub projects: Vec<ProjectTotals>,
    /// Webhooks failing now (longest first), or `None` for a key without `webhook`.
    pub failing_webhooks: Option<Vec<Webhook>>,
}

/// Sums of [`ProjectTotals`] counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectTotalsSum {
    /// Requests.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Of which rate-limited.
    pub rate_limited: u64,
}

/// The most projects (and failing webhooks) one overview lists.
pub const MAX_OVERVIEW_ROWS: u32 = 100;

impl Tengine {
    /// The overview of every project `who` sees (an account-wide key: the account's;
    /// a project key: its own) over `range`, listing the `limit` busiest projects.
    ///
    /// # Errors
    /// `Forbidden` without `read` or for a portal session; `Unavailable`.
    pub async fn account_analytics(
        &self,
        who: &Principal,
        range: AnalyticsRange,
        limit: u32,
    ) -> Result<AccountAnalytics, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        let own = who.scope.project();
        let (from, to) = range.hour_span();
        let rows = self.deps.store.usage_by_project(who.account_id, own, from, to).await?;
        let totals = rows.iter().fold(ProjectTotalsSum::default(), |t, r| ProjectTotalsSum {
            requests: t.requests.saturating_add(r.requests),
            errors: t.errors.saturating_add(r.errors),
            rate_limited: t.rate_limited.saturating_add(r.rate_limited),
        });
        let active_projects = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        let limit = limit.min(MAX_OVERVIEW_ROWS);
        let projects = rows.into_iter().take(limit as usize).collect();
        let failing_webhooks = if who.permissions.allows(Permission::Webhook) {
            Some(self.deps.store.failing_webhooks(who.account_id, own, limit).await?)
        } else {
            None
        };
        Ok(AccountAnalytics { start: range.start, end: range.end, totals, active_projects, projects, failing_webhooks })
    }

    /// Usage of a project over a range: requests (optionally one key's), or with a
    /// tool or member dimension, tool calls.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `Validation` on `api_key_id`
    /// for a key that is not the project's.
    pub async fn analytics(
        &self,
        who: &Principal,
        project: ProjectId,
        range: AnalyticsRange,
        filter: AnalyticsFilter,
    ) -> Result<Analytics, AppError> {
        let key = filter.api_key_id;
        who.require(Permission::Read)?;
        who.portal_shows(Some(PortalSection::Usage))?;
        self.visible_project(who, project).await?;
        if let Some(key) = key {
            if self.deps.store.get_api_key(project, key).await?.is_none() {
                let e = FieldError::new("api_key_id", "is not a key of this project").with_value(key.to_string());
                return Err(e.into());
            }
        }
        if let Some(integration) = filter.integration_id {
            if key.is_some() || filter.counts_tool_calls() {
                let e = FieldError::new("integration_id", "cannot be combined with api_key_id, tool_id or member_id");
                return Err(e.into());
            }
            if self.deps.store.get_integration(project, integration).await?.is_none() {
                let e = FieldError::new("integration_id", "is not an integration of this project")
                    .with_value(integration.to_string());
                return Err(e.into());
            }
        }
        let (from, to) = range.hour_span();
        let hours = if filter.counts_tool_calls() {
            let f = ToolUsageFilter { tool_id: filter.tool_id, member_id: filter.member_id, api_key_id: key };
            self.deps.store.tool_usage_by_hour(project, &f, from, to).await?
        } else {
            let subject = match filter.integration_id {
                Some(i) => Some(tengine_domain::usage::UsageSubject::Integration(i)),
                None => key.map(Into::into),
            };
            self.deps.store.usage_by_hour(project, subject, from, to).await?
        };
        let mut rows = hours.into_iter().peekable();
        let mut totals = UsageCounts::default();
        let mut buckets = Vec::new();
        for start in range.bucket_starts() {
            let end = range.granularity.next(start);
            let mut counts = UsageCounts::default();
            while let Some((hour, c)) = rows.next_if(|(hour, _)| *hour < end) {
                if hour >= start {
                    counts.merge(&c);
                }
            }
            totals.merge(&counts);
            buckets.push((start, counts));
        }
        Ok(Analytics { project_id: project, range, totals, buckets })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use tengine_domain::{KeyScope, Permission};

    fn t(s: &str) -> DateTime<Utc> {
        tengine_domain::time::parse(s).unwrap()
    }

    fn counts(requests: u64) -> UsageCounts {
        let mut c = UsageCounts::default();
        for _ in 0..requests {
            c.record(200, 1_000);
        }
        c
    }

    fn totals(n: u128, requests: u64) -> ProjectTotals {
        ProjectTotals { project_id: project_id(n), name: format!("p{n}"), requests, errors: 1, rate_limited: 0 }
    }

    #[tokio::test]
    async fn the_overview_sums_every_project_and_lists_the_busiest() {
        let app = harness(|s| {
            s.expect_usage_by_project()
                .withf(|_, project, from, _| project.is_none() && *from == t("2026-01-01T05:00:00Z"))
                .returning(|_, _, _, _| Ok(vec![totals(1, 9), totals(2, 5), totals(3, 1)]));
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        let range =
            AnalyticsRange::parse(Some("2026-01-01T05:30:00Z"), Some("2026-01-02T05:30:00Z"), Some("hour"), now())
                .unwrap();
        let a = app.account_analytics(&who, range, 2).await.unwrap();
        assert_eq!((a.totals.requests, a.totals.errors, a.active_projects), (15, 3, 3));
        assert_eq!(a.projects.iter().map(|p| p.requests).collect::<Vec<_>>(), [9, 5]);
        assert_eq!(a.failing_webhooks, None, "a key without `webhook` is not shown webhooks");
    }

    #[tokio::test]
    async fn a_project_key_sees_only_its_project_and_webhooks_need_the_permission() {
        let app = harness(|s| {
            s.expect_usage_by_project()
                .withf(|_, project, _, _| *project == Some(project_id(4)))
                .returning(|_, _, _, _| Ok(vec![totals(4, 2)]));
            s.expect_failing_webhooks()
                .withf(|_, project, limit| *project == Some(project_id(4)) && *limit == MAX_OVERVIEW_ROWS)
                .returning(|_, _, _| Ok(Vec::new()));
        });
        let who = principal(&[Permission::Read, Permission::Webhook], KeyScope::Project(project_id(4)));
        let range = AnalyticsRange::parse(None, None, Some("hour"), now()).unwrap();
        let a = app.account_analytics(&who, range, 1_000).await.unwrap();
        assert_eq!(a.projects.len(), 1);
        assert_eq!(a.failing_webhooks, Some(Vec::new()));
        let none = principal(&[], KeyScope::Account);
        assert!(matches!(app.account_analytics(&none, range, 5).await, Err(AppError::Forbidden(_))));
    }

    #[tokio::test]
    async fn every_bucket_is_present_and_hours_fall_into_their_day() {
        let app = harness(|s| {
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            s.expect_usage_by_hour()
                .withf(|_, key, from, to| {
                    key.is_none() && *from == t("2026-01-01T00:00:00Z") && *to == t("2026-01-04T00:00:00Z")
                })
                .returning(|_, _, _, _| {
                    Ok(vec![
                        (t("2026-01-01T05:00:00Z"), counts(2)),
                        (t("2026-01-01T23:00:00Z"), counts(1)),
                        (t("2026-01-03T00:00:00Z"), counts(4)),
                    ])
                });
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        let range = AnalyticsRange::parse(Some("2026-01-01"), Some("2026-01-03"), Some("day"), now()).unwrap();
        let a = app.analytics(&who, project_id(5), range, AnalyticsFilter::default()).await.unwrap();
        let per_day: Vec<u64> = a.buckets.iter().map(|(_, c)| c.requests).collect();
        assert_eq!(per_day, vec![3, 0, 4]);
        assert_eq!(a.totals.requests, 7);
    }

    #[tokio::test]
    async fn a_key_of_another_project_is_a_validation_error() {
        let app = harness(|s| {
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            s.expect_get_api_key().returning(|_, _| Ok(None));
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        let range = AnalyticsRange::parse(None, None, None, now()).unwrap();
        let key = tengine_domain::ApiKeyId::from_uuid(uuid::Uuid::from_u128(3));
        let err = app
            .analytics(&who, project_id(5), range, AnalyticsFilter { api_key_id: Some(key), ..Default::default() })
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Validation(v) if v.first().field == "api_key_id"));
    }

    #[tokio::test]
    async fn analytics_needs_read_and_scope() {
        let app = harness(|_| {});
        let range = AnalyticsRange::parse(None, None, None, now()).unwrap();
        let writer = principal(&[Permission::Write], KeyScope::Account);
        assert!(matches!(
            app.analytics(&writer, project_id(5), range, AnalyticsFilter::default()).await,
            Err(AppError::Forbidden(_))
        ));
        let other = principal(&[Permission::Read], KeyScope::Project(project_id(6)));
        assert!(matches!(
            app.analytics(&other, project_id(5), range, AnalyticsFilter::default()).await,
            Err(AppError::ProjectNotFound)
        ));
    }
}
