//! HPACK (RFC 7541) header block decoder that tolerates missing history.
//!
//! One [`Decoder`] per direction of an HTTP/2 connection. It follows the
//! dynamic table exactly when it has seen the connection from its start, and
//! stays honest when it has not: a capture that starts mid-connection (or
//! lost a header block) leaves the table's older content unknown. Then
//!
//! - an index into the unknown part yields a field whose name and/or value is
//!   `None` (never a wrong one) and a [`Signal::NoContext`];
//! - an insertion whose name refers to an unknown entry still inserts a
//!   placeholder, so later indices keep pointing at the right entries;
//! - decoding goes on after an unknown index: only bytes that cannot be
//!   parsed (a truncated integer or string, bad Huffman) stop a block, and
//!   then the table is marked unknown again, since insertions may have been
//!   missed.
//!
//! Why an index can never resolve wrongly: index `n` names the `n`-th newest
//! insertion (RFC 7541 section 2.3.3). Eviction only removes from the old
//! end, so as long as every insertion is counted, the newest entries we
//! hold are the encoder's newest entries, whatever we believe about sizes.
//! An entry we still hold but the encoder evicted lies beyond the encoder's
//! table and is never referenced; an entry we evicted but the encoder holds
//! comes out unknown.
//!
//! Memory: strings, the header list and our copy of the dynamic table each
//! have a cap ([`Limits`]); reaching one is a [`Signal`], never an
//! allocation of a size read from the wire.

use std::collections::VecDeque;
use std::sync::OnceLock;

use super::huffman_table::CODES;

/// Per-entry overhead in the table size accounting (RFC 7541 section 4.1).
pub const ENTRY_OVERHEAD: usize = 32;
/// SETTINGS_HEADER_TABLE_SIZE before any SETTINGS (RFC 9113 section 6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// Memory caps of one decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest name or value kept (decoded bytes).
    pub max_string: usize,
    /// Largest header list kept per block (RFC size: name + value + 32 each).
    pub max_header_list: usize,
    /// Largest dynamic table we mirror, whatever the peers agree on.
    pub max_table: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_string: 1 << 20,
            max_header_list: 4 << 20,
            max_table: 1 << 20,
        }
    }
}

/// One decoded header field. `None` means "not knowable from this capture".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Sent as "literal never indexed" (RFC 7541 section 6.2.3).
    pub never_indexed: bool,
}

impl Field {
    pub fn is_known(&self) -> bool {
        self.name.is_some() && self.value.is_some()
    }
    /// `name` as text when known and valid UTF-8.
    pub fn name_str(&self) -> Option<&str> {
        self.name
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
    }
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
    }
}

/// What happened while decoding a block, beside the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A reference into the part of the dynamic table the capture never
    /// showed (`h2.hpack-no-context`).
    NoContext { index: usize },
    /// An index beyond a table whose whole history we saw: the encoder broke
    /// the rules (RFC 7541 section 2.3.3).
    BadIndex { index: usize },
    /// A dynamic table size update above the announced
    /// SETTINGS_HEADER_TABLE_SIZE (section 6.3).
    SizeUpdateOverLimit { requested: u64, limit: usize },
    /// A size update after the first field of a block (section 4.2).
    SizeUpdateNotAtStart,
    /// The table the peers agreed on is larger than [`Limits::max_table`]:
    /// older entries are forgotten early and come out unknown.
    TableCapped { requested: u64, cap: usize },
    /// A string longer than [`Limits::max_string`]: the field is kept with
    /// that part unknown.
    StringTooLong { len: usize },
    /// The header list passed [`Limits::max_header_list`]; later fields are
    /// decoded (to keep the table right) but not kept.
    HeaderListTooLarge { size: usize },
    /// Bytes that do not parse; the rest of the block is lost.
    Malformed { what: &'static str, at: usize },
}

