//! The OAuth 2.1 authorization server of projects: authorization requests and consent,
//! the token endpoint (authorization code with PKCE, refresh with rotation),
//! revocation (RFC 7009), dynamic client registration (RFC 7591), and authenticating
//! requests with access tokens.
//!
//! Refusals here are [`OAuthError`]s with RFC 6749's codes, which the HTTP adapter
//! answers in OAuth's own format.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tengine_domain::integration::{
    digest, digest_matches, parse_scope, scope_of, valid_challenge, Audience, AuthCode, ClientType, Connection,
    Integration, NewIntegration, OAuthSecret, OAuthToken, TokenKind, ACCESS_LIFETIME, ACCESS_PREFIX,
    CLIENT_SECRET_PREFIX, CODE_LIFETIME, CODE_PREFIX, MAX_DYNAMIC_PER_PROJECT, REFRESH_LIFETIME, REFRESH_PREFIX,
};
use tengine_domain::principal::OAuthRef;
use tengine_domain::{
    ConnectionId, Denied, EventType, IntegrationId, KeyScope, Permission, PermissionSet, Principal, ProjectId,
};

use crate::integrations::{connection_data, integration_data};
use crate::ttl_cache::TtlCache;
use crate::{AppError, AuthFailure, Tengine};

/// Verified access tokens by digest, with their connection.
pub type TokenCache = TtlCache<[u8; 32], (OAuthToken, Connection)>;

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(100_000)
    }
}

/// A refusal at an OAuth endpoint, in RFC 6749 §5.2's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The `error` code (`invalid_grant`, `invalid_client`, ...).
    pub code: &'static str,
    /// The `error_description`: plain words, never a secret.
    pub description: String,
}

impl OAuthError {
    /// A refusal with `code`.
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }

    fn unavailable() -> Self {
        Self::new("temporarily_unavailable", "the server cannot reach its store; try again shortly")
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unavailable(_) => Self::unavailable(),
            other => {
                tracing::error!(error = %other, "OAuth request failed");
                Self::new("server_error", "the server could not complete the request")
            }
        }
    }
}

impl From<tengine_ports::RepoError> for OAuthError {
    fn from(e: tengine_ports::RepoError) -> Self {
        AppError::from(e).into()
    }
}

/// An authorization request's parameters, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `resource` (RFC 8707).
    pub resource: Option<String>,
}

/// A checked authorization request, ready for consent.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub integration: Integration,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// What it asks for (the integration's permissions when it named no scope).
    pub permissions: PermissionSet,
    /// Echoed back.
    pub state: Option<String>,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// The audience asked for.
    pub resource: Option<String>,
}

/// Why an authorization request failed: either it cannot be redirected (an unknown
/// client or redirect URI: shown to the person, never sent anywhere) or the refusal
/// goes back to the client's redirect URI.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// Shown to the person at the browser.
    Unredirectable(OAuthError),
    /// Sent to `redirect_uri` with `state`.
    Redirect {
        /// The refusal.
        error: OAuthError,
        /// The checked redirect URI.
        redirect_uri: String,
        /// The client's state.
        state: Option<String>,
    },
}

/// How a client authenticated at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    /// `client_id` (from Basic or the body).
    pub client_id: Option<String>,
    /// `client_secret` (from Basic or the body).
    pub client_secret: Option<String>,
    /// Whether it came in an `Authorization: Basic` header.
    pub basic: bool,
}

/// A token request's parameters.
#[derive(Debug, Clone, Default)]
pub struct TokenParams {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `code_verifier`.
    pub code_verifier: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `scope` (a refresh may narrow).
    pub scope: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
}

/// What a successful token request answers.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: OAuthSecret,
    /// Its refresh token.
    pub refresh_token: OAuthSecret,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// The granted scope.
    pub scope: String,
}

/// A client's registration request (RFC 7591 §2), as sent.
#[derive(Debug, Clone, Default)]
pub struct RegistrationRequest {
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: Option<String>,
    /// `grant_types`.
    pub grant_types: Option<Vec<String>>,
    /// `response_types`.
    pub response_types: Option<Vec<String>>,
    /// `scope`.
    pub scope: Option<String>,
}

fn invalid_request(why: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_request", why)
}

fn invalid_grant(why: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_grant", why)
}

fn invalid_client() -> OAuthError {
    OAuthError::new("invalid_client", "client authentication failed")
}

/// A present, non-empty parameter.
fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().filter(|s| !s.is_empty())
}

