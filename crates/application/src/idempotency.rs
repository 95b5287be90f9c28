//! `Idempotency-Key` on POST: one execution per key and account for 24 hours. A retry
//! of the same request replays the first answer, another request with the same key is
//! refused, and a concurrent duplicate waits for the first to finish.
//!
//! A stored answer goes only to a caller who passes, now, the same authentication,
//! permission and scope checks as the request itself ([`Tengine::authorize`]); only
//! requests that passed them are stored. The HTTP adapter only moves bytes.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tengine_domain::idempotency::{IdempotencyKey, RETENTION};
use tengine_domain::{AccountId, ApiKeyId, Permission, PermissionSet, Principal, ProjectId};
use tengine_ports::{IdempotencyClaim, StoredResponse};

use tengine_domain::session::PortalSection;

use crate::{AppError, Tengine};

/// How long a duplicate waits for the first request before giving up.
const WAIT: StdDuration = StdDuration::from_secs(10);

/// How often a waiting duplicate looks again.
const POLL: StdDuration = StdDuration::from_millis(50);

/// A claim older than this without an answer belongs to a dead instance.
const STALE: Duration = Duration::seconds(60);

/// A POST that may be replayed, with what its checks need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded {
    /// `POST /projects`.
    CreateProject,
    /// `POST /projects/{id}/api-keys` granting `permissions` until `expires_at`.
    CreateApiKey {
        /// The project.
        project: ProjectId,
        /// What the new key would hold.
        permissions: PermissionSet,
        /// Its requested expiry (`None` inherits the caller's).
        expires_at: Option<DateTime<Utc>>,
    },
    /// `POST .../api-keys/{key_id}/rotate`.
    RotateApiKey {
        /// The project.
        project: ProjectId,
        /// The key to reissue.
        key: ApiKeyId,
    },
    /// A POST under `/projects/{id}/webhooks`.
    Webhooks {
        /// The project.
        project: ProjectId,
    },
    /// `POST /oauth/authorization`: a consent decision on `project`'s integration.
    Consent {
        /// The integration's project.
        project: ProjectId,
    },
    /// A POST under `/projects/{id}/integrations`.
    Integrations {
        /// The project.
        project: ProjectId,
    },
    /// `POST /projects/{id}/tools`.
    Tools {
        /// The project.
        project: ProjectId,
    },
    /// An MCP `tools/call` with `_meta.idempotency_key`.
    ToolCall {
        /// The project.
        project: ProjectId,
    },
    /// `POST /console/sessions`: any key, but not a session.
    ConsoleSession,
    /// `POST /projects/{id}/signing-keys`.
    SigningKeys {
        /// The project.
        project: ProjectId,
    },
    /// `POST /mcp/session-token` for `project`.
    MemberSession {
        /// The project.
        project: ProjectId,
    },
    /// `POST /projects/{id}/portal-sessions`.
    PortalSessions {
        /// The project.
        project: ProjectId,
    },
}

impl Guarded {
    /// The request's fingerprint as `who` makes it. A new key that inherits its
    /// creator's expiry is a different request for a caller with another expiry: an
    /// expiring key must not be handed a stored secret that outlives it. A session is
    /// bound to the key that opens it, so only that key replays its token or code.
    fn fingerprint_for(&self, who: &Principal, fingerprint: [u8; 32]) -> [u8; 32] {
        match (self, who.expires_at) {
            (Guarded::CreateApiKey { expires_at: None, .. }, Some(own)) => {
                tengine_domain::idempotency::fingerprint("INHERITS", &tengine_domain::time::format(own), &fingerprint)
            }
            // A session acts as the key that opened it: another key's replay is another request.
            // A code is approved by its key: another key's replay is another request.
            (
                Guarded::ConsoleSession
                | Guarded::PortalSessions { .. }
                | Guarded::MemberSession { .. }
                | Guarded::Consent { .. },
                _,
            ) => tengine_domain::idempotency::fingerprint("KEY", &who.key_id.to_string(), &fingerprint),
            _ => fingerprint,
        }
    }
}

