//! TLS decryption core: a per-connection state machine that takes the two
//! directions of a TCP stream (bytes and gaps, each tagged with the packet
//! that carried them) and gives back the decrypted application data of each
//! direction, the findings, and the `tls` summary of DESIGN.md.
//!
//! Not yet wired into the analyzer (that is the carrier of issue 13). Use:
//!
//! ```ignore
//! let mut keys = KeyLog::new();
//! keys.read_from(std::io::BufReader::new(file))?;
//! let mut conn = TlsConn::new();
//! conn.feed(Dir::Client, &bytes, packet_no, &keys, &mut |ev| match ev {
//!     TlsEvent::Data(p) => { /* p.dir, p.data, p.packet, p.end_offset */ }
//!     TlsEvent::Finding(f) => { /* f.kind.code(), f.dir, f.packet, f.message */ }
//! });
//! conn.gap(Dir::Server, missing_bytes); // a TCP gap: resynchronise on the next record
//! conn.finish(&keys, &mut sink);
//! let summary = conn.summary();
//! ```
//!
//! Everything is bounded: one partial record (at most [`record::MAX_RECORD`]
//! bytes) and one partial handshake message (at most
//! [`record::MAX_HANDSHAKE`]) per direction; after a gap at most
//! [`RESYNC_BUFFER`] bytes are held and [`RESYNC_CANDIDATES`] record
//! candidates times [`RESYNC_SEQ_WINDOW`] sequence numbers are tried.

pub mod decrypt;
pub mod handshake;
pub mod keylog;
pub mod keys;
pub mod record;

pub use crate::findings::{Dir, Severity};
pub use keylog::{KeyLog, KeyLogStats, KeyRing, Secrets};

use decrypt::{AeadAlg, AeadKey, MacAlg, OpenError, RecordKeys};
use handshake::{ClientHello, ServerHello};
use keys::HashAlg;
use record::{
    CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, FramingError, HandshakeMsg,
    HandshakeReader, MAX_RECORD, RecordReader,
};
use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherMac, TlsCipherSuite, TlsPRF};

/// Record candidates tried after a gap before the direction is given up.
pub const RESYNC_CANDIDATES: u32 = 16;
/// Sequence numbers tried per candidate: the next expected and those just past it.
pub const RESYNC_SEQ_WINDOW: u64 = 32;
/// Bytes held while looking for a record boundary after a gap.
pub const RESYNC_BUFFER: usize = 2 * (MAX_RECORD + 5);
/// TLS 1.3 0-RTT: client record bytes held until the ServerHello names the suite.
pub const MAX_EARLY_HELD: usize = 64 * 1024;
/// TLS 1.3 0-RTT without the early secret: client records skipped before giving up.
pub const MAX_EARLY_SKIPPED: u64 = 1024;

/// What went wrong or was noticed, as DESIGN.md names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFindingKind {
    /// `tls.no-keys`: no secrets for this connection.
    NoKeys,
    /// `tls.decrypt-failed`: a record did not authenticate (or a direction was given up).
    DecryptFailed,
    /// `tls.unsupported-cipher`: suite or version we cannot decrypt.
    UnsupportedCipher,
    /// `tls.alert`: an alert, plaintext or after decryption.
    Alert,
    /// `tls.malformed`: not a TLS record (framing lost, record past 2^14+2048).
    Malformed,
}

impl TlsFindingKind {
    pub fn code(self) -> &'static str {
        match self {
            TlsFindingKind::NoKeys => "tls.no-keys",
            TlsFindingKind::DecryptFailed => "tls.decrypt-failed",
            TlsFindingKind::UnsupportedCipher => "tls.unsupported-cipher",
            TlsFindingKind::Alert => "tls.alert",
            TlsFindingKind::Malformed => "tls.malformed",
        }
    }
    pub fn severity(self) -> Severity {
        match self {
            TlsFindingKind::Alert => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

/// A finding as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFinding {
    pub kind: TlsFindingKind,
    /// The direction concerned (`None`: the connection).
    pub dir: Option<Dir>,
    /// The packet tag passed with the input that caused it.
    pub packet: u64,
    /// Human text; capture bytes in it are escaped.
    pub message: String,
}

/// Decrypted application data: one TLS record's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plaintext {
    pub dir: Dir,
    pub data: Vec<u8>,
    /// The packet tag of the input that completed the record holding these bytes.
    pub packet: u64,
    /// Ciphertext stream offset (this direction, gaps counted) just past that record.
    pub end_offset: u64,
}

/// Output of [`TlsConn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsEvent {
    Data(Plaintext),
    Finding(TlsFinding),
}

