//! Extractors that answer every rejection with our error envelope.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::RawPathParams;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use tengine_domain::{
    ApiKeyId, ConnectionId, DeliveryId, FieldError, IntegrationId, PageParams, PageRequest, Principal, ProjectId,
    SessionId, SigningKeyId, ToolCallId, ToolId, ValidationError, Validator, WebhookId,
};

use crate::error::ApiError;
use crate::rate_headers::named_project;
use crate::slot::note_route;
use crate::state::AppState;

/// The request body cap (SPEC: 1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body: `application/json`, at most 1 MiB, deserialized with field paths.
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body (with or without a content type) is `None`. A
/// body of only whitespace is not empty: as JSON it is malformed.
pub struct OptionalJson<T>(pub Option<T>);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(BODY_LIMIT)
        } else {
            ApiError::malformed_json("the request body could not be read")
        }
    })
}

/// Deserializes a JSON object body from `bytes`, naming the failing field.
///
/// # Errors
/// 400 for bytes that are not exactly one JSON value (trailing bytes included); a 422 `VALIDATION_ERROR` for JSON that is not an
/// object or does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde also reads a struct from a JSON array (`[]` would be an empty patch), but every
    // body is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => ApiError::malformed_json(strip_position(&e.to_string())),
            Ok(_) => ApiError::invalid_field("body", "must be a JSON object"),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = strip_position(&inner.to_string());
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return ApiError::malformed_json(message);
        }
        // A body that is not one JSON value is malformed first, whatever its first value holds.
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return ApiError::malformed_json(strip_position(&e.to_string()));
        }
        field_error(&path, &message).into()
    })?;
    // Only whitespace may follow the value: `{..} trailing` or `{..}{..}` is not one JSON body.
    de.end().map_err(|e| ApiError::malformed_json(strip_position(&e.to_string())))?;
    Ok(value)
}

/// Turns a serde data error into a field error: `unknown field `x`` names `x`.
fn field_error(path: &str, message: &str) -> ValidationError {
    let quoted = message.split('`').nth(1).unwrap_or("");
    let top = path == "." || path.is_empty();
    let join = |name: &str| if top { name.to_owned() } else { format!("{path}.{name}") };
    if message.starts_with("unknown field") {
        // The path of an unknown field already ends with the field itself.
        let field = if top { quoted.to_owned() } else { path.to_owned() };
        FieldError::new(field, "unknown field").into()
    } else if message.starts_with("missing field") {
        FieldError::new(join(quoted), "is required").into()
    } else if top {
        FieldError::new("body", message).into()
    } else {
        FieldError::new(path, message).into()
    }
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// The authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let slot = note_route(&parts.extensions);
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            // A non-ASCII header is a malformed key, not a missing one.
            Some(v) => Some(v.to_str().unwrap_or("invalid")),
        };
        let admission = state.tengine.admit_request(header, || named_project(parts.uri.path()), state.metering).await?;
        let refusal = admission.refusal().copied();
        let principal = admission.principal.clone();
        if let Some(slot) = slot {
            let _ = slot.0.auth.set(admission);
        }
        match refusal {
            Some(d) => Err(ApiError::rate_limited(&d)),
            None => Ok(Auth(principal)),
        }
    }
}

/// Query parameters, parsed strictly: unknown or repeated names are refused.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses the raw query, allowing only `allowed` names.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` naming the bad parameter.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| ApiError::invalid_field("query", "is not a valid URL-encoded query string"))?;
        let mut v = Validator::new();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let known = allowed.join(", ");
                v.push(FieldError::new(
                    name.chars().take(64).collect::<String>(),
                    format!("unknown query parameter (known: {known})"),
                ));
            } else if pairs[..i].iter().any(|(n, _)| n == name) {
                v.push(FieldError::new(name.clone(), "must not be repeated"));
            }
        }
        v.finish()?;
        Ok(Self { pairs })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The page request from `page` and `per_page`.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` for out-of-range or non-integer values.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.get("page"), self.get("per_page"))?)
    }

    /// The page request of a list that also pages by cursor: `page` and `per_page`, or
    /// `starting_after` / `ending_before` (add [`CURSOR_PARAMS`] to the allowed names).
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` naming each bad value.
    pub fn cursor_page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse_params(PageParams {
            page: self.get("page"),
            per_page: self.get("per_page"),
            starting_after: self.get("starting_after"),
            ending_before: self.get("ending_before"),
        })?)
    }
}

/// The query parameters of a list that pages by number or by cursor.
pub const CURSOR_PARAMS: [&str; 4] = ["page", "per_page", "starting_after", "ending_before"];

