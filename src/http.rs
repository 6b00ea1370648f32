//! HTTP/1.1 stage: request and response heads (httparse) and body framing
//! (Content-Length, chunked, close-delimited), streamed per direction.
//!
//! The parser never decides what a head means: the caller answers each head
//! with the [`BodyMode`] that follows it, which keeps pairing requests with
//! responses (and the upgrade decision) in one place.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

/// A parsed request or response head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpHead {
    /// Request method, for requests.
    pub method: Option<String>,
    /// Request target, for requests.
    pub path: Option<String>,
    /// Status code, for responses.
    pub status: Option<u16>,
    /// Reason phrase, for responses.
    pub reason: Option<String>,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header lines as (name, value), in order; values decoded lossily.
    pub headers: Headers,
    /// Bytes of the head, including the blank line.
    pub len: usize,
    /// Header lines of a head past the size cap that could not be kept
    /// (name as far as it was read, line length), at most [`MAX_CUT`];
    /// they are absent from `headers`. Empty for heads within the cap.
    pub cut: Vec<(String, usize)>,
    /// The head's end was never captured (cut by the snapshot length or
    /// lost): these are the lines before the cut; what followed is unknown.
    pub truncated: bool,
}

/// Cut header lines listed per head.
pub const MAX_CUT: usize = 16;

/// A head's header lines, (name, value) in order, kept in one string: a
/// head costs two allocations however many lines it has (a connection's
/// setup allocated two strings a line before).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    /// Each line's name start, name end (the value's start) and value end
    /// in `text`.
    spans: Vec<[usize; 3]>,
}

impl Headers {
    /// Appends a line.
    pub fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.spans.push([start, name_end, self.text.len()]);
    }

    /// The lines, (name, value), in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + '_ {
        self.spans.iter().map(|&[s, n, v]| {
            (
                self.text.get(s..n).unwrap_or_default(),
                self.text.get(n..v).unwrap_or_default(),
            )
        })
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(lines: I) -> Self {
        let mut h = Headers::default();
        for (n, v) in lines {
            h.push(n.as_ref(), v.as_ref());
        }
        h
    }
}

impl HttpHead {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header of that name, joined as one comma-separated list (RFC 9110 5.3).
    pub fn header_list(&self, name: &str) -> Option<String> {
        let vals: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        (!vals.is_empty()).then(|| vals.join(", "))
    }

    /// Whether a comma-separated header carries `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// The Content-Length, when present and valid.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// The last transfer coding is `chunked`.
    pub fn is_chunked(&self) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .any(|(_, v)| {
                v.split(',')
                    .next_back()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
            })
    }
}

/// What follows a head, as the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// No body: the next head follows.
    None,
    /// A body of exactly this many bytes.
    Length(u64),
    /// A chunked body (RFC 9112 section 7.1).
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
    /// The protocol changes after this head: the parser stops and the
    /// bytes after the head belong to someone else.
    Switch,
}

impl BodyMode {
    /// A request's body by its headers (RFC 9112 section 6.3).
    pub fn for_request(head: &HttpHead) -> BodyMode {
        if head.is_chunked() {
            BodyMode::Chunked
        } else {
            head.content_length()
                .map_or(BodyMode::None, BodyMode::Length)
        }
    }

    /// A response's body by its status and headers; `to_head` when it
    /// answers a HEAD request (RFC 9112 section 6.3).
    pub fn for_response(head: &HttpHead, to_head: bool) -> BodyMode {
        let status = head.status.unwrap_or(0);
        if to_head || status == 204 || status == 304 || (100..200).contains(&status) {
            BodyMode::None
        } else if head.is_chunked() {
            BodyMode::Chunked
        } else if let Some(n) = head.content_length() {
            BodyMode::Length(n)
        } else {
            BodyMode::UntilClose
        }
    }
}