/// For teaching (`explain`): a direction's first record that decrypted to
/// application data, as it was on the wire, with what is needed to decrypt
/// it again step by step (the hellos, the secrets the key log gave, the
/// record sequence number it was opened with).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsTeach {
    pub dir: Dir,
    pub client_hello: ClientHello,
    pub server_hello: ServerHello,
    /// The packets that completed the ClientHello and the ServerHello.
    pub hello_packets: [Option<u64>; 2],
    pub secrets: Secrets,
    /// The record header and its protected content, as on the wire.
    pub header: [u8; 5],
    pub body: Vec<u8>,
    pub seq: u64,
    /// The packet that completed the record.
    pub packet: u64,
}

/// How a suite protects records, for teaching: its hash (HKDF or PRF), and
/// an AEAD or AES-CBC with an HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteInfo {
    pub hash: HashAlg,
    pub aead: Option<AeadAlg>,
    /// AES-CBC: key length and MAC.
    pub cbc: Option<(usize, MacAlg)>,
}

/// The protection of suite `id` under `version` (0x0304 for TLS 1.3).
pub fn suite_info(version: u16, id: u16) -> Option<SuiteInfo> {
    let s = if version == 0x0304 {
        tls13_suite(id)?
    } else {
        tls12_suite(id)?
    };
    Some(match s.prot {
        Protection::Aead(a) => SuiteInfo {
            hash: s.hash,
            aead: Some(a),
            cbc: None,
        },
        Protection::Cbc { key_len, mac } => SuiteInfo {
            hash: s.hash,
            aead: None,
            cbc: Some((key_len, mac)),
        },
    })
}

/// The `tls` object of DESIGN.md's `handshake` and `conn` records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSummary {
    /// "1.3", "1.2", ... (`None` before a ServerHello).
    pub version: Option<&'static str>,
    /// IANA name of the negotiated suite.
    pub cipher: Option<&'static str>,
    pub sni: Option<String>,
    pub alpn: Option<String>,
    /// Whether at least one record was decrypted and authenticated.
    pub decrypted: bool,
}

/// How a suite protects records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protection {
    Aead(AeadAlg),
    Cbc { key_len: usize, mac: MacAlg },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Suite {
    hash: HashAlg,
    prot: Protection,
}

fn tls13_suite(id: u16) -> Option<Suite> {
    let (hash, alg) = match id {
        0x1301 => (HashAlg::Sha256, AeadAlg::Aes128Gcm),
        0x1302 => (HashAlg::Sha384, AeadAlg::Aes256Gcm),
        0x1303 => (HashAlg::Sha256, AeadAlg::ChaCha20Poly1305),
        0x1304 => (HashAlg::Sha256, AeadAlg::Aes128Ccm),
        0x1305 => (HashAlg::Sha256, AeadAlg::Aes128Ccm8),
        _ => return None,
    };
    Some(Suite {
        hash,
        prot: Protection::Aead(alg),
    })
}

/// TLS 1.2 suites by family from tls-parser's registry: every key exchange
/// alike (the key log gives the master secret).
fn tls12_suite(id: u16) -> Option<Suite> {
    let c: &TlsCipherSuite = TlsCipherSuite::from_id(id)?;
    let hash = match c.prf {
        TlsPRF::Sha384 => HashAlg::Sha384,
        TlsPRF::Default | TlsPRF::Sha256 => HashAlg::Sha256,
        _ => return None,
    };
    let prot = match (c.enc, c.enc_mode, c.enc_size, c.mac, c.mac_size) {
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 128, _, _) => {
            Protection::Aead(AeadAlg::Aes128Gcm)
        }
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 256, _, _) => {
            Protection::Aead(AeadAlg::Aes256Gcm)
        }
        (TlsCipherEnc::Chacha20_Poly1305, _, _, _, _) => {
            Protection::Aead(AeadAlg::ChaCha20Poly1305)
        }
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, bits @ (128 | 256), mac, _) => Protection::Cbc {
            key_len: bits as usize / 8,
            mac: match mac {
                TlsCipherMac::HmacSha1 => MacAlg::Sha1,
                TlsCipherMac::HmacSha256 => MacAlg::Sha256,
                TlsCipherMac::HmacSha384 => MacAlg::Sha384,
                _ => return None,
            },
        },
        _ => return None,
    };
    Some(Suite { hash, prot })
}

fn tls13_keys(suite: Suite, secret: &[u8]) -> Option<RecordKeys> {
    let Protection::Aead(alg) = suite.prot else {
        return None;
    };
    let (key, iv) = keys::tls13_key_iv(suite.hash, secret, alg.key_len())?;
    Some(RecordKeys::Tls13 {
        aead: AeadKey::new(alg, &key)?,
        iv: iv.try_into().ok()?,
    })
}