impl Signal {
    /// The finding code this signal maps to.
    pub fn code(&self) -> &'static str {
        match self {
            Signal::NoContext { .. } => "h2.hpack-no-context",
            Signal::TableCapped { .. }
            | Signal::StringTooLong { .. }
            | Signal::HeaderListTooLarge { .. } => "limit.reached",
            Signal::BadIndex { .. }
            | Signal::SizeUpdateOverLimit { .. }
            | Signal::SizeUpdateNotAtStart
            | Signal::Malformed { .. } => "h2.hpack-malformed",
        }
    }
}

/// The fields of one header block and what was noticed decoding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    pub fields: Vec<Field>,
    pub signals: Vec<Signal>,
}

impl Block {
    /// The first known value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.name.as_deref() == Some(name.as_bytes()))
            .and_then(|f| f.value.as_deref())
    }
    /// True when some field is (partly) unknown.
    pub fn has_unknown(&self) -> bool {
        self.fields.iter().any(|f| !f.is_known())
    }
}

/// A dynamic table entry: known text, or a placeholder for an insertion
/// whose name (or value, when over the string cap) we cannot know.
#[derive(Debug, Clone)]
struct Entry {
    name: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    /// Its size for accounting; a lower bound when the name is unknown.
    size: usize,
}

/// HPACK decoder for one direction.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Newest first.
    entries: VecDeque<Entry>,
    /// Sum of `entries[..].size` (a lower bound when placeholders have
    /// unknown names).
    size: usize,
    /// Current maximum size as the encoder set it (capped by our limit).
    max_size: usize,
    /// SETTINGS_HEADER_TABLE_SIZE announced by the decoding side, when seen.
    settings_limit: Option<usize>,
    /// True while entries older than ours may exist in the encoder's table.
    history_unknown: bool,
}