/// Events from the parser.
#[derive(Debug)]
pub enum HttpEvent<'a> {
    /// The next bytes of the message's body (chunk framing removed).
    Body(&'a [u8]),
    /// The message's body ended.
    End,
}

/// A problem in the HTTP byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Not HTTP, or a malformed head.
    BadHead(String),
    /// The head passed the configured size.
    HeadTooLong(usize),
    /// A malformed chunk size or chunk framing.
    BadChunk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Ext,
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    Trailer { line_empty: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    Chunked(Chunk),
    UntilClose,
    Switched,
    Broken,
}

/// A head that passed the size cap, read line by line as it streams: whole
/// lines are kept while they fit in the cap, longer ones skipped (their
/// name noted); only the end of the current line is looked for, so memory
/// stays within twice the cap however long the head is.
#[derive(Debug, Default)]
struct Oversize {
    /// Kept lines (the start line first), each ended by CRLF.
    kept: Vec<u8>,
    kept_lines: usize,
    /// The current line's first bytes (up to the cap).
    line: Vec<u8>,
    line_len: usize,
    /// Bytes of the head so far.
    total: usize,
    cut: Vec<(String, usize)>,
}

/// A head may run to this many times the cap (read line by line past the
/// cap) before the stream is given up as not HTTP.
const OVERSIZE_FACTOR: usize = 64;

/// Streaming parser for one direction.
#[derive(Debug)]
pub struct HttpParser {
    request: bool,
    state: State,
    head_buf: Vec<u8>,
    over: Option<Box<Oversize>>,
    max_head: usize,
    chunk_size: u64,
    chunk_digits: u8,
}

/// Headers we parse at most per head.
const MAX_HEADERS: usize = 128;

impl HttpParser {
    /// A parser for one direction: requests when `request`, else responses;
    /// heads are parsed in place up to `max_head` bytes.
    pub fn new(request: bool, max_head: usize) -> Self {
        HttpParser {
            request,
            state: State::Head,
            head_buf: Vec::new(),
            over: None,
            max_head,
            chunk_size: 0,
            chunk_digits: 0,
        }
    }

    /// A head answered `Switch`: the bytes after it are another protocol's.
    pub fn is_switched(&self) -> bool {
        self.state == State::Switched
    }

    /// An error or a gap left the parser unable to go on.
    pub fn is_broken(&self) -> bool {
        self.state == State::Broken
    }

    /// Whether the parser sits between messages (nothing half-read).
    pub fn at_message_start(&self) -> bool {
        self.state == State::Head && self.head_buf.is_empty() && self.over.is_none()
    }

    /// In a close-delimited body.
    pub fn until_close(&self) -> bool {
        self.state == State::UntilClose
    }

