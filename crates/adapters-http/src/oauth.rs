//! The OAuth 2.1 authorization server's HTTP surface, outside `/api/v1` and its OpenAPI
//! document: metadata (RFC 8414, RFC 9728), `/oauth/authorize` (which sends the person
//! to the console's consent page), `/oauth/token`, `/oauth/revoke` (RFC 7009) and
//! dynamic registration (RFC 7591). Errors here use OAuth's own format (RFC 6749
//! §5.2): `{"error": "...", "error_description": "..."}`, as OAuth clients expect.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use tengine_application::{AuthorizeError, AuthorizeParams, ClientAuth, OAuthError, RegistrationRequest, TokenParams};
use tengine_domain::ProjectId;
use tower_http::cors::{Any, CorsLayer};

use crate::mcp::public_origin;
use crate::state::AppState;

/// The authorization server's routes (with CORS open to any origin: they take no
/// cookies, and browser-based MCP clients call them).
pub(crate) fn router() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("mcp-protocol-version"),
        ]);
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(server_metadata))
        .route("/.well-known/oauth-authorization-server/oauth/projects/{project_id}", get(project_server_metadata))
        .route("/.well-known/oauth-protected-resource", get(mcp_resource_metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(mcp_resource_metadata))
        .route("/.well-known/oauth-protected-resource/mcp/{project_id}", get(project_mcp_resource_metadata))
        .route("/.well-known/oauth-protected-resource/api/v1", get(api_resource_metadata))
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/register", post(register_without_project))
        .route("/oauth/projects/{project_id}/register", post(register))
        .layer(cors)
}

/// An OAuth error answer (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, e: &OAuthError) -> Response {
    let body = json!({"error": e.code, "error_description": e.description});
    (status, Json(body)).into_response()
}

/// The status an OAuth error code answers with.
fn status_of(e: &OAuthError) -> StatusCode {
    match e.code {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "access_denied" => StatusCode::FORBIDDEN,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn error_response(e: &OAuthError, basic: bool) -> Response {
    let mut res = oauth_error(status_of(e), e);
    if e.code == "invalid_client" && basic {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tengine\""));
    }
    res
}

/// RFC 8414 metadata for `issuer`; `registration` is the RFC 7591 endpoint, if any.
fn metadata(origin: &str, issuer: &str, registration: Option<String>) -> Value {
    let mut m = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{origin}/oauth/authorize"),
        "token_endpoint": format!("{origin}/oauth/token"),
        "revocation_endpoint": format!("{origin}/oauth/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "service_documentation": format!("{origin}/"),
    });
    if let (Some(r), Some(o)) = (registration, m.as_object_mut()) {
        o.insert("registration_endpoint".into(), Value::String(r));
    }
    m
}

/// `/.well-known/oauth-authorization-server`: the server-wide issuer; its registration
/// endpoint takes clients for the one project that accepts them (see
/// `register_without_project`).
async fn server_metadata(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let origin = public_origin(&s.tengine, &headers);
    Json(metadata(&origin, &origin, Some(format!("{origin}/oauth/register")))).into_response()
}

/// A project's issuer (`<origin>/oauth/projects/<id>`), whose metadata adds the
/// project's registration endpoint: what `/mcp/<id>`'s resource metadata names, so an
/// MCP client that was never configured can register itself.
async fn project_server_metadata(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else { return not_found() };
    let origin = public_origin(&s.tengine, &headers);
    let issuer = format!("{origin}/oauth/projects/{project}");
    Json(metadata(&origin, &issuer, Some(format!("{issuer}/register")))).into_response()
}

fn not_found() -> Response {
    oauth_error(StatusCode::NOT_FOUND, &OAuthError::new("not_found", "no such resource"))
}

/// RFC 9728 metadata for a protected resource. Scopes are the permission names
/// (`read write webhook admin`); `scopes_supported` is left out on purpose, here and in
/// the server metadata: MCP clients ask for every scope advertised, and an integration
/// that may ask for less would then be refused, while asking for none gets all the
/// integration may have (the consent page can still grant less).
fn resource_metadata(resource: String, server: String) -> Response {
    Json(json!({
        "resource": resource,
        "authorization_servers": [server],
        "bearer_methods_supported": ["header"],
        "resource_name": "Tengine",
    }))
    .into_response()
}

/// `/mcp`: served by the server-wide issuer (listing tools takes `read`, calling them
/// `write`).
async fn mcp_resource_metadata(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let origin = public_origin(&s.tengine, &headers);
    resource_metadata(format!("{origin}/mcp"), origin)
}

/// `/mcp/<project>`: served by the project's issuer, which accepts registration.
async fn project_mcp_resource_metadata(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else { return not_found() };
    let origin = public_origin(&s.tengine, &headers);
    resource_metadata(format!("{origin}/mcp/{project}"), format!("{origin}/oauth/projects/{project}"))
}

