//! permessage-deflate (RFC 7692): negotiation parameters and a bounded,
//! streaming inflater per direction.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use flate2::{Decompress, FlushDecompress, Status};

/// The parameters a server accepted (section 7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compression window after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression window after each message.
    pub client_no_context_takeover: bool,
    /// The server's window size (8-15), when limited.
    pub server_max_window_bits: Option<u8>,
    /// The client's window size (8-15; 15 when named without a value).
    pub client_max_window_bits: Option<u8>,
}

/// Output is produced in pieces of this size; nothing grows with the input.
const OUT_CHUNK: usize = 32 << 10;
/// The tail removed by the sender (section 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why inflation of a message stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateStop {
    /// The data is not a valid deflate stream (or needs history we lack).
    Corrupt(String),
    /// The output passed the size or ratio cap.
    Limit(u64),
}

/// A raw-deflate inflater that keeps its window across messages (context
/// takeover) unless told to reset.
pub struct Inflater {
    z: Decompress,
    out: Vec<u8>,
    /// Inflated bytes of the current message.
    produced: u64,
    /// Wire bytes of the current message.
    consumed: u64,
    max_out: u64,
    max_ratio: u64,
}

impl Inflater {
    /// An inflater that stops a message past `max_out` bytes, or past
    /// `max_ratio` output bytes per wire byte once over 1 MiB.
    pub fn new(max_out: u64, max_ratio: u64) -> Self {
        Inflater {
            z: Decompress::new(false),
            out: vec![0; OUT_CHUNK],
            produced: 0,
            consumed: 0,
            max_out,
            max_ratio,
        }
    }

    /// Forget the window (no context takeover, or after corruption).
    pub fn reset(&mut self) {
        self.z.reset(false);
    }

    /// Starts counting a new message's bytes (the window is kept).
    pub fn begin_message(&mut self) {
        self.produced = 0;
        self.consumed = 0;
    }

    /// Inflated bytes of the current message so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Inflates one piece of the message's compressed payload, handing each
    /// piece of output to `sink`.
    pub fn push(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateStop> {
        self.consumed += input.len() as u64;
        self.run(input, FlushDecompress::None, sink)
    }

    /// Ends the message: appends the `00 00 ff ff` tail and flushes.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateStop> {
        self.run(&TAIL, FlushDecompress::Sync, sink)
    }

