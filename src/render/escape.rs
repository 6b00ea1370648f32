//! Terminal safety: capture data never reaches a terminal as control bytes.
//!
//! Every table and text output passes text that came from a capture
//! (payloads, close reasons, header values, finding messages that quote
//! them) through [`terminal`]: C0 controls, DEL and C1 controls become
//! visible escapes (`\x1b`, `\u{9b}`), so an ESC sequence in a message
//! cannot move the cursor, retitle the window or clear the screen.
//! Printable UTF-8 (any script, emoji) is kept as it is.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` would be interpreted by a terminal rather than shown.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{9b}`); borrowed when there is none.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut o, c);
    }
    Cow::Owned(o)
}

/// Appends `c`, escaped when it is a control character.
pub fn push_escaped(o: &mut String, c: char) {
    match c {
        '\n' => o.push_str("\\n"),
        '\r' => o.push_str("\\r"),
        '\t' => o.push_str("\\t"),
        c if (c as u32) < 0x80 && is_control(c) => {
            let _ = write!(o, "\\x{:02x}", c as u32);
        }
        c if is_control(c) => {
            let _ = write!(o, "\\u{{{:x}}}", c as u32);
        }
        c => o.push(c),
    }
}

/// Bytes from a capture as terminal-safe text: UTF-8 where it is, U+FFFD
/// where it is not, controls escaped.
pub fn bytes(b: &[u8]) -> String {
    terminal(&String::from_utf8_lossy(b)).into_owned()
}

/// A serde_json formatter that also escapes DEL and the C1 controls
/// (U+007F-U+009F), which JSON allows raw: JSON lines read on a terminal
/// carry no control character from the capture either.
struct JsonSafe;

impl serde_json::ser::Formatter for JsonSafe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let b = fragment.as_bytes();
        // DEL is 7f; U+0080-U+009F are c2 80..c2 9f in UTF-8. Most fragments
        // are short field values with neither byte: a plain scan settles
        // them for less than setting up a vector search costs.
        if b.len() < 64 && !b.iter().any(|&c| c == 0x7f || c == 0xc2) {
            return w.write_all(b);
        }
        let mut from = 0;
        for at in memchr::memchr2_iter(0x7f, 0xc2, b) {
            let c = fragment[at..].chars().next().unwrap_or(' ');
            if c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) {
                w.write_all(&b[from..at])?;
                write!(w, "\\u{:04x}", c as u32)?;
                from = at + c.len_utf8();
            }
        }
        w.write_all(&b[from..])
    }
}

/// Serialises `v` as JSON into `out`, control characters all escaped.
pub fn json_into<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, JsonSafe);
    v.serialize(&mut ser)
}

/// What [`json_str_into`] does with each byte: 0 copies it; `u` writes
/// `\u00XX`; `C` (0xc2) looks at the next byte (U+0080-U+009F are c2 80..c2
/// 9f in UTF-8); any other letter follows a backslash (`\"`, `\\`, `\n`...).
static JSON_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x7f] = b'u';
    t[0xc2] = b'C';
    t
};

/// Whether any of the sixteen bytes is one [`JSON_ESCAPE`] does not copy
/// as it is (C0 controls, `"`, `\`, DEL, and 0xc2, which may begin a C1
/// control). Branch-free, so the compiler can compare all sixteen at once.
#[inline]
fn needs_a_look(block: &[u8; 16]) -> bool {
    block.iter().fold(false, |any, &c| {
        any | (c < 0x20) | (c == b'"') | (c == b'\\') | (c == 0x7f) | (c == 0xc2)
    })
}

/// `s` as a JSON string (quoted) appended to `out`: the same bytes as
/// [`json_into`] gives for a string (serde_json's escapes of `"`, `\` and
/// C0 controls, and `\u007f`-`\u009f`), in one pass over the bytes. The
/// writers of the frequent records use it (their fields are written
/// without serde).
pub fn json_str_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut from = 0;
    let mut i = 0;
    loop {
        // Plain text sixteen bytes at a time (a test the compiler turns
        // into vector compares), then byte by byte from the block that has
        // something to look at.
        while let Some(block) = b.get(i..i + 16).and_then(|s| <&[u8; 16]>::try_from(s).ok()) {
            if needs_a_look(block) {
                break;
            }
            i += 16;
        }
        let Some(&c) = b.get(i) else {
            break;
        };
        let e = JSON_ESCAPE[usize::from(c)];
        if e == 0 {
            i += 1;
            continue;
        }
        let (code, width) = match e {
            b'C' => match b.get(i + 1) {
                Some(&n @ 0x80..=0x9f) => (n, 2),
                _ => {
                    i += 1;
                    continue;
                }
            },
            b'u' => (c, 1),
            letter => {
                out.extend_from_slice(b.get(from..i).unwrap_or_default());
                out.extend_from_slice(&[b'\\', letter]);
                i += 1;
                from = i;
                continue;
            }
        };
        out.extend_from_slice(b.get(from..i).unwrap_or_default());
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(code >> 4)],
            HEX[usize::from(code & 15)],
        ]);
        i += width;
        from = i;
    }
    out.extend_from_slice(b.get(from..).unwrap_or_default());
    out.push(b'"');
}

