//! NSS key log files (the `SSLKEYLOGFILE` format): one secret a line,
//! `LABEL <client_random hex> <secret hex>`, matched to a connection by the
//! ClientHello's random. The text inside a pcapng Decryption Secrets Block
//! of type TLS key log is the same format ([`KeyLog::add_text`]).
//!
//! Reading never fails on content: comments, blank lines, CRLF endings,
//! unknown labels and garbage lines are skipped and counted. Memory follows
//! the valid entries only: input is read line by line, and a line longer
//! than [`MAX_LINE`] is skipped without being held.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// Longest line kept: the longest valid line (a 48-byte secret) is far shorter.
pub const MAX_LINE: usize = 512;

/// The secrets logged for one connection (one client random).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 and earlier: `CLIENT_RANDOM` (48-byte master secret).
    pub master_secret: Option<Vec<u8>>,
    /// TLS 1.3 `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Vec<u8>>,
    /// TLS 1.3 `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Vec<u8>>,
    /// TLS 1.3 `CLIENT_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Vec<u8>>,
    /// TLS 1.3 `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Vec<u8>>,
    /// TLS 1.3 `CLIENT_EARLY_TRAFFIC_SECRET` (0-RTT data).
    pub client_early: Option<Vec<u8>>,
}

/// What reading the key log met, line by line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines holding a secret we use.
    pub entries: u64,
    /// Comment and blank lines.
    pub comments: u64,
    /// Well-formed lines with a label we do not use (early data, exporter...).
    pub other_labels: u64,
    /// Anything else: bad hex, wrong lengths, too few fields, overlong lines.
    pub garbage: u64,
}

/// Secrets by client random.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], Secrets>,
    /// Counts of what the lines were.
    pub stats: KeyLogStats,
    /// Keys shared with other key logs (the files given on the command
    /// line), looked up after this one's own.
    base: Option<Arc<KeyLog>>,
}

enum Label {
    ClientRandom,
    ClientHs,
    ServerHs,
    ClientTraffic,
    ServerTraffic,
    ClientEarly,
}

fn label(name: &[u8]) -> Option<Label> {
    Some(match name {
        b"CLIENT_RANDOM" => Label::ClientRandom,
        b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHs,
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHs,
        b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic,
        b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic,
        b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
        _ => return None,
    })
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() / 2);
    for p in s.chunks_exact(2) {
        out.push(nib(p[0])? << 4 | nib(p[1])?);
    }
    Some(out)
}

