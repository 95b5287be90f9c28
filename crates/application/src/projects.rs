//! Project use cases: list, create, get, update, delete.

use tengine_domain::{
    EventType, Page, PageRequest, Permission, Principal, Project, ProjectDescription, ProjectId, ProjectName,
    ProjectPatch,
};
use tengine_ports::RepoError;

use crate::events::project_data;
use crate::{AppError, Tengine};

/// A validated request to create a project.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Its name.
    pub name: ProjectName,
    /// Its description, if any.
    pub description: Option<ProjectDescription>,
}

impl Tengine {
    /// Lists the projects the key can see (just its own for a project-scoped key).
    ///
    /// # Errors
    /// `Forbidden` without `read`.
    pub async fn list_projects(&self, who: &Principal, page: PageRequest) -> Result<Page<Project>, AppError> {
        who.require(Permission::Read)?;
        Ok(self.deps.store.list_projects(who.account_id, who.scope.project(), page).await?)
    }

    /// Creates a project; needs `write` and an account-wide key.
    ///
    /// # Errors
    /// `Forbidden` without `write` or with a project-scoped key.
    pub async fn create_project(&self, who: &Principal, new: NewProject) -> Result<Project, AppError> {
        who.require(Permission::Write)?;
        who.require_account_wide()?;
        let now = self.deps.clock.now();
        let project = Project {
            id: ProjectId::from_uuid(self.deps.ids.next_uuid()),
            account_id: who.account_id,
            name: new.name,
            description: new.description,
            created_at: now,
            updated_at: now,
        };
        let event = self.event(EventType::ProjectCreated, who.account_id, Some(project.id), project_data(&project));
        // Committed with the creates that arrive at the same time (see `group_commit`).
        self.project_writer.write(&self.deps.store, project.clone(), event).await?;
        tracing::info!(project_id = %project.id, account_id = %who.account_id, "project created");
        Ok(project)
    }

    /// Gets a project the key can see.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound` if missing or out of scope.
    pub async fn get_project(&self, who: &Principal, id: ProjectId) -> Result<Project, AppError> {
        who.require(Permission::Read)?;
        self.visible_project(who, id).await
    }

