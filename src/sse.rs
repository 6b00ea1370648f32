//! The `text/event-stream` interpretation of the HTML Living Standard
//! (section 9.2.6, "Interpreting an event stream"), streaming: bytes arrive
//! in any pieces, lines end in CR, LF or CRLF (a CR at a piece's end may
//! still pair with the next piece's LF), a leading BOM is dropped once.

use serde::Serialize;

use crate::session::SessionRef;

/// A dispatched server-sent event, where it arrived (the `sse-event` record).
#[derive(Debug, Clone, Serialize)]
pub struct SseRecord {
    /// The connection (and stream, over HTTP/2) of the event stream.
    #[serde(skip)]
    pub session: SessionRef,
    /// The TCP connection's id.
    pub conn: u64,
    /// The packet that completed the event.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// The last event ID at dispatch.
    pub id: Option<String>,
    /// The event type (`message` unless an `event` field set one).
    pub event: String,
    /// The data, its lines joined by LF.
    pub data: String,
    /// The reconnection time set by this event's block.
    pub retry: Option<u64>,
}

/// A dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The last event ID string at dispatch (None until an `id` field set one).
    pub id: Option<String>,
    /// The event type.
    pub event: String,
    /// The data.
    pub data: String,
    /// The reconnection time set by a `retry` field of this event's block.
    pub retry: Option<u64>,
}

/// What the parser noticed that breaks the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseProblem {
    /// Bytes that are not UTF-8 (decoded with U+FFFD, as the standard says).
    InvalidUtf8,
    /// A `retry` field whose value is not only ASCII digits (ignored).
    InvalidRetry(String),
}

/// Longest line kept; longer lines are cut (their tail dropped).
const MAX_LINE: usize = 1 << 20;

/// The event-stream parser of one response body.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    line_cut: bool,
    /// The previous piece ended in CR: a LF starting this one belongs to it.
    after_cr: bool,
    started: bool,
    data: String,
    event: String,
    last_id: Option<String>,
    id_buffer: Option<String>,
    retry: Option<u64>,
    bad_utf8_reported: bool,
}

