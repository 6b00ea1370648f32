//! Incremental UTF-8 validation: a message arrives in pieces (fragments,
//! segments, inflate output), and a character may be cut between pieces.
//! Only the whole message is judged.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

/// Validates a byte stream piece by piece with simdutf8: each piece once,
/// in one call, but for a character cut at its end, which is carried to
/// the next piece and judged there whole.
#[derive(Debug, Default, Clone)]
pub struct Utf8Stream {
    /// The start of a character cut at the end of the last piece.
    carry: [u8; 4],
    carry_len: usize,
    /// The length of that character, by its first byte (2 to 4).
    carry_need: usize,
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
            // Complete the carried character, and judge it whole.
            let n = (self.carry_need - self.carry_len).min(piece.len());
            let (more, rest) = piece.split_at(n);
            match self.carry.get_mut(self.carry_len..self.carry_len + n) {
                Some(d) => d.copy_from_slice(more),
                None => {
                    self.invalid = true;
                    return;
                }
            }
            self.carry_len += n;
            piece = rest;
            if self.carry_len < self.carry_need {
                return; // still incomplete (piece exhausted)
            }
            let whole = self.carry.get(..self.carry_len).unwrap_or_default();
            if std::str::from_utf8(whole).is_err() {
                self.invalid = true;
                return;
            }
            self.carry_len = 0;
        }
        // A character cut at the end waits for the next piece; the rest
        // ends at a character boundary, so any error in it is one.
        let cut = cut_character(piece);
        let (body, cut_off) = piece.split_at(cut);
        if !valid(body) {
            self.invalid = true;
            return;
        }
        if let Some(&first) = cut_off.first() {
            match self.carry.get_mut(..cut_off.len()) {
                Some(d) => {
                    d.copy_from_slice(cut_off);
                    self.carry_len = cut_off.len();
                    self.carry_need = char_len(first);
                }
                None => self.invalid = true,
            }
        }
    }

    /// The message is over: valid only if no character is left unfinished.
    pub fn finish(&self) -> bool {
        !self.invalid && self.carry_len == 0
    }
}

/// Whether `b` is valid UTF-8, by simdutf8's vector code even when `b`
/// is shorter than its 64-byte block (simdutf8 hands those to the
/// standard library's byte-by-byte check, about four instructions a
/// byte of non-ASCII text): a short piece is judged in a block of
/// zeros, which are valid characters of their own and complete no
/// sequence, so the block is valid exactly when the piece is.
pub fn valid(b: &[u8]) -> bool {
    const BLOCK: usize = 64;
    if b.len() >= BLOCK {
        return simdutf8::basic::from_utf8(b).is_ok();
    }
    if b.is_ascii() {
        return true;
    }
    let mut block = [0u8; BLOCK];
    for (d, &s) in block.iter_mut().zip(b) {
        *d = s;
    }
    simdutf8::basic::from_utf8(&block).is_ok()
}

/// The length of the character `first` starts: 1 to 4, 0 for a byte no
/// UTF-8 character starts with (a continuation byte, C0, C1, F5-FF).
fn char_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

/// Where a character cut by the end of `b` begins (`b.len()` when none
/// is): the last byte that is not a continuation byte, within the last
/// three, when the character it starts is longer than the bytes left.
fn cut_character(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let at = b.len() - back;
        let Some(&c) = b.get(at) else { break };
        if c & 0xc0 != 0x80 {
            return if char_len(c) > back { at } else { b.len() };
        }
    }
    b.len()
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

    /// `valid` agrees with the standard library on every byte string
    /// up to 66 bytes drawn from each byte class (ASCII, continuation,
    /// every lead, the bytes no character uses), around the 64-byte block.
    #[test]
    fn short_pieces_are_judged_as_std_judges_them() {
        let class = [
            0x00u8, 0x41, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
            0xf4, 0xf5, 0xff,
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let texts = ["é", "✓", "𝄞", "a"];
        for len in 0..=66 {
            for _ in 0..3000 {
                let mut b = Vec::with_capacity(len + 4);
                while b.len() < len {
                    let r = next();
                    if r % 4 == 0 {
                        b.push(class[(r >> 8) as usize % class.len()]);
                    } else {
                        b.extend_from_slice(texts[(r >> 8) as usize % texts.len()].as_bytes());
                    }
                }
                b.truncate(len);
                assert_eq!(valid(&b), std::str::from_utf8(&b).is_ok(), "{b:02x?}");
            }
        }
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

    fn std_says(bytes: &[u8]) -> bool {
        std::str::from_utf8(bytes).is_ok()
    }

    /// Bytes that are mostly UTF-8 (characters of every length), with
    /// stray continuation bytes, invalid leads, surrogates, overlong forms
    /// and characters cut short mixed in.
    fn mostly_utf8() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            2 => "[a-z é✓𝄞]{0,8}".prop_map(String::into_bytes),
            1 => any::<u8>().prop_map(|b| vec![b]),
            1 => prop::sample::select(vec![
                vec![0xc0, 0x80], vec![0xed, 0xa0, 0x80], vec![0xf4, 0x90, 0x80, 0x80],
                vec![0xe0, 0x80, 0x80], vec![0xf0, 0x8f, 0xbf, 0xbf], vec![0xe2, 0x82],
                vec![0xf0, 0x9d, 0x84], vec![0x80], vec![0xff], vec![0xc3],
            ]),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Random byte streams cut at random points validate as
        /// `std::str::from_utf8` over the whole.
        #[test]
        fn split_anywhere_agrees_with_std(
            bytes in mostly_utf8(),
            cuts in proptest::collection::vec(0usize..200, 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut s = Utf8Stream::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                s.push(&bytes[at..c]);
                at = c;
            }
            proptest::prop_assert_eq!(s.finish(), std_says(&bytes), "{:?}", bytes);
        }

        /// And one byte at a time.
        #[test]
        fn byte_at_a_time_agrees_with_std_everywhere(bytes in mostly_utf8()) {
            let mut s = Utf8Stream::new();
            for b in &bytes {
                s.push(std::slice::from_ref(b));
            }
            proptest::prop_assert_eq!(s.finish(), std_says(&bytes), "{:?}", bytes);
        }
    }
}
