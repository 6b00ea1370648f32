//! TLS recognition: a direction that carries TLS is never decoded as
//! WebSocket frames. Its ClientHello and ServerHello are read (with the
//! `tls-parser` crate) for the version, cipher suite, SNI and ALPN that the
//! `conns` row and `conn` record show; nothing inside is decrypted yet.
//!
//! Decryption (a key log) will plug in here: [`TlsSide`] sees every byte of
//! its direction in order, and the hellos it reads are what a key schedule
//! needs.

use serde::Serialize;
use tls_parser::{TlsMessage, TlsMessageHandshake, parse_tls_plaintext};

use crate::tlscore::handshake;
use crate::tlscore::record::{CT_HANDSHAKE, MAX_RECORD, plausible_header};

/// Bytes of a direction kept while waiting for its hello to be complete.
const MAX_HELLO_BYTES: usize = MAX_RECORD + 5;

/// What a TLS connection shows in clear, for `conns` and `conn` records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsInfo {
    /// "1.0" to "1.3", from the ServerHello (supported_versions for 1.3).
    pub version: Option<String>,
    /// The IANA name of the cipher suite the server chose.
    pub cipher: Option<String>,
    /// The server name the client asked for.
    pub sni: Option<String>,
    /// The protocol the server selected by ALPN when visible (TLS 1.2 and
    /// earlier), else the client's offers, comma-separated.
    pub alpn: Option<String>,
    pub decrypted: bool,
}

/// Whether `b` starts a TLS handshake record carrying a ClientHello.
pub fn is_client_hello(b: &[u8]) -> bool {
    starts_handshake(b, handshake::HS_CLIENT_HELLO)
}

/// Whether `b` starts a TLS handshake record carrying a ServerHello.
pub fn is_server_hello(b: &[u8]) -> bool {
    starts_handshake(b, handshake::HS_SERVER_HELLO)
}

/// Whether `b` starts a TLS handshake record whose first message is of type `ty`.
fn starts_handshake(b: &[u8], ty: u8) -> bool {
    b.len() >= 6 && b[0] == CT_HANDSHAKE && b[1] == 3 && b[2] <= 4 && b[5] == ty
}

/// The length of the TLS record `b` starts with, when its header is well
/// formed and the record not empty.
fn record_header(b: &[u8]) -> Option<usize> {
    let len = usize::from(u16::from_be_bytes([*b.get(3)?, *b.get(4)?]));
    (plausible_header(b) && len > 0).then_some(len)
}

/// Whether `b` (a piece of a stream caught mid-way, starting at a segment
/// start) is a run of TLS records: at least two complete records chained
/// exactly, or one that ends exactly where the piece ends.
pub fn is_record_chain(b: &[u8]) -> bool {
    let Some(len) = record_header(b) else {
        return false;
    };
    let end = 5 + len;
    end == b.len() || (end < b.len() && b.get(end..).and_then(record_header).is_some())
}

/// One direction of a TLS connection.
#[derive(Debug, Default)]
pub struct TlsSide {
    buf: Vec<u8>,
    /// The hello was read, or cannot be: later bytes are only counted.
    done: bool,
    /// Bytes seen in this direction.
    pub bytes: u64,
}

impl TlsSide {
    /// A direction whose first bytes were seen: its hello will be read.
    pub fn new() -> Self {
        TlsSide::default()
    }

    /// A direction caught mid-way: there is no hello to read.
    pub fn mid_stream() -> Self {
        TlsSide {
            done: true,
            ..TlsSide::default()
        }
    }

    /// Bytes of this direction, in order; the hello's fields go to `info`.
    pub fn data(&mut self, bytes: &[u8], info: &mut TlsInfo) {
        self.bytes += bytes.len() as u64;
        if self.done {
            return;
        }
        let room = MAX_HELLO_BYTES.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        match parse_tls_plaintext(&self.buf) {
            Ok((_, rec)) => {
                for m in &rec.msg {
                    if let TlsMessage::Handshake(h) = m {
                        read_hello(h, info);
                    }
                }
                self.finish_hello();
            }
            Err(tls_parser::nom::Err::Incomplete(_)) if self.buf.len() < MAX_HELLO_BYTES => {}
            Err(_) => self.finish_hello(),
        }
    }

    /// Bytes held while the hello is incomplete.
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    /// Bytes were lost (or the budget for held bytes is spent): a hello
    /// not yet read never will be.
    pub fn gap(&mut self) {
        self.finish_hello();
    }

    fn finish_hello(&mut self) {
        self.done = true;
        self.buf = Vec::new();
    }
}

/// Capture bytes as text with every control character escaped (`\u{1b}`),
/// so that a server name never reaches a terminal raw.
fn clean(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .flat_map(|c| {
            let esc = c
                .is_control()
                .then(|| c.escape_unicode().collect::<String>());
            esc.map_or_else(|| vec![c], |e| e.chars().collect())
        })
        .collect()
}

