//! Incremental UTF-8 validation: a message arrives in pieces (fragments,
//! segments, inflate output), and a character may be cut between pieces.
//! Only the whole message is judged.

/// Validates a byte stream piece by piece with simdutf8.
#[derive(Debug, Default, Clone)]
pub struct Utf8Stream {
    carry: [u8; 4],
    carry_len: usize,
    invalid: bool,
}

impl Utf8Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_invalid(&self) -> bool {
        self.invalid
    }

    pub fn push(&mut self, mut piece: &[u8]) {
        if self.invalid || piece.is_empty() {
            return;
        }
        if self.carry_len > 0 {
            // Complete the carried character with up to 3 more bytes.
            while self.carry_len < 4 && !piece.is_empty() {
                self.carry[self.carry_len] = piece[0];
                self.carry_len += 1;
                piece = &piece[1..];
                match simdutf8::compat::from_utf8(&self.carry[..self.carry_len]) {
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
                    let tail = &piece[e.valid_up_to()..];
                    self.carry[..tail.len()].copy_from_slice(tail);
                    self.carry_len = tail.len();
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