/// An idempotent request: its key and the fingerprint of its method, path and body.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    /// The client's `Idempotency-Key`.
    pub key: IdempotencyKey,
    /// `tengine_domain::idempotency::fingerprint` of the request.
    pub fingerprint: [u8; 32],
}

/// An answer as the transport sends it: status, the headers worth keeping, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers to replay (content type, location).
    pub headers: Vec<(String, String)>,
    /// The body, in the clear.
    pub body: Vec<u8>,
}

/// A key this request now owns: finish it with [`Tengine::finish_idempotent`].
#[derive(Debug)]
#[must_use = "a claim must be finished, or retries wait for it until it goes stale"]
pub struct Claim {
    account: AccountId,
    hash: [u8; 32],
    key: IdempotencyKey,
}

/// How an idempotent request goes on.
#[derive(Debug)]
pub enum Begun {
    /// First time: run it, then finish the claim.
    Fresh(Claim),
    /// Seen before: send this answer again.
    Replay(Answer),
}

impl Tengine {
    /// The checks a request must pass before it runs or is replayed: authentication has
    /// happened; here are permission and scope, against the store as it is now.
    ///
    /// # Errors
    /// `Forbidden`, `ProjectNotFound` or `NotFound` as the request itself would fail.
    pub async fn authorize(&self, who: &Principal, op: &Guarded) -> Result<(), AppError> {
        match op {
            Guarded::CreateProject => {
                who.require(Permission::Write)?;
                who.require_account_wide()?;
            }
            Guarded::CreateApiKey { project, permissions, expires_at } => {
                who.require(Permission::Admin)?;
                who.portal_shows(Some(PortalSection::Keys))?;
                self.visible_project(who, *project).await?;
                self.grant(who, permissions, *expires_at)?;
            }
            Guarded::RotateApiKey { project, key } => {
                who.require(Permission::Admin)?;
                who.portal_shows(Some(PortalSection::Keys))?;
                self.visible_project(who, *project).await?;
                let key =
                    self.deps.store.get_api_key(*project, *key).await?.ok_or(AppError::NotFound(ApiKeyId::KIND))?;
                who.outlives(key.expires_at)?;
            }
            Guarded::Webhooks { project } => {
                who.require(Permission::Webhook)?;
                // Strict: a replay could carry a webhook's secret.
                who.portal_shows(Some(PortalSection::Webhooks))?;
                self.visible_project(who, *project).await?;
            }
            Guarded::Consent { project } => {
                who.require(Permission::Admin)?;
                who.outlives(None)?;
                if who.oauth.is_some()
                    || who.session.as_ref().is_some_and(|s| s.kind != tengine_domain::session::SessionKind::Console)
                {
                    return Err(tengine_domain::Denied::KeyRequired.into());
                }
                self.visible_project(who, *project).await?;
            }
            Guarded::Integrations { project } => {
                who.require(Permission::Webhook)?;
                // Strict: a replay could carry a client secret.
                who.portal_shows(None)?;
                self.visible_project(who, *project).await?;
            }
            Guarded::Tools { project } => {
                who.require(Permission::Admin)?;
                who.portal_shows(None)?;
                self.visible_project(who, *project).await?;
            }
            Guarded::ToolCall { project } => {
                who.require(Permission::Write)?;
                who.portal_shows(None)?;
                self.visible_project(who, *project).await?;
            }
            Guarded::SigningKeys { project } => {
                who.require(Permission::Admin)?;
                who.portal_shows(None)?;
                self.visible_project(who, *project).await?;
            }
            Guarded::MemberSession { project } => {
                who.require(Permission::Write)?;
                if who.oauth.is_some()
                    || who.session.as_ref().is_some_and(|s| s.kind != tengine_domain::session::SessionKind::Console)
                {
                    return Err(tengine_domain::Denied::KeyRequired.into());
                }
                self.visible_project(who, *project).await?;
            }
            Guarded::ConsoleSession => {
                if who.session.is_some() || who.oauth.is_some() {
                    return Err(tengine_domain::Denied::KeyRequired.into());
                }
            }
            Guarded::PortalSessions { project } => {
                who.require(Permission::Admin)?;
                if who.session.is_some() || who.oauth.is_some() {
                    return Err(tengine_domain::Denied::KeyRequired.into());
                }
                self.visible_project(who, *project).await?;
            }
        }
        Ok(())
    }