/// The hello's fields, read by the decryption core's hello reader.
fn read_hello(h: &TlsMessageHandshake<'_>, info: &mut TlsInfo) {
    match h {
        TlsMessageHandshake::ClientHello(ch) => {
            let Some(ch) = handshake::client_hello(ch) else {
                return;
            };
            if let Some(name) = &ch.sni {
                info.sni = Some(clean(name));
            }
            // The client's offers, until the server's choice is seen (in the
            // ServerHello up to TLS 1.2; TLS 1.3 encrypts it).
            if info.alpn.is_none() && !ch.alpn.is_empty() {
                let offers: Vec<String> = ch.alpn.iter().map(|p| clean(p)).collect();
                info.alpn = Some(offers.join(","));
            }
        }
        TlsMessageHandshake::ServerHello(sh) => {
            let Some(sh) = handshake::server_hello(sh) else {
                return;
            };
            // supported_versions when it names a version, else the legacy one.
            info.version = handshake::version_name(sh.version)
                .or_else(|| handshake::version_name(sh.legacy_version))
                .map(String::from);
            info.cipher = Some(
                handshake::cipher_name(sh.cipher)
                    .map_or_else(|| format!("0x{:04x}", sh.cipher), String::from),
            );
            if let Some(p) = &sh.alpn {
                info.alpn = Some(clean(p));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_chains() {
        let rec = |ty: u8, len: usize| {
            let mut v = vec![ty, 3, 3, (len >> 8) as u8, len as u8];
            v.resize(5 + len, 0xab);
            v
        };
        let one = rec(23, 40);
        assert!(is_record_chain(&one));
        assert!(!is_record_chain(&one[..30]));
        let mut two = rec(23, 40);
        two.extend(rec(23, 100));
        assert!(is_record_chain(&two[..60]));
        assert!(!is_record_chain(&[0x17, 3, 3, 0xff, 0xff, 0]));
        assert!(!is_record_chain(b"GET / HTTP/1.1\r\n"));
    }

    /// A ClientHello and the first record of its ServerHello, from
    /// samples/nonws/https-tls12.pcap (curl and Python's ssl, TLS 1.2).
    const CLIENT_HELLO: &str = concat!(
        "16030100de010000da03035e141d2739fc92e1c766ae2d0ae785ef57acdae3a06791103354daf780fb1301000038c02c",
        "c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c",
        "0035002f00ff01000079000000150013000010746c7331322e6e6f6e77732e74657374000b000403000102000a000c00",
        "0a001d0017001e001900180010000e000c02683208687474702f312e310016000000170000000d002a00280403050306",
        "03080708080809080a080b080408050806040105010601030303010302040205020602",
    );
    const SERVER_HELLO: &str = concat!(
        "160303006c020000680303be92db5985b77c44e825c0be6eca6a97f8c9b8d66dd8c8886f99ce4d6cb5dd9820b50b5cfc",
        "bc245a5087261776e5b3e13a0af83bdf813796261b562127832a899dc030000020ff01000100000b0004030001020010",
        "000b000908687474702f312e3100170000",
    );

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn hellos_read_whole_or_split_anywhere() {
        let ch = unhex(CLIENT_HELLO);
        let sh = unhex(SERVER_HELLO);
        assert!(is_client_hello(&ch) && is_server_hello(&sh));
        for cut in 0..ch.len() {
            let mut info = TlsInfo::default();
            let mut c = TlsSide::new();
            c.data(&ch[..cut], &mut info);
            c.data(&ch[cut..], &mut info);
            let mut s = TlsSide::new();
            s.data(&sh, &mut info);
            assert_eq!(info.sni.as_deref(), Some("tls12.nonws.test"), "cut {cut}");
            assert_eq!(info.version.as_deref(), Some("1.2"));
            assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
            assert_eq!(
                info.cipher.as_deref(),
                Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
            );
            assert_eq!(c.held(), 0);
        }
        // Cut short, the hello is given up at the gap and nothing is held.
        let mut info = TlsInfo::default();
        let mut c = TlsSide::new();
        c.data(&ch[..100], &mut info);
        assert!(c.held() > 0);
        c.gap();
        assert_eq!((c.held(), info.sni), (0, None));
    }

    /// A ServerHello whose supported_versions names no version we know and
    /// whose suite has no IANA name: the legacy version and the suite's
    /// number stand in.
    #[test]
    fn unnamed_version_and_suite_fall_back() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0x13, 0x99, 0]);
        body.extend_from_slice(&[0, 6, 0, 43, 0, 2, 0x7f, 0x1c]);
        let mut msg = vec![2, 0];
        msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
        msg.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 3];
        rec.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        rec.extend_from_slice(&msg);
        let mut info = TlsInfo::default();
        TlsSide::new().data(&rec, &mut info);
        assert_eq!(info.version.as_deref(), Some("1.2"));
        assert_eq!(info.cipher.as_deref(), Some("0x1399"));
        assert_eq!(info.alpn, None);
    }
}
