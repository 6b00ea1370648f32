//! TLS record framing over one direction of a TCP byte stream, fed in
//! arbitrary pieces, and handshake message reassembly across records.
//! Both are bounded: a record is never longer than [`MAX_RECORD`] (longer
//! is an error and the caller gives the direction up), and a handshake
//! message is buffered only up to [`MAX_HANDSHAKE`] bytes as they arrive
//! (longer messages are skipped as they stream past, never allocated for
//! their declared length).

/// Longest record fragment accepted: 2^14 plus the 2048 bytes of expansion
/// TLS 1.2 allows for ciphertext (RFC 5246 6.2.3; TLS 1.3 allows 256).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// Longest handshake message kept whole. Hellos, EncryptedExtensions,
/// Finished and KeyUpdate are far shorter; longer ones (certificate chains)
/// are skipped without being held.
pub const MAX_HANDSHAKE: usize = 64 * 1024;

pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION_DATA: u8 = 23;
pub const CT_HEARTBEAT: u8 = 24;

/// A record header that cannot start a TLS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// Declared fragment length past [`MAX_RECORD`].
    TooLong(usize),
    /// Not a TLS content type or version.
    NotTls([u8; 5]),
}

/// Whether 5 bytes look like a TLS record header.
pub fn plausible_header(h: &[u8]) -> bool {
    h.len() >= 5
        && (CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&h[0])
        && h[1] == 3
        && h[2] <= 4
        && (u16::from_be_bytes([h[3], h[4]]) as usize) <= MAX_RECORD
}

/// A complete record as delivered by [`RecordReader`].
pub struct Record<'a> {
    pub header: [u8; 5],
    /// The fragment, mutable so it can be decrypted in place.
    pub body: &'a mut Vec<u8>,
    /// Stream offset just past the record in this direction.
    pub end_offset: u64,
}

impl Record<'_> {
    pub fn content_type(&self) -> u8 {
        self.header[0]
    }
}

/// Reassembles records from one direction's bytes. Holds at most one
/// partial record.
#[derive(Debug, Default)]
pub struct RecordReader {
    header: [u8; 5],
    header_len: usize,
    body: Vec<u8>,
    /// Stream bytes consumed so far (this direction).
    offset: u64,
    failed: Option<FramingError>,
}