/// `/api/v1`.
async fn api_resource_metadata(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let origin = public_origin(&s.tengine, &headers);
    resource_metadata(format!("{origin}/api/v1"), origin)
}

/// `uri` with `params` (and `state`) added to its query.
pub(crate) fn redirect_with(uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(uri) else { return uri.to_owned() };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    url.into()
}

/// A page for a person at the browser when a request cannot be sent back to its client.
fn error_page(e: &OAuthError) -> Response {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Authorization failed</title>\
         <body style=\"font-family:system-ui;max-width:40rem;margin:4rem auto\"><h1>This authorization request cannot be used</h1>\
         <p><code>{}</code>: {}</p><p>Return to the application and try again.</p></body>",
        escape(e.code),
        escape(&e.description)
    );
    let mut res = (StatusCode::BAD_REQUEST, html).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    res
}

/// `GET /oauth/authorize`: checks the request and sends the browser to the console's
/// consent page with it, or the refusal back to the client (RFC 6749 §4.1.2.1). A bad
/// client or redirect URI is never redirected to.
async fn authorize(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    let params = match parse_authorize(&q) {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match s.tengine.authorize_request(&params).await {
        Ok(_) => Redirect::to(&format!("/#/oauth/consent?{q}")).into_response(),
        Err(AuthorizeError::Unredirectable(e)) => error_page(&e),
        Err(AuthorizeError::Redirect { error, redirect_uri, state }) => {
            let to = redirect_with(
                &redirect_uri,
                &[("error", error.code), ("error_description", &error.description)],
                state.as_deref(),
            );
            Redirect::to(&to).into_response()
        }
    }
}

/// The authorization request's parameters; a repeated one is refused (RFC 6749 §3.1).
fn parse_authorize(q: &str) -> Result<AuthorizeParams, OAuthError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q).map_err(|_| OAuthError::new("invalid_request", "the query is not valid"))?;
    let mut p = AuthorizeParams::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "response_type" => &mut p.response_type,
            "client_id" => &mut p.client_id,
            "redirect_uri" => &mut p.redirect_uri,
            "scope" => &mut p.scope,
            "state" => &mut p.state,
            "code_challenge" => &mut p.code_challenge,
            "code_challenge_method" => &mut p.code_challenge_method,
            "resource" => &mut p.resource,
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return Err(OAuthError::new("invalid_request", format!("{k} is repeated")));
        }
    }
    Ok(p)
}

/// A form body's parameters, each at most once.
fn form(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form {
        return Err(OAuthError::new("invalid_request", "the body must be application/x-www-form-urlencoded"));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new("invalid_request", "the body is not a valid form"))?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(other, _)| other == k) {
            return Err(OAuthError::new("invalid_request", format!("{k} is repeated")));
        }
    }
    Ok(pairs)
}

/// The client's credentials from `Authorization: Basic` (RFC 6749 §2.3.1: each part
/// form-encoded) or the body; both at once is refused.
fn client_auth(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<ClientAuth, OAuthError> {
    let field = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let basic = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) if v.len() > 6 && v[..6].eq_ignore_ascii_case("basic ") => {
            let bad = || OAuthError::new("invalid_client", "the Basic credentials are malformed");
            let raw = base64::engine::general_purpose::STANDARD.decode(v[6..].trim()).map_err(|_| bad())?;
            let raw = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
            let decode = |s: &str| percent_decode(s).ok_or_else(bad);
            Some((decode(id)?, decode(secret)?))
        }
        Some(_) => return Err(OAuthError::new("invalid_client", "only Basic client authentication is accepted here")),
    };
    match basic {
        Some((id, secret)) => {
            if field("client_secret").is_some() {
                return Err(OAuthError::new("invalid_request", "use one client authentication method"));
            }
            if field("client_id").is_some_and(|c| c != id) {
                return Err(OAuthError::new("invalid_client", "client_id differs from the Basic credentials"));
            }
            Ok(ClientAuth { client_id: Some(id), client_secret: Some(secret), basic: true })
        }
        None => Ok(ClientAuth { client_id: field("client_id"), client_secret: field("client_secret"), basic: false }),
    }
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential part.
fn percent_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&format!("v={}", s.replace('&', "%26").replace('=', "%3D"))).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// A client's form request: its parameters and how it authenticated, or the refusal.
fn client_request(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<(String, String)>, ClientAuth), Refusal> {
    let pairs = form(headers, body).map_err(|e| Refusal(e, false))?;
    let auth = client_auth(headers, &pairs).map_err(|e| Refusal(e, true))?;
    Ok((pairs, auth))
}

