//! A Server-Sent Events parser (the HTML Living Standard's rules): lines end in LF, CRLF
//! or CR, wherever the chunks of the body split them; a blank line ends a message; a line
//! starting with `:` is a comment.

/// One message of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `id:`, when the message had one.
    pub id: Option<String>,
    /// `event:`, when the message had one.
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// Splits a byte stream into messages; feed it the body's chunks in order.
#[derive(Debug, Default)]
pub struct Parser {
    /// The unfinished line.
    line: Vec<u8>,
    /// Whether the last byte seen was a CR, so an LF right after it ends no second line.
    after_cr: bool,
    /// Whether the first line was seen (a byte order mark before it is dropped).
    started: bool,
    current: Message,
    has_data: bool,
}

impl Parser {
    /// Feeds `chunk`; returns the messages it completed.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Message> {
        let mut done = Vec::new();
        if self.after_cr {
            let Some(first) = chunk.first() else { return done };
            if *first == b'\n' {
                chunk = &chunk[1..];
            }
            self.after_cr = false;
        }
        while let Some(end) = chunk.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&chunk[..end]);
            let line = std::mem::take(&mut self.line);
            if let Some(message) = self.line(&line) {
                done.push(message);
            }
            // A CR ends the line at once (a stream may pause after it); an LF that follows
            // belongs to it, here or at the start of the next chunk.
            let crlf = chunk[end] == b'\r' && chunk.get(end + 1) == Some(&b'\n');
            self.after_cr = chunk[end] == b'\r' && end + 1 == chunk.len();
            chunk = &chunk[end + if crlf { 2 } else { 1 }..];
        }
        self.line.extend_from_slice(chunk);
        done
    }

    fn line(&mut self, raw: &[u8]) -> Option<Message> {
        let text = String::from_utf8_lossy(raw);
        let mut line: &str = &text;
        if !std::mem::replace(&mut self.started, true) {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            let message = std::mem::take(&mut self.current);
            return std::mem::take(&mut self.has_data).then_some(message);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "event" => self.current.event = Some(value.to_owned()),
            // `retry:` and unknown fields: nothing this client uses.
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, event: &str, data: &str) -> Message {
        Message { id: Some(id.to_owned()), event: Some(event.to_owned()), data: data.to_owned() }
    }

    /// Feeds `text` whole, byte by byte and cut at every position; all must agree.
    fn parse_every_way(text: &[u8]) -> Vec<Message> {
        let whole = Parser::default().push(text);
        let mut bytewise = Parser::default();
        let by_byte: Vec<_> = text.iter().flat_map(|b| bytewise.push(std::slice::from_ref(b))).collect();
        assert_eq!(by_byte, whole, "byte by byte");
        for cut in 0..=text.len() {
            let mut parser = Parser::default();
            let mut split = parser.push(&text[..cut]);
            split.extend(parser.push(&text[cut..]));
            assert_eq!(split, whole, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn messages_are_the_same_however_the_body_is_chunked_and_whatever_ends_its_lines() {
        let expected = vec![message("evt_1", "api_key.created", "{\"id\":\"evt_1\"}"), message("evt_2", "x", "a\nb")];
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["id: evt_1", "event: api_key.created", "data: {\"id\":\"evt_1\"}", "", "id:evt_2", "event: x"]
                .into_iter()
                .chain(["data: a", "data:b", "", ""])
                .collect::<Vec<_>>()
                .join(eol);
            assert_eq!(parse_every_way(text.as_bytes()), expected, "{eol:?}");
        }
        let mixed = b"id: evt_1\r\nevent: api_key.created\rdata: {\"id\":\"evt_1\"}\n\r\nid: evt_2\nevent: x\r\ndata: a\rdata:b\r\n\r";
        assert_eq!(parse_every_way(mixed), expected);
    }

    #[test]
    fn comments_blank_lines_and_messages_without_data_yield_nothing() {
        assert!(parse_every_way(b": keep-alive\n\n:\n\nid: evt_1\nevent: x\n\n\n\n").is_empty());
        let mut parser = Parser::default();
        assert!(parser.push(b"data: half").is_empty(), "an unfinished line waits");
        assert!(parser.push(b"\n").is_empty(), "an unfinished message waits");
        assert_eq!(parser.push(b"\n"), vec![Message { data: "half".to_owned(), ..Message::default() }]);
    }

    #[test]
    fn a_cr_ends_its_line_at_once_and_the_lf_after_it_in_the_next_chunk_ends_no_other() {
        let mut parser = Parser::default();
        assert!(parser.push(b"data: x\r").is_empty());
        assert_eq!(parser.push(b"\r").len(), 1, "CR CR is a line and a blank line, dispatched without waiting");
        let mut parser = Parser::default();
        assert!(parser.push(b"data: x\r").is_empty());
        assert!(parser.push(b"\n").is_empty(), "the LF of a CRLF split across chunks is not a blank line");
        assert_eq!(parser.push(b"\r\n").len(), 1);
    }

    #[test]
    fn fields_follow_the_standard() {
        let text = "\u{feff}data\nid: a\0b\nevent:  two spaces\nretry: 10\nunknown: x\ndata:  y\n\n";
        let got = parse_every_way(text.as_bytes());
        let want = Message { id: None, event: Some(" two spaces".to_owned()), data: "\n y".to_owned() };
        assert_eq!(got, vec![want], "a BOM is dropped, a bare field has an empty value, one space is stripped");
        let utf8 = "data: h\u{e9}llo \u{1f600}\n\n";
        assert_eq!(parse_every_way(utf8.as_bytes())[0].data, "h\u{e9}llo \u{1f600}", "characters split across chunks");
    }
}