impl RecordReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stream offset of the next byte expected.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of a partial record held.
    pub fn pending(&self) -> usize {
        self.header_len + self.body.len()
    }

    /// Forgets the partial record (after a gap), moving the offset on by `skipped`.
    pub fn reset(&mut self, skipped: u64) {
        self.header_len = 0;
        self.body.clear();
        self.failed = None;
        self.offset += skipped;
    }

    pub fn failed(&self) -> Option<FramingError> {
        self.failed
    }

    /// Feeds bytes; calls `on_record` for every record completed. Stops at
    /// the first framing error, which it returns (and keeps returning).
    pub fn feed<F>(&mut self, mut data: &[u8], mut on_record: F) -> Result<(), FramingError>
    where
        F: FnMut(Record<'_>),
    {
        if let Some(e) = self.failed {
            return Err(e);
        }
        while !data.is_empty() {
            if self.header_len < 5 {
                let n = (5 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                self.header_len += n;
                self.offset += n as u64;
                data = &data[n..];
                if self.header_len < 5 {
                    break;
                }
                let h = self.header;
                let len = u16::from_be_bytes([h[3], h[4]]) as usize;
                if !(CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&h[0]) || h[1] != 3 {
                    self.failed = Some(FramingError::NotTls(h));
                    return Err(FramingError::NotTls(h));
                }
                if len > MAX_RECORD {
                    self.failed = Some(FramingError::TooLong(len));
                    return Err(FramingError::TooLong(len));
                }
                self.body.clear();
            }
            let len = u16::from_be_bytes([self.header[3], self.header[4]]) as usize;
            let n = (len - self.body.len()).min(data.len());
            grow_toward(&mut self.body, n, len);
            self.body.extend_from_slice(&data[..n]);
            self.offset += n as u64;
            data = &data[n..];
            if self.body.len() == len {
                self.header_len = 0;
                on_record(Record {
                    header: self.header,
                    body: &mut self.body,
                    end_offset: self.offset,
                });
                self.body.clear();
            }
        }
        Ok(())
    }
}

/// Makes room in `body` for `n` more bytes of a record of `len` bytes:
/// the capacity doubles as bytes arrive (it follows the bytes held, never
/// the declared length alone), but never past `len`. A record of 16 KiB
/// gathered from 1,400-byte segments is held in 16 KiB, not the 22 KiB
/// plain doubling reaches.
fn grow_toward(body: &mut Vec<u8>, n: usize, len: usize) {
    let need = body.len() + n;
    if need <= body.capacity() {
        return;
    }
    let target = need.max(body.capacity() * 2).min(len);
    body.reserve_exact(target - body.len());
}

/// One handshake message as reassembled.
#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeMsg<'a> {
    /// A whole message: type, and the 4-byte header plus body.
    Whole(u8, &'a [u8]),
    /// A message longer than [`MAX_HANDSHAKE`], skipped: type and declared length.
    Skipped(u8, usize),
}

/// Reassembles handshake messages across records (one direction, one
/// protection epoch's worth of plaintext handshake bytes).
#[derive(Debug, Default)]
pub struct HandshakeReader {
    buf: Vec<u8>,
    /// When skipping an overlong message: its type and the bytes still to skip.
    skipping: Option<(u8, usize, usize)>,
}

impl HandshakeReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a message is partially held (TLS 1.3 forbids a key change
    /// inside a message).
    pub fn is_partial(&self) -> bool {
        !self.buf.is_empty() || self.skipping.is_some()
    }

    /// Feeds handshake-type record content; calls `on_msg` per message.
    pub fn feed<F>(&mut self, mut data: &[u8], mut on_msg: F)
    where
        F: FnMut(HandshakeMsg<'_>),
    {
        while !data.is_empty() {
            if let Some((t, declared, left)) = self.skipping {
                let n = left.min(data.len());
                data = &data[n..];
                if n == left {
                    self.skipping = None;
                    on_msg(HandshakeMsg::Skipped(t, declared));
                } else {
                    self.skipping = Some((t, declared, left - n));
                }
                continue;
            }
            if self.buf.len() < 4 {
                let n = (4 - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.buf.len() < 4 {
                    break;
                }
            }
            let declared = u32::from_be_bytes([0, self.buf[1], self.buf[2], self.buf[3]]) as usize;
            if declared > MAX_HANDSHAKE {
                self.skipping = Some((self.buf[0], declared, declared));
                self.buf.clear();
                continue;
            }
            let want = 4 + declared;
            let n = (want - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == want {
                on_msg(HandshakeMsg::Whole(self.buf[0], &self.buf));
                self.buf.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ct: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ct, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn records_split_anywhere_and_packed_together() {
        let mut stream = rec(22, b"hello");
        stream.extend(rec(20, &[1]));
        stream.extend(rec(23, &[9; 300]));
        for piece in [1, 2, 3, 7, 64, 1000] {
            let mut r = RecordReader::new();
            let mut got = Vec::new();
            for c in stream.chunks(piece) {
                r.feed(c, |rec| {
                    got.push((rec.content_type(), rec.body.clone(), rec.end_offset))
                })
                .unwrap();
            }
            assert_eq!(got.len(), 3, "piece {piece}");
            assert_eq!(got[0], (22, b"hello".to_vec(), 10));
            assert_eq!(got[1], (20, vec![1], 16));
            assert_eq!(got[2], (23, vec![9; 300], stream.len() as u64));
        }
    }

    #[test]
    fn a_gathered_record_is_held_in_no_more_than_its_length() {
        // A 16 KiB record in 1,400-byte pieces: the buffer doubles as bytes
        // come, but stops at the record's length (plain doubling reached
        // 22,400 bytes for a 16,406-byte record).
        for len in [16_406usize, 1_500, 5_000, MAX_RECORD] {
            let stream = rec(23, &vec![7; len]);
            let mut r = RecordReader::new();
            let mut most = 0;
            let mut got = 0;
            for c in stream.chunks(1400) {
                r.feed(c, |rec| {
                    most = most.max(rec.body.capacity());
                    got += 1;
                })
                .unwrap();
                if !r.body.is_empty() {
                    most = most.max(r.body.capacity());
                    // Never more than twice the bytes held (it follows the data).
                    assert!(r.body.capacity() <= 2 * r.body.len(), "len {len}");
                }
            }
            assert_eq!(got, 1);
            assert!(most <= len, "len {len}: capacity {most}");
        }
    }

    #[test]
    fn overlong_record_is_an_error_and_nothing_is_buffered() {
        let mut r = RecordReader::new();
        let len = (MAX_RECORD + 1) as u16;
        let mut hdr = vec![23, 3, 3];
        hdr.extend_from_slice(&len.to_be_bytes());
        assert_eq!(
            r.feed(&hdr, |_| panic!("no record")),
            Err(FramingError::TooLong(MAX_RECORD + 1))
        );
        assert_eq!(
            r.feed(&[0; 100], |_| panic!("no record")),
            Err(FramingError::TooLong(MAX_RECORD + 1))
        );
        assert_eq!(r.pending(), 5);
        // Exactly the limit is fine.
        let mut ok = RecordReader::new();
        let mut n = 0;
        ok.feed(&rec(23, &vec![0; MAX_RECORD]), |_| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn handshake_messages_across_records_and_huge_declared_length() {
        let mut h = HandshakeReader::new();
        let mut got = Vec::new();
        // Two messages, the second split across three feeds.
        let msgs = [1u8, 0, 0, 2, 0xaa, 0xbb, 2, 0, 0, 3, 1, 2, 3];
        for c in [&msgs[..5], &msgs[5..8], &msgs[8..]] {
            h.feed(c, |m| got.push(format!("{m:?}")));
        }
        assert_eq!(got.len(), 2);
        assert!(!h.is_partial());
        // A 16 MiB declared length: skipped as it streams, never held.
        let mut big = vec![11u8, 0xff, 0xff, 0xff];
        big.extend_from_slice(&[0; 1000]);
        let mut seen = Vec::new();
        h.feed(&big, |m| seen.push(format!("{m:?}")));
        assert!(seen.is_empty());
        assert!(h.buf.capacity() < MAX_HANDSHAKE);
        let rest = vec![0u8; 0xff_ffff - 1000];
        h.feed(&rest, |m| seen.push(format!("{m:?}")));
        assert_eq!(
            seen,
            vec![format!("{:?}", HandshakeMsg::Skipped(11, 0xff_ffff))]
        );
    }
}
