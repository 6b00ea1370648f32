//! Incremental UTF-8 validation: a message arrives in pieces (fragments,
//! segments, inflate output), and a character may be cut between pieces.
//! Only the whole message is judged.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

/// Validates a byte stream piece by piece with simdutf8.
#[derive(Debug, Default, Clone)]
pub struct Utf8Stream {
    carry: [u8; 4],
    carry_len: usize,
    invalid: bool,
}

impl Utf8Stream {
    /// A stream at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// An invalid sequence has been seen (the message can no longer be valid).
    pub fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// Validates the next piece of the message.
    pub fn push(&mut self, mut piece: &[u8]) {
        if self.invalid || piece.is_empty() {
            return;
        }
        if self.carry_len > 0 {
            // Complete the carried character with up to 3 more bytes.
            while self.carry_len < 4 {
                let Some((&first, rest)) = piece.split_first() else {
                    break;
                };
                let Some(slot) = self.carry.get_mut(self.carry_len) else {
                    break;
                };
                *slot = first;
                self.carry_len += 1;
                piece = rest;
                let held = self.carry.get(..self.carry_len).unwrap_or_default();
                match simdutf8::compat::from_utf8(held) {
                    Ok(_) => {
                        self.carry_len = 0;
                        break;
                    }
                    Err(e) if e.error_len().is_some() => {
                        self.invalid = true;
                        return;
                    }
                    Err(_) => {}
                }
            }
            if self.carry_len > 0 {
                return; // still incomplete (piece exhausted)
            }
        }
        if simdutf8::basic::from_utf8(piece).is_ok() {
            return;
        }
        match simdutf8::compat::from_utf8(piece) {
            Ok(_) => {}
            Err(e) => match e.error_len() {
                Some(_) => self.invalid = true,
                None => {
                    let tail = piece.get(e.valid_up_to()..).unwrap_or_default();
                    match self.carry.get_mut(..tail.len()) {
                        Some(carry) => {
                            carry.copy_from_slice(tail);
                            self.carry_len = tail.len();
                        }
                        // An unfinished character is at most 3 bytes, so
                        // this cannot happen; if it did, it is not UTF-8.
                        None => self.invalid = true,
                    }
                }
            },
        }
    }

    /// The message is over: valid only if no character is left unfinished.
    pub fn finish(&self) -> bool {
        !self.invalid && self.carry_len == 0
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn split_all(bytes: &[u8]) -> Vec<bool> {
        let mut out = Vec::new();
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let mut s = Utf8Stream::new();
                s.push(&bytes[..a]);
                s.push(&bytes[a..b]);
                s.push(&bytes[b..]);
                out.push(s.finish());
            }
        }
        out
    }

    #[test]
    fn valid_text_is_valid_at_every_split() {
        let t = "héllo wörld ✓ 𝄞 end".as_bytes();
        assert!(split_all(t).iter().all(|&v| v));
    }

    #[test]
    fn byte_at_a_time_agrees_with_std() {
        for t in [
            "𝄞✓é".as_bytes(),
            b"a\xf0\x9d\x84",
            b"\xf0\x9d\x84\x9e\xf0",
            b"\xe2\x9c\x93\xff",
            b"\xc3",
            b"",
        ] {
            let mut s = Utf8Stream::new();
            for b in t {
                s.push(std::slice::from_ref(b));
            }
            assert_eq!(s.finish(), std::str::from_utf8(t).is_ok(), "{t:?}");
        }
    }

    #[test]
    fn invalid_text_is_invalid_at_every_split() {
        for bad in [
            &b"ab\xffcd"[..],
            b"\xe2\x82",
            b"ok\xc3\x28",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
        ] {
            assert!(split_all(bad).iter().all(|&v| !v), "{bad:?}");
        }
    }
}