/// A refused client request, and whether its answer names Basic authentication.
struct Refusal(OAuthError, bool);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error_response(&self.0, self.1)
    }
}

/// `POST /oauth/token`.
async fn token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (pairs, auth) = match client_request(&headers, &body) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let field = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let params = TokenParams {
        grant_type: field("grant_type"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        code_verifier: field("code_verifier"),
        refresh_token: field("refresh_token"),
        scope: field("scope"),
        resource: field("resource"),
    };
    match s.tengine.token(&auth, &params).await {
        Ok(t) => {
            let body = json!({
                "access_token": t.access_token.expose_secret(),
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "refresh_token": t.refresh_token.expose_secret(),
                "scope": t.scope,
            });
            let mut res = Json(body).into_response();
            res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => error_response(&e, auth.basic),
    }
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token existed.
async fn revoke(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (pairs, auth) = match client_request(&headers, &body) {
        Ok(r) => r,
        Err(refused) => return refused.into_response(),
    };
    let token = pairs.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str());
    match s.tengine.revoke_oauth_token(&auth, token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error_response(&e, auth.basic),
    }
}

/// A client's registration metadata (RFC 7591 §2); unknown fields are ignored, as the
/// RFC asks.
#[derive(Deserialize)]
struct RegistrationBody {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
}

/// `POST /oauth/register`: a registration that names no project goes to the one project
/// of this server that accepts registration (see `register_client_anywhere`).
async fn register_without_project(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match registration_request(&headers, &body) {
        Ok(r) => r,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, &e),
    };
    registered(s.tengine.register_client_anywhere(request).await)
}

/// `POST /oauth/projects/{project_id}/register` (RFC 7591), when the project allows it.
async fn register(State(s): State<AppState>, Path(project): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let denied = OAuthError::new("access_denied", "this project does not accept client registration");
    let Ok(project) = project.parse::<ProjectId>() else { return oauth_error(StatusCode::FORBIDDEN, &denied) };
    let request = match registration_request(&headers, &body) {
        Ok(r) => r,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, &e),
    };
    registered(s.tengine.register_client(project, request).await)
}

/// A registration's JSON metadata, or the refusal.
fn registration_request(headers: &HeaderMap, body: &[u8]) -> Result<RegistrationRequest, OAuthError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(OAuthError::new("invalid_client_metadata", "the body must be JSON"));
    }
    let meta: RegistrationBody = serde_json::from_slice(body)
        .map_err(|e| OAuthError::new("invalid_client_metadata", format!("the metadata is not valid: {e}")))?;
    Ok(RegistrationRequest {
        redirect_uris: meta.redirect_uris,
        client_name: meta.client_name,
        token_endpoint_auth_method: meta.token_endpoint_auth_method,
        grant_types: meta.grant_types,
        response_types: meta.response_types,
        scope: meta.scope,
    })
}

/// The RFC 7591 answer to a registration.
fn registered(
    result: Result<
        (tengine_domain::integration::Integration, Option<tengine_domain::integration::OAuthSecret>),
        OAuthError,
    >,
) -> Response {
    match result {
        Ok((i, secret)) => {
            let method = match &secret {
                Some(_) => "client_secret_basic",
                None => "none",
            };
            let mut body = json!({
                "client_id": i.id.to_string(),
                "client_id_issued_at": i.created_at.timestamp(),
                "client_name": i.name,
                "redirect_uris": i.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": method,
                "scope": tengine_domain::integration::scope_of(i.permissions),
            });
            if let (Some(secret), Some(o)) = (secret, body.as_object_mut()) {
                o.insert("client_secret".into(), Value::String(secret.expose_secret().to_owned()));
                o.insert("client_secret_expires_at".into(), Value::from(0));
            }
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => oauth_error(status_of(&e), &e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_registered_query_and_add_the_answer() {
        let to = redirect_with("http://127.0.0.1:5000/cb?x=1", &[("code", "tng_oac_a b")], Some("s&t"));
        assert_eq!(to, "http://127.0.0.1:5000/cb?x=1&code=tng_oac_a+b&state=s%26t");
        let native = redirect_with("com.example.app:/cb", &[("error", "access_denied")], None);
        assert_eq!(native, "com.example.app:/cb?error=access_denied");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse_authorize("client_id=a&client_id=b").is_err());
        let p = parse_authorize("client_id=a&scope=read%20write&unknown=1").unwrap();
        assert_eq!(p.scope.as_deref(), Some("read write"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let raw = base64::engine::general_purpose::STANDARD.encode("int_x:a%2Bb");
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {raw}")).unwrap());
        let auth = client_auth(&h, &[]).unwrap();
        assert_eq!(auth.client_secret.as_deref(), Some("a+b"));
        assert!(auth.basic);
    }
}
