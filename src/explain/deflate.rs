//! explain's permessage-deflate section: what the negotiated parameters
//! mean, and a teaching DEFLATE decoder (RFC 1951) for short messages that
//! lists every block and token: literals and <length, distance>
//! back-references, including those that reach into the previous
//! message's bytes (context takeover, RFC 7692 section 7.2.3).
//!
//! The decoder is bounded and never panics: at most [`MAX_INPUT`]
//! compressed bytes, [`MAX_OUTPUT`] inflated bytes and [`MAX_TOKENS`]
//! tokens; every table has a fixed size (code lengths are at most 15
//! bits, alphabets at most 288 symbols); a stored block's length is
//! checked against the bytes present before any copy. Its output equals
//! zlib's on whatever both accept (tests/explain_teach.rs checks it on
//! random and real data against flate2).

use serde::Serialize;

/// Compressed bytes a message may have to be walked through.
pub const MAX_INPUT: usize = 256;
/// Inflated bytes a walked-through message may have.
pub const MAX_OUTPUT: usize = 8192;
/// Tokens listed.
pub const MAX_TOKENS: usize = 2048;
/// The window: bytes of earlier messages a back-reference may reach.
pub const WINDOW: usize = 32 << 10;
/// What permessage-deflate strips from the end of each message and the
/// receiver appends back (RFC 7692 section 7.2.2): an empty stored block.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One token of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "token", rename_all = "kebab-case")]
pub enum Token {
    /// A byte as itself.
    Literal { byte: u8 },
    /// Copy `length` bytes from `distance` back. `into_window` when it
    /// reaches before this message's first byte (into an earlier message).
    Match {
        length: u16,
        distance: u16,
        into_window: bool,
    },
    /// A stored block's bytes, copied as they are.
    Stored { len: u16 },
    /// The end-of-block code (256).
    EndOfBlock,
}

/// One DEFLATE block.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    /// BFINAL: the last block of the stream.
    pub bfinal: bool,
    /// BTYPE: 0 stored, 1 fixed Huffman, 2 dynamic Huffman.
    pub btype: u8,
    pub kind: &'static str,
    /// Where its header starts, in bits from the start of the message.
    pub bit: usize,
    /// Whether it lies in the 4 bytes permessage-deflate strips and the
    /// receiver appends (00 00 ff ff: an empty stored block, the sync flush).
    pub appended: bool,
    /// For dynamic blocks: how many literal/length, distance and
    /// code-length codes its header defines.
    pub hlit: Option<u16>,
    pub hdist: Option<u8>,
    pub hclen: Option<u8>,
    pub tokens: Vec<Token>,
}

/// A message walked through.
#[derive(Debug, Clone, Serialize)]
pub struct Walk {
    pub blocks: Vec<Block>,
    /// The inflated bytes.
    #[serde(skip)]
    pub output: Vec<u8>,
    pub literals: u32,
    pub matches: u32,
    /// Back-references into earlier messages, and the bytes they copied.
    pub window_matches: u32,
    pub window_bytes: u32,
    /// Bytes copied by back-references.
    pub match_bytes: u32,
}

/// Why a message could not be walked through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkError {
    TooLong,
    Truncated,
    BadBlockType,
    BadStoredLength,
    BadCode,
    DistanceTooFar,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WalkError::TooLong => "too long to walk through here",
            WalkError::Truncated => "the compressed bytes end inside a block",
            WalkError::BadBlockType => "a block has the reserved type 3",
            WalkError::BadStoredLength => "a stored block's LEN and NLEN do not match",
            WalkError::BadCode => "a Huffman code is invalid",
            WalkError::DistanceTooFar => "a back-reference reaches before the bytes known",
        })
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, WalkError> {
        let byte = self.data.get(self.pos / 8).ok_or(WalkError::Truncated)?;
        let b = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    /// `n` bits (at most 16), least significant first.
    fn bits(&mut self, n: u32) -> Result<u32, WalkError> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }

    fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }
}

/// A canonical Huffman code: counts per length and symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbol: [u16; 288],
}

impl Huffman {
    /// Builds the code of `lengths`. Over-subscribed codes are rejected; an
    /// incomplete one only when `incomplete` allows it (the fixed distance
    /// code) or when it has a single code of one bit and is not the
    /// code-length code (`cl`), as zlib decides.
    fn new(lengths: &[u8]) -> Result<Huffman, WalkError> {
        Huffman::build(lengths, false, false)
    }