    /// Authorizes `op`, then claims `req`'s key for the caller's account, or finds the
    /// answer to replay. A duplicate still running is waited for, up to ten seconds.
    ///
    /// # Errors
    /// As [`Tengine::authorize`]; `IdempotencyKeyReused` for another request under the
    /// same key; `IdempotencyKeyInUse` when the first is still running; `Unavailable`.
    pub async fn begin_idempotent(
        &self,
        who: &Principal,
        op: &Guarded,
        req: &IdempotentRequest,
    ) -> Result<Begun, AppError> {
        self.authorize(who, op).await?;
        let account = who.account_id;
        let hash = req.key.lookup_hash(self.lookup_key(), &account);
        let fingerprint = op.fingerprint_for(who, req.fingerprint);
        let started = tokio::time::Instant::now();
        loop {
            let now = self.deps.clock.now();
            let claim =
                self.deps.store.claim_idempotency(account, hash, fingerprint, now, now - STALE, now - RETENTION);
            match claim.await? {
                IdempotencyClaim::Claimed => return Ok(Begun::Fresh(Claim { account, hash, key: req.key.clone() })),
                IdempotencyClaim::Existing { fingerprint: first, .. } if first != fingerprint => {
                    return Err(AppError::IdempotencyKeyReused)
                }
                IdempotencyClaim::Existing { response: Some(stored), .. } => {
                    let body = req.key.open(&account, &stored.body).ok_or_else(|| {
                        AppError::Internal(tengine_ports::RepoError::other("a stored idempotent answer did not open"))
                    })?;
                    return Ok(Begun::Replay(Answer { status: stored.status, headers: stored.headers, body }));
                }
                IdempotencyClaim::Existing { response: None, .. } if started.elapsed() < WAIT => {
                    tokio::time::sleep(POLL).await;
                }
                IdempotencyClaim::Existing { response: None, .. } => return Err(AppError::IdempotencyKeyInUse),
            }
        }
    }

