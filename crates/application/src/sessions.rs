//! Browser sessions: signing in to the console with a key, and portal sessions an admin
//! opens for one project. A session acts as its key, narrowed (a portal: one project,
//! some permissions, a lifetime), and dies with it; sessions never open sessions.

use chrono::{DateTime, Utc};
use tengine_domain::session::{
    NewPortalSession, Session, SessionKind, SessionRef, SessionSecret, CODE_PREFIX, CONSOLE_LIFETIME,
};
use tengine_domain::{
    ApiKey, Denied, KeyScope, Page, PageRequest, Permission, PermissionSet, Plan, Principal, ProjectId, SessionId,
};

use crate::{AppError, AuthFailure, Tengine};

/// Who is calling, as `GET /me` tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    /// The caller (with the session it acts through, if any).
    pub principal: Principal,
    /// The key's display prefix.
    pub prefix: String,
    /// The account's plan.
    pub plan: Plan,
}

/// A portal session just opened, with its one-time code (shown in this answer only).
#[derive(Debug, Clone)]
pub struct OpenedPortal {
    /// The session.
    pub session: Session,
    /// The code the portal's URL carries in its fragment.
    pub code: SessionSecret,
}

impl Tengine {
    /// A fresh session id and a secret with `prefix`.
    fn new_secret(&self, prefix: &str) -> SessionSecret {
        SessionSecret::new(prefix, &self.deps.secrets.nonce())
    }

    /// Signs in to the console: a token that acts as `who`'s key for eight hours (less if
    /// the key expires sooner).
    ///
    /// # Errors
    /// `Forbidden` (`KeyRequired`) when `who` is itself a session; `Unavailable`.
    pub async fn open_console_session(&self, who: &Principal) -> Result<(Session, SessionSecret), AppError> {
        if who.session.is_some() || who.oauth.is_some() {
            return Err(Denied::KeyRequired.into());
        }
        let now = self.deps.clock.now();
        let expires_at = who.expires_at.map_or(now + CONSOLE_LIFETIME, |e| e.min(now + CONSOLE_LIFETIME));
        let session = Session {
            id: SessionId::from_uuid(self.deps.ids.next_uuid()),
            kind: SessionKind::Console,
            account_id: who.account_id,
            key_id: who.key_id,
            project_id: who.scope.project(),
            permissions: who.permissions,
            sections: Vec::new(),
            allowed_origins: Vec::new(),
            theme: None,
            expires_at,
            created_at: now,
            revoked_at: None,
            exchanged: true,
            member: None,
        };
        let token = self.new_secret(SessionKind::Console.token_prefix());
        self.deps.store.insert_session(&session, Some(token.digest()), None).await?;
        tracing::info!(session_id = %session.id, key_id = %who.key_id, "console session opened");
        Ok((session, token))
    }

    /// Signs the calling console session out.
    ///
    /// # Errors
    /// `NotFound` when the caller is not a console session; `Unavailable`.
    pub async fn close_console_session(&self, who: &Principal) -> Result<(), AppError> {
        let Some(s) = who.session.as_ref().filter(|s| s.kind == SessionKind::Console) else {
            return Err(AppError::NotFound("console_session"));
        };
        self.deps.store.revoke_session(who.account_id, s.id, self.deps.clock.now()).await?;
        Ok(())
    }

    /// Opens a portal session for `project`, with a one-time code for its URL.
    ///
    /// # Errors
    /// `Forbidden` without `admin`, for a session caller, or for permissions the key
    /// does not hold; `ProjectNotFound`; `Unavailable`.
    pub async fn open_portal_session(
        &self,
        who: &Principal,
        project: ProjectId,
        new: NewPortalSession,
    ) -> Result<OpenedPortal, AppError> {
        who.require(Permission::Admin)?;
        if who.session.is_some() || who.oauth.is_some() {
            return Err(Denied::KeyRequired.into());
        }
        self.visible_project(who, project).await?;
        let now = self.deps.clock.now();
        let until = now + new.lifetime;
        let session = Session {
            id: SessionId::from_uuid(self.deps.ids.next_uuid()),
            kind: SessionKind::Portal,
            account_id: who.account_id,
            key_id: who.key_id,
            project_id: Some(project),
            permissions: new.permissions,
            sections: new.sections,
            allowed_origins: new.allowed_origins,
            theme: new.theme,
            expires_at: who.expires_at.map_or(until, |e| e.min(until)),
            created_at: now,
            revoked_at: None,
            exchanged: false,
            member: None,
        };
        let code = self.new_secret(CODE_PREFIX);
        self.deps.store.insert_session(&session, None, Some(code.digest())).await?;
        tracing::info!(session_id = %session.id, project_id = %project, "portal session opened");
        Ok(OpenedPortal { session, code })
    }

    /// A page of the project's portal sessions (live or not), newest first.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `Unavailable`.
    pub async fn list_portal_sessions(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<Session>, AppError> {
        who.require(Permission::Admin)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.list_sessions(project, SessionKind::Portal, page).await?)
    }