    fn build(lengths: &[u8], incomplete: bool, cl: bool) -> Result<Huffman, WalkError> {
        let mut h = Huffman {
            count: [0; 16],
            symbol: [0; 288],
        };
        for &l in lengths {
            let c = h.count.get_mut(usize::from(l)).ok_or(WalkError::BadCode)?;
            *c += 1;
        }
        let used = lengths.len() as u16 - h.count[0];
        let mut left: i32 = 1;
        for len in 1..16 {
            left <<= 1;
            left -= i32::from(h.count[len]);
            if left < 0 {
                return Err(WalkError::BadCode);
            }
        }
        if left > 0 && !incomplete && used != 0 && (cl || !(used == 1 && h.count[1] == 1)) {
            return Err(WalkError::BadCode);
        }
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + h.count[len];
        }
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let o = &mut offs[usize::from(l)];
                if let Some(s) = h.symbol.get_mut(usize::from(*o)) {
                    *s = sym as u16;
                }
                *o += 1;
            }
        }
        Ok(h)
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u16, WalkError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bit()? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self
                    .symbol
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or(WalkError::BadCode);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(WalkError::BadCode)
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order code-length code lengths are sent in (RFC 1951 section 3.2.7).
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn fixed() -> Result<(Huffman, Huffman), WalkError> {
    let mut l = [0u8; 288];
    for (i, x) in l.iter_mut().enumerate() {
        *x = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    Ok((Huffman::new(&l)?, Huffman::build(&[5u8; 30], true, false)?))
}

fn dynamic(b: &mut Bits<'_>, blk: &mut Block) -> Result<(Huffman, Huffman), WalkError> {
    let hlit = b.bits(5)? as usize + 257;
    let hdist = b.bits(5)? as usize + 1;
    let hclen = b.bits(4)? as usize + 4;
    blk.hlit = Some(hlit as u16);
    blk.hdist = Some(hdist as u8);
    blk.hclen = Some(hclen as u8);
    if hlit > 286 || hdist > 30 {
        return Err(WalkError::BadCode);
    }
    let mut cl = [0u8; 19];
    for &i in CL_ORDER.iter().take(hclen) {
        cl[i] = b.bits(3)? as u8;
    }
    let clh = Huffman::build(&cl, false, true)?;
    let mut lengths = [0u8; 316];
    let total = hlit + hdist;
    let mut n = 0;
    while n < total {
        let sym = clh.decode(b)?;
        let (val, rep) = match sym {
            0..=15 => (sym as u8, 1),
            16 => {
                let prev = n
                    .checked_sub(1)
                    .and_then(|p| lengths.get(p))
                    .copied()
                    .ok_or(WalkError::BadCode)?;
                (prev, 3 + b.bits(2)? as usize)
            }
            17 => (0, 3 + b.bits(3)? as usize),
            _ => (0, 11 + b.bits(7)? as usize),
        };
        if n + rep > total {
            return Err(WalkError::BadCode);
        }
        for x in lengths.iter_mut().skip(n).take(rep) {
            *x = val;
        }
        n += rep;
    }
    if lengths[256] == 0 {
        return Err(WalkError::BadCode);
    }
    Ok((
        Huffman::new(&lengths[..hlit])?,
        Huffman::new(&lengths[hlit..total])?,
    ))
}

/// Walks through one message's compressed bytes `data` (as on the wire,
/// without the 4 stripped bytes), appending [`TAIL`] as a receiver does,
/// with `window` the bytes of earlier messages a back-reference may reach
/// (empty without context takeover).
pub fn walk(window: &[u8], data: &[u8]) -> Result<Walk, WalkError> {
    if data.len() > MAX_INPUT {
        return Err(WalkError::TooLong);
    }
    let mut input = [0u8; MAX_INPUT + 4];
    let n = data.len() + TAIL.len();
    input[..data.len()].copy_from_slice(data);
    input[data.len()..n].copy_from_slice(&TAIL);
    walk_raw(window, &input[..n], data.len())
}

/// Walks through a raw DEFLATE stream `data` (at most [`MAX_INPUT`] + 4
/// bytes), until a final block or the end of the bytes at a block's end.
/// Bytes from `appended_from` on are the appended tail.
pub fn walk_raw(window: &[u8], data: &[u8], appended_from: usize) -> Result<Walk, WalkError> {
    if data.len() > MAX_INPUT + TAIL.len() {
        return Err(WalkError::TooLong);
    }
    let window = &window[window.len().saturating_sub(WINDOW)..];
    let mut out: Vec<u8> = Vec::new();
    let mut w = Walk {
        blocks: Vec::new(),
        output: Vec::new(),
        literals: 0,
        matches: 0,
        window_matches: 0,
        window_bytes: 0,
        match_bytes: 0,
    };
    let (lit_fixed, dist_fixed) = fixed()?;
    let mut b = Bits { data, pos: 0 };
    let mut tokens = 0usize;
    loop {
        // Ran out of bytes at a block boundary: the message ends here.
        if b.pos.div_ceil(8) >= data.len() && !w.blocks.is_empty() {
            // What is left of the last byte is, to zlib, the next block's
            // header: it refuses the reserved type there (any other type
            // waits for bytes that never come).
            if data.len() * 8 - b.pos >= 3 {
                let mut next = Bits {
                    data,
                    pos: b.pos + 1,
                };
                if next.bits(2)? == 3 {
                    return Err(WalkError::BadBlockType);
                }
            }
            break;
        }
        let start = b.pos;
        let bfinal = b.bit()? == 1;
        let btype = b.bits(2)? as u8;
        let mut blk = Block {
            bfinal,
            btype,
            kind: match btype {
                0 => "stored",
                1 => "fixed Huffman",
                2 => "dynamic Huffman",
                _ => "reserved",
            },
            bit: start,
            appended: start / 8 >= appended_from,
            hlit: None,
            hdist: None,
            hclen: None,
            tokens: Vec::new(),
        };
        match btype {
            0 => {
                b.align();
                // Its LEN and NLEN are the 4 bytes appended back: the sync flush.
                blk.appended = b.pos / 8 >= appended_from;
                let len = b.bits(16)? as u16;
                let nlen = b.bits(16)? as u16;
                if len != !nlen {
                    return Err(WalkError::BadStoredLength);
                }
                let at = b.pos / 8;
                let bytes = data
                    .get(at..at + usize::from(len))
                    .ok_or(WalkError::Truncated)?;
                if out.len() + bytes.len() > MAX_OUTPUT {
                    return Err(WalkError::TooLong);
                }
                out.extend_from_slice(bytes);
                b.pos += usize::from(len) * 8;
                blk.tokens.push(Token::Stored { len });
                tokens += 1;
            }
            1 | 2 => {
                let dynamic_codes;
                let (lit, dist) = if btype == 1 {
                    (&lit_fixed, &dist_fixed)
                } else {
                    dynamic_codes = dynamic(&mut b, &mut blk)?;
                    (&dynamic_codes.0, &dynamic_codes.1)
                };
                loop {
                    if tokens >= MAX_TOKENS {
                        return Err(WalkError::TooLong);
                    }
                    tokens += 1;
                    let sym = lit.decode(&mut b)?;
                    if sym < 256 {
                        if out.len() >= MAX_OUTPUT {
                            return Err(WalkError::TooLong);
                        }
                        out.push(sym as u8);
                        w.literals += 1;
                        blk.tokens.push(Token::Literal { byte: sym as u8 });
                    } else if sym == 256 {
                        blk.tokens.push(Token::EndOfBlock);
                        break;
                    } else {
                        let i = usize::from(sym - 257);
                        let (base, extra) = LEN_BASE
                            .get(i)
                            .zip(LEN_EXTRA.get(i))
                            .ok_or(WalkError::BadCode)?;
                        let length = base + b.bits(u32::from(*extra))? as u16;
                        let ds = usize::from(dist.decode(&mut b)?);
                        let (dbase, dextra) = DIST_BASE
                            .get(ds)
                            .zip(DIST_EXTRA.get(ds))
                            .ok_or(WalkError::BadCode)?;
                        let distance = dbase + b.bits(u32::from(*dextra))? as u16;
                        let d = usize::from(distance);
                        if d > out.len() + window.len() {
                            return Err(WalkError::DistanceTooFar);
                        }
                        if out.len() + usize::from(length) > MAX_OUTPUT {
                            return Err(WalkError::TooLong);
                        }
                        let into_window = d > out.len();
                        for _ in 0..length {
                            // Byte `d` back: in this message's output or the window.
                            let byte = if d <= out.len() {
                                out.get(out.len() - d).copied()
                            } else {
                                window.get(window.len() + out.len() - d).copied()
                            }
                            .ok_or(WalkError::DistanceTooFar)?;
                            out.push(byte);
                        }
                        w.matches += 1;
                        w.match_bytes += u32::from(length);
                        if into_window {
                            w.window_matches += 1;
                            w.window_bytes += u32::from(length);
                        }
                        blk.tokens.push(Token::Match {
                            length,
                            distance,
                            into_window,
                        });
                    }
                }
            }
            _ => return Err(WalkError::BadBlockType),
        }
        w.blocks.push(blk);
        if bfinal {
            break;
        }
    }
    w.output = out;
    Ok(w)
}

/// What the negotiated permessage-deflate parameters mean (RFC 7692 section 7.1).
#[derive(Debug, Clone, Serialize)]
pub struct ParamEx {
    pub name: &'static str,
    pub value: Option<String>,
    pub meaning: String,
}

/// The parameters the server accepted, each with its meaning; absent ones
/// say what their absence means.
pub fn params(d: &crate::ws::deflate::DeflateParams) -> Vec<ParamEx> {
    vec![
        ParamEx {
            name: "server_no_context_takeover",
            value: d.server_no_context_takeover.then(|| "present".to_string()),
            meaning: if d.server_no_context_takeover {
                "the server starts every message with an empty window: a message never refers to an earlier one".into()
            } else {
                "absent: the server keeps its window between messages, so a message may copy bytes from the ones before (context takeover)".into()
            },
        },
        ParamEx {
            name: "client_no_context_takeover",
            value: d.client_no_context_takeover.then(|| "present".to_string()),
            meaning: if d.client_no_context_takeover {
                "the client starts every message with an empty window".into()
            } else {
                "absent: the client keeps its window between messages (context takeover)".into()
            },
        },
        ParamEx {
            name: "server_max_window_bits",
            value: d.server_max_window_bits.map(|b| b.to_string()),
            meaning: match d.server_max_window_bits {
                Some(b) => format!(
                    "the server's back-references reach at most 2^{b} = {} bytes back",
                    1u32 << b.min(15)
                ),
                None => "absent: up to 2^15 = 32768 bytes back".into(),
            },
        },
        ParamEx {
            name: "client_max_window_bits",
            value: d.client_max_window_bits.map(|b| b.to_string()),
            meaning: match d.client_max_window_bits {
                Some(b) => format!(
                    "the client's back-references reach at most 2^{b} = {} bytes back",
                    1u32 << b.min(15)
                ),
                None => "absent: up to 2^15 = 32768 bytes back".into(),
            },
        },
    ]
}

/// A compressed message walked through, for the page.
#[derive(Debug, Clone, Serialize)]
pub struct DeflateMessageEx {
    pub message: usize,
    pub from: crate::findings::Dir,
    pub wire_len: u64,
    pub len: u64,
    /// The compressed bytes as hex.
    pub compressed_hex: String,
    /// Whether earlier messages' bytes were available to its back-references.
    pub context_takeover: bool,
    pub walk: Option<Walk>,
    pub error: Option<String>,
    pub says: String,
}

/// The permessage-deflate section.
#[derive(Debug, Clone, Serialize)]
pub struct DeflateEx {
    pub params: Vec<ParamEx>,
    pub messages: Vec<DeflateMessageEx>,
    /// Compressed messages too long (or not in one frame) to be walked through.
    pub not_walked: u64,
}

/// A token in words.
pub fn token_words(t: &Token) -> String {
    match t {
        Token::Literal { byte } => {
            if byte.is_ascii_graphic() || *byte == b' ' {
                format!("literal '{}'", *byte as char)
            } else {
                format!("literal 0x{byte:02x}")
            }
        }
        Token::Match {
            length,
            distance,
            into_window,
        } => format!(
            "<length {length}, distance {distance}>{}",
            if *into_window {
                ": reaches into the previous message"
            } else {
                ""
            }
        ),
        Token::Stored { len } => format!("{len} stored bytes"),
        Token::EndOfBlock => "end of block (code 256)".to_string(),
    }
}

/// The sentence on one walked message.
pub fn message_says(m: &DeflateMessageEx) -> String {
    let Some(w) = &m.walk else {
        return String::new();
    };
    let mut s = format!(
        "{} compressed bytes (the 4 bytes 00 00 ff ff stripped, RFC 7692 section 7.2.1) inflate to {}: {} literal{}, {} back-reference{} copying {} bytes",
        m.wire_len,
        m.len,
        w.literals,
        if w.literals == 1 { "" } else { "s" },
        w.matches,
        if w.matches == 1 { "" } else { "s" },
        w.match_bytes
    );
    if w.window_matches > 0 {
        s.push_str(&format!(
            "; {} of them reach{} into the previous message{} bytes ({} bytes): context takeover is why a repeated message shrinks",
            w.window_matches,
            if w.window_matches == 1 { "es" } else { "" },
            "s'",
            w.window_bytes
        ));
    } else if !m.context_takeover {
        s.push_str("; no context takeover: it could not refer to earlier messages");
    }
    s.push('.');
    s
}

/// Tokens shown per block.
const SHOW_TOKENS: usize = 64;

/// One block in words.
pub fn block_words(b: &Block) -> String {
    let mut s = format!(
        "block at bit {}: BFINAL={} BTYPE={:02b} ({})",
        b.bit,
        u8::from(b.bfinal),
        b.btype,
        b.kind
    );
    if let (Some(l), Some(d), Some(c)) = (b.hlit, b.hdist, b.hclen) {
        s.push_str(&format!(
            ", its own codes: {l} literal/length, {d} distance, {c} code-length codes"
        ));
    }
    if b.appended {
        s.push_str(
            ", the empty stored block 00 00 ff ff the sender stripped and the receiver appends back (a sync flush)",
        );
    }
    let toks: Vec<String> = b.tokens.iter().take(SHOW_TOKENS).map(token_words).collect();
    s.push_str(": ");
    s.push_str(&toks.join(", "));
    if b.tokens.len() > SHOW_TOKENS {
        s.push_str(&format!(", … ({} tokens in all)", b.tokens.len()));
    }
    s
}

/// The section as plain-text paragraphs (indent, text). Message text is
/// not in it: tokens show bytes as printable ASCII or hex only.
pub fn text_lines(d: &DeflateEx) -> Vec<(usize, String)> {
    let mut v = vec![(
        3,
        "permessage-deflate compresses each data message with DEFLATE (RFC 1951); the sender strips the last 4 bytes (00 00 ff ff, an empty stored block) and sets RSV1 on the message's first frame. The parameters the server accepted:".to_string(),
    )];
    for p in &d.params {
        v.push((
            5,
            format!(
                "{}{}: {}",
                p.name,
                p.value
                    .as_deref()
                    .map_or(String::new(), |x| format!(" = {x}")),
                p.meaning
            ),
        ));
    }
    for m in &d.messages {
        v.push((
            3,
            format!(
                "Message {} ({}): {} compressed bytes: {}",
                m.message,
                super::arrow(m.from),
                m.wire_len,
                m.compressed_hex
            ),
        ));
        match (&m.walk, &m.error) {
            (Some(w), _) => {
                for b in &w.blocks {
                    v.push((5, block_words(b)));
                }
                v.push((5, m.says.clone()));
            }
            (None, Some(e)) => v.push((5, format!("not walked through: {e}"))),
            _ => {}
        }
    }
    if d.not_walked > 0 {
        v.push((
            3,
            format!(
                "{} more compressed messages are not walked through (only the first {} short one-frame messages are).",
                d.not_walked,
                6
            ),
        ));
    }
    v
}

/// The section for the page (numbers, hex and escaped ASCII only).
pub fn html_section(out: &mut String, d: &DeflateEx) {
    out.push_str("<h2 id=\"deflate\">permessage-deflate, explained</h2>\n");
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut lines = text_lines(d).into_iter();
    if let Some((_, intro)) = lines.next() {
        out.push_str(&format!("<p>{}</p>\n", esc(&intro)));
    }
    out.push_str(
        "<table class=\"deflate-params\"><tr><th>parameter</th><th>value</th><th>meaning</th></tr>",
    );
    for p in &d.params {
        out.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"meaning\">{}</td></tr>",
            p.name,
            esc(p.value.as_deref().unwrap_or("\u{2014}")),
            esc(&p.meaning)
        ));
    }
    out.push_str("</table>\n");
    for m in &d.messages {
        out.push_str(&format!(
            "<h3>Message {} \u{b7} {} \u{b7} {} compressed bytes \u{2192} {}</h3><pre class=\"hex\">{}</pre>\n",
            m.message,
            super::arrow(m.from),
            m.wire_len,
            m.len,
            esc(&m.compressed_hex)
        ));
        match (&m.walk, &m.error) {
            (Some(w), _) => {
                out.push_str("<ol class=\"blocks\">");
                for b in &w.blocks {
                    out.push_str(&format!("<li>{}</li>", esc(&block_words(b))));
                }
                out.push_str("</ol>\n");
                out.push_str(&format!("<p class=\"answer\">{}</p>\n", esc(&m.says)));
            }
            (None, Some(e)) => out.push_str(&format!("<p>Not walked through: {}</p>\n", esc(e))),
            _ => {}
        }
    }
    if d.not_walked > 0 {
        out.push_str(&format!(
            "<p>{} more compressed messages are not walked through.</p>\n",
            d.not_walked
        ));
    }
}
