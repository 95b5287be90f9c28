//! Member sessions: a project registers the public keys its backend signs member
//! assertions with; the backend exchanges a fresh assertion for a 15-minute `tng_mst_`
//! token that an MCP client uses at `/mcp` on that member's behalf.

use tengine_domain::member_session::{
    assertion_kid, verify_assertion, AssertionError, NewSigningKey, SigningKey, FIELD, MEMBER_SESSION_LIFETIME,
};
use tengine_domain::session::{Session, SessionKind, SessionSecret};
use tengine_domain::{
    Denied, FieldError, Page, PageRequest, Permission, Principal, ProjectId, SessionId, SigningKeyId,
};
use tengine_ports::RepoError;

use crate::{AppError, Tengine};

fn refused(e: &AssertionError) -> AppError {
    FieldError::new(FIELD, e.to_string()).into()
}

impl Tengine {
    /// A page of the project's signing keys.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `Unavailable`.
    pub async fn list_signing_keys(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<SigningKey>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.list_signing_keys(project, page).await?)
    }

    /// One signing key.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `NotFound`; `Unavailable`.
    pub async fn get_signing_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: SigningKeyId,
    ) -> Result<SigningKey, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        self.deps.store.get_signing_key(project, id).await?.ok_or(AppError::NotFound(SigningKeyId::KIND))
    }

    /// Registers a public key.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `Validation` on `kid` when the
    /// project already has a key with it; `Unavailable`.
    pub async fn create_signing_key(
        &self,
        who: &Principal,
        project: ProjectId,
        new: NewSigningKey,
    ) -> Result<SigningKey, AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        let key = SigningKey {
            id: SigningKeyId::from_uuid(self.deps.ids.next_uuid()),
            account_id: who.account_id,
            project_id: project,
            kid: new.kid,
            alg: new.alg,
            key: new.key,
            created_at: self.deps.clock.now(),
        };
        self.deps.store.insert_signing_key(&key).await.map_err(|e| match e {
            RepoError::Conflict(_) => FieldError::new("kid", "is already registered in this project").into(),
            e => AppError::from(e),
        })?;
        tracing::info!(signing_key_id = %key.id, project_id = %project, kid = %key.kid, "signing key registered");
        Ok(key)
    }

    /// Deletes a signing key: assertions it signed are refused from now on (sessions
    /// already opened run out within 15 minutes).
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound`; `Unavailable`.
    pub async fn delete_signing_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: SigningKeyId,
    ) -> Result<(), AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        if !self.deps.store.delete_signing_key(project, id).await? {
            return Err(AppError::NotFound(SigningKeyId::KIND));
        }
        Ok(())
    }

    /// Exchanges a member assertion for a member session token of `project`, acting as
    /// `who`'s key (calling tools needs `write`) on the member's behalf, for 15 minutes.
    /// `audience` is this server's public URL, which the assertion's `aud` must name.
    ///
    /// # Errors
    /// `Forbidden` without `write` or for a portal or member session; `ProjectNotFound`;
    /// `Validation` on `member_assertion` for an assertion that is malformed, signed by
    /// an unknown `kid` or another algorithm, badly signed, for another audience,
    /// expired, valid too long, without or with a replayed `jti`, or with bad claims.
    pub async fn open_member_session(
        &self,
        who: &Principal,
        project: ProjectId,
        assertion: &str,
        audience: &str,
    ) -> Result<(Session, SessionSecret), AppError> {
        who.require(Permission::Write)?;
        if who.oauth.is_some() || who.session.as_ref().is_some_and(|s| s.kind != SessionKind::Console) {
            return Err(Denied::KeyRequired.into());
        }
        self.visible_project(who, project).await?;
        let kid = assertion_kid(assertion).map_err(|e| refused(&e))?;
        let key = self.deps.store.find_signing_key(project, &kid).await?;
        let key = key.ok_or_else(|| refused(&AssertionError::UnknownKid))?;
        let now = self.deps.clock.now();
        let verified = verify_assertion(assertion, &key, audience, now).map_err(|e| refused(&e))?;
        if !self.deps.store.claim_assertion_jti(project, &verified.jti, verified.expires_at).await? {
            return Err(refused(&AssertionError::Replayed));
        }
        let until = now + MEMBER_SESSION_LIFETIME;
        let session = Session {
            id: SessionId::from_uuid(self.deps.ids.next_uuid()),
            kind: SessionKind::Member,
            account_id: who.account_id,
            key_id: who.key_id,
            project_id: Some(project),
            permissions: who.permissions,
            sections: Vec::new(),
            allowed_origins: Vec::new(),
            theme: None,
            expires_at: who.expires_at.map_or(until, |e| e.min(until)),
            created_at: now,
            revoked_at: None,
            exchanged: true,
            member: Some(verified.member),
        };
        let token = SessionSecret::new(SessionKind::Member.token_prefix(), &self.deps.secrets.nonce());
        self.deps.store.insert_session(&session, Some(token.digest()), None).await?;
        tracing::info!(session_id = %session.id, project_id = %project, "member session opened");
        Ok((session, token))
    }
}
