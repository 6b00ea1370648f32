//! STOMP 1.0, 1.1 and 1.2 frames over WebSocket (the `v1x.stomp`
//! subprotocols): command, headers (1.1/1.2 escaping `\r \n \c \\`; a
//! repeated header keeps its first value), body by `content-length` or up
//! to the NUL, and end-of-line heart-beats as `HEARTBEAT`.
//!
//! A frame may span several WebSocket messages (stomp.js splits large
//! frames) and a message may hold several frames: each direction has a
//! reassembly buffer capped at [`super::MAX_UNIT`]; the header section is
//! capped at [`MAX_HEADER_SECTION`] bytes and what is kept of it at
//! [`MAX_HEADERS`] headers of at most [`MAX_HEADER_VALUE`] bytes.

use super::{AppCode, AppFinding, Msg, Unit, esc, put_bytes};
use crate::findings::Dir;
use serde_json::{Map, Value};

/// Longest header section (command line to the blank line) accepted.
pub const MAX_HEADER_SECTION: usize = 1 << 20;
/// Headers kept per frame.
pub const MAX_HEADERS: usize = 256;
/// Bytes kept of one header value (the rest is cut, with `...`).
pub const MAX_HEADER_VALUE: usize = 4096;

const CLIENT_COMMANDS: [&str; 11] = [
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "ACK",
    "NACK",
    "DISCONNECT",
    "CONNECT",
    "STOMP",
];
const SERVER_COMMANDS: [&str; 4] = ["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"];

#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// After a malformed frame: drop bytes up to the next NUL.
    resync: bool,
    /// The packet of this side's last message (where a unit left
    /// incomplete at the end is reported).
    last_packet: u64,
}

/// The STOMP decoder state of one connection.
#[derive(Default)]
pub struct Stomp {
    client: Side,
    server: Side,
    /// Negotiated version ("1.0", "1.1", "1.2") from CONNECTED.
    version: Option<String>,
}

enum Step {
    /// Need more bytes.
    More,
    /// A unit of `n` bytes was consumed.
    Unit(usize, String, Map<String, Value>),
    /// Malformed: report, then resynchronise after the next NUL.
    Bad(String),
}

impl Stomp {
    pub(crate) fn lost(&mut self, from: Dir) {
        let side = match from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.buf.clear();
        side.resync = false;
    }

