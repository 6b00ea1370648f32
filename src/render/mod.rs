//! Output: every format is a consumer of the event stream.

pub mod check;
pub mod escape;
pub mod json;
pub mod table;
pub mod width;

use std::io::{self, Write};

use base64::Engine;

/// How payloads appear in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.clear();
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
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

#[cfg(test)]
mod tests {
    use super::*;

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
