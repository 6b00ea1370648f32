//! Output: every format is a consumer of the event stream.

pub mod app;
pub mod check;
pub mod color;
pub mod columns;
pub mod csv;
pub mod escape;
pub mod filtered;
pub mod har;
pub mod json;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod stats;
pub mod table;
pub mod width;

use std::io::{self, Write};

use base64::Engine;

use crate::event::FrameRecord;
use crate::ws::frame::OpCode;

/// How payloads appear in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
// (No doc comments on the variants: clap would turn them into a long help.)
pub enum PayloadMode {
    None,
    Text,
    Hex,
    Base64,
}

/// A writer that remembers its first error (so a sink, which cannot
/// return one, stops writing after a broken pipe).
pub struct Out<W: Write> {
    pub w: W,
    pub error: Option<io::Error>,
}

impl<W: Write> Out<W> {
    pub fn new(w: W) -> Self {
        Out { w, error: None }
    }
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
    pub fn write_all(&mut self, b: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.w.write_all(b)
        {
            self.error = Some(e);
        }
    }
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.w.flush()
    }
}

/// Lowercase hex into a reused string.
pub fn hex_into(bytes: &[u8], out: &mut String) {
    out.clear();
    out.reserve(bytes.len() * 2);
    // const-hex encodes a piece at a time through a buffer on the stack.
    let mut buf = [0u8; 1024];
    for piece in bytes.chunks(buf.len() / 2) {
        if let Some(Ok(s)) = buf
            .get_mut(..piece.len() * 2)
            .map(|dst| const_hex::encode_to_str(piece, dst))
        {
            out.push_str(s);
        }
    }
}