/// `v` as a JSON string, control characters all escaped.
pub fn json_string<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    match json_into(&mut out, v) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass escaper writes what serde_json with `JsonSafe` writes,
    /// for strings of every byte class (C0, DEL, C1, quotes, backslashes,
    /// other non-ASCII, emoji), and the result reads back as the string.
    #[test]
    fn json_str_into_writes_what_serde_writes() {
        use proptest::prelude::*;
        let piece = prop_oneof![
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            Just('\u{7f}'),
            (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            (0xa0u32..0x100).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            prop_oneof![Just('"'), Just('\\'), Just('/'), Just('\u{2028}')],
            Just('\u{1f600}'),
            Just('\u{fffd}'),
            (0x20u32..0x7f).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            any::<char>(),
        ];
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 2000,
            ..Default::default()
        });
        runner
            .run(&proptest::collection::vec(piece, 0..40), |cs| {
                let s: String = cs.into_iter().collect();
                let mut fast = b"x".to_vec();
                json_str_into(&mut fast, &s);
                let mut slow = b"x".to_vec();
                json_into(&mut slow, &s).unwrap();
                prop_assert_eq!(&fast, &slow, "{:?}", s);
                let back: String = serde_json::from_slice(&fast[1..]).unwrap();
                prop_assert_eq!(back, s);
                Ok(())
            })
            .unwrap();
        // Mostly plain text, long enough for the sixteen-byte blocks, with
        // an escape here and there at any offset.
        let mostly_plain = prop_oneof![
            30 => (0x20u32..0x7f).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            3 => (0xa0u32..0x800).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            1 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            1 => (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            1 => prop_oneof![Just('"'), Just('\\'), Just('\u{1f600}')],
        ];
        runner
            .run(&proptest::collection::vec(mostly_plain, 0..200), |cs| {
                let s: String = cs.into_iter().collect();
                let mut fast = Vec::new();
                json_str_into(&mut fast, &s);
                let mut slow = Vec::new();
                json_into(&mut slow, &s).unwrap();
                prop_assert_eq!(&fast, &slow, "{:?}", s);
                Ok(())
            })
            .unwrap();
        // Every escape at every offset of a block and across block edges.
        for c in [
            '\0', '\n', '\u{1f}', '"', '\\', '\u{7f}', '\u{80}', '\u{9f}', '\u{a0}',
        ] {
            for at in 0..40 {
                let s = format!("{}{c}{}", "a".repeat(at), "b".repeat(40 - at));
                let mut fast = Vec::new();
                json_str_into(&mut fast, &s);
                assert_eq!(fast, json_string(&s).into_bytes(), "{c:?} at {at}");
            }
        }
        // Long runs of plain text around every escape.
        for c in (0u32..0x100).filter_map(char::from_u32) {
            let s = format!("{0}{c}{0}{c}", "ab".repeat(40));
            let mut fast = Vec::new();
            json_str_into(&mut fast, &s);
            assert_eq!(fast, json_string(&s).into_bytes(), "{c:?}");
        }
    }

    #[test]
    fn controls_become_visible_and_text_stays() {
        assert_eq!(terminal("héllo ✓"), "héllo ✓");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("\u{1b}[31mred\u{7}"), "\\x1b[31mred\\x07");
        assert_eq!(terminal("a\r\nb\tc\u{7f}"), "a\\r\\nb\\tc\\x7f");
        assert_eq!(terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(bytes(b"\x1b]0;t\x07\xff"), "\\x1b]0;t\\x07\u{fffd}");
        let j = json_string(&"a\u{7f}b\u{9b}c\u{1b}é\u{a0}");
        assert_eq!(j, "\"a\\u007fb\\u009bc\\u001bé\u{a0}\"");
        assert_eq!(
            serde_json::from_str::<String>(&j).unwrap(),
            "a\u{7f}b\u{9b}c\u{1b}é\u{a0}"
        );
        for s in [
            terminal("\u{1b}\u{0}\u{85}").as_ref(),
            &bytes(&[0x1b, 0x9b, 0x00]),
        ] {
            assert!(!s.chars().any(char::is_control), "{s:?}");
        }
    }
}