fn is_label(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

impl KeyLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of connections (client randoms) with at least one secret.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// The secrets logged for the connection whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8]) -> Option<&Secrets> {
        let key: [u8; 32] = client_random.try_into().ok()?;
        match self.by_random.get(&key) {
            Some(s) => Some(s),
            None => self.base.as_deref()?.get(&key),
        }
    }

    /// An empty key log that also answers with `base`'s keys.
    pub fn over(base: Arc<KeyLog>) -> Self {
        KeyLog {
            base: Some(base),
            ..KeyLog::default()
        }
    }

    /// Reads a key log stream line by line. Only I/O errors are errors.
    pub fn read_from<R: BufRead>(&mut self, mut input: R) -> io::Result<()> {
        let mut line = Vec::with_capacity(MAX_LINE + 1);
        loop {
            line.clear();
            let mut overlong = false;
            // Take bytes up to the newline, keeping at most MAX_LINE of them.
            let ended = loop {
                let buf = match input.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if buf.is_empty() {
                    break true;
                }
                let (take, found) = match memchr::memchr(b'\n', buf) {
                    Some(i) => (i + 1, true),
                    None => (buf.len(), false),
                };
                // Room for MAX_LINE bytes and the line's '\n', which does
                // not count (as in add_text).
                let room = (MAX_LINE + 1).saturating_sub(line.len());
                if take > room {
                    overlong = true;
                }
                line.extend_from_slice(&buf[..take.min(room)]);
                input.consume(take);
                if found {
                    break false;
                }
            };
            overlong |= line.strip_suffix(b"\n").unwrap_or(&line).len() > MAX_LINE;
            if overlong {
                self.stats.garbage += 1;
            } else if !line.is_empty() {
                self.add_line(&line);
            }
            if ended {
                return Ok(());
            }
        }
    }

    /// Adds key log text held in memory, e.g. the payload of a pcapng
    /// Decryption Secrets Block of type TLS key log (0x544c534b).
    pub fn add_text(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            if line.len() > MAX_LINE {
                self.stats.garbage += 1;
            } else {
                self.add_line(line);
            }
        }
    }

    /// Adds one line (with or without its line ending).
    pub fn add_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            self.stats.comments += 1;
            return;
        }
        let mut fields = trimmed
            .split(|c| *c == b' ' || *c == b'\t')
            .filter(|f| !f.is_empty());
        let (Some(name), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            self.stats.garbage += 1;
            return;
        };
        let (Some(random), Some(secret)) = (unhex(random), unhex(secret)) else {
            self.stats.garbage += 1;
            return;
        };
        let Ok(random) = <[u8; 32]>::try_from(random.as_slice()) else {
            self.stats.garbage += 1;
            return;
        };
        if !is_label(name) {
            self.stats.garbage += 1;
            return;
        }
        let Some(which) = label(name) else {
            self.stats.other_labels += 1;
            return;
        };
        let ok_len = match which {
            Label::ClientRandom => secret.len() == 48,
            _ => matches!(secret.len(), 32 | 48),
        };
        if !ok_len {
            self.stats.garbage += 1;
            return;
        }
        self.stats.entries += 1;
        let e = self.by_random.entry(random).or_default();
        let slot = match which {
            Label::ClientRandom => &mut e.master_secret,
            Label::ClientHs => &mut e.client_handshake,
            Label::ServerHs => &mut e.server_handshake,
            Label::ClientTraffic => &mut e.client_traffic,
            Label::ServerTraffic => &mut e.server_traffic,
            Label::ClientEarly => &mut e.client_early,
        };
        *slot = Some(secret);
    }
}

/// The keys of one run, shared by the carriers through
/// [`crate::config::Config`]: the key log files, and the keys a capture
/// brings in its pcapng Decryption Secrets Blocks, added as they are read.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    /// The key log files (never changed once read).
    base: Option<Arc<KeyLog>>,
    /// Those, and the keys the capture being read brought.
    live: Arc<RwLock<KeyLog>>,
}

impl KeyRing {
    /// A ring holding the keys of `files`.
    pub fn new(files: KeyLog) -> Self {
        let base = Arc::new(files);
        KeyRing {
            live: Arc::new(RwLock::new(KeyLog::over(base.clone()))),
            base: Some(base),
        }
    }

    /// A ring for one capture: the same files, none of the keys other
    /// captures brought (cheap: the files are shared, not copied).
    pub fn fork(&self) -> Self {
        let live = match &self.base {
            Some(b) => KeyLog::over(b.clone()),
            None => KeyLog::new(),
        };
        KeyRing {
            base: self.base.clone(),
            live: Arc::new(RwLock::new(live)),
        }
    }