impl Decoder {
    /// A decoder that saw the connection from its first byte.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            max_size: DEFAULT_TABLE_SIZE.min(limits.max_table),
            limits,
            entries: VecDeque::new(),
            size: 0,
            settings_limit: None,
            history_unknown: false,
        }
    }

    /// A decoder for a capture that starts after the connection did: the
    /// table's earlier content is unknown.
    pub fn mid_connection(limits: Limits) -> Self {
        let mut d = Decoder::new(limits);
        d.history_unknown = true;
        // Any size up to the cap may be in force.
        d.max_size = limits.max_table;
        d
    }

    /// Forget the table's content (a header block was lost); later
    /// insertions are followed again.
    pub fn lose_context(&mut self) {
        self.entries.clear();
        self.size = 0;
        self.history_unknown = true;
    }

    /// Whether older, unknown entries may still be referenced.
    pub fn history_unknown(&self) -> bool {
        self.history_unknown
    }

    /// The decoding side announced SETTINGS_HEADER_TABLE_SIZE = `v`. Size
    /// updates above it are flagged (RFC 7541 section 6.3).
    pub fn set_settings_limit(&mut self, v: u32) {
        self.settings_limit = Some(v as usize);
    }

    /// Number of entries we hold (for tests and explain).
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Table size in RFC units (exact when every name is known).
    pub fn size(&self) -> usize {
        self.size
    }
    /// The entry at dynamic index `i` (1 = newest), if we know it.
    #[allow(clippy::type_complexity)]
    pub fn entry(&self, i: usize) -> Option<(Option<&[u8]>, Option<&[u8]>)> {
        let e = self.entries.get(i.checked_sub(1)?)?;
        Some((e.name.as_deref(), e.value.as_deref()))
    }

    /// Decode one complete header block.
    pub fn decode(&mut self, block: &[u8]) -> Block {
        let mut out = Block::default();
        let mut list_size = 0usize;
        let mut list_full = false;
        let mut pos = 0usize;
        let mut seen_field = false;
        while pos < block.len() {
            let at = pos;
            let b = block[pos];
            let step = if b & 0x80 != 0 {
                // Indexed header field (6.1).
                self.indexed(block, &mut pos, &mut out)
            } else if b & 0xc0 == 0x40 {
                self.literal(block, &mut pos, 6, true, false, &mut out)
            } else if b & 0xe0 == 0x20 {
                // Dynamic table size update (6.3).
                if seen_field {
                    out.signals.push(Signal::SizeUpdateNotAtStart);
                }
                self.size_update(block, &mut pos, &mut out).map(|()| None)
            } else {
                let never = b & 0xf0 == 0x10;
                self.literal(block, &mut pos, 4, false, never, &mut out)
            };
            match step {
                Ok(None) => {}
                Ok(Some(field)) => {
                    seen_field = true;
                    let fsize = field.name.as_ref().map_or(0, Vec::len)
                        + field.value.as_ref().map_or(0, Vec::len)
                        + ENTRY_OVERHEAD;
                    list_size = list_size.saturating_add(fsize);
                    if list_size > self.limits.max_header_list {
                        if !list_full {
                            out.signals
                                .push(Signal::HeaderListTooLarge { size: list_size });
                            list_full = true;
                        }
                    } else {
                        out.fields.push(field);
                    }
                }
                Err(what) => {
                    out.signals.push(Signal::Malformed { what, at });
                    // Insertions after this point are lost to us.
                    self.lose_context();
                    break;
                }
            }
        }
        out
    }

    /// Look up absolute index `index` (1-based; static table first).
    fn lookup(&self, index: usize, out: &mut Block) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        if index == 0 {
            out.signals.push(Signal::Malformed {
                what: "index 0",
                at: 0,
            });
            return (None, None);
        }
        if let Some((n, v)) = STATIC_TABLE.get(index - 1) {
            return (Some(n.as_bytes().to_vec()), Some(v.as_bytes().to_vec()));
        }
        let d = index - STATIC_TABLE.len();
        match self.entries.get(d - 1) {
            Some(e) => {
                if e.name.is_none() || e.value.is_none() {
                    out.signals.push(Signal::NoContext { index });
                }
                (e.name.clone(), e.value.clone())
            }
            None => {
                if self.history_unknown {
                    out.signals.push(Signal::NoContext { index });
                } else {
                    out.signals.push(Signal::BadIndex { index });
                }
                (None, None)
            }
        }
    }

    fn indexed(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        out: &mut Block,
    ) -> Result<Option<Field>, &'static str> {
        let index = decode_int(block, pos, 7)?;
        let (name, value) = self.lookup(index, out);
        Ok(Some(Field {
            name,
            value,
            never_indexed: false,
        }))
    }

    fn literal(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        prefix: u8,
        incremental: bool,
        never_indexed: bool,
        out: &mut Block,
    ) -> Result<Option<Field>, &'static str> {
        let index = decode_int(block, pos, prefix)?;
        let (name, name_len) = if index == 0 {
            let s = self.string(block, pos, out)?;
            let len = s.len;
            (s.bytes, Some(len))
        } else {
            let (n, _) = self.lookup(index, out);
            let len = n.as_ref().map(Vec::len);
            (n, len)
        };
        let v = self.string(block, pos, out)?;
        if incremental {
            // A lower bound on the size when the name is unknown.
            let size = name_len.unwrap_or(0) + v.len + ENTRY_OVERHEAD;
            self.insert(Entry {
                name: name.clone().filter(|_| name_len.is_some()),
                value: v.bytes.clone(),
                size,
            });
        }
        Ok(Some(Field {
            name,
            value: v.bytes,
            never_indexed,
        }))
    }

    fn size_update(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        out: &mut Block,
    ) -> Result<(), &'static str> {
        let requested = decode_int(block, pos, 5)?;
        let req64 = requested as u64;
        if let Some(limit) = self.settings_limit
            && requested > limit
        {
            out.signals.push(Signal::SizeUpdateOverLimit {
                requested: req64,
                limit,
            });
        }
        if requested > self.limits.max_table {
            out.signals.push(Signal::TableCapped {
                requested: req64,
                cap: self.limits.max_table,
            });
        }
        self.max_size = requested.min(self.limits.max_table);
        if requested == 0 {
            // Everything the encoder held is gone: history is complete now.
            self.history_unknown = false;
        }
        self.evict(0);
        Ok(())
    }

    fn insert(&mut self, e: Entry) {
        if e.size > self.max_size {
            // Section 4.4: an entry larger than the table empties it.
            self.entries.clear();
            self.size = 0;
            // Only when we know its true size can we say the table is empty.
            if e.name.is_some() {
                self.history_unknown = false;
            }
            return;
        }
        self.evict(e.size);
        self.size += e.size;
        self.entries.push_front(e);
        // If no further entry of the smallest size (32) fits beside what
        // we hold, the encoder holds nothing older than our entries.
        if self.history_unknown && self.size + ENTRY_OVERHEAD > self.max_size {
            self.history_unknown = false;
        }
    }

    fn evict(&mut self, room: usize) {
        while self.size + room > self.max_size {
            match self.entries.pop_back() {
                Some(old) => self.size -= old.size,
                None => break,
            }
        }
    }

    fn string(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        out: &mut Block,
    ) -> Result<Str, &'static str> {
        let first = *block.get(*pos).ok_or("truncated string")?;
        let huffman = first & 0x80 != 0;
        let len = decode_int(block, pos, 7)?;
        let end = pos.checked_add(len).ok_or("string length overflow")?;
        let raw = block.get(*pos..end).ok_or("truncated string")?;
        *pos = end;
        // A Huffman string decodes to at most 8/5 of its length.
        let decoded_max = if huffman {
            len.saturating_mul(8) / 5
        } else {
            len
        };
        if decoded_max > self.limits.max_string {
            out.signals.push(Signal::StringTooLong { len });
            // The true length is unknown for Huffman; use the bound below.
            let known = if huffman {
                len.saturating_mul(8) / 30
            } else {
                len
            };
            return Ok(Str {
                bytes: None,
                len: known,
            });
        }
        let bytes = if huffman {
            huffman_decode(raw)?
        } else {
            raw.to_vec()
        };
        Ok(Str {
            len: bytes.len(),
            bytes: Some(bytes),
        })
    }
}