pub fn base64_into(bytes: &[u8], out: &mut String) {
    out.clear();
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// A short, single-line, printable preview of a payload.
pub fn preview(bytes: &[u8], is_text: bool, max_chars: usize) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    // A fragment may cut a character at either end: still text if only the edges break.
    let lossy = String::from_utf8_lossy(bytes);
    let broken = lossy
        .chars()
        .filter(|&c| c == char::REPLACEMENT_CHARACTER)
        .count();
    let texty = broken <= 2
        && (is_text || broken == 0)
        && lossy
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t' || c == '\r');
    if texty {
        for c in lossy.chars() {
            if s.chars().count() + 1 >= max_chars {
                s.push('…');
                return s;
            }
            s.push(if c.is_control() { '·' } else { c });
        }
    } else {
        for (i, b) in bytes.iter().enumerate() {
            if s.len() + 3 > max_chars {
                s.push('…');
                return s;
            }
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// What a frame's payload is, for previews and JSON: the type of the data
/// message it belongs to (a continuation frame is of its message's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    Text,
    Binary,
    /// Ping and pong: application data of no declared type.
    Control,
    /// A frame of a compressed message (RSV1 on its first frame): deflate
    /// data, shown as bytes.
    Compressed,
    /// A continuation whose first frame was not seen, or a reserved opcode.
    Unknown,
}

/// Follows each connection direction's open data message, so that its
/// continuation frames are shown as what the message is.
#[derive(Default)]
pub struct MessageTypes {
    /// The open message's opcode and whether it is compressed.
    open: foldhash::HashMap<(u64, usize), (OpCode, bool)>,
}

impl MessageTypes {
    /// The kind of `f`'s payload (call once per frame, in order).
    pub fn kind(&mut self, f: &FrameRecord<'_>) -> PayloadKind {
        let key = (f.session.conn, f.from.index());
        let op = match f.header.opcode {
            op @ (OpCode::Text | OpCode::Binary) => {
                if f.header.fin {
                    self.open.remove(&key);
                } else {
                    self.open.insert(key, (op, f.header.rsv1));
                }
                Some((op, f.header.rsv1))
            }
            OpCode::Continuation => {
                let op = self.open.get(&key).copied();
                if f.header.fin {
                    self.open.remove(&key);
                }
                op
            }
            OpCode::Ping | OpCode::Pong | OpCode::Close => return PayloadKind::Control,
            OpCode::Reserved(_) => None,
        };
        match op {
            Some((_, true)) => PayloadKind::Compressed,
            Some((OpCode::Text, _)) => PayloadKind::Text,
            Some((OpCode::Binary, _)) => PayloadKind::Binary,
            _ => PayloadKind::Unknown,
        }
    }

    /// Forgets a connection that ended.
    pub fn end(&mut self, conn: u64) {
        self.open.retain(|k, _| k.0 != conn);
    }
}

/// Whether bytes of no declared type read as text: valid UTF-8 without
/// control characters other than whitespace.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// Whether a frame's JSON `payload_text` is given under `--payload text`
/// (else `payload_hex`): for frames of text messages; for pings and pongs,
/// and frames of no known message, when the payload is UTF-8; never for
/// close frames (their code and reason have their own fields) or frames
/// of binary and compressed messages.
pub fn frame_payload_as_text(f: &crate::event::FrameRecord<'_>, kind: PayloadKind) -> bool {
    match kind {
        PayloadKind::Text => true,
        PayloadKind::Binary | PayloadKind::Compressed => false,
        PayloadKind::Control => {
            f.close_code.is_none()
                && f.header.opcode != crate::ws::frame::OpCode::Close
                && crate::ws::utf8::valid(f.payload)
        }
        PayloadKind::Unknown => crate::ws::utf8::valid(f.payload),
    }
}

/// Whether a preview shows the payload as text (text messages, and pings
/// and data of no known type that read as text, when `mode` is text);
/// `None` when it shows nothing.
fn shown_as_text(bytes: &[u8], kind: PayloadKind, mode: PayloadMode) -> Option<bool> {
    match mode {
        PayloadMode::None => None,
        PayloadMode::Text => Some(
            kind == PayloadKind::Text
                || (matches!(kind, PayloadKind::Control | PayloadKind::Unknown)
                    && looks_like_text(bytes)),
        ),
        PayloadMode::Hex | PayloadMode::Base64 => Some(false),
    }
}

/// A one-line preview of a payload in at most `max_cols` display columns,
/// as `mode` asks: text (text messages as text with control characters
/// escaped, binary ones as hex, pings and unknown data as text when they
/// read as text), hex or base64; `None` gives nothing.
pub fn preview_as(bytes: &[u8], kind: PayloadKind, mode: PayloadMode, max_cols: usize) -> String {
    let Some(as_text) = shown_as_text(bytes, kind, mode) else {
        return String::new();
    };
    // Only what can show is formatted, plus enough to know it was cut.
    if as_text {
        let slice = &bytes[..bytes
            .len()
            .min(max_cols.saturating_mul(4).saturating_add(4))];
        let mut o = String::with_capacity(max_cols + 8);
        let mut w = 0;
        for c in String::from_utf8_lossy(slice).chars() {
            if w > max_cols {
                break;
            }
            // Printable ASCII is itself, one column (as the escaper and
            // `cols` would say, a character at a time).
            if (' '..='~').contains(&c) {
                o.push(c);
                w += 1;
                continue;
            }
            let at = o.len();
            escape::push_escaped(&mut o, c);
            w += width::cols(&o[at..]);
        }
        return width::truncate_owned(o, max_cols);
    }
    let mut s = String::new();
    if mode == PayloadMode::Base64 {
        let n = (max_cols / 4 + 2).saturating_mul(3);
        base64_into(&bytes[..bytes.len().min(n)], &mut s);
    } else {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let n = max_cols / 3 + 2;
        for (i, &b) in bytes.iter().take(n).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push(DIGITS[usize::from(b >> 4)] as char);
            s.push(DIGITS[usize::from(b & 15)] as char);
        }
    }
    width::truncate_owned(s, max_cols)
}

/// Escapes text for XML and HTML content and attributes; control
/// characters XML 1.0 forbids become `?` (tab, CR and LF stay).
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\n' | '\t' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `preview_as` as it was before its printable-ASCII shortcuts: the
    /// reference it is held to.
    fn preview_reference(
        bytes: &[u8],
        kind: PayloadKind,
        mode: PayloadMode,
        max_cols: usize,
    ) -> String {
        let Some(as_text) = shown_as_text(bytes, kind, mode) else {
            return String::new();
        };
        if as_text {
            let slice = &bytes[..bytes
                .len()
                .min(max_cols.saturating_mul(4).saturating_add(4))];
            let mut o = String::new();
            let mut w = 0;
            for c in String::from_utf8_lossy(slice).chars() {
                if w > max_cols {
                    break;
                }
                let at = o.len();
                escape::push_escaped(&mut o, c);
                w += width::cols(&o[at..]);
            }
            return width::truncate(&o, max_cols);
        }
        let mut s = String::new();
        if mode == PayloadMode::Base64 {
            let n = (max_cols / 4 + 2).saturating_mul(3);
            base64_into(&bytes[..bytes.len().min(n)], &mut s);
        } else {
            for (i, &b) in bytes.iter().take(max_cols / 3 + 2).enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&format!("{b:02x}"));
            }
        }
        width::truncate(&s, max_cols)
    }

    proptest! {
        /// Printable text, controls, invalid UTF-8, wide and combining
        /// characters, in every kind and mode, at widths from nothing up.
        #[test]
        fn preview_is_the_reference(
            text in "[ -~\\x00-\\x1f\\x7fé日本\\u{301}\\u{85}👍]{0,50}",
            junk in proptest::collection::vec(any::<u8>(), 0..6),
            kind in 0usize..5,
            mode in 0usize..4,
            max_cols in 0usize..40,
        ) {
            let mut bytes = text.into_bytes();
            let at = bytes.len() / 2;
            bytes.splice(at..at, junk);
            let kind = [PayloadKind::Text, PayloadKind::Binary, PayloadKind::Control,
                PayloadKind::Compressed, PayloadKind::Unknown][kind];
            let mode = [PayloadMode::None, PayloadMode::Text, PayloadMode::Hex, PayloadMode::Base64][mode];
            prop_assert_eq!(
                preview_as(&bytes, kind, mode, max_cols),
                preview_reference(&bytes, kind, mode, max_cols)
            );
        }
    }

    #[test]
    fn previews_follow_the_mode_and_kind() {
        let t = PayloadKind::Text;
        assert_eq!(
            preview_as(b"hi \x1b[2J", t, PayloadMode::Text, 40),
            "hi \\x1b[2J"
        );
        assert_eq!(
            preview_as(b"hi", PayloadKind::Binary, PayloadMode::Text, 40),
            "68 69"
        );
        assert_eq!(preview_as(b"hi", t, PayloadMode::Hex, 40), "68 69");
        assert_eq!(preview_as(b"hi", t, PayloadMode::Base64, 40), "aGk=");
        assert_eq!(preview_as(b"hi", t, PayloadMode::None, 40), "");
        assert_eq!(
            preview_as(b"ping 1", PayloadKind::Control, PayloadMode::Text, 40),
            "ping 1"
        );
        assert_eq!(
            preview_as(&[0, 1], PayloadKind::Unknown, PayloadMode::Text, 40),
            "00 01"
        );
        assert_eq!(preview_as(b"abcdefghij", t, PayloadMode::Text, 5), "abcd…");
        let bytes: Vec<u8> = (0..100).collect();
        let hex = preview_as(&bytes, PayloadKind::Binary, PayloadMode::Hex, 20);
        assert_eq!(hex, "00 01 02 03 04 05 0…");
        let b64 = preview_as(&bytes, PayloadKind::Binary, PayloadMode::Base64, 20);
        assert!(b64.ends_with('…') && b64.chars().count() == 20, "{b64}");
        assert_eq!(
            preview_as(&bytes[..2], PayloadKind::Binary, PayloadMode::Hex, 20),
            "00 01"
        );
        // A ping that is text as a whole stays text when the preview cuts a character.
        let ping = "é".repeat(30);
        assert!(
            preview_as(ping.as_bytes(), PayloadKind::Control, PayloadMode::Text, 10)
                .starts_with('é')
        );
    }

    #[test]
    fn hex_into_is_two_digits_a_byte() {
        let mut s = String::from("left over");
        for n in [0usize, 1, 2, 511, 512, 513, 1024, 1500] {
            let data: Vec<u8> = (0..n).map(|i| (i * 131 + 7) as u8).collect();
            let reference: String = data.iter().map(|b| format!("{b:02x}")).collect();
            hex_into(&data, &mut s);
            assert_eq!(s, reference, "{n} bytes");
        }
    }

    #[test]
    fn hex_and_preview() {
        let mut s = String::new();
        hex_into(&[0x00, 0xab, 0x7f], &mut s);
        assert_eq!(s, "00ab7f");
        assert_eq!(preview(b"hello\nworld", true, 20), "hello·world");
        assert_eq!(preview(&[0xff, 0x00, 0x10], false, 20), "ff 00 10");
        assert_eq!(preview(b"abcdefghij", true, 5), "abcd…");
    }
}