    /// Feeds bytes. `on_head` receives each head and answers the body mode;
    /// `on_event` receives body bytes and message ends. Returns how many
    /// bytes were consumed: less than `data.len()` only after a `Switch`
    /// or an error.
    pub fn feed(
        &mut self,
        data: &[u8],
        on_head: &mut dyn FnMut(HttpHead) -> BodyMode,
        on_event: &mut dyn FnMut(HttpEvent<'_>),
    ) -> Result<usize, (usize, HttpError)> {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Switched | State::Broken => return Ok(i),
                State::Head => {
                    let (head, used) = match self.take_head(after(data, i)) {
                        Ok(Some(x)) => x,
                        Ok(None) => return Ok(data.len()),
                        Err(e) => {
                            self.state = State::Broken;
                            return Err((i, e));
                        }
                    };
                    i += used;
                    match on_head(head) {
                        BodyMode::None | BodyMode::Length(0) => on_event(HttpEvent::End),
                        BodyMode::Length(n) => self.state = State::Body(n),
                        BodyMode::Chunked => {
                            self.state = State::Chunked(Chunk::Size);
                            self.chunk_size = 0;
                            self.chunk_digits = 0;
                        }
                        BodyMode::UntilClose => self.state = State::UntilClose,
                        BodyMode::Switch => {
                            self.state = State::Switched;
                            return Ok(i);
                        }
                    }
                }
                State::Body(n) => {
                    let body = at_most(after(data, i), n);
                    let take = body.len();
                    on_event(HttpEvent::Body(body));
                    i += take;
                    let left = n - take as u64;
                    if left == 0 {
                        self.state = State::Head;
                        on_event(HttpEvent::End);
                    } else {
                        self.state = State::Body(left);
                    }
                }
                State::UntilClose => {
                    on_event(HttpEvent::Body(after(data, i)));
                    return Ok(data.len());
                }
                State::Chunked(c) => match self.chunked(c, after(data, i), on_event) {
                    Ok(used) => i += used,
                    Err(e) => {
                        self.state = State::Broken;
                        return Err((i, e));
                    }
                },
            }
        }
        Ok(i)
    }

    /// Whether a message body is being read (it has not ended yet).
    pub fn in_body(&self) -> bool {
        matches!(
            self.state,
            State::Body(_) | State::Chunked(_) | State::UntilClose
        )
    }

    /// The stream ended: a close-delimited body ends with it.
    pub fn close(&mut self, on_event: &mut dyn FnMut(HttpEvent<'_>)) {
        if self.state == State::UntilClose {
            on_event(HttpEvent::End);
            self.state = State::Head;
        }
    }

    /// The complete lines of a head still being read, as a head marked
    /// `truncated` (for a head whose end is about to be lost in a gap).
    pub fn partial_head(&self) -> Option<HttpHead> {
        if self.state != State::Head {
            return None;
        }
        let (buf, len) = match &self.over {
            Some(o) => (o.kept.as_slice(), o.total),
            None => {
                let end = memchr::memrchr(b'\n', &self.head_buf)? + 1;
                (self.head_buf.get(..end)?, self.head_buf.len())
            }
        };
        let mut block = buf.to_vec();
        block.extend_from_slice(b"\r\n");
        let mut head = self.parse(&block).ok()?;
        head.len = len;
        head.truncated = true;
        head.cut = self
            .over
            .as_ref()
            .map(|o| o.cut.clone())
            .unwrap_or_default();
        Some(head)
    }

    /// Bytes lost from the stream: the parser cannot know where it is.
    pub fn gap(&mut self) {
        self.state = match self.state {
            State::Body(_) | State::UntilClose => self.state,
            State::Switched => State::Switched,
            _ => State::Broken,
        };
        self.head_buf.clear();
        self.over = None;
    }

    fn take_head(&mut self, data: &[u8]) -> Result<Option<(HttpHead, usize)>, HttpError> {
        if self.over.is_some() {
            return self.take_oversized(data);
        }
        // Skip blank lines between messages (RFC 9112 2.2).
        if self.head_buf.is_empty() {
            let skip = data
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skip > 0 {
                return if skip == data.len() {
                    Ok(None)
                } else {
                    self.take_head(after(data, skip))
                        .map(|r| r.map(|(h, used)| (h, used + skip)))
                };
            }
            // A whole head in one piece is parsed in place, within the cap.
            if let Some(end) = find_head_end(prefix(data, self.max_head), 0) {
                let head = self.parse(prefix(data, end))?;
                return Ok(Some((head, end)));
            }
            self.check_start(data)?;
        }
        let old = self.head_buf.len();
        let search_from = old.saturating_sub(3);
        let room = self.max_head.saturating_sub(old);
        let add = data.len().min(room);
        self.head_buf.extend_from_slice(prefix(data, add));
        if let Some(end) = find_head_end(&self.head_buf, search_from) {
            let buf = std::mem::take(&mut self.head_buf);
            let head = self.parse(prefix(&buf, end))?;
            return Ok(Some((head, end - old)));
        }
        self.check_start(&self.head_buf)?;
        if self.head_buf.len() >= self.max_head {
            // Past the cap: read the rest line by line, keeping what fits.
            let buf = std::mem::take(&mut self.head_buf);
            self.over = Some(Box::default());
            if let Some((h, used)) = self.take_oversized(&buf)? {
                // (Not reached: the end would have been found in `buf`.)
                return Ok(Some((h, used.saturating_sub(old))));
            }
            return Ok(self
                .take_oversized(after(data, add))?
                .map(|(h, used)| (h, used + add)));
        }
        Ok(None)
    }

    /// Goes on with a head past the cap; see [`Oversize`].
    fn take_oversized(&mut self, data: &[u8]) -> Result<Option<(HttpHead, usize)>, HttpError> {
        let cap = self.max_head;
        let Some(o) = self.over.as_mut() else {
            return Ok(None);
        };
        let mut i = 0;
        while i < data.len() {
            let rest = after(data, i);
            let (piece, ends) = match memchr::memchr(b'\n', rest) {
                Some(p) => (prefix(rest, p), true),
                None => (rest, false),
            };
            i += piece.len() + usize::from(ends);
            o.total += piece.len() + usize::from(ends);
            if o.total > cap.saturating_mul(OVERSIZE_FACTOR) {
                self.over = None;
                return Err(HttpError::HeadTooLong(cap));
            }
            if piece
                .iter()
                .any(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f)
            {
                self.over = None;
                return Err(HttpError::BadHead("a control byte in an HTTP head".into()));
            }
            let room = cap.saturating_sub(o.line.len());
            o.line.extend_from_slice(prefix(piece, room));
            o.line_len += piece.len();
            if !ends {
                continue;
            }
            let line = o.line.strip_suffix(b"\r").unwrap_or(&o.line);
            let line_len = o.line_len - (o.line.len() - line.len());
            if line_len == 0 {
                // The blank line: the head ends here.
                let mut block = std::mem::take(&mut o.kept);
                block.extend_from_slice(b"\r\n");
                let (total, cut) = (o.total, std::mem::take(&mut o.cut));
                self.over = None;
                let mut head = self.parse(&block)?;
                head.len = total;
                head.cut = cut;
                return Ok(Some((head, i)));
            }
            let whole = line_len == line.len();
            let fits = o.kept.len() + line.len() + 2 <= cap && o.kept_lines <= MAX_HEADERS;
            if whole && fits {
                o.kept.extend_from_slice(line);
                o.kept.extend_from_slice(b"\r\n");
                o.kept_lines += 1;
            } else if o.cut.len() < MAX_CUT {
                let name = line.split(|&b| b == b':').next().unwrap_or(&[]);
                let name = prefix(name, 64);
                o.cut
                    .push((String::from_utf8_lossy(name).trim().to_string(), line_len));
            }
            o.line.clear();
            o.line_len = 0;
        }
        Ok(None)
    }

    /// Refuses early what cannot be the start of an HTTP message.
    fn check_start(&self, data: &[u8]) -> Result<(), HttpError> {
        let probe = prefix(data, 16);
        let ok = if self.request {
            probe
                .iter()
                .take_while(|b| **b != b' ')
                .all(|b| b.is_ascii_uppercase() || *b == b'-')
                && probe.first().is_none_or(|b| b.is_ascii_uppercase())
        } else {
            b"HTTP/".starts_with(prefix(probe, 5)) || probe.starts_with(b"HTTP/")
        };
        if ok {
            Ok(())
        } else {
            Err(HttpError::BadHead("not an HTTP message".into()))
        }
    }

    fn parse(&self, block: &[u8]) -> Result<HttpHead, HttpError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = HttpHead {
            len: block.len(),
            ..HttpHead::default()
        };
        // Both in one buffer sized once: names are tokens, values decoded lossily.
        let keep = |lines: &[httparse::Header<'_>]| {
            let size = lines.iter().map(|h| h.name.len() + h.value.len()).sum();
            let mut h = Headers {
                text: String::with_capacity(size),
                spans: Vec::with_capacity(lines.len()),
            };
            for line in lines {
                h.push(line.name, &String::from_utf8_lossy(line.value));
            }
            h
        };
        if self.request {
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(block) {
                Ok(httparse::Status::Complete(_)) => {}
                Ok(httparse::Status::Partial) => {
                    return Err(HttpError::BadHead("incomplete request head".into()));
                }
                Err(e) => return Err(HttpError::BadHead(format!("request head: {e}"))),
            }
            head.method = req.method.map(str::to_string);
            head.path = req.path.map(str::to_string);
            head.version = req.version.unwrap_or(1);
            head.headers = keep(req.headers);
        } else {
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(block) {
                Ok(httparse::Status::Complete(_)) => {}
                Ok(httparse::Status::Partial) => {
                    return Err(HttpError::BadHead("incomplete response head".into()));
                }
                Err(e) => return Err(HttpError::BadHead(format!("response head: {e}"))),
            }
            head.status = resp.code;
            head.reason = resp.reason.map(str::to_string);
            head.version = resp.version.unwrap_or(1);
            head.headers = keep(resp.headers);
        }
        Ok(head)
    }

    fn chunked(
        &mut self,
        c: Chunk,
        data: &[u8],
        on_event: &mut dyn FnMut(HttpEvent<'_>),
    ) -> Result<usize, HttpError> {
        let mut i = 0;
        let mut c = c;
        while let Some(&b) = data.get(i) {
            c = match c {
                Chunk::Size => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        self.chunk_digits += 1;
                        if self.chunk_digits > 15 {
                            return Err(HttpError::BadChunk);
                        }
                        let d = (b as char).to_digit(16).unwrap_or(0);
                        self.chunk_size = self.chunk_size * 16 + u64::from(d);
                        i += 1;
                        Chunk::Size
                    }
                    b';' | b' ' | b'\t' if self.chunk_digits > 0 => {
                        i += 1;
                        Chunk::Ext
                    }
                    b'\r' if self.chunk_digits > 0 => {
                        i += 1;
                        Chunk::SizeLf
                    }
                    _ => return Err(HttpError::BadChunk),
                },
                Chunk::Ext => {
                    i += 1;
                    if b == b'\r' {
                        Chunk::SizeLf
                    } else {
                        Chunk::Ext
                    }
                }
                Chunk::SizeLf => {
                    if b != b'\n' {
                        return Err(HttpError::BadChunk);
                    }
                    i += 1;
                    let size = self.chunk_size;
                    self.chunk_size = 0;
                    self.chunk_digits = 0;
                    if size == 0 {
                        Chunk::Trailer { line_empty: true }
                    } else {
                        Chunk::Data(size)
                    }
                }
                Chunk::Data(n) => {
                    let body = at_most(after(data, i), n);
                    let take = body.len();
                    on_event(HttpEvent::Body(body));
                    i += take;
                    if n == take as u64 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(n - take as u64)
                    }
                }
                Chunk::DataCr => {
                    if b != b'\r' {
                        return Err(HttpError::BadChunk);
                    }
                    i += 1;
                    Chunk::DataLf
                }
                Chunk::DataLf => {
                    if b != b'\n' {
                        return Err(HttpError::BadChunk);
                    }
                    i += 1;
                    Chunk::Size
                }
                Chunk::Trailer { line_empty } => {
                    i += 1;
                    match b {
                        b'\n' if line_empty => {
                            self.state = State::Head;
                            on_event(HttpEvent::End);
                            return Ok(i);
                        }
                        b'\n' => Chunk::Trailer { line_empty: true },
                        b'\r' => Chunk::Trailer { line_empty },
                        _ => Chunk::Trailer { line_empty: false },
                    }
                }
            };
        }
        self.state = State::Chunked(c);
        Ok(i)
    }
}