/// TLS 1.2 client and server write keys from the master secret.
fn tls12_keys(
    suite: Suite,
    master: &[u8],
    cr: &[u8],
    sr: &[u8],
    etm: bool,
) -> Option<(RecordKeys, RecordKeys)> {
    match suite.prot {
        Protection::Aead(alg) => {
            let (kl, ivl) = (
                alg.key_len(),
                if alg == AeadAlg::ChaCha20Poly1305 {
                    12
                } else {
                    4
                },
            );
            let kb = keys::tls12_key_block(suite.hash, master, cr, sr, 2 * kl + 2 * ivl)?;
            let (ck, rest) = kb.split_at(kl);
            let (sk, rest) = rest.split_at(kl);
            let (civ, siv) = rest.split_at(ivl);
            let mk = |k: &[u8], iv: &[u8]| -> Option<RecordKeys> {
                let aead = AeadKey::new(alg, k)?;
                Some(if ivl == 12 {
                    RecordKeys::Tls12Chacha {
                        aead,
                        iv: iv.try_into().ok()?,
                    }
                } else {
                    RecordKeys::Tls12Explicit {
                        aead,
                        salt: iv.try_into().ok()?,
                    }
                })
            };
            Some((mk(ck, civ)?, mk(sk, siv)?))
        }
        Protection::Cbc { key_len, mac } => {
            let ml = mac.output_len();
            let kb = keys::tls12_key_block(suite.hash, master, cr, sr, 2 * ml + 2 * key_len)?;
            let (cm, rest) = kb.split_at(ml);
            let (sm, rest) = rest.split_at(ml);
            let (ck, sk) = rest.split_at(key_len);
            let mk = |k: &[u8], m: &[u8]| RecordKeys::Tls12Cbc {
                key: k.to_vec(),
                mac,
                mac_key: m.to_vec(),
                etm,
            };
            Some((mk(ck, cm), mk(sk, sm)))
        }
    }
}

fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

#[derive(Debug)]
enum HalfState {
    Live,
    /// After a gap: looking for a record boundary and sequence number.
    Resync {
        buf: Vec<u8>,
        base_offset: u64,
        scan: usize,
        tries: u32,
    },
    /// Given up (framing lost, no keys, decryption failed).
    Off,
}

struct Half {
    reader: RecordReader,
    hs: HandshakeReader,
    keys: Option<RecordKeys>,
    /// TLS 1.2: keys waiting for this direction's ChangeCipherSpec.
    pending: Option<RecordKeys>,
    seq: u64,
    /// TLS 1.3: current traffic secret (for KeyUpdate), and whether it is an application secret.
    secret: Option<Vec<u8>>,
    app: bool,
    state: HalfState,
    /// Records that could not be decrypted (no keys, early data).
    skipped: u64,
    /// TLS 1.3 0-RTT (client): early traffic keys and their sequence number.
    early: Option<RecordKeys>,
    early_seq: u64,
    /// 0-RTT records that came before the ServerHello: header, fragment, end offset, packet.
    early_held: Vec<([u8; 5], Vec<u8>, u64, u64)>,
    early_held_bytes: usize,
    /// TLS 1.3: the key log lacks the secret this direction's records need
    /// next (its handshake or its application traffic secret). Reported
    /// (`tls.no-keys`) when an encrypted record needs it: a handshake that
    /// failed before the secrets were logged sends none.
    missing_secret: Option<&'static str>,
}

impl Half {
    fn new() -> Self {
        Half {
            reader: RecordReader::new(),
            hs: HandshakeReader::new(),
            keys: None,
            pending: None,
            seq: 0,
            secret: None,
            app: false,
            missing_secret: None,
            state: HalfState::Live,
            skipped: 0,
            early: None,
            early_seq: 0,
            early_held: Vec::new(),
            early_held_bytes: 0,
        }
    }
}

/// One TLS connection (both directions).
pub struct TlsConn {
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    hello_retry: bool,
    suite: Option<Suite>,
    secrets: Option<Secrets>,
    halves: [Half; 2],
    no_keys: bool,
    decrypted: bool,
    ee_alpn: Option<String>,
    finished: bool,
    /// Teaching: report each direction's first application record once.
    teach: bool,
    taught: [bool; 2],
    hello_packets: [Option<u64>; 2],
    teach_out: Vec<TlsTeach>,
    /// Records completed by one input, before they are acted on.
    records: Vec<([u8; 5], Vec<u8>, u64)>,
}

impl Default for TlsConn {
    fn default() -> Self {
        Self::new()
    }
}

fn idx(d: Dir) -> usize {
    match d {
        Dir::Client => 0,
        Dir::Server => 1,
    }
}