struct Str {
    bytes: Option<Vec<u8>>,
    len: usize,
}

/// Largest integer we accept: anything larger than 2^32-1 is no real
/// length, index or size.
const MAX_INT: u64 = u32::MAX as u64;

/// RFC 7541 section 5.1 integer with an N-bit prefix, from `block[*pos]`.
pub fn decode_int(block: &[u8], pos: &mut usize, prefix: u8) -> Result<usize, &'static str> {
    let first = *block.get(*pos).ok_or("truncated integer")?;
    *pos += 1;
    let mask = ((1u16 << prefix) - 1) as u8;
    let mut v = u64::from(first & mask);
    if v < u64::from(mask) {
        return Ok(v as usize);
    }
    let mut shift = 0u32;
    loop {
        let b = *block.get(*pos).ok_or("truncated integer")?;
        *pos += 1;
        v += u64::from(b & 0x7f) << shift;
        if v > MAX_INT {
            return Err("integer too large");
        }
        if b & 0x80 == 0 {
            return Ok(v as usize);
        }
        shift += 7;
        if shift > 35 {
            return Err("integer too long");
        }
    }
}

/// Canonical decoding tables built once from the code lengths.
struct Canon {
    /// Per length 1..=30: first code of that length and index into `syms`.
    first: [u32; 31],
    count: [u32; 31],
    offset: [u32; 31],
    syms: Vec<u16>,
}

