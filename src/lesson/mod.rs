//! `lesson`: the course in order, from captures built into the binary.
//!
//! Each chapter ([`chapters::CHAPTERS`]) is a short teaching text and a
//! real capture, walked through by `explain`'s own renderers (its text or
//! HTML page, with the push channels `push` finds in the same pass). This
//! module adds only the course around them: the chapter's text, the
//! capture's figures counted from the same event stream, the links from
//! chapter to chapter, and for the last chapter what the hand-written
//! server logged beside what is on the wire.

pub mod chapters;
mod html;
mod text;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

pub use chapters::{CHAPTERS, Capture, Chapter};

use crate::config::Config;
use crate::event::{Event, Sink, Tee};
use crate::explain::{ExplainSink, Format, Selection};
use crate::findings::Dir;
use crate::push::PushSink;

/// Push channels a chapter shows (as `explain` does).
const PUSH_CHANNELS: usize = 20;
/// Frames whose length the figures list (the count goes on).
const MAX_FRAME_FIGURES: usize = 1000;

/// One frame, as the figures list it.
#[derive(Debug, Clone)]
pub struct FrameFig {
    pub from: Dir,
    pub opcode: &'static str,
    pub payload_len: u64,
    pub mask_key: Option<String>,
}

/// One push channel, as the figures list it.
#[derive(Debug, Clone)]
pub struct ChannelFig {
    pub technique: &'static str,
    pub method: String,
    pub path: String,
    pub requests: u64,
    pub events: u64,
}

/// What a chapter's capture holds, counted from the event stream the
/// walkthrough is drawn from.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub frames: u64,
    pub client_frames: u64,
    pub server_frames: u64,
    pub messages: u64,
    /// The frames in order (at most [`MAX_FRAME_FIGURES`]).
    pub frame_list: Vec<FrameFig>,
    /// The first handshake's key and the accept the server sent.
    pub key: Option<String>,
    pub accept: Option<String>,
    pub channels: Vec<ChannelFig>,
    /// Finding codes, in order of arrival.
    pub findings: Vec<&'static str>,
    /// Why the capture could not be read (never, for the bundled ones).
    pub error: Option<String>,
}