/// The first `n` bytes of `data` (all of it when shorter).
fn prefix(data: &[u8], n: usize) -> &[u8] {
    data.get(..n).unwrap_or(data)
}

/// The bytes of `data` from `i` on (none when `i` is past the end).
fn after(data: &[u8], i: usize) -> &[u8] {
    data.get(i..).unwrap_or_default()
}

/// The first `n` bytes of `data` for a 64-bit wire count `n` (all of it when
/// shorter, or when `n` does not fit a `usize`).
fn at_most(data: &[u8], n: u64) -> &[u8] {
    usize::try_from(n).map_or(data, |n| prefix(data, n))
}

/// The end of a head (after `\r\n\r\n`, or a bare `\n\n`), searching from `from`.
fn find_head_end(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memchr::memchr(b'\n', data.get(i..)?) {
        let at = i + p;
        let next = data.get(at + 1..);
        match next {
            Some([b'\n', ..]) => return Some(at + 2),
            Some([b'\r', b'\n', ..]) => return Some(at + 3),
            _ => {}
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn checked_cuts_agree_with_the_slices_they_replace() {
        let d = b"abcdef";
        for n in 0..9usize {
            assert_eq!(prefix(d, n), &d[..n.min(d.len())], "prefix {n}");
            assert_eq!(after(d, n), &d[n.min(d.len())..], "after {n}");
            assert_eq!(at_most(d, n as u64), &d[..n.min(d.len())], "at_most {n}");
        }
        assert_eq!(at_most(d, u64::MAX), d);
    }

    fn run(
        request: bool,
        parts: &[&[u8]],
        mode: impl Fn(&HttpHead) -> BodyMode,
    ) -> (Vec<HttpHead>, Vec<u8>, usize, usize) {
        let mut p = HttpParser::new(request, 4096);
        let mut heads = Vec::new();
        let mut body = Vec::new();
        let mut ends = 0;
        let mut rest = 0;
        for part in parts {
            let used = p
                .feed(
                    part,
                    &mut |h| {
                        let m = mode(&h);
                        heads.push(h);
                        m
                    },
                    &mut |e| match e {
                        HttpEvent::Body(b) => body.extend_from_slice(b),
                        HttpEvent::End => ends += 1,
                    },
                )
                .unwrap();
            rest += part.len() - used;
        }
        (heads, body, ends, rest)
    }

    fn by_headers(h: &HttpHead) -> BodyMode {
        if h.is_chunked() {
            BodyMode::Chunked
        } else if let Some(n) = h.content_length() {
            BodyMode::Length(n)
        } else if h.status == Some(101) {
            BodyMode::Switch
        } else {
            BodyMode::None
        }
    }

    #[test]
    fn pipelined_requests_at_every_split() {
        let wire = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        for cut in 0..wire.len() {
            let (heads, body, ends, rest) = run(true, &[&wire[..cut], &wire[cut..]], by_headers);
            let paths: Vec<_> = heads.iter().map(|h| h.path.clone().unwrap()).collect();
            assert_eq!(paths, ["/a", "/b", "/c"], "cut {cut}");
            assert_eq!((body.as_slice(), ends, rest), (&b"hello"[..], 3, 0));
        }
    }

    #[test]
    fn header_lines_kept_in_order_with_lossy_values() {
        // Repeated names, an empty value, a value that is not UTF-8, at
        // every split: each line comes back as sent, the bad bytes as U+FFFD.
        let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Empty:\r\nX-Bin: a\xffb\r\nupgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
        for cut in 0..wire.len() {
            let (heads, ..) = run(false, &[&wire[..cut], &wire[cut..]], by_headers);
            let [h] = heads.as_slice() else {
                panic!("cut {cut}: {} heads", heads.len());
            };
            let lines: Vec<(&str, &str)> = h.headers.iter().collect();
            assert_eq!(
                lines,
                [
                    ("Upgrade", "websocket"),
                    ("X-Empty", ""),
                    ("X-Bin", "a\u{fffd}b"),
                    ("upgrade", "h2c"),
                    ("Connection", "Upgrade"),
                ],
                "cut {cut}"
            );
            assert_eq!(h.headers.len(), 5);
            assert_eq!(
                h.headers.iter().next_back(),
                Some(("Connection", "Upgrade"))
            );
            assert_eq!(h.header("UPGRADE"), Some("websocket"));
            assert_eq!(h.header_list("upgrade").as_deref(), Some("websocket, h2c"));
            assert_eq!(h.header("x-missing"), None);
        }
        assert!(HttpHead::default().headers.is_empty());
    }

    #[test]
    fn chunked_body_with_extensions_and_trailer() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        for cut in 0..wire.len() {
            let (_, body, ends, _) = run(false, &[&wire[..cut], &wire[cut..]], by_headers);
            assert_eq!(
                (body.as_slice(), ends),
                (&b"hello world"[..], 1),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn switch_leaves_the_rest_unconsumed() {
        let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
        let (heads, _, _, rest) = run(false, &[wire], by_headers);
        assert_eq!(heads[0].status, Some(101));
        assert_eq!(rest, 4);
    }

    #[test]
    fn garbage_and_endless_heads_are_errors() {
        let mut p = HttpParser::new(true, 64);
        let r = p.feed(b"\x81\x85abcd", &mut |_| BodyMode::None, &mut |_| {});
        assert!(matches!(r, Err((0, HttpError::BadHead(_)))));
        let mut p = HttpParser::new(true, 64);
        // A head past the cap is read on (see the next test), but not forever.
        let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 64 * 64]].concat();
        let r = p.feed(&long, &mut |_| BodyMode::None, &mut |_| {});
        assert!(matches!(r, Err((_, HttpError::HeadTooLong(64)))));
    }

    #[test]
    fn oversized_head_keeps_what_fits_and_finds_its_end() {
        // One header line far past the cap, with headers before and after it.
        let offers: String = (0..2000).map(|i| format!("x-{i}; a=1, ")).collect();
        let wire = format!(
            "GET /big HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Extensions: {offers}permessage-deflate\r\nSec-WebSocket-Key: k\r\n\r\n\x01\x00"
        );
        let wire = wire.as_bytes();
        let head_len = wire.len() - 2;
        for cut in [
            0,
            1,
            20,
            100,
            1000,
            1024,
            5000,
            head_len - 3,
            head_len - 1,
            head_len,
        ] {
            let mut p = HttpParser::new(true, 1024);
            let mut heads = Vec::new();
            let mut used = 0;
            for part in [&wire[..cut], &wire[cut..]] {
                used += p
                    .feed(
                        part,
                        &mut |h| {
                            heads.push(h);
                            BodyMode::Switch
                        },
                        &mut |_| {},
                    )
                    .unwrap();
            }
            assert_eq!(heads.len(), 1, "cut {cut}");
            let h = &heads[0];
            assert_eq!(
                used, head_len,
                "cut {cut}: the frame after the head is left"
            );
            assert_eq!(h.len, head_len);
            assert_eq!(h.path.as_deref(), Some("/big"));
            assert_eq!(h.header("host"), Some("h"));
            assert_eq!(h.header("sec-websocket-key"), Some("k"));
            assert!(h.header("sec-websocket-extensions").is_none());
            assert_eq!(h.cut.len(), 1);
            assert_eq!(h.cut[0].0, "Sec-WebSocket-Extensions");
            assert!(h.cut[0].1 > 20_000);
            assert!(p.over.is_none() && p.head_buf.capacity() <= 2048);
        }
    }

    #[test]
    fn token_lists() {
        let h = HttpHead {
            headers: [("Connection", "keep-alive, Upgrade")]
                .into_iter()
                .collect(),
            ..HttpHead::default()
        };
        assert!(h.has_token("connection", "upgrade"));
        assert!(!h.has_token("connection", "close"));
    }
}