/// The typed ids of a path: `Ids<ProjectId>`, `Ids<(ProjectId, ApiKeyId)>`, ... A
/// malformed project id is `PROJECT_NOT_FOUND` and any other malformed id `NOT_FOUND`
/// naming its kind, exactly as if it did not exist; a path that cannot be decoded is a
/// route not found.
pub struct Ids<T>(pub T);

/// One id of a path.
pub trait PathId: Sized {
    /// Parses a path segment, answering a malformed one as not found.
    ///
    /// # Errors
    /// The not-found error of this kind of resource.
    fn from_segment(raw: &str) -> Result<Self, ApiError>;
}

impl PathId for ProjectId {
    fn from_segment(raw: &str) -> Result<Self, ApiError> {
        raw.parse().map_err(|_| ApiError::project_not_found())
    }
}

macro_rules! path_id {
    ($($id:ty),+) => {$(
        impl PathId for $id {
            fn from_segment(raw: &str) -> Result<Self, ApiError> {
                raw.parse().map_err(|_| ApiError::not_found(<$id>::KIND))
            }
        }
    )+};
}
path_id!(ApiKeyId, WebhookId, DeliveryId, ToolId, ToolCallId, SessionId, SigningKeyId, IntegrationId, ConnectionId);

/// The ids of a whole path, in order.
pub trait PathIds: Sized {
    /// Parses the path's segments.
    ///
    /// # Errors
    /// As [`PathId::from_segment`]; a route not found for the wrong number of segments.
    fn from_segments(raw: &[&str]) -> Result<Self, ApiError>;
}

impl<A: PathId> PathIds for A {
    fn from_segments(raw: &[&str]) -> Result<Self, ApiError> {
        match raw {
            [a] => A::from_segment(a),
            _ => Err(ApiError::not_found("route")),
        }
    }
}

impl<A: PathId, B: PathId> PathIds for (A, B) {
    fn from_segments(raw: &[&str]) -> Result<Self, ApiError> {
        match raw {
            [a, b] => Ok((A::from_segment(a)?, B::from_segment(b)?)),
            _ => Err(ApiError::not_found("route")),
        }
    }
}

impl<A: PathId, B: PathId, C: PathId> PathIds for (A, B, C) {
    fn from_segments(raw: &[&str]) -> Result<Self, ApiError> {
        match raw {
            [a, b, c] => Ok((A::from_segment(a)?, B::from_segment(b)?, C::from_segment(c)?)),
            _ => Err(ApiError::not_found("route")),
        }
    }
}

impl<T: PathIds, S: Send + Sync> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found("route"))?;
        let segments: Vec<&str> = params.iter().map(|(_, value)| value).collect();
        T::from_segments(&segments).map(Ids)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde::Deserialize;

    use super::parse_json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Patch {
        #[serde(default)]
        name: Option<String>,
    }

    #[test]
    fn a_json_array_is_not_read_as_a_struct() {
        // Found by schemathesis: `PATCH /projects/{id}` with `[]` answered 200.
        for body in ["[]", "[\"x\"]", " [null]", "null", "1", "\"name\"", "true"] {
            let err = parse_json::<Patch>(body.as_bytes()).expect_err(body);
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        }
    }

    #[test]
    fn broken_json_is_still_a_400_and_objects_still_parse() {
        for body in ["", "[", "{", "[1,", "nul", "{\"name\":}"] {
            let err = parse_json::<Patch>(body.as_bytes()).expect_err(body);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        }
        let patch = parse_json::<Patch>(b" {\"name\": \"a\"}").expect("an object parses");
        assert_eq!(patch.name.as_deref(), Some("a"));
    }

    #[test]
    fn bytes_after_the_json_value_are_malformed_json() {
        // Found by attacking the server: `{"name":"x"} trailing` created a project.
        let bodies = [
            "{\"name\":\"x\"} trailing",
            "{\"name\":\"x\"}{}",
            "{} {}",
            "{\"name\":\"x\"} 1",
            "{\"name\":\"x\"}\u{0}",
            // The first value does not fit the struct, but the body is malformed all the same.
            "{\"name\":5} x",
            "{\"nope\":1} ]",
            "[] x",
        ];
        for body in bodies {
            let err = parse_json::<Patch>(body.as_bytes()).expect_err(body);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{body}");
        }
        let patch = parse_json::<Patch>(b"{\"name\":\"x\"} \r\n\t ").expect("trailing whitespace is fine");
        assert_eq!(patch.name.as_deref(), Some("x"));
    }
}