    /// Revokes a portal session of `project`: its page stops working at once.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound` for a session that is
    /// not the project's or already ended; `Unavailable`.
    pub async fn revoke_portal_session(
        &self,
        who: &Principal,
        project: ProjectId,
        id: SessionId,
    ) -> Result<(), AppError> {
        who.require(Permission::Admin)?;
        self.visible_project(who, project).await?;
        let not_found = || AppError::NotFound(SessionId::KIND);
        let s = self.deps.store.get_session(id).await?.ok_or_else(not_found)?;
        if s.kind != SessionKind::Portal || s.project_id != Some(project) {
            return Err(not_found());
        }
        if !self.deps.store.revoke_session(who.account_id, id, self.deps.clock.now()).await? {
            return Err(not_found());
        }
        tracing::info!(session_id = %id, project_id = %project, "portal session revoked");
        Ok(())
    }

    /// Exchanges a portal URL's one-time `code` for the portal's bearer token, once.
    ///
    /// # Errors
    /// `Unauthenticated` for a code that is unknown, used, revoked or expired; `Unavailable`.
    pub async fn exchange_portal_code(&self, code: &str) -> Result<(Session, SessionSecret), AppError> {
        let refused = || AppError::unauthenticated(AuthFailure::Unknown);
        if !code.starts_with(CODE_PREFIX) || code.len() > 128 {
            return Err(refused());
        }
        let token = self.new_secret(SessionKind::Portal.token_prefix());
        let now = self.deps.clock.now();
        let session = self
            .deps
            .store
            .exchange_session_code(SessionSecret::presented(code).digest(), token.digest(), now)
            .await?
            .ok_or_else(refused)?;
        Ok((session, token))
    }

    /// The origins that may frame live portal session `id` (for its page's CSP).
    ///
    /// # Errors
    /// `NotFound` for a session that is not a live portal; `Unavailable`.
    pub async fn portal_frame_origins(&self, id: SessionId) -> Result<Vec<String>, AppError> {
        let s = self.deps.store.get_session(id).await?;
        s.filter(|s| s.kind == SessionKind::Portal && s.is_live(self.deps.clock.now()))
            .map(|s| s.allowed_origins)
            .ok_or(AppError::NotFound(SessionId::KIND))
    }

    /// Who is calling: key, scope, permissions, plan and the session, if any.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn me(&self, who: &Principal) -> Result<Me, AppError> {
        let account = self.deps.store.get_account(who.account_id).await?;
        let plan = account.map(|a| a.plan).ok_or_else(|| AppError::unauthenticated(AuthFailure::Unknown))?;
        let key = self.deps.store.find_api_key_by_id(who.key_id).await?;
        let prefix = key.map(|k| k.prefix).ok_or_else(|| AppError::unauthenticated(AuthFailure::Unknown))?;
        Ok(Me { principal: who.clone(), prefix, plan })
    }

    /// Authenticates a console or portal session token.
    pub(crate) async fn authenticate_session(&self, token: &str) -> Result<Principal, AppError> {
        let fail = |failure| AppError::Unauthenticated { failure, prefix: None };
        let now = self.deps.clock.now();
        let secret = SessionSecret::presented(token);
        let (session, key) = self.deps.store.find_session(secret.digest()).await?.ok_or(fail(AuthFailure::Unknown))?;
        if session.revoked_at.is_some() || key.revoked_at.is_some() {
            return Err(fail(AuthFailure::Unknown));
        }
        if now >= session.expires_at || key.is_expired(now) {
            return Err(fail(AuthFailure::Expired));
        }
        let kind_matches = token.starts_with(session.kind.token_prefix());
        if !kind_matches {
            return Err(fail(AuthFailure::Unknown));
        }
        Ok(narrowed(&key, &session))
    }
}

/// The principal a session acts as: its key, within the session's project and
/// permissions; a portal also ends with its session.
fn narrowed(key: &ApiKey, s: &Session) -> Principal {
    let permissions: PermissionSet = s.permissions.iter().filter(|p| key.permissions.allows(*p)).collect();
    let scope = match (s.kind, s.project_id) {
        (SessionKind::Portal | SessionKind::Member, Some(p)) => KeyScope::Project(p),
        _ => key.scope,
    };
    let expires_at = match s.kind {
        // The console is the key in a browser: what the key may mint, it still may.
        SessionKind::Console => key.expires_at,
        SessionKind::Portal | SessionKind::Member => Some(key.expires_at.map_or(s.expires_at, |e| e.min(s.expires_at))),
    };
    let session = SessionRef {
        kind: s.kind,
        id: s.id,
        expires_at: s.expires_at,
        sections: s.sections.clone(),
        member: s.member.clone(),
    };
    Principal {
        account_id: key.account_id,
        key_id: key.id,
        scope,
        permissions,
        expires_at,
        session: Some(session),
        oauth: None,
    }
}

/// When a session's secret can be purged: a day after it ended.
pub(crate) fn purge_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(1)
}