fn canon() -> &'static Canon {
    static C: OnceLock<Canon> = OnceLock::new();
    C.get_or_init(|| {
        let mut count = [0u32; 31];
        for &(_, l) in CODES.iter() {
            count[l as usize] += 1;
        }
        let mut syms: Vec<u16> = (0..257u16).collect();
        syms.sort_by_key(|&s| (CODES[s as usize].1, s));
        let mut first = [0u32; 31];
        let mut offset = [0u32; 31];
        let mut code = 0u32;
        let mut idx = 0u32;
        for l in 1..31 {
            first[l] = code;
            offset[l] = idx;
            code = (code + count[l]) << 1;
            idx += count[l];
        }
        Canon {
            first,
            count,
            offset,
            syms,
        }
    })
}

/// Decode an RFC 7541 section 5.2 Huffman string (Appendix B code).
pub fn huffman_decode(input: &[u8]) -> Result<Vec<u8>, &'static str> {
    let c = canon();
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    let mut code = 0u32;
    let mut len = 0usize;
    for &byte in input {
        for bit in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> bit) & 1);
            len += 1;
            if len > 30 {
                return Err("bad huffman code");
            }
            let rel = code.wrapping_sub(c.first[len]);
            if code >= c.first[len] && rel < c.count[len] {
                let sym = c.syms[(c.offset[len] + rel) as usize];
                if sym == 256 {
                    return Err("huffman EOS in string");
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            }
        }
    }
    // Padding: at most 7 bits, all ones (the EOS prefix).
    if len > 7 || code != (1u32 << len) - 1 {
        return Err("bad huffman padding");
    }
    Ok(out)
}

