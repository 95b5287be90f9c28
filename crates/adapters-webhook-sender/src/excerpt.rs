//! The logged excerpt of a receiver's response: its first 1 KiB, read chunk by chunk
//! so a huge or endless body is never buffered or waited for.

/// The most bytes of a response body kept.
pub(crate) const EXCERPT_LIMIT: usize = 1024;

/// The first [`EXCERPT_LIMIT`] bytes of `response`'s body as lossy UTF-8 (at most that
/// many bytes), and the error that cut reading short, if any.
pub(crate) async fn read(response: &mut reqwest::Response) -> (String, Option<reqwest::Error>) {
    let mut bytes = Vec::new();
    let mut error = None;
    while bytes.len() < EXCERPT_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let wanted = EXCERPT_LIMIT - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(wanted)]);
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    (to_text(&bytes), error)
}

/// Lossy UTF-8, trimmed back under the limit: each invalid byte becomes a 3-byte
/// replacement character, so the text can be longer than the bytes.
fn to_text(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    while text.len() > EXCERPT_LIMIT {
        text.pop();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_kept_whole() {
        assert_eq!(to_text(b"{\"ok\":true}"), "{\"ok\":true}");
    }

    #[test]
    fn invalid_bytes_never_push_the_text_past_the_limit() {
        let text = to_text(&[0xff; EXCERPT_LIMIT]);
        assert!(text.len() <= EXCERPT_LIMIT);
        assert!(text.chars().all(|c| c == char::REPLACEMENT_CHARACTER));
    }
}
