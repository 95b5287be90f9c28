//! Answers written straight to a socket, for connections the server refuses before any
//! HTTP parser reads them (past the connection cap): the same envelope and headers as
//! every other error.

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::{edge, request_id};

/// A whole HTTP/1.1 answer with `Connection: close` carrying `error`'s envelope.
pub async fn http1_bytes(error: ApiError) -> Vec<u8> {
    let id = request_id::fresh();
    let res = request_id::scope(id.clone(), async move { error.into_response() }).await;
    let (mut parts, body) = res.into_parts();
    edge::finish_headers(&mut parts.headers, HeaderValue::from_str(&id).ok());
    // An envelope is a few hundred bytes held in memory: reading it cannot fail.
    let body = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let mut out = format!("HTTP/1.1 {}\r\n", parts.status).into_bytes();
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH || name == header::CONNECTION {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::ApiError;

    #[tokio::test]
    async fn a_refusal_is_a_complete_http1_answer_with_the_envelope() {
        let raw = super::http1_bytes(ApiError::unavailable().detail("reason", "full")).await;
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{head}");
        assert!(head.contains("\r\nretry-after: 1\r\n") && head.contains("\r\nconnection: close"), "{head}");
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "SERVICE_UNAVAILABLE");
        let id = json["error"]["request_id"].as_str().unwrap();
        assert!(head.contains(&format!("\r\nx-request-id: {id}\r\n")), "{head}");
    }
}