    /// Applies a patch; an empty or no-op patch changes nothing (not even `updated_at`).
    ///
    /// # Errors
    /// `Forbidden` without `write`; `ProjectNotFound` if missing or out of scope.
    pub async fn update_project(
        &self,
        who: &Principal,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> Result<Project, AppError> {
        who.require(Permission::Write)?;
        who.portal_shows(None)?;
        if !who.sees(&id) {
            return Err(AppError::ProjectNotFound);
        }
        // Applied with the updates of this project that arrive at the same time (see
        // `project_updates`).
        self.update_together(who.account_id, id, patch).await
    }

    /// Soft-deletes a project: it, its keys and its webhooks stop working at once.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound` if missing or out of scope.
    pub async fn delete_project(&self, who: &Principal, id: ProjectId) -> Result<(), AppError> {
        who.require(Permission::Admin)?;
        if !who.sees(&id) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        let project = tx.lock_project(who.account_id, id).await?.ok_or(AppError::ProjectNotFound)?;
        // Recorded before the soft delete, so the project's webhooks still receive it.
        let event = self.event(EventType::ProjectDeleted, who.account_id, Some(id), project_data(&project));
        self.record(&mut *tx, event).await?;
        tx.delete_project(who.account_id, id, self.deps.clock.now()).await.map_err(not_found_as_project)?;
        tx.commit().await?;
        self.tools_changed(id);
        self.keys.evict_project(id);
        tracing::info!(project_id = %id, "project deleted");
        Ok(())
    }

    /// The project if the key can see it and it is live; the one scope check.
    /// Checks the key's scope for a nested list of `project`; that the project is a live
    /// one of the account is checked by the list's own statement (one round trip).
    pub(crate) fn sees_project(who: &Principal, project: ProjectId) -> Result<(), AppError> {
        if who.sees(&project) {
            Ok(())
        } else {
            Err(AppError::ProjectNotFound)
        }
    }

    pub(crate) async fn visible_project(&self, who: &Principal, id: ProjectId) -> Result<Project, AppError> {
        if !who.sees(&id) {
            return Err(AppError::ProjectNotFound);
        }
        self.deps.store.get_project(who.account_id, id).await?.ok_or(AppError::ProjectNotFound)
    }
}

/// A store's `NotFound` for a project (missing, deleted or another account's, as a nested
/// list's statement finds it) as the caller sees it.
pub(crate) fn not_found_as_project(e: RepoError) -> AppError {
    match e {
        RepoError::NotFound => AppError::ProjectNotFound,
        e => e.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tengine_domain::{Denied, KeyScope, PageRequest, Permission, ProjectPatch};
    use tengine_ports::{MockTransaction, RepoError};

    use super::*;
    use crate::test_support::*;

    fn new_project() -> NewProject {
        NewProject { name: "new".parse().unwrap(), description: None }
    }

    fn rename() -> ProjectPatch {
        ProjectPatch { name: Some("renamed".parse().unwrap()), description: None }
    }

    /// Project `n` as stored, last changed [`earlier`].
    fn stored(n: u128) -> Project {
        Project { created_at: earlier(), updated_at: earlier(), ..project(n) }
    }

    fn own_scope() -> KeyScope {
        KeyScope::Project(project_id(1))
    }

    #[tokio::test]
    async fn listing_projects_needs_read() {
        for cell in NEEDS_READ {
            let app = harness(|s| {
                if cell.1 {
                    s.expect_list_projects().returning(|_, _, page| Ok(empty_page(page)));
                }
            });
            let result = app.list_projects(&principal(&[cell.0], KeyScope::Account), PageRequest::default()).await;
            assert_gate("list_projects", Permission::Read, cell, result);
        }
    }

    #[tokio::test]
    async fn creating_a_project_needs_write() {
        for cell in NEEDS_WRITE {
            let app = harness(|s| {
                if cell.1 {
                    expect_tx(s, |tx| {
                        tx.expect_insert_projects().times(1).returning(|_| Ok(()));
                    });
                }
            });
            let result = app.create_project(&principal(&[cell.0], KeyScope::Account), new_project()).await;
            assert_gate("create_project", Permission::Write, cell, result);
        }
    }

    #[tokio::test]
    async fn getting_a_project_needs_read() {
        for cell in NEEDS_READ {
            let app = harness(|s| {
                if cell.1 {
                    s.expect_get_project().returning(|_, id| Ok(Some(Project { id, ..project(1) })));
                }
            });
            let result = app.get_project(&principal(&[cell.0], KeyScope::Account), project_id(1)).await;
            assert_gate("get_project", Permission::Read, cell, result);
        }
    }

    #[tokio::test]
    async fn updating_a_project_needs_write() {
        for cell in NEEDS_WRITE {
            let app = harness(|s| {
                if cell.1 {
                    expect_tx(s, |tx| {
                        tx.expect_lock_project().returning(|_, _| Ok(Some(stored(1))));
                        tx.expect_update_project_and_append().times(1).returning(|_, _| Ok(0));
                    });
                }
            });
            let result = app.update_project(&principal(&[cell.0], KeyScope::Account), project_id(1), rename()).await;
            assert_gate("update_project", Permission::Write, cell, result);
        }
    }

    #[tokio::test]
    async fn deleting_a_project_needs_admin() {
        for cell in NEEDS_ADMIN {
            let app = harness(|s| {
                if cell.1 {
                    expect_tx(s, |tx| {
                        tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                        tx.expect_delete_project().times(1).returning(|_, _, _| Ok(()));
                    });
                }
            });
            let result = app.delete_project(&principal(&[cell.0], KeyScope::Account), project_id(1)).await;
            assert_gate("delete_project", Permission::Admin, cell, result);
        }
    }

    #[tokio::test]
    async fn a_project_scoped_key_cannot_create_projects_even_as_admin() {
        let app = harness(|_| {});
        for held in [Permission::Write, Permission::Admin] {
            let result = app.create_project(&principal(&[held], own_scope()), new_project()).await;
            assert_denied(
                &format!("create_project by a project-scoped {held} key"),
                Denied::AccountWideKeyRequired,
                result,
            );
        }
    }

    #[tokio::test]
    async fn an_account_wide_key_lists_every_project_of_its_account() {
        let app = harness(|s| {
            s.expect_list_projects()
                .withf(|account, only, page| {
                    *account == account_id() && only.is_none() && *page == PageRequest::new(2, 5)
                })
                .times(1)
                .returning(|_, _, page| Ok(empty_page(page)));
        });
        let page = app
            .list_projects(&principal(&[Permission::Read], KeyScope::Account), PageRequest::new(2, 5))
            .await
            .unwrap();
        assert_eq!(page.request, PageRequest::new(2, 5));
    }

    #[tokio::test]
    async fn a_project_scoped_key_lists_only_its_own_project() {
        let app = harness(|s| {
            s.expect_list_projects()
                .withf(|account, only, _| *account == account_id() && *only == Some(project_id(1)))
                .times(1)
                .returning(|_, _, page| Ok(empty_page(page)));
        });
        app.list_projects(&principal(&[Permission::Read], own_scope()), PageRequest::default()).await.unwrap();
    }

    #[tokio::test]
    async fn a_project_scoped_key_reaches_its_own_project() {
        let app = harness(|s| {
            s.expect_get_project()
                .withf(|account, id| *account == account_id() && *id == project_id(1))
                .returning(|_, _| Ok(Some(project(1))));
        });
        let got = app.get_project(&principal(&[Permission::Read], own_scope()), project_id(1)).await.unwrap();
        assert_eq!(got, project(1));
    }

    #[tokio::test]
    async fn another_project_is_not_found_for_a_project_scoped_key_and_touches_no_storage() {
        let app = harness(|_| {});
        let who = principal(&[Permission::Admin], own_scope());
        let other = project_id(2);
        assert_project_not_found("get_project", app.get_project(&who, other).await);
        assert_project_not_found("update_project", app.update_project(&who, other, rename()).await);
        assert_project_not_found("delete_project", app.delete_project(&who, other).await);
    }

    #[tokio::test]
    async fn getting_a_missing_project_is_not_found() {
        let app = harness(|s| {
            s.expect_get_project().returning(|_, _| Ok(None));
        });
        let result = app.get_project(&principal(&[Permission::Read], KeyScope::Account), project_id(1)).await;
        assert_project_not_found("get_project", result);
    }

    #[tokio::test]
    async fn updating_a_missing_project_is_not_found_and_writes_nothing() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_project().returning(|_, _| Ok(None));
            });
        });
        let result =
            app.update_project(&principal(&[Permission::Write], KeyScope::Account), project_id(1), rename()).await;
        assert_project_not_found("update_project", result);
    }

    #[tokio::test]
    async fn a_project_that_vanishes_before_its_update_is_written_is_not_found() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_project().returning(|_, _| Ok(Some(stored(1))));
                tx.expect_update_project_and_append().returning(|_, _| Err(RepoError::NotFound));
            });
        });
        let result =
            app.update_project(&principal(&[Permission::Write], KeyScope::Account), project_id(1), rename()).await;
        assert_project_not_found("update_project", result);
    }

    #[tokio::test]
    async fn deleting_a_missing_project_is_not_found() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                tx.expect_delete_project().returning(|_, _, _| Err(RepoError::NotFound));
            });
        });
        let result = app.delete_project(&principal(&[Permission::Admin], KeyScope::Account), project_id(1)).await;
        assert_project_not_found("delete_project", result);
    }

    #[tokio::test]
    async fn a_created_project_belongs_to_the_callers_account_with_a_fresh_id_and_now_as_its_times() {
        let expected = Project {
            id: ProjectId::from_uuid(fresh_uuid()),
            account_id: account_id(),
            name: "new".parse().unwrap(),
            description: None,
            created_at: now(),
            updated_at: now(),
        };
        let written = expected.clone();
        let app = harness(|s| {
            expect_tx(s, move |tx| {
                tx.expect_insert_projects().withf(move |p| p == [written.clone()]).times(1).returning(|_| Ok(()));
            });
        });
        let created =
            app.create_project(&principal(&[Permission::Write], KeyScope::Account), new_project()).await.unwrap();
        assert_eq!(created, expected);
    }

    #[tokio::test]
    async fn a_no_op_patch_writes_nothing_and_returns_the_project_unchanged() {
        let same_name = ProjectPatch { name: Some(stored(1).name), description: Some(None) };
        for (case, patch) in [("empty patch", ProjectPatch::default()), ("patch restating the values", same_name)] {
            let app = harness(|s| {
                expect_tx_without_commit(s, |tx| {
                    tx.expect_lock_project().returning(|_, _| Ok(Some(stored(1))));
                });
            });
            let result =
                app.update_project(&principal(&[Permission::Write], KeyScope::Account), project_id(1), patch).await;
            assert_eq!(result.unwrap(), stored(1), "{case}");
        }
    }

    #[tokio::test]
    async fn a_real_change_is_written_with_updated_at_now() {
        let expected = Project { name: "renamed".parse().unwrap(), updated_at: now(), ..stored(1) };
        let written = expected.clone();
        let app = harness(|s| {
            expect_tx(s, move |tx| {
                tx.expect_lock_project()
                    .withf(|account, id| *account == account_id() && *id == project_id(1))
                    .returning(|_, _| Ok(Some(stored(1))));
                tx.expect_update_project_and_append()
                    .withf(move |p, es| *p == written && es.len() == 1)
                    .times(1)
                    .returning(|_, _| Ok(0));
            });
        });
        let updated = app
            .update_project(&principal(&[Permission::Write], KeyScope::Account), project_id(1), rename())
            .await
            .unwrap();
        assert_eq!(updated, expected);
    }

    #[tokio::test]
    async fn deleting_a_project_soft_deletes_it_in_the_callers_account_at_now() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                tx.expect_delete_project()
                    .withf(|account, id, at| *account == account_id() && *id == project_id(1) && *at == now())
                    .times(1)
                    .returning(|_, _, _| Ok(()));
            });
        });
        app.delete_project(&principal(&[Permission::Admin], KeyScope::Account), project_id(1)).await.unwrap();
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable() {
        let reading = harness(|s| {
            s.expect_get_project().returning(|_, _| Err(outage()));
        });
        let result = reading.get_project(&principal(&[Permission::Read], KeyScope::Account), project_id(1)).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "get_project: {result:?}");

        let writing = harness(|s| {
            s.expect_begin().returning(|| Err(outage()));
        });
        let result = writing.create_project(&principal(&[Permission::Write], KeyScope::Account), new_project()).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "create_project: {result:?}");

        let deleting = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                tx.expect_delete_project().returning(|_, _, _| Err(outage()));
            });
        });
        let result = deleting.delete_project(&principal(&[Permission::Admin], KeyScope::Account), project_id(1)).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "delete_project: {result:?}");
    }

    #[tokio::test]
    async fn other_store_errors_are_internal() {
        let reading = harness(|s| {
            s.expect_get_project().returning(|_, _| Err(RepoError::other("corrupt row")));
        });
        let result = reading.get_project(&principal(&[Permission::Read], KeyScope::Account), project_id(1)).await;
        assert!(matches!(result, Err(AppError::Internal(_))), "get_project: {result:?}");

        let inserting = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_insert_projects().returning(|_| Err(RepoError::Conflict("projects_pkey".into())));
            });
        });
        let result = inserting.create_project(&principal(&[Permission::Write], KeyScope::Account), new_project()).await;
        assert!(matches!(result, Err(AppError::Internal(_))), "create_project: {result:?}");
    }

    fn named(name: &str) -> NewProject {
        NewProject { name: name.parse().unwrap(), description: None }
    }

    /// Creates that arrive together are written in one transaction, one call per table.
    #[tokio::test]
    async fn concurrent_creates_share_one_transaction() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                tx.expect_insert_projects().withf(|ps| ps.len() == 3).times(1).returning(|_| Ok(()));
                tx.expect_append_events()
                    .withf(|es| es.len() == 3 && es.iter().all(|e| e.event_type == EventType::ProjectCreated))
                    .times(1)
                    .returning(|_| Ok(0));
            });
        });
        let who = principal(&[Permission::Write], KeyScope::Account);
        let created = futures::future::join_all(["a", "b", "c"].map(|n| app.create_project(&who, named(n)))).await;
        let names: Vec<String> = created.into_iter().map(|r| r.unwrap().name.as_str().to_owned()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    /// A batch that fails is written again one create at a time, so only the create
    /// that fails alone reports an error.
    #[tokio::test]
    async fn a_failed_batch_is_retried_one_by_one() {
        let app = harness(|s| {
            let mut batch = MockTransaction::new();
            batch.expect_insert_projects().returning(|_| Err(RepoError::Conflict("projects_pkey".into())));
            let mut txs: Vec<MockTransaction> = vec![batch];
            for name in ["a", "bad", "c"] {
                let mut tx = MockTransaction::new();
                tx.expect_insert_projects().returning(move |_| match name {
                    "bad" => Err(RepoError::Conflict("projects_pkey".into())),
                    _ => Ok(()),
                });
                tx.expect_append_events().returning(|_| Ok(0));
                tx.expect_commit().returning(|| Ok(()));
                txs.push(tx);
            }
            txs.reverse();
            s.expect_begin().times(4).returning(move || Ok(Box::new(txs.pop().unwrap())));
        });
        let who = principal(&[Permission::Write], KeyScope::Account);
        let created = futures::future::join_all(["a", "bad", "c"].map(|n| app.create_project(&who, named(n)))).await;
        let outcomes: Vec<bool> = created.iter().map(Result::is_ok).collect();
        assert_eq!(outcomes, [true, false, true], "{created:?}");
    }
}
