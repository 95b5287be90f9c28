//! Authenticating a bearer key into a [`Principal`].

use tengine_domain::{KeyFormatError, PlainApiKey, Principal};

use crate::{AppError, AuthFailure, Tengine};

impl Tengine {
    /// Turns an `Authorization` header value into the principal it names.
    ///
    /// A malformed key is refused before any lookup (the checksum catches typos).
    ///
    /// # Errors
    /// `Unauthenticated` for a missing, malformed, unknown, revoked or expired key, or
    /// one whose project was deleted; `Unavailable` when the store is down.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AppError> {
        let header = authorization.ok_or(AppError::unauthenticated(AuthFailure::Missing))?;
        let token = bearer_token(header).ok_or(AppError::unauthenticated(AuthFailure::Malformed))?;
        // A console or portal session acts as its key (see `sessions`).
        if token.starts_with("tng_cs_") || token.starts_with("tng_ps_") || token.starts_with("tng_mst_") {
            return self.authenticate_session(token).await;
        }
        // An OAuth access token acts as a project-scoped key holding what was granted.
        if token.starts_with(tengine_domain::integration::ACCESS_PREFIX) {
            return self.authenticate_oauth(token).await;
        }
        let fail = |failure| AppError::Unauthenticated { failure, prefix: safe_prefix(token) };
        let key: PlainApiKey = token.parse().map_err(|e: KeyFormatError| {
            tracing::debug!(error = %e, "refused a malformed API key");
            fail(AuthFailure::Malformed)
        })?;
        let digest = key.digest();
        let now = self.deps.clock.now();
        let record = match self.keys.get(&digest, now) {
            Some(record) => record,
            None => {
                let read_at = self.keys.generation();
                let record = self.deps.store.find_by_digest(&digest).await?.ok_or(fail(AuthFailure::Unknown))?;
                let record = std::sync::Arc::new(record);
                self.keys.put(digest, std::sync::Arc::clone(&record), now, read_at);
                record
            }
        };
        if record.is_expired(now) {
            return Err(fail(AuthFailure::Expired));
        }
        if !record.accepts(&digest, now) {
            return Err(fail(AuthFailure::Unknown));
        }
        self.last_used.note(record.id, record.last_used_at, now);
        Ok(Principal {
            account_id: record.account_id,
            key_id: record.id,
            scope: record.scope,
            permissions: record.permissions,
            expires_at: record.expires_at,
            session: None,
            oauth: None,
        })
    }
}