impl Tengine {
    /// The client a `client_id` names.
    async fn client(&self, client_id: &str) -> Result<Option<tengine_ports::StoredClient>, OAuthError> {
        let Ok(id) = client_id.parse::<IntegrationId>() else { return Ok(None) };
        Ok(self.deps.store.find_client(id).await?)
    }

    /// Checks an authorization request (RFC 6749 §4.1.1 with PKCE, OAuth 2.1).
    ///
    /// # Errors
    /// [`AuthorizeError`], redirectable once the client and redirect URI are known.
    pub async fn authorize_request(&self, p: &AuthorizeParams) -> Result<AuthorizeRequest, AuthorizeError> {
        let fatal = |code, why: &str| AuthorizeError::Unredirectable(OAuthError::new(code, why));
        let client_id = given(&p.client_id).ok_or_else(|| fatal("invalid_request", "client_id is required"))?;
        let (integration, _) = self
            .client(client_id)
            .await
            .map_err(AuthorizeError::Unredirectable)?
            .ok_or_else(|| fatal("invalid_client", "no such client"))?;
        let redirect_uri = match given(&p.redirect_uri) {
            Some(r) => integration
                .redirect(r)
                .map(|_| r.to_owned())
                .ok_or_else(|| fatal("invalid_request", "redirect_uri is not registered for this client"))?,
            None if integration.redirect_uris.len() == 1 => integration.redirect_uris[0].as_str().to_owned(),
            None => return Err(fatal("invalid_request", "redirect_uri is required")),
        };
        let back = |error: OAuthError| AuthorizeError::Redirect {
            error,
            redirect_uri: redirect_uri.clone(),
            state: p.state.clone(),
        };
        match given(&p.response_type) {
            Some("code") => {}
            Some(_) => return Err(back(OAuthError::new("unsupported_response_type", "only response_type=code"))),
            None => return Err(back(invalid_request("response_type is required"))),
        }
        let challenge =
            given(&p.code_challenge).ok_or_else(|| back(invalid_request("code_challenge is required (PKCE)")))?;
        match given(&p.code_challenge_method) {
            Some("S256") => {}
            _ => return Err(back(invalid_request("code_challenge_method must be S256"))),
        }
        if !valid_challenge(challenge) {
            return Err(back(invalid_request("code_challenge must be 43 base64url characters")));
        }
        let permissions = match given(&p.scope).map(parse_scope) {
            None | Some(Ok(None)) => integration.permissions,
            Some(Ok(Some(asked))) => asked,
            Some(Err(word)) => return Err(back(OAuthError::new("invalid_scope", format!("unknown scope '{word}'")))),
        };
        if !integration.permissions.covers(&permissions) {
            return Err(back(OAuthError::new(
                "invalid_scope",
                format!("this client may ask for at most '{}'", scope_of(integration.permissions)),
            )));
        }
        let resource = match given(&p.resource) {
            Some(r) if Audience::of(r, integration.project_id).is_none() => {
                return Err(back(OAuthError::new(
                    "invalid_target",
                    "resource must be this server's /api/v1, /mcp or /mcp/<project_id> URL",
                )))
            }
            r => r.map(|r| r.trim_end_matches('/').to_owned()),
        };
        Ok(AuthorizeRequest {
            integration,
            redirect_uri,
            permissions,
            state: p.state.clone(),
            code_challenge: challenge.to_owned(),
            resource,
        })
    }

    /// Approves a checked request as `who`, granting `granted` (at most what was asked;
    /// `None`: all of it). Returns the authorization code.
    ///
    /// # Errors
    /// `Forbidden` unless `who` is a key (or console session) holding `admin` on the
    /// integration's project that never expires; `ProjectNotFound`; `Validation` for a
    /// grant beyond the request.
    pub async fn approve_authorization(
        &self,
        who: &Principal,
        request: &AuthorizeRequest,
        granted: Option<PermissionSet>,
    ) -> Result<OAuthSecret, AppError> {
        who.require(Permission::Admin)?;
        if who.oauth.is_some()
            || who.session.as_ref().is_some_and(|s| s.kind != tengine_domain::session::SessionKind::Console)
        {
            return Err(Denied::KeyRequired.into());
        }
        // A connection lives until it is disconnected: a key that expires may not grant
        // one, as it may not make a key that outlives it.
        who.outlives(None)?;
        let project = request.integration.project_id;
        self.visible_project(who, project).await?;
        let permissions = granted.unwrap_or(request.permissions);
        if !request.permissions.covers(&permissions) {
            return Err(
                tengine_domain::FieldError::new("permissions", "must not exceed what the client asked for").into()
            );
        }
        let now = self.deps.clock.now();
        let code = self.oauth_secret(CODE_PREFIX);
        let stored = AuthCode {
            integration_id: request.integration.id,
            account_id: request.integration.account_id,
            project_id: project,
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            permissions,
            resource: request.resource.clone(),
            approved_by: who.key_id,
            expires_at: now + CODE_LIFETIME,
            used_at: None,
            connection_id: None,
        };
        self.deps.store.insert_auth_code(code.digest(), &stored).await?;
        tracing::info!(integration_id = %request.integration.id, project_id = %project, key_id = %who.key_id, "authorization approved");
        Ok(code)
    }