    pub(crate) fn message(&mut self, m: &Msg, units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        let side = match m.from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.last_packet = m.packet;
        let mut data = m.payload;
        if side.resync {
            match memchr::memchr(0, data) {
                Some(i) => {
                    data = &data[i + 1..];
                    side.resync = false;
                }
                None => return,
            }
        }
        if side.buf.len() + data.len() > super::MAX_UNIT {
            f.push(finding(
                m,
                format!(
                    "STOMP frame buffered past {} bytes; dropped",
                    super::MAX_UNIT
                ),
            ));
            side.buf.clear();
            side.resync = memchr::memchr(0, data).is_none();
            return;
        }
        side.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut side.buf);
        let mut at = 0;
        let mut resync = false;
        while at < buf.len() {
            match self.step(&buf[at..]) {
                Step::More => break,
                Step::Unit(n, kind, fields) => {
                    at += n;
                    units.push(Unit {
                        from: m.from,
                        packet: m.packet,
                        ts: m.ts,
                        kind,
                        fields,
                    });
                }
                Step::Bad(why) => {
                    f.push(finding(m, format!("STOMP {why}")));
                    match memchr::memchr(0, &buf[at..]) {
                        Some(i) => at += i + 1,
                        None => {
                            at = buf.len();
                            resync = true;
                        }
                    }
                }
            }
        }
        let side = match m.from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.resync = resync;
        let mut buf = buf;
        buf.drain(..at);
        side.buf = buf;
    }

    pub(crate) fn finish(&mut self, f: &mut Vec<AppFinding>) {
        for (dir, side) in [(Dir::Client, &self.client), (Dir::Server, &self.server)] {
            if !side.buf.is_empty() {
                f.push(AppFinding {
                    code: AppCode::StompMalformed,
                    from: dir,
                    packet: side.last_packet,
                    message: format!(
                        "STOMP frame truncated: {} bytes left at the end of the session",
                        side.buf.len()
                    ),
                });
            }
        }
    }

    fn step(&mut self, b: &[u8]) -> Step {
        // Heart-beats: a lone EOL between frames.
        if b[0] == b'\n' {
            return Step::Unit(1, "HEARTBEAT".into(), Map::new());
        }
        if b[0] == b'\r' {
            return match b.get(1) {
                None => Step::More,
                Some(b'\n') => Step::Unit(2, "HEARTBEAT".into(), Map::new()),
                Some(_) => Step::Bad("bare CR outside a frame".into()),
            };
        }
        // The header section ends at the first empty line.
        let window = &b[..b.len().min(MAX_HEADER_SECTION + 2)];
        let Some(end) = header_end(window) else {
            if b.len() > MAX_HEADER_SECTION {
                return Step::Bad(format!(
                    "header section longer than {MAX_HEADER_SECTION} bytes"
                ));
            }
            if memchr::memchr(0, b).is_some() {
                return Step::Bad("frame ends (NUL) before its header section".into());
            }
            return Step::More;
        };
        let (head, body_start) = end;
        let mut lines = head
            .split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let cmd = lines.next().unwrap_or_default();
        let Ok(cmd) = std::str::from_utf8(cmd) else {
            return Step::Bad("command is not UTF-8".into());
        };
        if !CLIENT_COMMANDS.contains(&cmd) && !SERVER_COMMANDS.contains(&cmd) {
            return Step::Bad(format!("unknown command {:?}", esc(cmd, 40)));
        }
        let escaping = !matches!(cmd, "CONNECT" | "STOMP" | "CONNECTED")
            && self.version.as_deref() != Some("1.0");
        let mut headers = Map::new();
        let mut dropped = 0usize;
        for line in lines {
            let Some(colon) = memchr::memchr(b':', line) else {
                return Step::Bad(format!(
                    "header line without a colon ({:?})",
                    esc(&String::from_utf8_lossy(&line[..line.len().min(40)]), 40)
                ));
            };
            let (k, v) = (&line[..colon], &line[colon + 1..]);
            let (k, v) = if escaping {
                // `\r` is an escape of STOMP 1.2 only; 1.1 defines `\n`,
                // `\c` and `\\` and calls any other one a fatal error.
                let cr = self.version.as_deref() != Some("1.1");
                match (unescape(k, cr), unescape(v, cr)) {
                    (Ok(k), Ok(v)) => (k, v),
                    (Err(e), _) | (_, Err(e)) => return Step::Bad(e),
                }
            } else {
                (k.to_vec(), v.to_vec())
            };
            let (Ok(k), Ok(mut v)) = (String::from_utf8(k), String::from_utf8(v)) else {
                return Step::Bad("header is not UTF-8".into());
            };
            if headers.contains_key(&k) {
                continue; // repeated header: the first wins
            }
            if headers.len() >= MAX_HEADERS {
                dropped += 1;
                continue;
            }
            if v.len() > MAX_HEADER_VALUE {
                let mut cut = MAX_HEADER_VALUE;
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                v.truncate(cut);
                v.push_str("...");
            }
            headers.insert(k, Value::from(v));
        }
        let rest = &b[body_start..];
        let cl = headers.get("content-length").and_then(|v| v.as_str());
        let body_len = match cl {
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if n <= super::MAX_UNIT => {
                    if rest.len() <= n {
                        return Step::More;
                    }
                    if rest[n] != 0 {
                        return Step::Bad(format!(
                            "no NUL after the {n}-byte body (content-length)"
                        ));
                    }
                    n
                }
                _ => return Step::Bad(format!("bad content-length {:?}", esc(s, 40))),
            },
            None => match memchr::memchr(0, rest) {
                Some(i) => i,
                None => return Step::More,
            },
        };
        if cmd == "CONNECTED" {
            if let Some(v) = headers.get("version").and_then(|v| v.as_str()) {
                self.version = Some(v.to_string());
            } else {
                self.version = Some("1.0".into());
            }
        }
        let mut fields = Map::new();
        if dropped > 0 {
            headers.insert("_dropped".into(), Value::from(dropped));
        }
        fields.insert("headers".into(), Value::Object(headers));
        let body = &rest[..body_len];
        if !body.is_empty() {
            put_bytes(&mut fields, "body", body);
        }
        // EOLs right after the NUL belong to the frame (`NUL *(EOL)`); a
        // lone EOL elsewhere is a heart-beat.
        let mut end = body_start + body_len + 1;
        loop {
            match (b.get(end), b.get(end + 1)) {
                (Some(b'\n'), _) => end += 1,
                (Some(b'\r'), Some(b'\n')) => end += 2,
                _ => break,
            }
        }
        Step::Unit(end, cmd.to_string(), fields)
    }
}

/// (header section without its final EOLs, offset of the body).
fn header_end(b: &[u8]) -> Option<(&[u8], usize)> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &b[from..]) {
        let nl = from + i;
        match b.get(nl + 1) {
            Some(b'\n') => return Some((strip_cr(&b[..nl]), nl + 2)),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => {
                return Some((strip_cr(&b[..nl]), nl + 3));
            }
            None => return None,
            _ => from = nl + 1,
        }
    }
    None
}

fn strip_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Undoes the header escapes: `\n`, `\c`, `\\`, and `\r` when `cr`
/// (STOMP 1.2).
fn unescape(b: &[u8], cr: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(b.len().min(MAX_HEADER_VALUE + 8));
    let mut it = b.iter();
    while let Some(&c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some(b'r') if cr => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'c') => out.push(b':'),
            Some(b'\\') => out.push(b'\\'),
            Some(&x) => {
                return Err(format!(
                    "undefined header escape \\{}",
                    esc(&char::from(x).to_string(), 4)
                ));
            }
            None => return Err("header ends in a lone backslash".into()),
        }
    }
    Ok(out)
}

fn finding(m: &Msg, message: String) -> AppFinding {
    AppFinding {
        code: AppCode::StompMalformed,
        from: m.from,
        packet: m.packet,
        message,
    }
}
