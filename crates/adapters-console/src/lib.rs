//! The web console and the embeddable portal: the committed build of `console/`
//! (`cargo xtask dashboard` makes it), embedded in the binary and served with a strict
//! Content-Security-Policy. The pages talk only to the public `/api/v1`.
//!
//! - `/`: the console (`index.html`), never framed.
//! - `/assets/...`: hashed, immutable files, precompressed (brotli, gzip) when asked.
//! - `/portal/{session_id}`: a portal session's page; only the origins the session names
//!   may frame it, and an unknown or ended session is a 404.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use include_dir::{include_dir, Dir};
use std::borrow::Cow;
use tengine_application::{AppError, Tengine};
use tengine_domain::SessionId;

static ASSETS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets");

/// A built file: embedded, or in debug builds read from `TENGINE_CONSOLE_ASSETS_DIR` so
/// that console work (`npm run build`) shows without recompiling the server. Release
/// builds serve only what they embed.
fn load(name: &str) -> Option<Cow<'static, [u8]>> {
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os("TENGINE_CONSOLE_ASSETS_DIR") {
        // Names come from the router (`assets/{*file}`); refuse any that climb out.
        if name.split('/').any(|part| part == ".." || part.is_empty()) {
            return None;
        }
        return std::fs::read(std::path::Path::new(&dir).join(name)).ok().map(Cow::Owned);
    }
    ASSETS.get_file(name).map(|f| Cow::Borrowed(f.contents()))
}

/// Everything but `frame-ancestors`: scripts, styles and requests only from the server.
const CSP_BASE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'";

/// Turns an application error into the API's error envelope (the HTTP adapter's), so
/// a missing asset or an ended portal answers like any other API error.
pub type ErrorAnswer = fn(AppError) -> Response;

#[derive(Clone)]
struct Pages {
    tengine: Tengine,
    error: ErrorAnswer,
}

/// The console's and the portal's routes.
pub fn router(tengine: Tengine, error: ErrorAnswer) -> Router {
    Router::new()
        .route("/", get(console))
        .route("/assets/{*file}", get(asset))
        .route("/portal/{session_id}", get(portal))
        .with_state(Pages { tengine, error })
}

/// An HTML page with its CSP; pages are small and change with every release, so they
/// are revalidated, while the assets they name are immutable.
fn page(name: &str, frame_ancestors: &str) -> Response {
    let Some(file) = load(name) else {
        // The build always has both pages (a unit test checks it).
        return StatusCode::NOT_FOUND.into_response();
    };
    let csp = format!("{CSP_BASE}; frame-ancestors {frame_ancestors}");
    let mut res = file.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if frame_ancestors == "'none'" {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

async fn console() -> Response {
    page("index.html", "'none'")
}

async fn portal(State(pages): State<Pages>, Path(raw): Path<String>) -> Response {
    let Ok(id) = raw.parse::<SessionId>() else {
        return (pages.error)(AppError::NotFound(SessionId::KIND));
    };
    match pages.tengine.portal_frame_origins(id).await {
        Ok(origins) => {
            let ancestors = if origins.is_empty() { "'none'".to_owned() } else { origins.join(" ") };
            page("portal.html", &ancestors)
        }
        Err(e) => (pages.error)(e),
    }
}

/// The content type of an asset, by extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `Accept-Encoding` accepts `coding` (a `q=0` refuses it).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or_default().trim();
            let refused = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        },
    )
}

async fn asset(State(pages): State<Pages>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let name = format!("assets/{file}");
    // Only real files of the build; compressed copies are chosen below, never named.
    let plain = if name.ends_with(".br") || name.ends_with(".gz") { None } else { load(&name) };
    let Some(plain) = plain else {
        return (pages.error)(AppError::NotFound("asset"));
    };
    let (body, encoding) = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(&headers, coding))
        .find_map(|(coding, ext)| load(&format!("{name}{ext}")).map(|f| (f, Some(coding))))
        .unwrap_or((plain, None));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(coding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_read_with_their_weights() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=0"));
        assert!(accepts(&h, "gzip"));
        assert!(!accepts(&h, "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[test]
    fn every_built_page_and_asset_has_a_known_type() {
        assert!(ASSETS.get_file("index.html").is_some() && ASSETS.get_file("portal.html").is_some());
        let mut stack = vec![&ASSETS];
        while let Some(dir) = stack.pop() {
            for f in dir.files() {
                let name = f.path().to_string_lossy();
                let base = name.trim_end_matches(".br").trim_end_matches(".gz");
                assert_ne!(content_type(base), "application/octet-stream", "{name}");
            }
            stack.extend(dir.dirs());
        }
    }
}