    /// Stores the answer of a claimed request for replay, or with `None` (a server
    /// error or a rate limit: not final) releases the key so a retry runs again.
    /// Failures are logged: the request itself already succeeded or failed.
    pub async fn finish_idempotent(&self, claim: Claim, answer: Option<&Answer>) {
        let Claim { account, hash, key } = claim;
        let Some(answer) = answer else {
            if let Err(e) = self.deps.store.release_idempotency(account, hash).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            return;
        };
        // The stored body is sealed with ChaCha20-Poly1305 (a 96-bit nonce).
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&self.deps.secrets.nonce()[..12]);
        let stored = StoredResponse {
            status: answer.status,
            headers: answer.headers.clone(),
            body: key.seal(&account, nonce, &answer.body),
        };
        if let Err(e) = self.deps.store.complete_idempotency(account, hash, &stored).await {
            tracing::warn!(error = %e, "could not store an idempotent response");
        }
    }

    /// Deletes idempotency records past their 24 hours.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    pub async fn purge_idempotency(&self) -> Result<u64, AppError> {
        Ok(self.deps.store.purge_idempotency(self.deps.clock.now() - RETENTION).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tengine_domain::idempotency::fingerprint;
    use tengine_domain::{KeyScope, Permission};
    use tengine_ports::MockStore;

    use super::*;
    use crate::test_support::*;

    fn request() -> IdempotentRequest {
        IdempotentRequest {
            key: "deploy-1".parse().unwrap(),
            fingerprint: fingerprint("POST", "/projects/x/api-keys", b"{}"),
        }
    }

    fn create_admin_key() -> Guarded {
        Guarded::CreateApiKey { project: project_id(1), permissions: PermissionSet::all(), expires_at: None }
    }

    fn stored_answer(store: &mut MockStore) {
        let req = request();
        let account = account_id();
        let sealed = req.key.seal(&account, [7; 12], b"{\"key\":\"tng_secret\"}");
        let fp = req.fingerprint;
        store.expect_claim_idempotency().returning(move |_, _, _, _, _, _| {
            Ok(IdempotencyClaim::Existing {
                fingerprint: fp,
                response: Some(StoredResponse { status: 201, headers: vec![], body: sealed.clone() }),
            })
        });
    }

    #[tokio::test]
    async fn a_stored_answer_is_replayed_only_to_a_caller_allowed_to_make_the_request_now() {
        // A read-only key of another project: refused before the store is asked for the
        // record (a claim would panic: no expectation is set).
        let reader = principal(&[Permission::Read], KeyScope::Project(project_id(2)));
        let app = harness(|_| {});
        let result = app.begin_idempotent(&reader, &create_admin_key(), &request()).await;
        assert_denied(
            "a read-only key replaying a key creation",
            tengine_domain::Denied::Missing(Permission::Admin),
            result,
        );
        // A project admin of another project: the project is not found for it.
        let other_admin = principal(&[Permission::Admin], KeyScope::Project(project_id(2)));
        let app = harness(|_| {});
        assert_project_not_found(
            "another project's admin",
            app.begin_idempotent(&other_admin, &create_admin_key(), &request()).await,
        );
        // Another admin-capable key of the account gets the replay.
        let writer = principal(&[Permission::Admin], KeyScope::Project(project_id(1)));
        let app = harness(|s| {
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            stored_answer(s);
        });
        let replay = app.begin_idempotent(&writer, &create_admin_key(), &request()).await.unwrap();
        assert!(
            matches!(replay, Begun::Replay(Answer { status: 201, ref body, .. }) if body == b"{\"key\":\"tng_secret\"}")
        );
    }

    #[tokio::test]
    async fn an_expiring_admin_gets_no_replay_of_a_permanent_key() {
        let expiring = Principal {
            expires_at: Some(now() + Duration::minutes(10)),
            ..principal(&[Permission::Admin], KeyScope::Account)
        };
        let app = harness(|s| {
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
        });
        let op = Guarded::CreateApiKey {
            project: project_id(1),
            permissions: PermissionSet::all(),
            expires_at: Some(now() + Duration::days(1)),
        };
        let result = app.begin_idempotent(&expiring, &op, &request()).await;
        assert_invalid("an expiry beyond the caller's own", "expires_at", result);
    }

    #[tokio::test]
    async fn an_inherited_expiry_makes_the_request_the_callers_own() {
        let op = create_admin_key();
        let fp = request().fingerprint;
        let permanent = principal(&[Permission::Admin], KeyScope::Account);
        let expiring = Principal { expires_at: Some(now() + Duration::minutes(10)), ..permanent.clone() };
        assert_eq!(op.fingerprint_for(&permanent, fp), fp);
        assert_ne!(op.fingerprint_for(&expiring, fp), fp, "an expiring key must not match a permanent key's creation");
        assert_eq!(
            op.fingerprint_for(&expiring, fp),
            op.fingerprint_for(&expiring.clone(), fp),
            "its own retry matches"
        );
        let explicit = Guarded::CreateApiKey {
            project: project_id(1),
            permissions: PermissionSet::all(),
            expires_at: Some(now()),
        };
        assert_eq!(explicit.fingerprint_for(&expiring, fp), fp);
    }

    #[tokio::test]
    async fn another_request_under_the_same_key_is_refused() {
        let app = harness(|s| {
            s.expect_claim_idempotency()
                .returning(|_, _, _, _, _, _| Ok(IdempotencyClaim::Existing { fingerprint: [0; 32], response: None }));
        });
        let who = principal(&[Permission::Admin], KeyScope::Account);
        let result = app.begin_idempotent(&who, &Guarded::CreateProject, &request()).await;
        assert!(matches!(result, Err(AppError::IdempotencyKeyReused)), "{result:?}");
    }
}