/// The token of a `Bearer` credential (scheme case-insensitive, RFC 7235).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The part of a credential that may be echoed: the display prefix of a key-shaped value.
fn safe_prefix(token: &str) -> Option<String> {
    let prefix = token.get(..tengine_domain::api_key::DISPLAY_PREFIX_LEN)?;
    (prefix.starts_with(tengine_domain::api_key::KEY_PREFIX)
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then(|| prefix.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use tengine_domain::KeyScope;

    #[tokio::test]
    async fn missing_and_malformed_keys_are_refused_without_a_lookup() {
        let app = harness(|_| {});
        for header in [None, Some("Basic abc"), Some("Bearer"), Some("Bearer tng_short"), Some("bearer  ")] {
            let err = app.authenticate(header).await.unwrap_err();
            assert!(matches!(err, AppError::Unauthenticated { .. }), "{header:?}");
        }
        let typo = format!("Bearer {}x", &plain(1).expose_secret()[..49]);
        assert!(matches!(
            app.authenticate(Some(&typo)).await,
            Err(AppError::Unauthenticated { failure: AuthFailure::Malformed, .. })
        ));
    }

    #[tokio::test]
    async fn a_valid_key_becomes_its_principal_and_scheme_case_does_not_matter() {
        let key = api_key(1, KeyScope::Project(project_id(5)), &[tengine_domain::Permission::Read]);
        let app = harness(|s| {
            let k = key.clone();
            s.expect_find_by_digest().returning(move |_| Ok(Some(k.clone())));
        });
        let p = app.authenticate(Some(&format!("bearer {}", plain(1).expose_secret()))).await.unwrap();
        assert_eq!(p.key_id, key.id);
        assert_eq!(p.scope, KeyScope::Project(project_id(5)));
        assert_eq!(app.last_used().drain().len(), 1, "use is noted for the flusher");
    }

    #[tokio::test]
    async fn unknown_revoked_and_expired_keys_are_refused() {
        let mut revoked = api_key(1, KeyScope::Account, &[tengine_domain::Permission::Admin]);
        revoked.revoked_at = Some(now());
        let mut expired = api_key(1, KeyScope::Account, &[tengine_domain::Permission::Admin]);
        expired.expires_at = Some(now());
        for (record, failure) in
            [(None, AuthFailure::Unknown), (Some(revoked), AuthFailure::Unknown), (Some(expired), AuthFailure::Expired)]
        {
            let app = harness(|s| {
                s.expect_find_by_digest().returning(move |_| Ok(record.clone()));
            });
            let err = app.authenticate(Some(&bearer(1))).await.unwrap_err();
            match err {
                AppError::Unauthenticated { failure: f, prefix } => {
                    assert_eq!(f, failure);
                    assert_eq!(prefix.as_deref(), Some(plain(1).display_prefix()));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable_not_unauthenticated() {
        let app = harness(|s| {
            s.expect_find_by_digest().returning(|_| Err(tengine_ports::RepoError::Unavailable("down".into())));
        });
        assert!(matches!(app.authenticate(Some(&bearer(1))).await, Err(AppError::Unavailable(_))));
    }

    #[tokio::test]
    async fn a_revocation_during_a_cache_miss_is_not_undone_by_the_stale_read() {
        use std::sync::{Arc, Mutex, OnceLock};
        let key = api_key(1, KeyScope::Project(project_id(5)), &[tengine_domain::Permission::Admin]);
        let mut revoked = key.clone();
        revoked.revoked_at = Some(now());
        // The store answers the live record for the first read, while the revocation
        // commits and evicts (forced here, inside the read); later reads see it revoked.
        let app_slot: Arc<OnceLock<Tengine>> = Arc::new(OnceLock::new());
        let reads = Arc::new(Mutex::new(0));
        let (slot, n, id) = (Arc::clone(&app_slot), Arc::clone(&reads), key.id);
        let app = harness(move |s| {
            s.expect_find_by_digest().returning(move |_| {
                let mut n = n.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    slot.get().unwrap().keys.evict_key(id);
                    return Ok(Some(key.clone()));
                }
                Ok(Some(revoked.clone()))
            });
        });
        let _ = app_slot.set(app.clone());
        app.authenticate(Some(&bearer(1))).await.unwrap();
        let err = app.authenticate(Some(&bearer(1))).await.unwrap_err();
        assert!(matches!(err, AppError::Unauthenticated { .. }), "a stale cached record let a revoked key in");
        assert_eq!(*reads.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn a_verified_key_is_cached_and_evicted_when_revoked_here() {
        let key = api_key(1, KeyScope::Project(project_id(5)), &[tengine_domain::Permission::Admin]);
        let k = key.clone();
        let app = harness(|s| {
            s.expect_find_by_digest().times(2).returning(move |_| Ok(Some(k.clone())));
            let k = key.clone();
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            expect_tx(s, move |tx| {
                tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                tx.expect_lock_api_key().returning(move |_| Ok(Some(k.clone())));
                tx.expect_update_api_key().returning(|_| Ok(()));
            });
        });
        let who = app.authenticate(Some(&bearer(1))).await.unwrap();
        app.authenticate(Some(&bearer(1))).await.unwrap();
        app.revoke_api_key(&who, project_id(5), who.key_id).await.unwrap();
        // Evicted, so the store is asked again (and here still answers the old record).
        app.authenticate(Some(&bearer(1))).await.unwrap();
    }
}