    fn run(
        &mut self,
        mut input: &[u8],
        flush: FlushDecompress,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), InflateStop> {
        loop {
            let before_in = self.z.total_in();
            let before_out = self.z.total_out();
            let status = self
                .z
                .decompress(input, &mut self.out, flush)
                .map_err(|e| InflateStop::Corrupt(e.to_string()))?;
            // zlib never reports more than it was given: `used` is at most
            // `input.len()` and `made` at most `self.out.len()`. The
            // fallbacks only keep the slicing below total.
            let used = usize::try_from(self.z.total_in() - before_in).unwrap_or(usize::MAX);
            let made = usize::try_from(self.z.total_out() - before_out)
                .map_or(self.out.len(), |m| m.min(self.out.len()));
            input = input.get(used..).unwrap_or_default();
            if made > 0 {
                self.produced += made as u64;
                if self.produced > self.max_out
                    || (self.produced > (1 << 20)
                        && self.produced / self.consumed.max(1) > self.max_ratio)
                {
                    return Err(InflateStop::Limit(self.produced));
                }
                if let Some(piece) = self.out.get(..made) {
                    sink(piece);
                }
            }
            if status == Status::StreamEnd {
                // A final block (BFINAL) ends the stream; RFC 7692 allows it,
                // and the next message starts a new one.
                self.z.reset(false);
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if input.is_empty() && made < self.out.len() {
                return Ok(());
            }
            if used == 0 && made == 0 {
                return Ok(()); // needs more input
            }
        }
    }
}

/// Parses a `permessage-deflate` extension offer or answer's parameters.
/// Returns `None` when a parameter is unknown, repeated or has a bad value.
pub fn parse_params(params: &[(String, Option<String>)]) -> Option<DeflateParams> {
    let mut p = DeflateParams::default();
    let mut seen = std::collections::HashSet::new();
    for (name, value) in params {
        if !seen.insert(name.as_str()) {
            return None;
        }
        let bits = |v: &Option<String>, optional: bool| -> Option<Option<u8>> {
            match v {
                None if optional => Some(None),
                None => None,
                Some(s) => {
                    let s = s.trim_matches('"');
                    match s.parse::<u8>() {
                        Ok(b @ 8..=15) if !s.starts_with('0') => Some(Some(b)),
                        _ => None,
                    }
                }
            }
        };
        match name.as_str() {
            "server_no_context_takeover" if value.is_none() => p.server_no_context_takeover = true,
            "client_no_context_takeover" if value.is_none() => p.client_no_context_takeover = true,
            "server_max_window_bits" => {
                p.server_max_window_bits = Some(bits(value, false)?.unwrap_or(15))
            }
            "client_max_window_bits" => {
                p.client_max_window_bits = Some(bits(value, true)?.unwrap_or(15))
            }
            _ => return None,
        }
    }
    Some(p)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn deflate_sync(c: &mut Compress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    fn inflate_all(inf: &mut Inflater, wire: &[u8]) -> Result<Vec<u8>, InflateStop> {
        let mut got = Vec::new();
        inf.begin_message();
        inf.push(wire, &mut |b| got.extend_from_slice(b))?;
        inf.finish(&mut |b| got.extend_from_slice(b))?;
        Ok(got)
    }

    #[test]
    fn rfc7692_hello_example() {
        // Section 7.2.3.1: "Hello" compressed, one frame.
        let mut inf = Inflater::new(1 << 20, 1000);
        assert_eq!(
            inflate_all(&mut inf, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            b"Hello"
        );
        // Section 7.2.3.2: the second "Hello" uses the shared window.
        assert_eq!(
            inflate_all(&mut inf, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn context_takeover_across_messages_and_split_input() {
        let mut c = Compress::new(Compression::default(), false);
        let a: Vec<u8> = (0..300u32)
            .flat_map(|i| format!("word{} ", i.wrapping_mul(7919) % 1009).into_bytes())
            .collect();
        let w1 = deflate_sync(&mut c, &a);
        let w2 = deflate_sync(&mut c, &a);
        assert!(
            w2.len() < w1.len() / 4,
            "second message should reuse the window"
        );
        let mut inf = Inflater::new(1 << 20, 1000);
        assert_eq!(inflate_all(&mut inf, &w1).unwrap(), a);
        let mut got = Vec::new();
        inf.begin_message();
        for piece in w2.chunks(3) {
            inf.push(piece, &mut |b| got.extend_from_slice(b)).unwrap();
        }
        inf.finish(&mut |b| got.extend_from_slice(b)).unwrap();
        assert_eq!(got, a);
        // Without the history the second message cannot be inflated.
        let mut fresh = Inflater::new(1 << 20, 1000);
        assert!(inflate_all(&mut fresh, &w2).is_err());
    }

    #[test]
    fn bomb_stops_at_the_cap_with_flat_memory() {
        let mut c = Compress::new(Compression::best(), false);
        let zeros = vec![0u8; 8 << 20];
        let w = deflate_sync(&mut c, &zeros);
        assert!(w.len() < 20_000);
        let mut inf = Inflater::new(1 << 20, 100_000);
        let mut total = 0usize;
        inf.begin_message();
        let r = inf.push(&w, &mut |b| total += b.len());
        assert!(matches!(r, Err(InflateStop::Limit(n)) if n > 1 << 20));
        assert!(total <= 1 << 20);
    }

    #[test]
    fn params_parse_and_refuse_bad_values() {
        let p = parse_params(&[
            ("server_no_context_takeover".into(), None),
            ("client_max_window_bits".into(), None),
            ("server_max_window_bits".into(), Some("10".into())),
        ])
        .unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (Some(10), Some(15))
        );
        assert!(parse_params(&[("server_max_window_bits".into(), Some("16".into()))]).is_none());
        assert!(parse_params(&[("server_max_window_bits".into(), None)]).is_none());
        assert!(parse_params(&[("bogus".into(), None)]).is_none());
    }
}