    /// Authenticates the client of a token or revocation request.
    async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Integration, OAuthError> {
        let client_id = given(&auth.client_id).ok_or_else(invalid_client)?;
        let (integration, secret) = self.client(client_id).await?.ok_or_else(invalid_client)?;
        match (integration.client_type, given(&auth.client_secret), secret) {
            (ClientType::Public, None, _) => Ok(integration),
            (ClientType::Confidential, Some(presented), Some(stored)) if digest_matches(presented, &stored) => {
                Ok(integration)
            }
            _ => Err(invalid_client()),
        }
    }

    /// The token endpoint.
    ///
    /// # Errors
    /// [`OAuthError`] per RFC 6749 §5.2.
    pub async fn token(&self, auth: &ClientAuth, p: &TokenParams) -> Result<IssuedTokens, OAuthError> {
        let grant_type = given(&p.grant_type).ok_or_else(|| invalid_request("grant_type is required"))?;
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            return Err(OAuthError::new("unsupported_grant_type", "use authorization_code or refresh_token"));
        }
        let client = self.authenticate_client(auth).await?;
        if grant_type == "authorization_code" {
            self.exchange_code(&client, p).await
        } else {
            self.refresh(&client, p).await
        }
    }

    async fn exchange_code(&self, client: &Integration, p: &TokenParams) -> Result<IssuedTokens, OAuthError> {
        let code = given(&p.code).ok_or_else(|| invalid_request("code is required"))?;
        let verifier = given(&p.code_verifier).ok_or_else(|| invalid_request("code_verifier is required (PKCE)"))?;
        let now = self.deps.clock.now();
        let code_digest = digest(code);
        let mut tx = self.deps.store.begin().await?;
        let Some(stored) = tx.use_auth_code(code_digest, now).await? else {
            return Err(invalid_grant("the code is unknown"));
        };
        if stored.integration_id != client.id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if stored.used_at.is_some() {
            // RFC 6749 §4.1.2: a reused code revokes what its first use issued.
            let revoked = match stored.connection_id {
                Some(c) => tx.revoke_connections(client.id, Some(c), now).await?,
                None => Vec::new(),
            };
            self.disconnected(&mut *tx, client, &revoked, "code_reused").await?;
            tx.commit().await?;
            self.oauth_tokens.evict_where(|_, (_, c)| Some(c.id) == stored.connection_id);
            tracing::warn!(integration_id = %client.id, "an authorization code was used twice; its connection is revoked");
            return Err(invalid_grant("the code was already used"));
        }
        if stored.expires_at <= now {
            tx.commit().await?;
            return Err(invalid_grant("the code has expired"));
        }
        if given(&p.redirect_uri) != Some(stored.redirect_uri.as_str()) {
            tx.commit().await?;
            return Err(invalid_grant("redirect_uri does not match the authorization request"));
        }
        if !tengine_domain::integration::pkce_verifies(verifier, &stored.code_challenge) {
            tx.commit().await?;
            return Err(invalid_grant("code_verifier does not match the code_challenge"));
        }
        if let Some(r) = given(&p.resource) {
            if stored.resource.as_deref() != Some(r.trim_end_matches('/')) {
                tx.commit().await?;
                return Err(OAuthError::new("invalid_target", "resource differs from the authorization request"));
            }
        }
        let connection = Connection {
            id: ConnectionId::from_uuid(self.deps.ids.next_uuid()),
            account_id: stored.account_id,
            project_id: stored.project_id,
            integration_id: client.id,
            approved_by: stored.approved_by,
            permissions: stored.permissions,
            resource: stored.resource.clone(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        tx.insert_connection(&connection, code_digest).await?;
        let tokens = self.issue(&mut *tx, &connection, connection.permissions, now).await?;
        let data = json!({"integration": integration_data(client), "connection": connection_data(&connection)});
        let event =
            self.event(EventType::IntegrationConnected, connection.account_id, Some(connection.project_id), data);
        self.record(&mut *tx, event).await?;
        tx.commit().await?;
        tracing::info!(integration_id = %client.id, connection_id = %connection.id, "integration connected");
        Ok(tokens)
    }

    async fn refresh(&self, client: &Integration, p: &TokenParams) -> Result<IssuedTokens, OAuthError> {
        let presented = given(&p.refresh_token).ok_or_else(|| invalid_request("refresh_token is required"))?;
        let now = self.deps.clock.now();
        let mut tx = self.deps.store.begin().await?;
        let Some((token, connection)) = tx.spend_refresh_token(digest(presented), now).await? else {
            return Err(invalid_grant("the refresh token is unknown or revoked"));
        };
        if token.kind != TokenKind::Refresh || connection.integration_id != client.id {
            return Err(invalid_grant("the refresh token is unknown or revoked"));
        }
        if connection.revoked_at.is_some() {
            return Err(invalid_grant("the connection was revoked"));
        }
        if token.spent_at.is_some() {
            // OAuth 2.1 §4.3.1: a spent refresh token used again means it leaked.
            let revoked = tx.revoke_connections(client.id, Some(connection.id), now).await?;
            self.disconnected(&mut *tx, client, &revoked, "refresh_token_reused").await?;
            tx.commit().await?;
            self.oauth_tokens.evict_where(|_, (_, c)| c.id == connection.id);
            tracing::warn!(integration_id = %client.id, connection_id = %connection.id, "a spent refresh token was used again; the connection is revoked");
            return Err(invalid_grant("the refresh token was already used; the connection is revoked"));
        }
        if token.expires_at <= now {
            tx.commit().await?;
            return Err(invalid_grant("the refresh token has expired"));
        }
        let permissions = match given(&p.scope).map(parse_scope) {
            None | Some(Ok(None)) => connection.permissions,
            Some(Ok(Some(asked))) if connection.permissions.covers(&asked) => asked,
            _ => return Err(OAuthError::new("invalid_scope", "a refresh may only narrow the granted scope")),
        };
        if let Some(r) = given(&p.resource) {
            if connection.resource.as_deref().is_some_and(|bound| bound != r.trim_end_matches('/')) {
                return Err(OAuthError::new("invalid_target", "resource differs from the connection's"));
            }
        }
        let tokens = self.issue(&mut *tx, &connection, permissions, now).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Issues an access and a refresh token for `connection`. A narrowed `scope` on
    /// refresh is reported but the connection keeps its grant (tokens act with the
    /// connection's permissions).
    async fn issue(
        &self,
        tx: &mut dyn tengine_ports::Transaction,
        connection: &Connection,
        scope: PermissionSet,
        now: DateTime<Utc>,
    ) -> Result<IssuedTokens, OAuthError> {
        let access = self.oauth_secret(ACCESS_PREFIX);
        let refresh = self.oauth_secret(REFRESH_PREFIX);
        let token = |kind, expires_at| OAuthToken { kind, connection_id: connection.id, expires_at, spent_at: None };
        tx.insert_oauth_token(access.digest(), &token(TokenKind::Access, now + ACCESS_LIFETIME)).await?;
        tx.insert_oauth_token(refresh.digest(), &token(TokenKind::Refresh, now + REFRESH_LIFETIME)).await?;
        Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: ACCESS_LIFETIME.num_seconds(),
            scope: scope_of(scope),
        })
    }

    /// Revokes a token (RFC 7009): an access token alone, a refresh token with its whole
    /// connection. Unknown tokens are not an error.
    ///
    /// # Errors
    /// `invalid_client`; `invalid_request` without a token.
    pub async fn revoke_oauth_token(&self, auth: &ClientAuth, token: Option<&str>) -> Result<(), OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| invalid_request("token is required"))?;
        let d = digest(token);
        let Some((found, connection)) = self.deps.store.find_oauth_token(d).await? else { return Ok(()) };
        if connection.integration_id != client.id {
            // RFC 7009 §2.1: another client's token is left alone, silently.
            return Ok(());
        }
        match found.kind {
            TokenKind::Access => {
                self.deps.store.delete_oauth_token(d).await?;
                self.oauth_tokens.evict_where(|k, _| *k == d);
            }
            TokenKind::Refresh => {
                let now = self.deps.clock.now();
                let mut tx = self.deps.store.begin().await?;
                let revoked = tx.revoke_connections(client.id, Some(connection.id), now).await?;
                self.disconnected(&mut *tx, &client, &revoked, "token_revoked").await?;
                tx.commit().await?;
                self.oauth_tokens.evict_where(|_, (_, c)| c.id == connection.id);
            }
        }
        tracing::info!(integration_id = %client.id, connection_id = %connection.id, "token revoked by its client");
        Ok(())
    }

    /// Registers a client with `project` (RFC 7591), when its policy allows.
    ///
    /// # Errors
    /// `access_denied` when registration is off for the project (or it does not exist);
    /// `invalid_redirect_uri` / `invalid_client_metadata` for bad metadata.
    pub async fn register_client(
        &self,
        project: ProjectId,
        r: RegistrationRequest,
    ) -> Result<(Integration, Option<OAuthSecret>), OAuthError> {
        let denied = || OAuthError::new("access_denied", "this project does not accept client registration");
        let policy = self.deps.store.registration_policy(project).await?.filter(|p| p.enabled).ok_or_else(denied)?;
        let account = self.project_account(project).await?.ok_or_else(denied)?;
        let meta = |why: String| OAuthError::new("invalid_client_metadata", why);
        let client_type = match r.token_endpoint_auth_method.as_deref() {
            None | Some("none") => ClientType::Public,
            Some("client_secret_basic" | "client_secret_post") => ClientType::Confidential,
            Some(other) => return Err(meta(format!("token_endpoint_auth_method '{other}' is not supported"))),
        };
        if let Some(g) = &r.grant_types {
            if let Some(bad) = g.iter().find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token")) {
                return Err(meta(format!("grant type '{bad}' is not supported")));
            }
        }
        if let Some(t) = &r.response_types {
            if t.iter().any(|t| t != "code") {
                return Err(meta("only the 'code' response type is supported".into()));
            }
        }
        let permissions = match r.scope.as_deref().map(parse_scope) {
            None | Some(Ok(None)) => policy.permissions,
            Some(Ok(Some(asked))) if policy.permissions.covers(&asked) => asked,
            Some(Ok(Some(_))) => {
                return Err(meta(format!("scope may be at most '{}' for this project", scope_of(policy.permissions))))
            }
            Some(Err(word)) => return Err(meta(format!("unknown scope '{word}'"))),
        };
        let name = r.client_name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Unnamed client".to_owned());
        let new = NewIntegration::parse(tengine_domain::integration::IntegrationDraft {
            name: name.chars().take(100).collect(),
            redirect_uris: r.redirect_uris,
            permissions: permissions.names().into_iter().map(str::to_owned).collect(),
            client_type: Some(client_type.as_str().to_owned()),
        })
        .map_err(|e| {
            let first = e.first();
            let code = if first.field.starts_with("redirect_uris") {
                "invalid_redirect_uri"
            } else {
                "invalid_client_metadata"
            };
            OAuthError::new(code, format!("{}: {}", first.field, first.reason))
        })?;
        if self.deps.store.count_dynamic_integrations(project).await? >= MAX_DYNAMIC_PER_PROJECT {
            return Err(meta(format!("this project already has {MAX_DYNAMIC_PER_PROJECT} registered clients")));
        }
        let now = self.deps.clock.now();
        let integration = Integration {
            id: IntegrationId::from_uuid(self.deps.ids.next_uuid()),
            account_id: account,
            project_id: project,
            name: new.name,
            redirect_uris: new.redirect_uris,
            permissions: new.permissions,
            client_type,
            dynamic: true,
            created_at: now,
            updated_at: now,
        };
        let secret = (client_type == ClientType::Confidential).then(|| self.oauth_secret(CLIENT_SECRET_PREFIX));
        let mut tx = self.deps.store.begin().await?;
        tx.insert_integration(&integration, secret.as_ref().map(OAuthSecret::digest)).await?;
        tx.commit().await?;
        tracing::info!(integration_id = %integration.id, project_id = %project, "client registered itself");
        Ok((integration, secret))
    }

    /// Registers a client that named no project (`POST /oauth/register`, what MCP clients
    /// given the plain `/mcp` URL find): it goes to the one project on this server that
    /// accepts registration.
    ///
    /// # Errors
    /// `access_denied` when no project accepts registration; `invalid_client_metadata`
    /// when several do (the client must use a project's own endpoint); as
    /// `register_client`.
    pub async fn register_client_anywhere(
        &self,
        r: RegistrationRequest,
    ) -> Result<(Integration, Option<OAuthSecret>), OAuthError> {
        match self.deps.store.registration_projects(2).await?.as_slice() {
            [] => Err(OAuthError::new("access_denied", "no project on this server accepts client registration")),
            [only] => self.register_client(*only, r).await,
            _ => Err(OAuthError::new(
                "invalid_client_metadata",
                "several projects accept registration: register at /oauth/projects/<project_id>/register \
                 (the project's MCP URL is /mcp/<project_id>)",
            )),
        }
    }

    /// The account of a live project, looked up without a caller (registration).
    async fn project_account(&self, project: ProjectId) -> Result<Option<tengine_domain::AccountId>, OAuthError> {
        Ok(self.deps.store.project_account(project).await?)
    }

    /// Authenticates an access token into the principal it acts as.
    pub(crate) async fn authenticate_oauth(&self, token: &str) -> Result<Principal, AppError> {
        let fail = |failure| AppError::Unauthenticated { failure, prefix: None };
        let d = digest(token);
        let now = self.deps.clock.now();
        let entry = match self.oauth_tokens.get(&d, now) {
            Some(e) => e,
            None => {
                let read_at = self.oauth_tokens.generation();
                let found = self.deps.store.find_oauth_token(d).await?.ok_or(fail(AuthFailure::Unknown))?;
                let found = Arc::new(found);
                self.oauth_tokens.put(d, Arc::clone(&found), now, read_at);
                found
            }
        };
        let (token, connection) = &*entry;
        if token.kind != TokenKind::Access || connection.revoked_at.is_some() {
            return Err(fail(AuthFailure::Unknown));
        }
        if token.expires_at <= now {
            return Err(fail(AuthFailure::Expired));
        }
        self.connections_used.note(connection.id, connection.last_used_at, now);
        Ok(Principal {
            account_id: connection.account_id,
            key_id: connection.approved_by,
            scope: KeyScope::Project(connection.project_id),
            permissions: connection.permissions,
            expires_at: Some(token.expires_at),
            session: None,
            oauth: Some(OAuthRef {
                integration_id: connection.integration_id,
                connection_id: connection.id,
                audience: connection.resource.as_deref().and_then(|r| Audience::of(r, connection.project_id)),
            }),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tengine_domain::integration::{pkce_verifies, RedirectUri};
    use tengine_domain::{Denied, KeyScope, Permission};
    use uuid::Uuid;

    use super::*;
    use crate::test_support::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn integration(client_type: ClientType) -> Integration {
        Integration {
            id: IntegrationId::from_uuid(Uuid::from_u128(50)),
            account_id: account_id(),
            project_id: project_id(5),
            name: "Agent".into(),
            redirect_uris: vec![RedirectUri::parse("http://127.0.0.1/cb").unwrap()],
            permissions: [Permission::Read, Permission::Write].into_iter().collect(),
            client_type,
            dynamic: false,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn connection(revoked: bool) -> Connection {
        Connection {
            id: ConnectionId::from_uuid(Uuid::from_u128(60)),
            account_id: account_id(),
            project_id: project_id(5),
            integration_id: integration(ClientType::Public).id,
            approved_by: tengine_domain::ApiKeyId::from_uuid(Uuid::from_u128(7)),
            permissions: [Permission::Read].into_iter().collect(),
            resource: None,
            created_at: now(),
            last_used_at: None,
            revoked_at: revoked.then(now),
        }
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(integration(ClientType::Public).id.to_string()),
            redirect_uri: Some("http://127.0.0.1:5000/cb".into()),
            scope: None,
            state: Some("s".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            resource: None,
        }
    }

    fn with_client(s: &mut tengine_ports::MockStore, client_type: ClientType) {
        let secret = (client_type == ClientType::Confidential).then(|| digest("tng_ocs_right"));
        s.expect_find_client().returning(move |_| Ok(Some((integration(client_type), secret))));
    }

    #[tokio::test]
    async fn a_bad_client_or_redirect_is_never_redirected_and_other_refusals_are() {
        let app = harness(|s| with_client(s, ClientType::Public));
        let evil = AuthorizeParams { redirect_uri: Some("https://evil.example/cb".into()), ..params() };
        assert!(matches!(app.authorize_request(&evil).await, Err(AuthorizeError::Unredirectable(_))));
        let plain = AuthorizeParams { code_challenge_method: Some("plain".into()), ..params() };
        match app.authorize_request(&plain).await {
            Err(AuthorizeError::Redirect { error, redirect_uri, state }) => {
                assert_eq!(error.code, "invalid_request");
                assert_eq!(redirect_uri, "http://127.0.0.1:5000/cb", "the loopback port given is kept");
                assert_eq!(state.as_deref(), Some("s"));
            }
            other => panic!("{other:?}"),
        }
        let admin = AuthorizeParams { scope: Some("read admin".into()), ..params() };
        assert!(
            matches!(app.authorize_request(&admin).await, Err(AuthorizeError::Redirect { error, .. }) if error.code == "invalid_scope")
        );
        let ok = app.authorize_request(&params()).await.unwrap();
        assert_eq!(ok.permissions, integration(ClientType::Public).permissions, "no scope asks for all it may");
    }

    #[tokio::test]
    async fn only_an_admin_key_of_the_project_approves_and_never_more_than_asked() {
        let app = harness(|s| {
            with_client(s, ClientType::Public);
            s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            s.expect_insert_auth_code().times(1).returning(|_, _| Ok(()));
        });
        let request = app.authorize_request(&params()).await.unwrap();
        let writer = principal(&[Permission::Read, Permission::Write], KeyScope::Project(project_id(5)));
        let err = app.approve_authorization(&writer, &request, None).await.unwrap_err();
        assert!(matches!(err, AppError::Forbidden(Denied::Missing(Permission::Admin))));
        let elsewhere = principal(&[Permission::Admin], KeyScope::Project(project_id(6)));
        assert!(matches!(app.approve_authorization(&elsewhere, &request, None).await, Err(AppError::ProjectNotFound)));
        let admin = principal(&[Permission::Admin], KeyScope::Project(project_id(5)));
        let more = [Permission::Admin].into_iter().collect();
        assert!(matches!(app.approve_authorization(&admin, &request, Some(more)).await, Err(AppError::Validation(_))));
        let mut expiring = admin.clone();
        expiring.expires_at = Some(now() + chrono::Duration::hours(1));
        let err = app.approve_authorization(&expiring, &request, None).await.unwrap_err();
        assert!(matches!(err, AppError::Forbidden(Denied::WouldOutlive)), "a connection would outlive the key");
        let code = app.approve_authorization(&admin, &request, None).await.unwrap();
        assert!(code.expose_secret().starts_with(CODE_PREFIX));
    }

    #[tokio::test]
    async fn a_confidential_client_must_present_its_secret_and_a_public_one_none() {
        let app = harness(|s| with_client(s, ClientType::Confidential));
        let id = integration(ClientType::Confidential).id.to_string();
        let token = |secret: Option<&str>| ClientAuth {
            client_id: Some(id.clone()),
            client_secret: secret.map(Into::into),
            basic: true,
        };
        let p = TokenParams { grant_type: Some("authorization_code".into()), ..TokenParams::default() };
        for wrong in [None, Some("tng_ocs_wrong")] {
            assert_eq!(app.token(&token(wrong), &p).await.unwrap_err().code, "invalid_client");
        }
        let public = harness(|s| with_client(s, ClientType::Public));
        let sent = ClientAuth {
            client_id: Some(integration(ClientType::Public).id.to_string()),
            client_secret: Some("x".into()),
            basic: false,
        };
        assert_eq!(public.token(&sent, &p).await.unwrap_err().code, "invalid_client");
    }

    #[tokio::test]
    async fn a_reused_code_revokes_the_connection_its_first_use_made() {
        let revoked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&revoked);
        let app = harness(move |s| {
            with_client(s, ClientType::Public);
            expect_tx(s, move |tx| {
                tx.expect_use_auth_code().returning(|_, _| {
                    Ok(Some(AuthCode {
                        integration_id: integration(ClientType::Public).id,
                        account_id: account_id(),
                        project_id: project_id(5),
                        redirect_uri: "http://127.0.0.1:5000/cb".into(),
                        code_challenge: CHALLENGE.into(),
                        permissions: [Permission::Read].into_iter().collect(),
                        resource: None,
                        approved_by: tengine_domain::ApiKeyId::from_uuid(Uuid::from_u128(7)),
                        expires_at: now() + CODE_LIFETIME,
                        used_at: Some(now()),
                        connection_id: Some(connection(false).id),
                    }))
                });
                tx.expect_revoke_connections().returning(move |_, one, _| {
                    seen.lock().unwrap().push(one);
                    Ok(vec![connection(true)])
                });
            });
        });
        let auth =
            ClientAuth { client_id: Some(integration(ClientType::Public).id.to_string()), ..ClientAuth::default() };
        let p = TokenParams {
            grant_type: Some("authorization_code".into()),
            code: Some("tng_oac_x".into()),
            redirect_uri: Some("http://127.0.0.1:5000/cb".into()),
            code_verifier: Some(VERIFIER.into()),
            ..TokenParams::default()
        };
        assert!(pkce_verifies(VERIFIER, CHALLENGE));
        assert_eq!(app.token(&auth, &p).await.unwrap_err().code, "invalid_grant");
        assert_eq!(*revoked.lock().unwrap(), vec![Some(connection(false).id)]);
    }

    #[tokio::test]
    async fn a_spent_refresh_token_used_again_revokes_the_whole_connection() {
        let app = harness(|s| {
            with_client(s, ClientType::Public);
            expect_tx(s, |tx| {
                tx.expect_spend_refresh_token().returning(|_, _| {
                    let token = OAuthToken {
                        kind: TokenKind::Refresh,
                        connection_id: connection(false).id,
                        expires_at: now() + REFRESH_LIFETIME,
                        spent_at: Some(now()),
                    };
                    Ok(Some((token, connection(false))))
                });
                tx.expect_revoke_connections().times(1).returning(|_, one, _| {
                    assert_eq!(one, Some(connection(false).id));
                    Ok(vec![connection(true)])
                });
            });
        });
        let auth =
            ClientAuth { client_id: Some(integration(ClientType::Public).id.to_string()), ..ClientAuth::default() };
        let p = TokenParams {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some("tng_ort_spent".into()),
            ..TokenParams::default()
        };
        assert_eq!(app.token(&auth, &p).await.unwrap_err().code, "invalid_grant");
    }

    #[tokio::test]
    async fn an_access_token_acts_as_a_project_scoped_key_with_the_grant() {
        let app = harness(|s| {
            s.expect_find_oauth_token().times(1).returning(|_| {
                let token = OAuthToken {
                    kind: TokenKind::Access,
                    connection_id: connection(false).id,
                    expires_at: now() + ACCESS_LIFETIME,
                    spent_at: None,
                };
                Ok(Some((token, connection(false))))
            });
        });
        let p = app.authenticate(Some("Bearer tng_oat_abc")).await.unwrap();
        assert_eq!(p.scope, KeyScope::Project(project_id(5)));
        assert!(p.permissions.allows(Permission::Read) && !p.permissions.allows(Permission::Write));
        assert_eq!(p.oauth.map(|o| o.connection_id), Some(connection(false).id));
        // Cached: the second use reads nothing.
        app.authenticate(Some("Bearer tng_oat_abc")).await.unwrap();
    }

    #[tokio::test]
    async fn revoked_refresh_and_expired_tokens_do_not_authenticate() {
        for (kind, revoked, expires_at) in [
            (TokenKind::Access, true, now() + ACCESS_LIFETIME),
            (TokenKind::Refresh, false, now() + ACCESS_LIFETIME),
            (TokenKind::Access, false, now()),
        ] {
            let app = harness(move |s| {
                s.expect_find_oauth_token().returning(move |_| {
                    let token = OAuthToken { kind, connection_id: connection(revoked).id, expires_at, spent_at: None };
                    Ok(Some((token, connection(revoked))))
                });
            });
            assert!(matches!(app.authenticate(Some("Bearer tng_oat_x")).await, Err(AppError::Unauthenticated { .. })));
        }
    }

    #[tokio::test]
    async fn registration_needs_the_projects_policy_and_stays_within_it() {
        let off = harness(|s| {
            s.expect_registration_policy().returning(|_| Ok(None));
        });
        let r =
            RegistrationRequest { redirect_uris: vec!["http://127.0.0.1/cb".into()], ..RegistrationRequest::default() };
        assert_eq!(off.register_client(project_id(5), r.clone()).await.unwrap_err().code, "access_denied");
        let on = harness(|s| {
            s.expect_registration_policy().returning(|_| {
                Ok(Some(tengine_domain::integration::RegistrationPolicy {
                    enabled: true,
                    permissions: [Permission::Read].into_iter().collect(),
                }))
            });
            s.expect_project_account().returning(|_| Ok(Some(account_id())));
        });
        let greedy = RegistrationRequest { scope: Some("read write".into()), ..r };
        assert_eq!(on.register_client(project_id(5), greedy).await.unwrap_err().code, "invalid_client_metadata");
    }
}