impl TlsConn {
    pub fn new() -> Self {
        TlsConn {
            client_hello: None,
            server_hello: None,
            hello_retry: false,
            suite: None,
            secrets: None,
            halves: [Half::new(), Half::new()],
            no_keys: false,
            decrypted: false,
            ee_alpn: None,
            finished: false,
            teach: false,
            taught: [false; 2],
            hello_packets: [None; 2],
            teach_out: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Keep each direction's first application record for
    /// [`TlsConn::take_taught`] (for `explain`; one copy of one record each).
    pub fn teach(&mut self) {
        self.teach = true;
    }

    /// The first application records kept since the last call (see [`TlsConn::teach`]).
    pub fn take_taught(&mut self) -> Vec<TlsTeach> {
        std::mem::take(&mut self.teach_out)
    }

    /// The ClientHello's random, once seen (the key log lookup key).
    pub fn client_random(&self) -> Option<[u8; 32]> {
        self.client_hello.as_ref().map(|c| c.random)
    }

    pub fn client_hello(&self) -> Option<&ClientHello> {
        self.client_hello.as_ref()
    }

    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.server_hello.as_ref()
    }

    /// Whether a HelloRetryRequest was seen.
    pub fn hello_retry(&self) -> bool {
        self.hello_retry
    }

    /// Whether a direction was given up.
    pub fn given_up(&self, d: Dir) -> bool {
        matches!(self.halves[idx(d)].state, HalfState::Off)
    }

    /// Whether the key log had usable secrets for this connection.
    pub fn secrets_found(&self) -> bool {
        self.secrets.is_some() && !self.no_keys
    }

    /// Encrypted records of a direction passed over undecrypted (no keys
    /// yet, 0-RTT data without the early secret).
    pub fn skipped_records(&self, d: Dir) -> u64 {
        self.halves[idx(d)].skipped
    }

    /// The `tls` summary.
    pub fn summary(&self) -> TlsSummary {
        let sh = self.server_hello.as_ref();
        TlsSummary {
            version: sh.and_then(|s| handshake::version_name(s.version)),
            cipher: sh.and_then(|s| handshake::cipher_name(s.cipher)),
            sni: self
                .client_hello
                .as_ref()
                .and_then(|c| c.sni.as_deref().map(handshake::text)),
            alpn: self
                .ee_alpn
                .clone()
                .or_else(|| sh.and_then(|s| s.alpn.as_deref().map(handshake::text))),
            decrypted: self.decrypted,
        }
    }

    /// Feeds bytes of one direction, in stream order, tagged with `packet`.
    pub fn feed<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        data: &[u8],
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let i = idx(d);
        match self.halves[i].state {
            HalfState::Off => {}
            HalfState::Resync { .. } => self.resync_feed(d, data, packet, keys, out),
            HalfState::Live => self.live_feed(d, data, packet, keys, out),
        }
    }