    /// The keys, for looking up (held only while a carrier decrypts).
    pub fn read(&self) -> RwLockReadGuard<'_, KeyLog> {
        self.live.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds key log text (a Decryption Secrets Block's) to this ring.
    pub fn add_text(&self, text: &[u8]) {
        let mut k = self.live.write().unwrap_or_else(|e| e.into_inner());
        k.add_text(text);
    }

    /// Whether any key at all is known (files or capture).
    pub fn is_empty(&self) -> bool {
        let k = self.read();
        k.is_empty() && k.base.as_ref().is_none_or(|b| b.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn parses_labels_comments_crlf_and_garbage() {
        let ms = "ab".repeat(48);
        let s32 = "cd".repeat(32);
        let text = format!(
            "# comment\r\n\r\nCLIENT_RANDOM {R} {ms}\r\nSERVER_TRAFFIC_SECRET_0 {R} {s32}\n\
             EXPORTER_SECRET {R} {s32}\nCLIENT_RANDOM {R} abc\nnonsense\n\u{1}\u{2}\nCLIENT_RANDOM zz {ms}"
        );
        let mut k = KeyLog::new();
        k.read_from(text.as_bytes()).unwrap();
        assert_eq!(k.stats.entries, 2);
        assert_eq!(k.stats.comments, 2);
        assert_eq!(k.stats.other_labels, 1);
        assert_eq!(k.stats.garbage, 4);
        let s = k.get(&unhex(R.as_bytes()).unwrap()).unwrap();
        assert_eq!(s.master_secret.as_deref(), Some(&[0xab; 48][..]));
        assert_eq!(s.server_traffic.as_deref(), Some(&[0xcd; 32][..]));
        assert!(s.client_traffic.is_none());
        assert!(k.get(&[0u8; 32]).is_none());
    }

    #[test]
    fn line_of_max_len_is_read_alike_from_a_file_and_a_block() {
        // A valid entry padded to exactly MAX_LINE bytes: the line ending
        // does not count, in a file (read_from) as in a pcapng block (add_text).
        let ms = "ab".repeat(48);
        let mut line = format!("CLIENT_RANDOM {R} {ms}");
        line.push_str(&" ".repeat(MAX_LINE - line.len()));
        for end in ["\n", "", "\nx"] {
            let text = format!("{line}{end}");
            let mut f = KeyLog::new();
            f.read_from(std::io::BufReader::with_capacity(7, text.as_bytes()))
                .unwrap();
            let mut b = KeyLog::new();
            b.add_text(text.as_bytes());
            assert_eq!(
                (f.stats.entries, f.stats.garbage),
                (1, u64::from(end == "\nx")),
                "{end:?}"
            );
            assert_eq!(f.stats.entries, b.stats.entries, "{end:?}");
        }
        // One byte more is too long either way.
        let text = format!("{line} \n");
        let mut f = KeyLog::new();
        f.read_from(text.as_bytes()).unwrap();
        let mut b = KeyLog::new();
        b.add_text(text.as_bytes());
        assert_eq!((f.stats.garbage, b.stats.garbage), (1, 1));
    }

    #[test]
    fn ring_forks_share_the_files_and_keep_their_own_keys() {
        let ms = "ab".repeat(48);
        let s32 = "cd".repeat(32);
        let r2 = "11".repeat(32);
        let mut files = KeyLog::new();
        files.add_text(format!("CLIENT_RANDOM {R} {ms}\n").as_bytes());
        let ring = KeyRing::new(files);
        let a = ring.fork();
        a.add_text(format!("SERVER_TRAFFIC_SECRET_0 {r2} {s32}\n").as_bytes());
        let r = unhex(R.as_bytes()).unwrap();
        let r2b = unhex(r2.as_bytes()).unwrap();
        assert!(a.read().get(&r).is_some_and(|s| s.master_secret.is_some()));
        assert!(a.read().get(&r2b).is_some());
        // Another capture's ring does not see what the first one brought.
        let b = ring.fork();
        assert!(b.read().get(&r).is_some() && b.read().get(&r2b).is_none());
        assert!(KeyRing::default().is_empty() && !b.is_empty());
        let empty = KeyRing::default().fork();
        empty.add_text(format!("CLIENT_RANDOM {R} {ms}\n").as_bytes());
        assert!(!empty.is_empty());
    }

    #[test]
    fn overlong_line_is_skipped_not_held() {
        let ms = "ab".repeat(48);
        let mut text = vec![b'x'; 10 * MAX_LINE];
        text.extend_from_slice(format!("\nCLIENT_RANDOM {R} {ms}\n").as_bytes());
        let mut k = KeyLog::new();
        k.read_from(std::io::BufReader::with_capacity(64, &text[..]))
            .unwrap();
        assert_eq!((k.stats.garbage, k.stats.entries), (1, 1));
        let mut d = KeyLog::new();
        d.add_text(&text);
        assert_eq!((d.stats.garbage, d.stats.entries), (1, 1));
    }
}