impl Sink for Figures {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Frame(f) => {
                self.frames += 1;
                match f.from {
                    Dir::Client => self.client_frames += 1,
                    Dir::Server => self.server_frames += 1,
                }
                if self.frame_list.len() < MAX_FRAME_FIGURES {
                    self.frame_list.push(FrameFig {
                        from: f.from,
                        opcode: f.header.opcode.name(),
                        payload_len: f.header.payload_len,
                        mask_key: f.header.mask_key.map(|k| {
                            let mut s = String::new();
                            crate::render::hex_into(&k, &mut s);
                            s
                        }),
                    });
                }
            }
            Event::Message(_) => self.messages += 1,
            Event::Handshake(_, h) if self.key.is_none() => {
                self.key = h.key.clone();
                self.accept = h.accept.clone();
            }
            Event::Finding(f) if self.findings.len() < MAX_FRAME_FIGURES => {
                self.findings.push(f.code.as_str());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// A chapter's walkthrough as `explain` renders it, and its figures.
#[derive(Debug)]
pub struct Walk {
    pub body: String,
    pub figures: Figures,
}

/// The capture's path as the lesson writes it out, relative to its pages.
pub fn capture_path(c: &Capture) -> String {
    format!("captures/{}", c.name)
}

/// The `explain` command that walks through a chapter's capture as the
/// chapter does (run in the lesson's directory).
pub fn explain_command(ch: &Chapter) -> String {
    match ch.max_frames {
        200 => format!("wsdissect explain {}", capture_path(ch.capture)),
        n => format!(
            "wsdissect explain --max-frames {n} {}",
            capture_path(ch.capture)
        ),
    }
}

/// The page of chapter `i` (0-based), relative to the index.
pub fn page_name(i: usize) -> String {
    match CHAPTERS.get(i) {
        Some(c) => format!("{:02}-{}.html", i + 1, c.slug),
        None => "index.html".to_string(),
    }
}

/// Runs `explain` (and `push`, and the figures) over a chapter's capture,
/// in one pass, as `wsdissect explain` does over a file.
pub fn walk(ch: &Chapter, format: Format) -> Walk {
    let mut cfg = Config {
        keep_frame_payload: true,
        keep_message_data: true,
        // As `wsdissect explain` reads: the layers beneath (TLS, HTTP/2) and
        // the TCP segments, for the walkthrough's sections on them.
        layers: true,
        segment_log: true,
        ..Config::default()
    };
    cfg.max_frame_bytes = cfg.max_frame_bytes.min(64 << 10);
    cfg.max_message_bytes = cfg.max_message_bytes.min(64 << 10);
    let sel = Selection {
        max_frames: Some(ch.max_frames),
        ..Selection::default()
    };
    let buf = RefCell::new(Vec::new());
    let mut figures = Figures::default();
    let mut channels;
    {
        let emit = Box::new(|b: &[u8]| buf.borrow_mut().extend_from_slice(b));
        let mut explain = ExplainSink::new(sel, &capture_path(ch.capture), format, emit);
        let mut push = PushSink::new();
        let run = {
            let mut rest = Tee(&mut push, &mut figures);
            let mut tee = Tee(&mut explain, &mut rest);
            crate::pipeline::run(ch.capture.bytes, &cfg, &mut tee)
        };
        if let Err(e) = run {
            figures.error = Some(e.to_string());
        }
        channels = push.finish();
        let not_shown = channels.len().saturating_sub(PUSH_CHANNELS);
        channels.truncate(PUSH_CHANNELS);
        figures.channels = channels
            .iter()
            .map(|p| ChannelFig {
                technique: p.technique,
                method: p.method.clone(),
                path: p.path.clone(),
                requests: p.requests,
                events: p.events,
            })
            .collect();
        explain.finish(std::mem::take(&mut channels), not_shown);
    }
    Walk {
        body: String::from_utf8_lossy(&buf.into_inner()).into_owned(),
        figures,
    }
}

/// The whole course as text, for a terminal.
pub fn text() -> String {
    text::course()
}

/// What went wrong writing the lesson: one line.
#[derive(Debug)]
pub struct WriteError(pub String);

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WriteError {}

fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf, WriteError> {
    std::fs::write(path, bytes).map_err(|e| {
        WriteError(format!(
            "cannot write {}: {e}",
            crate::render::escape::terminal(&path.to_string_lossy())
        ))
    })?;
    Ok(path.to_path_buf())
}

/// Writes the course into `dir` (created if missing): `index.html`, one
/// page per chapter in order, and the captures (with the hand-written
/// server's log) under `captures/`. Returns the files written.
pub fn write_dir(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let caps = dir.join("captures");
    std::fs::create_dir_all(&caps).map_err(|e| {
        WriteError(format!(
            "cannot create {}: {e}",
            crate::render::escape::terminal(&caps.to_string_lossy())
        ))
    })?;
    let mut written = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for ch in &CHAPTERS {
        if !seen.contains(&ch.capture.name) {
            seen.push(ch.capture.name);
            written.push(write_file(&caps.join(ch.capture.name), ch.capture.bytes)?);
        }
    }
    written.push(write_file(
        &caps.join(chapters::HANDWRITTEN_LOG_NAME),
        chapters::HANDWRITTEN_LOG.as_bytes(),
    )?);
    for i in 0..CHAPTERS.len() {
        let page = html::chapter(i);
        written.push(write_file(&dir.join(page_name(i)), page.as_bytes())?);
    }
    written.push(write_file(
        &dir.join("index.html"),
        html::index().as_bytes(),
    )?);
    Ok(written)
}

/// One line of the hand-written server's log, as chapter 11 compares it
/// with the frames on the wire.
#[derive(Debug, Clone, Default)]
pub struct ServerRead {
    pub opcode: u64,
    pub recv_bytes: u64,
    /// The 7-bit length field, all the server read of the length.
    pub length_read: u64,
    pub mask_read: String,
    pub unread_bytes: u64,
    /// What the server unmasked, as hex.
    pub payload_hex: String,
}

/// The `recv` lines of the hand-written server's log, in order.
pub fn server_reads() -> Vec<ServerRead> {
    let mut out = Vec::new();
    for line in chapters::HANDWRITTEN_LOG.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["who"] != "server" || v["event"] != "recv" {
            continue;
        }
        let num = |k: &str| v[k].as_u64().unwrap_or(0);
        let st = |k: &str| v[k].as_str().unwrap_or("").to_string();
        out.push(ServerRead {
            opcode: num("opcode"),
            recv_bytes: num("recv_bytes"),
            length_read: num("length_read"),
            mask_read: st("mask_read"),
            unread_bytes: num("unread_bytes"),
            payload_hex: st("payload_hex"),
        });
    }
    out
}

/// The headers the hand-written server wrote in front of its echoes (hex).
pub fn server_sends() -> Vec<String> {
    chapters::HANDWRITTEN_LOG
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["who"] == "server" && v["event"] == "send")
        .filter_map(|v| v["frame_hex"].as_str().map(str::to_string))
        .collect()
}

/// Hex digits to bytes (the log's own hex; anything else is skipped).
fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks_exact(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

/// The first two bytes the server took for its masking key, read as the
/// 16-bit extended length they really are (when the 7-bit field said 126).
pub fn misread_extended_length(r: &ServerRead) -> Option<u16> {
    if r.length_read != 126 {
        return None;
    }
    match unhex(&r.mask_read).as_slice() {
        [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// What the server unmasked: its first `n` bytes as text, `.` for bytes
/// that are not printable ASCII.
pub fn server_saw(r: &ServerRead, n: usize) -> String {
    unhex(&r.payload_hex)
        .iter()
        .take(n)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// The close codes the close chapter lists, with whether an endpoint may
/// send them.
pub const CLOSE_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1015, 3000, 4000,
];

/// Whether a close code may be sent in a close frame.
pub fn may_send(code: u16) -> bool {
    crate::ws::close::judge_code(code).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chapter_capture_is_read_and_walked() {
        for ch in &CHAPTERS {
            let w = walk(ch, Format::Json);
            assert!(
                w.figures.error.is_none(),
                "{}: {:?}",
                ch.slug,
                w.figures.error
            );
            assert!(!w.body.is_empty(), "{}", ch.slug);
        }
    }

    #[test]
    fn the_log_shows_the_misread_length() {
        let reads = server_reads();
        assert!(reads.iter().any(|r| r.length_read == 125));
        let bad: Vec<_> = reads.iter().filter_map(misread_extended_length).collect();
        assert_eq!(bad, vec![126]);
    }

    #[test]
    fn page_names_follow_the_course() {
        assert_eq!(page_name(0), "01-request-response.html");
        assert_eq!(page_name(10), "11-handwritten-server.html");
        assert_eq!(page_name(11), "index.html");
    }
}