    fn live_feed<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        data: &[u8],
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        // The list is the connection's, kept between calls (not one
        // allocation a segment).
        let mut records = std::mem::take(&mut self.records);
        self.live_feed_with(d, data, packet, keys, out, &mut records);
        records.clear();
        // Kept only while small: a run of tiny records is no reason to hold more.
        if records.capacity() <= 8 {
            self.records = records;
        }
    }

    fn live_feed_with<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        data: &[u8],
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
        records: &mut Vec<([u8; 5], Vec<u8>, u64)>,
    ) {
        let i = idx(d);
        // Records are collected from the reader first: handling one may change keys.
        let mut rest = data;
        loop {
            // Feed in bounded steps so a long input does not queue many records.
            let step = rest.len().min(MAX_RECORD);
            let (now, later) = rest.split_at(step);
            let res = self.halves[i].reader.feed(now, |r| {
                records.push((r.header, std::mem::take(r.body), r.end_offset))
            });
            for (h, mut b, end) in records.drain(..) {
                self.on_record(d, &h, &mut b, end, packet, keys, out);
                if !matches!(self.halves[i].state, HalfState::Live) {
                    return;
                }
            }
            if let Err(e) = res {
                let message = match e {
                    FramingError::TooLong(n) => {
                        format!("record of {n} bytes, longer than 2^14+2048; direction given up")
                    }
                    FramingError::NotTls(h) => {
                        format!("not a TLS record header ({h:02x?}); direction given up")
                    }
                };
                out(TlsEvent::Finding(TlsFinding {
                    kind: TlsFindingKind::Malformed,
                    dir: Some(d),
                    packet,
                    message,
                }));
                self.halves[i].state = HalfState::Off;
                return;
            }
            if later.is_empty() {
                return;
            }
            rest = later;
        }
    }

    /// Tells of `len` bytes missing from one direction (a TCP gap). The
    /// partial record and handshake message are dropped; the direction then
    /// looks for the next record header that authenticates with a sequence
    /// number within [`RESYNC_SEQ_WINDOW`] of the expected one, trying at
    /// most [`RESYNC_CANDIDATES`] headers before giving up
    /// (`tls.decrypt-failed`).
    pub fn gap(&mut self, d: Dir, len: u64) {
        let h = &mut self.halves[idx(d)];
        let base_offset = match &h.state {
            HalfState::Off => return,
            HalfState::Live => h.reader.offset() + len,
            HalfState::Resync {
                buf, base_offset, ..
            } => base_offset + buf.len() as u64 + len,
        };
        let tries = match &h.state {
            HalfState::Resync { tries, .. } => *tries,
            _ => 0,
        };
        h.hs = HandshakeReader::new();
        h.state = HalfState::Resync {
            buf: Vec::new(),
            base_offset,
            scan: 0,
            tries,
        };
    }

    /// End of the connection: reports `tls.no-keys` for a ClientHello that
    /// was never answered and has no secrets.
    pub fn finish<F: FnMut(TlsEvent)>(&mut self, keys: &KeyLog, out: &mut F) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let (Some(ch), None, false) = (&self.client_hello, &self.server_hello, self.no_keys)
            && keys.get(&ch.random).is_none()
        {
            self.no_keys = true;
            out(TlsEvent::Finding(TlsFinding {
                kind: TlsFindingKind::NoKeys,
                dir: None,
                packet: 0,
                message:
                    "only a ClientHello was seen, and the key log has no secrets for its random"
                        .into(),
            }));
        }
    }

    fn give_up(
        &mut self,
        d: Dir,
        packet: u64,
        kind: TlsFindingKind,
        message: String,
        out: &mut impl FnMut(TlsEvent),
    ) {
        self.halves[idx(d)].state = HalfState::Off;
        out(TlsEvent::Finding(TlsFinding {
            kind,
            dir: Some(d),
            packet,
            message,
        }));
    }

    #[allow(clippy::too_many_arguments)]
    fn on_record<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        header: &[u8; 5],
        body: &mut Vec<u8>,
        end_offset: u64,
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let i = idx(d);
        let ct = header[0];
        if ct == CT_CHANGE_CIPHER_SPEC {
            // TLS 1.2: this direction's keys take effect. TLS 1.3: middlebox compatibility, ignored.
            let h = &mut self.halves[i];
            if let Some(k) = h.pending.take() {
                h.keys = Some(k);
                h.seq = 0;
                h.hs = HandshakeReader::new();
            }
            return;
        }
        if self.halves[i].keys.is_some() {
            // TLS 1.3 client before its first handshake record: 0-RTT records may come first.
            let early_possible = d == Dir::Client
                && self.client_hello.as_ref().is_some_and(|c| c.early_data)
                && self.is_tls13()
                && !self.halves[i].app
                && self.halves[i].seq == 0;
            let backup = early_possible.then(|| body.to_vec());
            let teach = (self.teach && !self.taught[i] && (self.halves[i].app || !self.is_tls13()))
                .then(|| body.to_vec());
            let h = &mut self.halves[i];
            let Some(k) = h.keys.as_ref() else { return };
            let seq = h.seq;
            match k.open(header, body, h.seq) {
                Ok(op) => {
                    h.seq += 1;
                    self.decrypted = true;
                    if op.content_type == CT_APPLICATION_DATA
                        && op.end > op.start
                        && let Some(wire) = teach
                        && let (Some(ch), Some(sh), Some(sec)) =
                            (&self.client_hello, &self.server_hello, &self.secrets)
                    {
                        self.taught[i] = true;
                        self.teach_out.push(TlsTeach {
                            dir: d,
                            client_hello: ch.clone(),
                            server_hello: sh.clone(),
                            hello_packets: self.hello_packets,
                            secrets: sec.clone(),
                            header: *header,
                            body: wire,
                            seq,
                            packet,
                        });
                    }
                    if op.content_type == CT_APPLICATION_DATA && op.end > op.start {
                        // The record's own buffer becomes the plaintext: no copy.
                        let mut data = std::mem::take(body);
                        data.truncate(op.end);
                        data.drain(..op.start);
                        out(TlsEvent::Data(Plaintext {
                            dir: d,
                            data,
                            packet,
                            end_offset,
                        }));
                        return;
                    }
                    let plain = &body[op.start..op.end];
                    self.on_plaintext(d, op.content_type, plain, end_offset, packet, keys, out);
                }
                Err(_) if backup.is_some() => {
                    let mut b = backup.unwrap_or_default();
                    self.early_record(header, &mut b, end_offset, packet, keys, out);
                }
                Err(e) => {
                    let seq = h.seq;
                    let why = match e {
                        OpenError::Auth => "did not authenticate",
                        OpenError::Length => "has an impossible length for the cipher",
                    };
                    self.give_up(
                        d,
                        packet,
                        TlsFindingKind::DecryptFailed,
                        format!(
                            "record {seq} ({} bytes) {why}; direction given up",
                            body.len()
                        ),
                        out,
                    );
                }
            }
            return;
        }
        if ct == CT_APPLICATION_DATA {
            if let Some(secret) = self.halves[i].missing_secret {
                self.give_up(
                    d,
                    packet,
                    TlsFindingKind::NoKeys,
                    format!(
                        "the key log has no usable {secret} for this direction's encrypted records"
                    ),
                    out,
                );
                return;
            }
            // Encrypted, and no keys: 0-RTT data before the ServerHello (held
            // until the suite is known), or a connection without secrets.
            let h = &mut self.halves[i];
            let early = d == Dir::Client
                && self.server_hello.is_none()
                && self.client_hello.as_ref().is_some_and(|c| c.early_data);
            if early && h.early_held_bytes + body.len() <= MAX_EARLY_HELD {
                h.early_held_bytes += body.len();
                h.early_held
                    .push((*header, body.to_vec(), end_offset, packet));
            } else {
                h.skipped += 1;
            }
            return;
        }
        self.on_plaintext(d, ct, body, end_offset, packet, keys, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_plaintext<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        ct: u8,
        data: &[u8],
        end_offset: u64,
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        match ct {
            CT_APPLICATION_DATA if !data.is_empty() => {
                out(TlsEvent::Data(Plaintext {
                    dir: d,
                    data: data.to_vec(),
                    packet,
                    end_offset,
                }));
            }
            CT_ALERT => {
                let message = match data {
                    [level, desc, ..] => format!(
                        "{} alert {} ({desc})",
                        if *level == 2 { "fatal" } else { "warning" },
                        alert_name(*desc)
                    ),
                    _ => "truncated alert".to_string(),
                };
                out(TlsEvent::Finding(TlsFinding {
                    kind: TlsFindingKind::Alert,
                    dir: Some(d),
                    packet,
                    message,
                }));
            }
            CT_HANDSHAKE => {
                let mut msgs: Vec<(u8, Vec<u8>)> = Vec::new();
                self.halves[idx(d)].hs.feed(data, |m| {
                    if let HandshakeMsg::Whole(t, b) = m {
                        msgs.push((t, b.to_vec()));
                    }
                });
                for (t, m) in msgs {
                    self.on_handshake(d, t, &m, packet, keys, out);
                }
            }
            _ => {}
        }
    }

    fn on_handshake<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        t: u8,
        msg: &[u8],
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let i = idx(d);
        match (d, t) {
            (Dir::Client, handshake::HS_CLIENT_HELLO) => {
                if let Some(ch) = handshake::parse_client_hello(msg) {
                    self.client_hello = Some(ch);
                    self.hello_packets[0] = Some(packet);
                }
            }
            (Dir::Server, handshake::HS_SERVER_HELLO) => {
                let Some(sh) = handshake::parse_server_hello(msg) else {
                    return;
                };
                if sh.hello_retry {
                    self.hello_retry = true;
                    return;
                }
                let sh_version = sh.version;
                self.server_hello = Some(sh);
                self.hello_packets[1] = Some(packet);
                self.start_keys(sh_version, packet, keys, out);
            }
            (Dir::Server, handshake::HS_ENCRYPTED_EXTENSIONS) => {
                if let Some(a) = handshake::encrypted_extensions_alpn(msg) {
                    self.ee_alpn = Some(a);
                }
            }
            (_, handshake::HS_FINISHED) => {
                // TLS 1.3: this direction's handshake is over; application secrets follow.
                let (Some(suite), Some(s), true) =
                    (self.suite, self.secrets.as_ref(), self.is_tls13())
                else {
                    return;
                };
                let secret = match d {
                    Dir::Client => s.client_traffic.clone(),
                    Dir::Server => s.server_traffic.clone(),
                };
                let h = &mut self.halves[i];
                if h.app {
                    return;
                }
                match secret.as_deref().and_then(|sec| tls13_keys(suite, sec)) {
                    Some(k) => {
                        h.keys = Some(k);
                        h.seq = 0;
                        h.secret = secret;
                        h.app = true;
                    }
                    None => {
                        // The handshake keys are done with; whether records
                        // follow that need the missing secret is for them
                        // to tell.
                        h.keys = None;
                        h.missing_secret = Some(match d {
                            Dir::Client => "CLIENT_TRAFFIC_SECRET_0",
                            Dir::Server => "SERVER_TRAFFIC_SECRET_0",
                        });
                    }
                }
            }
            (_, handshake::HS_KEY_UPDATE) => {
                let (Some(suite), true) = (self.suite, self.is_tls13()) else {
                    return;
                };
                let h = &mut self.halves[i];
                if !h.app {
                    return;
                }
                let next = h
                    .secret
                    .as_deref()
                    .and_then(|s| keys::tls13_next_secret(suite.hash, s));
                match next.as_deref().and_then(|s| tls13_keys(suite, s)) {
                    Some(k) => {
                        h.keys = Some(k);
                        h.seq = 0;
                        h.secret = next;
                    }
                    None => self.give_up(
                        d,
                        packet,
                        TlsFindingKind::DecryptFailed,
                        "KeyUpdate: no next secret".into(),
                        out,
                    ),
                }
            }
            _ => {}
        }
    }

    /// A TLS 1.3 client record that is not under the handshake keys: 0-RTT
    /// data (or EndOfEarlyData) under the early traffic keys when the key
    /// log has them, else skipped (bounded).
    #[allow(clippy::too_many_arguments)]
    fn early_record<F: FnMut(TlsEvent)>(
        &mut self,
        header: &[u8; 5],
        body: &mut [u8],
        end_offset: u64,
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let h = &mut self.halves[0];
        let opened = h
            .early
            .as_ref()
            .and_then(|k| k.open(header, body, h.early_seq).ok());
        match opened {
            Some(op) => {
                h.early_seq += 1;
                self.decrypted = true;
                let plain = &body[op.start..op.end];
                self.on_plaintext(
                    Dir::Client,
                    op.content_type,
                    plain,
                    end_offset,
                    packet,
                    keys,
                    out,
                );
            }
            None => {
                h.skipped += 1;
                if h.skipped > MAX_EARLY_SKIPPED {
                    self.give_up(
                        Dir::Client,
                        packet,
                        TlsFindingKind::DecryptFailed,
                        format!("{MAX_EARLY_SKIPPED} client records opened neither as handshake nor as 0-RTT data; direction given up"),
                        out,
                    );
                }
            }
        }
    }

    fn is_tls13(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|s| s.version == 0x0304)
    }

    /// After the ServerHello: find the secrets and set up both directions.
    fn start_keys<F: FnMut(TlsEvent)>(
        &mut self,
        version: u16,
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let Some(sh) = self.server_hello.as_ref() else {
            return;
        };
        let cipher = sh.cipher;
        let cipher_name = handshake::cipher_name(cipher).unwrap_or("unknown");
        let suite = match version {
            0x0304 => tls13_suite(cipher),
            0x0303 => tls12_suite(cipher),
            _ => None,
        };
        let Some(suite) = suite else {
            let v = handshake::version_name(version).unwrap_or("unknown");
            self.off_both();
            out(TlsEvent::Finding(TlsFinding {
                kind: TlsFindingKind::UnsupportedCipher,
                dir: None,
                packet,
                message: format!("TLS {v} with {cipher_name} (0x{cipher:04x}) cannot be decrypted"),
            }));
            return;
        };
        self.suite = Some(suite);
        let secrets = self
            .client_hello
            .as_ref()
            .and_then(|c| keys.get(&c.random))
            .cloned();
        let ready = match (&secrets, version) {
            (Some(s), 0x0304) => {
                let c = s
                    .client_handshake
                    .as_deref()
                    .and_then(|x| tls13_keys(suite, x));
                let sv = s
                    .server_handshake
                    .as_deref()
                    .and_then(|x| tls13_keys(suite, x));
                // A key log may hold one direction's handshake secret
                // alone (OpenSSL's client logs its own when it installs it,
                // after the server's Finished: a client that fails the
                // handshake before then leaves only the server's). That
                // direction is decrypted; the other's plaintext records
                // (an alert) are still read, its encrypted ones reported.
                if c.is_none() && sv.is_none() {
                    false
                } else {
                    let [hc, hs] = &mut self.halves;
                    // 0-RTT needs only the early secret.
                    hc.early = s.client_early.as_deref().and_then(|x| tls13_keys(suite, x));
                    match c {
                        Some(c) => {
                            hc.keys = Some(c);
                            hc.secret = s.client_handshake.clone();
                        }
                        None => hc.missing_secret = Some("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
                    }
                    match sv {
                        Some(sv) => {
                            hs.keys = Some(sv);
                            hs.secret = s.server_handshake.clone();
                            hs.hs = HandshakeReader::new();
                        }
                        None => hs.missing_secret = Some("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
                    }
                    true
                }
            }
            (Some(s), _) => {
                let (Some(ch), Some(sh)) = (&self.client_hello, &self.server_hello) else {
                    return;
                };
                let etm = sh.encrypt_then_mac && matches!(suite.prot, Protection::Cbc { .. });
                match s
                    .master_secret
                    .as_deref()
                    .and_then(|m| tls12_keys(suite, m, &ch.random, &sh.random, etm))
                {
                    Some((c, sv)) => {
                        self.halves[0].pending = Some(c);
                        self.halves[1].pending = Some(sv);
                        true
                    }
                    None => false,
                }
            }
            (None, _) => false,
        };
        self.secrets = secrets;
        if ready {
            // 0-RTT records held until now.
            for (h, mut b, end, pkt) in std::mem::take(&mut self.halves[0].early_held) {
                self.early_record(&h, &mut b, end, pkt, keys, out);
            }
            self.halves[0].early_held_bytes = 0;
        }
        if !ready {
            self.no_keys = true;
            self.off_both();
            let what = if self.client_hello.is_none() {
                "no ClientHello was seen, so no secrets can be matched".to_string()
            } else if version == 0x0304 {
                "the key log has no handshake traffic secrets for this client random".to_string()
            } else {
                "the key log has no CLIENT_RANDOM line for this client random".to_string()
            };
            out(TlsEvent::Finding(TlsFinding {
                kind: TlsFindingKind::NoKeys,
                dir: None,
                packet,
                message: what,
            }));
        }
    }

    fn off_both(&mut self) {
        for h in &mut self.halves {
            h.state = HalfState::Off;
        }
    }

    /// Tries to open a candidate record after a gap with sequence numbers
    /// just past the expected one (and, in TLS 1.3, with the application
    /// secret if the handshake's end was lost).
    fn try_resync_record(
        &mut self,
        d: Dir,
        header: &[u8; 5],
        body: &[u8],
    ) -> Option<(Vec<u8>, u64)> {
        let i = idx(d);
        let h = &self.halves[i];
        let keys = h.keys.as_ref()?;
        let mut buf = body.to_vec();
        for s in h.seq..h.seq + RESYNC_SEQ_WINDOW {
            buf.copy_from_slice(body);
            if let Ok(op) = keys.open(header, &mut buf, s) {
                let mut plain = buf[op.start..op.end].to_vec();
                plain.insert(0, op.content_type);
                return Some((plain, s + 1));
            }
        }
        // TLS 1.3 handshake keys still on: the Finished may have been in the gap.
        if self.is_tls13() && !h.app {
            let (suite, s) = (self.suite?, self.secrets.as_ref()?);
            let secret = match d {
                Dir::Client => s.client_traffic.clone()?,
                Dir::Server => s.server_traffic.clone()?,
            };
            let k = tls13_keys(suite, &secret)?;
            for s in 0..RESYNC_SEQ_WINDOW {
                buf.copy_from_slice(body);
                if let Ok(op) = k.open(header, &mut buf, s) {
                    let mut plain = buf[op.start..op.end].to_vec();
                    plain.insert(0, op.content_type);
                    let h = &mut self.halves[i];
                    h.keys = Some(k);
                    h.secret = Some(secret);
                    h.app = true;
                    return Some((plain, s + 1));
                }
            }
        }
        None
    }

    fn resync_feed<F: FnMut(TlsEvent)>(
        &mut self,
        d: Dir,
        data: &[u8],
        packet: u64,
        keys: &KeyLog,
        out: &mut F,
    ) {
        let i = idx(d);
        let HalfState::Resync {
            mut buf,
            base_offset,
            mut scan,
            mut tries,
        } = std::mem::replace(&mut self.halves[i].state, HalfState::Off)
        else {
            return;
        };
        buf.extend_from_slice(data);
        loop {
            let found =
                (scan..buf.len().saturating_sub(4)).find(|&p| record::plausible_header(&buf[p..]));
            let Some(p) = found else {
                scan = buf.len().saturating_sub(4).max(scan);
                break;
            };
            let len = u16::from_be_bytes([buf[p + 3], buf[p + 4]]) as usize;
            if p + 5 + len > buf.len() {
                scan = p;
                break;
            }
            let header: [u8; 5] = [buf[p], buf[p + 1], buf[p + 2], buf[p + 3], buf[p + 4]];
            tries += 1;
            let can_decrypt = self.halves[i].keys.is_some();
            let hit = if can_decrypt {
                self.try_resync_record(d, &header, &buf[p + 5..p + 5 + len])
            } else {
                // Plaintext phase (no keys yet): a plausible header is taken as the boundary.
                let mut v = vec![header[0]];
                v.extend_from_slice(&buf[p + 5..p + 5 + len]);
                Some((v, self.halves[i].seq))
            };
            if let Some((plain, next_seq)) = hit {
                let end = p + 5 + len;
                let end_offset = base_offset + end as u64;
                let rest = buf.split_off(end);
                let h = &mut self.halves[i];
                h.seq = next_seq;
                h.reader = RecordReader::new();
                h.reader.reset(end_offset);
                h.state = HalfState::Live;
                if can_decrypt {
                    self.decrypted = true;
                    self.on_plaintext(d, plain[0], &plain[1..], end_offset, packet, keys, out);
                } else {
                    let mut body = plain[1..].to_vec();
                    let hdr = header;
                    self.on_record(d, &hdr, &mut body, end_offset, packet, keys, out);
                }
                if matches!(self.halves[i].state, HalfState::Live) && !rest.is_empty() {
                    self.live_feed(d, &rest, packet, keys, out);
                }
                return;
            }
            if tries >= RESYNC_CANDIDATES {
                self.give_up(
                    d,
                    packet,
                    TlsFindingKind::DecryptFailed,
                    format!("after a gap, no record authenticated within {RESYNC_CANDIDATES} candidates and {RESYNC_SEQ_WINDOW} sequence numbers; direction given up"),
                    out,
                );
                return;
            }
            scan = p + 1;
        }
        // Keep the buffer bounded: drop what was scanned.
        if buf.len() > RESYNC_BUFFER {
            let cut = scan.min(buf.len() - RESYNC_BUFFER / 2);
            buf.drain(..cut);
            scan -= cut;
            return self.set_resync(i, buf, base_offset + cut as u64, scan, tries);
        }
        self.set_resync(i, buf, base_offset, scan, tries);
    }

    fn set_resync(&mut self, i: usize, buf: Vec<u8>, base_offset: u64, scan: usize, tries: u32) {
        self.halves[i].state = HalfState::Resync {
            buf,
            base_offset,
            scan,
            tries,
        };
    }
}