impl SseParser {
    /// A parser at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds body bytes; calls `on_event` per dispatched event and `on_problem` per problem.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        on_event: &mut dyn FnMut(SseEvent),
        on_problem: &mut dyn FnMut(SseProblem),
    ) {
        if bytes.is_empty() {
            return; // nothing, and a pending CR still waits for its LF
        }
        if !self.started {
            // A BOM may be split; wait for three bytes before judging.
            let mut head = self.line.clone();
            head.extend_from_slice(&bytes[..bytes.len().min(3)]);
            if head.len() < 3 && b"\xEF\xBB\xBF".starts_with(&head) {
                self.line = head;
                return;
            }
            self.started = true;
            if head.starts_with(b"\xEF\xBB\xBF") {
                let from_line = self.line.len();
                self.line.clear();
                bytes = &bytes[3 - from_line..];
            }
        }
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(i) = bytes.iter().position(|&b| b == b'\r' || b == b'\n') {
            self.push_line_bytes(&bytes[..i]);
            let line = std::mem::take(&mut self.line);
            self.line_cut = false;
            self.process_line(&line, on_event, on_problem);
            self.line = line;
            self.line.clear();
            if bytes[i] == b'\r' {
                if i + 1 < bytes.len() {
                    if bytes[i + 1] == b'\n' {
                        bytes = &bytes[i + 2..];
                        continue;
                    }
                } else {
                    self.after_cr = true;
                }
            }
            bytes = &bytes[i + 1..];
        }
        self.push_line_bytes(bytes);
    }

    fn push_line_bytes(&mut self, b: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        if b.len() > room {
            self.line_cut = true;
        }
        self.line.extend_from_slice(&b[..b.len().min(room)]);
    }

    fn process_line(
        &mut self,
        raw: &[u8],
        on_event: &mut dyn FnMut(SseEvent),
        on_problem: &mut dyn FnMut(SseProblem),
    ) {
        let line = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                if !self.bad_utf8_reported {
                    self.bad_utf8_reported = true;
                    on_problem(SseProblem::InvalidUtf8);
                }
                String::from_utf8_lossy(raw)
            }
        };
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line.starts_with(':') {
            return; // a comment
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.id_buffer = Some(value.to_string()),
            "retry" => {
                if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                    // Digits beyond u64 saturate rather than wrap.
                    self.retry = Some(value.parse().unwrap_or(u64::MAX));
                } else {
                    on_problem(SseProblem::InvalidRetry(value.chars().take(40).collect()));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut dyn FnMut(SseEvent)) {
        self.last_id = self.id_buffer.clone();
        let retry = self.retry.take();
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let event = if self.event.is_empty() {
            "message".to_string()
        } else {
            std::mem::take(&mut self.event)
        };
        on_event(SseEvent {
            id: self.last_id.clone(),
            event,
            data: std::mem::take(&mut self.data),
            retry,
        });
    }

    /// The last event ID the stream set (what a reconnect sends as Last-Event-ID).
    pub fn last_event_id(&self) -> Option<&str> {
        self.id_buffer.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_pieces(pieces: &[&[u8]]) -> (Vec<SseEvent>, Vec<SseProblem>) {
        let mut p = SseParser::new();
        let mut ev = Vec::new();
        let mut pr = Vec::new();
        for x in pieces {
            p.feed(x, &mut |e| ev.push(e), &mut |q| pr.push(q));
        }
        (ev, pr)
    }

    fn ev(id: Option<&str>, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_string),
            event: event.into(),
            data: data.into(),
            retry: None,
        }
    }

    #[test]
    fn the_standards_examples() {
        // "data: YHOO\ndata: +2\ndata: 10\n\n" is one event, lines joined by LF.
        let (e, _) = parse_pieces(&[b"data: YHOO\ndata: +2\ndata: 10\n\n"]);
        assert_eq!(e, vec![ev(None, "message", "YHOO\n+2\n10")]);
        // Comments, ids, named events; the last block has no blank line: not dispatched.
        let s = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n";
        let (e, _) = parse_pieces(&[s]);
        assert_eq!(
            e,
            vec![
                ev(Some("1"), "message", "first event"),
                ev(Some(""), "message", "second event")
            ]
        );
        // Two events, the first with empty data; "data" alone is an empty line of data.
        let (e, _) = parse_pieces(&[b"data\n\ndata\ndata\n\ndata:\n"]);
        assert_eq!(e, vec![ev(None, "message", ""), ev(None, "message", "\n")]);
        // "data:test" and "data: test" are the same.
        let (e, _) = parse_pieces(&[b"data:test\n\ndata: test\n\n"]);
        assert_eq!(
            e,
            vec![ev(None, "message", "test"), ev(None, "message", "test")]
        );
    }

    #[test]
    fn line_ends_bom_and_splits_anywhere() {
        let s: &[u8] =
            b"\xEF\xBB\xBFevent: tick\r\ndata: a\rdata: b\r\n\r\nretry: 2500\nid: 7\ndata: c\n\n";
        let whole = parse_pieces(&[s]);
        assert_eq!(whole.0.len(), 2);
        assert_eq!(whole.0[0], ev(None, "tick", "a\nb"));
        assert_eq!(
            whole.0[1],
            SseEvent {
                retry: Some(2500),
                ..ev(Some("7"), "message", "c")
            }
        );
        for cut in 0..s.len() {
            for cut2 in cut..s.len() {
                let got = parse_pieces(&[&s[..cut], &s[cut..cut2], &s[cut2..]]);
                assert_eq!(got, whole, "cut at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn problems_are_named_and_the_rest_decodes() {
        let (e, p) = parse_pieces(&[b"retry: 1s\ndata: caf\xe9\n\n"]);
        assert_eq!(
            p,
            vec![
                SseProblem::InvalidRetry("1s".into()),
                SseProblem::InvalidUtf8
            ]
        );
        assert_eq!(e, vec![ev(None, "message", "caf\u{fffd}")]);
        // An id with NUL is ignored; an empty data buffer dispatches nothing but resets the type.
        let (e, _) = parse_pieces(&[b"id: a\0b\nevent: x\n\ndata: y\n\n"]);
        assert_eq!(e, vec![ev(None, "message", "y")]);
    }
}