/// RFC 7541 Appendix A.
pub static STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    fn pairs(b: &Block) -> Vec<(String, String)> {
        b.fields
            .iter()
            .map(|f| {
                (
                    f.name_str().unwrap().to_string(),
                    f.value_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn expect(b: &Block, want: &[(&str, &str)]) {
        assert!(b.signals.is_empty(), "{:?}", b.signals);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(b), want);
    }

    fn table(d: &Decoder) -> Vec<(String, String)> {
        (1..=d.len())
            .map(|i| {
                let (n, v) = d.entry(i).unwrap();
                (
                    String::from_utf8(n.unwrap().to_vec()).unwrap(),
                    String::from_utf8(v.unwrap().to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// The table is the canonical code of its lengths (RFC 7541 Appendix B
    /// lists codes in canonical order); a typo in one code breaks this.
    #[test]
    fn huffman_table_is_canonical() {
        let mut syms: Vec<usize> = (0..257).collect();
        syms.sort_by_key(|&s| (CODES[s].1, s));
        let mut code = 0u32;
        let mut len = CODES[syms[0]].1;
        for (i, &s) in syms.iter().enumerate() {
            if i > 0 {
                code += 1;
                let l = CODES[s].1;
                code <<= l - len;
                len = l;
            }
            assert_eq!(CODES[s], (code, len), "symbol {s}");
        }
        assert_eq!(CODES[256], (0x3fff_ffff, 30));
        assert_eq!(CODES[b'a' as usize], (0x3, 5));
    }

    #[test]
    fn huffman_padding_and_eos() {
        // "www.example.com" from C.4.1.
        assert_eq!(
            huffman_decode(&unhex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")).unwrap(),
            b"www.example.com"
        );
        // 8 bits of padding, padding of zeros, and EOS are errors (5.2).
        assert!(huffman_decode(&[0xff]).is_err());
        assert!(huffman_decode(&[0x00]).is_err()); // '0' (00000) + 000 pad
        assert!(huffman_decode(&[0xff, 0xff, 0xff, 0xfc]).is_err());
    }

    /// RFC 7541 C.1: integers.
    #[test]
    fn c1_integers() {
        let mut p = 0;
        assert_eq!(decode_int(&[0x0a], &mut p, 5), Ok(10));
        let mut p = 0;
        assert_eq!(decode_int(&[0x1f, 0x9a, 0x0a], &mut p, 5), Ok(1337));
        assert_eq!(p, 3);
        let mut p = 0;
        assert_eq!(decode_int(&[0x2a], &mut p, 8), Ok(42));
        let mut p = 0;
        assert!(decode_int(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], &mut p, 5).is_err());
        let mut p = 0;
        assert!(decode_int(&[0x1f, 0x9a], &mut p, 5).is_err());
    }

    /// RFC 7541 C.2.1-C.2.4: one representation each.
    #[test]
    fn c2_representations() {
        let mut d = Decoder::new(Limits::default());
        let b = d.decode(&unhex(
            "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        ));
        expect(&b, &[("custom-key", "custom-header")]);
        assert_eq!(table(&d), owned(&[("custom-key", "custom-header")]));
        assert_eq!(d.size(), 55);

        let mut d = Decoder::new(Limits::default());
        let b = d.decode(&unhex("040c 2f73 616d 706c 652f 7061 7468"));
        expect(&b, &[(":path", "/sample/path")]);
        assert_eq!(d.len(), 0);

        let mut d = Decoder::new(Limits::default());
        let b = d.decode(&unhex("1008 7061 7373 776f 7264 0673 6563 7265 74"));
        expect(&b, &[("password", "secret")]);
        assert!(b.fields[0].never_indexed);
        assert_eq!(d.len(), 0);

        let mut d = Decoder::new(Limits::default());
        expect(&d.decode(&[0x82]), &[(":method", "GET")]);
        assert_eq!(d.len(), 0);
    }

    fn requests(blocks: [&str; 3]) {
        let mut d = Decoder::new(Limits::default());
        let b = d.decode(&unhex(blocks[0]));
        expect(
            &b,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ],
        );
        assert_eq!(table(&d), owned(&[(":authority", "www.example.com")]));
        assert_eq!(d.size(), 57);
        let b = d.decode(&unhex(blocks[1]));
        expect(
            &b,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ],
        );
        assert_eq!(d.size(), 110);
        let b = d.decode(&unhex(blocks[2]));
        expect(
            &b,
            &[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ],
        );
        assert_eq!(
            table(&d),
            owned(&[
                ("custom-key", "custom-value"),
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(d.size(), 164);
    }

    /// RFC 7541 C.3 (plain) and C.4 (Huffman): three requests.
    #[test]
    fn c3_c4_requests() {
        requests([
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ]);
        requests([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]);
    }

    fn responses(blocks: [&str; 3]) {
        let mut d = Decoder::new(Limits::default());
        // SETTINGS_HEADER_TABLE_SIZE = 256 in force (the encoder's maximum).
        d.max_size = 256;
        let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
        let b = d.decode(&unhex(blocks[0]));
        expect(
            &b,
            &[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", "https://www.example.com"),
            ],
        );
        assert_eq!(
            table(&d),
            owned(&[
                ("location", "https://www.example.com"),
                ("date", date1),
                ("cache-control", "private"),
                (":status", "302"),
            ])
        );
        assert_eq!(d.size(), 222);
        let b = d.decode(&unhex(blocks[1]));
        expect(
            &b,
            &[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", "https://www.example.com"),
            ],
        );
        assert_eq!(
            table(&d),
            owned(&[
                (":status", "307"),
                ("location", "https://www.example.com"),
                ("date", date1),
                ("cache-control", "private"),
            ])
        );
        assert_eq!(d.size(), 222);
        let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
        let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
        let b = d.decode(&unhex(blocks[2]));
        expect(
            &b,
            &[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", date2),
                ("location", "https://www.example.com"),
                ("content-encoding", "gzip"),
                ("set-cookie", cookie),
            ],
        );
        assert_eq!(
            table(&d),
            owned(&[
                ("set-cookie", cookie),
                ("content-encoding", "gzip"),
                ("date", date2),
            ])
        );
        assert_eq!(d.size(), 215);
    }

    /// RFC 7541 C.5 (plain) and C.6 (Huffman): three responses with a
    /// 256-byte table, so entries are evicted.
    #[test]
    fn c5_c6_responses_with_eviction() {
        responses([
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
             3d31",
        ]);
        responses([
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]);
    }

    /// A size update to 2^32-1 is bounded by our cap: no allocation, a
    /// signal, and over the announced setting a second one.
    #[test]
    fn size_update_to_u32_max_is_capped() {
        let mut d = Decoder::new(Limits::default());
        d.set_settings_limit(4096);
        // 001xxxxx with 5-bit prefix: 31 + (2^32-1-31) in 7-bit groups.
        let b = d.decode(&unhex("3fe0 ffff ff0f 82"));
        assert!(b.signals.contains(&Signal::TableCapped {
            requested: u64::from(u32::MAX),
            cap: Limits::default().max_table
        }));
        assert!(b.signals.contains(&Signal::SizeUpdateOverLimit {
            requested: u64::from(u32::MAX),
            limit: 4096
        }));
        assert_eq!(pairs(&b), owned(&[(":method", "GET")]));
        assert_eq!(d.max_size, Limits::default().max_table);
        // One past 2^32-1 is not a size anyone can mean.
        let b = d.decode(&unhex("3fe1 ffff ff0f"));
        assert!(matches!(b.signals[0], Signal::Malformed { .. }));
    }

    /// Mid-connection: indices into the unknown part are unknown, never
    /// wrong, and decoding carries on after them.
    #[test]
    fn unknown_history_yields_unknown_fields() {
        let mut d = Decoder::mid_connection(Limits::default());
        // be = index 62 (unknown), then a literal with incremental indexing
        // and an unknown indexed name (index 63), then 82.
        let b = d.decode(&unhex("be 7f00 0378 7878 82"));
        assert_eq!(b.fields.len(), 3);
        assert_eq!(b.fields[0].name, None);
        assert_eq!(b.fields[0].value, None);
        assert_eq!(b.fields[1].name, None);
        assert_eq!(b.fields[1].value.as_deref(), Some(&b"xxx"[..]));
        assert_eq!(b.fields[2].name_str(), Some(":method"));
        assert_eq!(
            b.signals,
            vec![
                Signal::NoContext { index: 62 },
                Signal::NoContext { index: 63 }
            ]
        );
        // The placeholder took index 62: the next insertion is 62 and the
        // placeholder moves to 63.
        let b = d.decode(&unhex("4003 6162 6303 6465 66 be bf"));
        assert_eq!(b.fields[1].name_str(), Some("abc"));
        assert_eq!(b.fields[1].value_str(), Some("def"));
        assert_eq!(b.fields[2].name, None);
        assert_eq!(b.fields[2].value_str(), Some("xxx"));
        // Index 64 lies before our history: unknown again.
        let b = d.decode(&unhex("c0"));
        assert_eq!(b.signals, vec![Signal::NoContext { index: 64 }]);
        // With full history the same index is the encoder's error.
        let mut d = Decoder::new(Limits::default());
        let b = d.decode(&unhex("c0 82"));
        assert_eq!(b.signals, vec![Signal::BadIndex { index: 64 }]);
        assert_eq!(b.fields.len(), 2);
    }

    /// A size update to 0 empties the encoder's table: history is complete
    /// from there on.
    #[test]
    fn size_update_to_zero_completes_history() {
        let mut d = Decoder::mid_connection(Limits::default());
        let b = d.decode(&unhex("20 3fe1 1f be"));
        assert_eq!(b.signals, vec![Signal::BadIndex { index: 62 }]);
        assert!(!d.history_unknown());
    }

    #[test]
    fn caps_on_strings_and_lists() {
        let limits = Limits {
            max_string: 4,
            max_header_list: 80,
            max_table: 4096,
        };
        let mut d = Decoder::new(limits);
        // Literal with indexing: name "abcdef" (6 > 4), value "x".
        let b = d.decode(&unhex("4006 6162 6364 6566 0178 be"));
        assert_eq!(b.signals[0], Signal::StringTooLong { len: 6 });
        assert_eq!(b.fields[0].name, None);
        // The entry was still counted: index 62 is it, unknown name.
        assert_eq!(b.fields[1].name, None);
        assert_eq!(b.fields[1].value_str(), Some("x"));
        // Header list: each :method GET is 3 + 7 + 32 = 42; the second
        // passes 80.
        let b = d.decode(&unhex("82 82 82"));
        assert_eq!(b.fields.len(), 1);
        assert!(matches!(b.signals[0], Signal::HeaderListTooLarge { .. }));
    }

    /// Truncated input stops the block and forgets the table (insertions
    /// after the break are unknowable).
    #[test]
    fn truncated_block_loses_context() {
        let mut d = Decoder::new(Limits::default());
        d.decode(&unhex("4003 6162 6303 6465 66"));
        assert_eq!(d.len(), 1);
        let b = d.decode(&unhex("82 400a 6375"));
        assert_eq!(b.fields.len(), 1);
        assert!(matches!(b.signals[0], Signal::Malformed { .. }));
        assert!(d.history_unknown());
        assert_eq!(d.len(), 0);
    }
}

/// How one field of a header block was represented on the wire (RFC 7541
/// section 6), for teaching (`explain`). Read by [`representations`], which
/// walks the representations' prefixes and string lengths only: the
/// names and values themselves come from [`Decoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rep {
    /// 6.1: the whole field is entry `index` of the static (1-61) or the
    /// dynamic table (62 and up).
    Indexed { index: usize },
    /// 6.2: a literal value; the name is entry `name_index` or (0) a literal
    /// too. `indexing`: `incremental` (6.2.1, added to the dynamic
    /// table), `without` (6.2.2) or `never` (6.2.3).
    Literal {
        indexing: &'static str,
        name_index: usize,
        name_huffman: bool,
        value_huffman: bool,
        value_len: usize,
        /// Bytes of the whole representation.
        wire_len: usize,
    },
    /// 6.3: a dynamic table size update.
    SizeUpdate { size: usize },
}

/// The representations of a header block, in order; stops at the first
/// that does not parse. Bounded by the block's length.
pub fn representations(block: &[u8]) -> Vec<Rep> {
    fn string(block: &[u8], pos: &mut usize) -> Option<(bool, usize)> {
        let h = block.get(*pos)? & 0x80 != 0;
        let len = decode_int(block, pos, 7).ok()?;
        *pos = pos.checked_add(len).filter(|&e| e <= block.len())?;
        Some((h, len))
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Some(&b) = block.get(pos) {
        let at = pos;
        let rep = if b & 0x80 != 0 {
            decode_int(block, &mut pos, 7)
                .ok()
                .map(|index| Rep::Indexed { index })
        } else if b & 0xe0 == 0x20 {
            decode_int(block, &mut pos, 5)
                .ok()
                .map(|size| Rep::SizeUpdate { size })
        } else {
            let (prefix, indexing) = if b & 0xc0 == 0x40 {
                (6, "incremental")
            } else if b & 0xf0 == 0x10 {
                (4, "never")
            } else {
                (4, "without")
            };
            (|| {
                let name_index = decode_int(block, &mut pos, prefix).ok()?;
                let name_huffman = if name_index == 0 {
                    string(block, &mut pos)?.0
                } else {
                    false
                };
                let (value_huffman, value_len) = string(block, &mut pos)?;
                Some(Rep::Literal {
                    indexing,
                    name_index,
                    name_huffman,
                    value_huffman,
                    value_len,
                    wire_len: pos - at,
                })
            })()
        };
        match rep {
            Some(r) => out.push(r),
            None => break,
        }
    }
    out
}
