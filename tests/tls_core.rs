//! The TLS core (src/tlscore) against published vectors, real captures from
//! Python, Node and OpenSSL (samples/tls/, made by samples/record/tls_record.sh),
//! tshark's own decryption of the same captures, and adversarial input.
//!
//! References are independent of the module: RFC 8448's key schedule, the
//! applications' logs of what they sent, the recorder's forced suites, and
//! tshark's "follow tls" plaintext with the same keys.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wsdissect::capture::read_capture;
use wsdissect::config::Config;
use wsdissect::packet::{Decoded, decode};
use wsdissect::tcp::{Chunk, HalfStream};
use wsdissect::tlscore::keys::{HashAlg, hkdf_expand_label, tls13_key_iv};
use wsdissect::tlscore::{
    Dir, KeyLog, Plaintext, TlsConn, TlsEvent, TlsFinding, TlsFindingKind, TlsSummary,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tls")
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn keylog_file(path: &Path) -> KeyLog {
    let mut k = KeyLog::new();
    k.read_from(std::io::BufReader::new(fs::File::open(path).unwrap()))
        .unwrap();
    k
}

#[derive(Default)]
struct Out {
    client: Vec<u8>,
    server: Vec<u8>,
    data: Vec<Plaintext>,
    findings: Vec<TlsFinding>,
    summary: Option<TlsSummary>,
    packets: u64,
    client_addr: String,
    hello_retry: bool,
    /// The flipped byte fell in a ChangeCipherSpec record (TLS 1.3's
    /// middlebox-compatibility CCS is neither authenticated nor used, so
    /// nothing is lost), as far as the packet's records can be walked from
    /// its start.
    flipped_ccs: bool,
}

/// The content type of the record of `payload` that holds byte `at`, when
/// the payload starts at a record header.
fn record_type_at(payload: &[u8], at: usize) -> Option<u8> {
    let mut i = 0;
    while i + 5 <= payload.len() {
        let (typ, major) = (payload[i], payload[i + 1]);
        if !(20..=23).contains(&typ) || major != 3 {
            return None;
        }
        let len = u16::from_be_bytes([payload[i + 3], payload[i + 4]]) as usize;
        if at < i + 5 + len {
            return Some(typ);
        }
        i += 5 + len;
    }
    None
}

impl Out {
    fn codes(&self) -> Vec<&'static str> {
        self.findings
            .iter()
            .filter(|f| f.kind != TlsFindingKind::Alert)
            .map(|f| f.kind.code())
            .collect()
    }
}

/// Reads a one-connection capture, reassembles TCP with the crate's
/// reassembler and runs the TLS core over both directions.
fn run(capture: &Path, keys: &KeyLog) -> Out {
    run_dropping(capture, keys, &[])
}

/// As [`run`], with the packets numbered in `drop` left out (as if the
/// capture had lost them): acknowledgments then reveal TCP gaps.
fn run_dropping(capture: &Path, keys: &KeyLog, drop: &[u64]) -> Out {
    run_altered(capture, keys, drop, None)
}

/// As [`run_dropping`], and with `flip` = (packet, n) the n-th byte (modulo
/// its length) of that packet's TCP payload inverted.
fn run_altered(capture: &Path, keys: &KeyLog, drop: &[u64], flip: Option<(u64, usize)>) -> Out {
    let cfg = Config::default();
    let mut client_addr = None;
    let mut halves = [HalfStream::default(), HalfStream::default()];
    let mut conn = TlsConn::new();
    let mut out = Out::default();
    let mut events = Vec::new();
    let file = fs::File::open(capture).unwrap();
    read_capture(file, |rec| {
        out.packets += 1;
        let Decoded::Tcp(seg) = decode(rec.link, rec.data) else {
            return;
        };
        if client_addr.is_none() && seg.syn && seg.ack.is_none() {
            client_addr = Some(seg.src);
        }
        let Some(c) = client_addr else { return };
        if drop.contains(&rec.number) {
            return;
        }
        let mut payload = seg.payload.to_vec();
        if let Some((n, at)) = flip
            && n == rec.number
            && !payload.is_empty()
        {
            let at = at % payload.len();
            out.flipped_ccs = record_type_at(&payload, at) == Some(20);
            payload[at] ^= 0xff;
        }
        let (d, i) = if seg.src == c {
            (Dir::Client, 0)
        } else {
            (Dir::Server, 1)
        };
        let mut chunks: Vec<(Dir, Option<Vec<u8>>, u64)> = Vec::new();
        let push = |dir: Dir| {
            move |ch: Chunk<'_>| match ch {
                Chunk::Data { bytes, .. } => (dir, Some(bytes.to_vec()), 0),
                Chunk::Gap { len, .. } => (dir, None, len),
            }
        };
        if seg.syn {
            halves[i].syn(seg.seq);
        } else {
            let mut notes = Vec::new();
            let f = push(d);
            halves[i].segment(
                seg.seq,
                &payload,
                seg.missing,
                seg.fin,
                &cfg,
                &mut notes,
                &mut |ch| chunks.push(f(ch)),
            );
        }
        if let Some(ack) = seg.ack {
            let other = if d == Dir::Client {
                Dir::Server
            } else {
                Dir::Client
            };
            let f = push(other);
            halves[1 - i].peer_ack(ack, &mut |ch| chunks.push(f(ch)));
        }
        for (dir, bytes, len) in chunks {
            match bytes {
                Some(b) => conn.feed(dir, &b, rec.number, keys, &mut |e| events.push(e)),
                None => conn.gap(dir, len),
            }
        }
    })
    .unwrap();
    conn.finish(keys, &mut |e| events.push(e));
    for e in events {
        match e {
            TlsEvent::Data(p) => {
                match p.dir {
                    Dir::Client => out.client.extend_from_slice(&p.data),
                    Dir::Server => out.server.extend_from_slice(&p.data),
                }
                out.data.push(p);
            }
            TlsEvent::Finding(f) => out.findings.push(f),
        }
    }
    out.summary = Some(conn.summary());
    out.hello_retry = conn.hello_retry();
    out.client_addr = client_addr.map(|a| a.to_string()).unwrap_or_default();
    out
}

/// tshark's decrypted bytes per direction ("follow tls", raw) as (client,
/// server), or None when tshark is not installed. tshark's "Node 0" is
/// whichever side it met first; `client` names the client's address.
fn tshark_follow(capture: &Path, keys: Option<&Path>, client: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(capture);
    if let Some(k) = keys {
        cmd.arg("-o")
            .arg(format!("tls.keylog_file:{}", k.display()));
    }
    let o = cmd.args(["-q", "-z", "follow,tls,raw,0"]).output().ok()?;
    assert!(o.status.success(), "tshark failed on {}", capture.display());
    let text = String::from_utf8(o.stdout).unwrap();
    let (mut c, mut s) = (Vec::new(), Vec::new());
    let mut in_body = false;
    let mut node0_is_client = true;
    for line in text.lines() {
        if let Some(a) = line.strip_prefix("Node 0: ") {
            node0_is_client = a.trim() == client;
        }
        if line.starts_with("Node 1:") {
            in_body = true;
            continue;
        }
        if !in_body || line.starts_with("====") || line.trim().is_empty() {
            continue;
        }
        match line.strip_prefix('\t') {
            Some(h) => s.extend(hex(h)),
            None => c.extend(hex(line)),
        }
    }
    Some(if node0_is_client { (c, s) } else { (s, c) })
}

fn logged_messages(name: &str) -> Vec<Vec<u8>> {
    let text = fs::read_to_string(dir().join(format!("{name}.sent.jsonl"))).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            hex(v["data_hex"].as_str().unwrap())
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn rfc8448_hkdf_expand_label_key_schedule() {
    // RFC 8448 section 3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256):
    // each traffic secret and the key and iv the trace derives from it.
    let cases = [
        (
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
            "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
            "5d 31 3e b2 67 12 76 ee 13 00 0b 30",
        ),
        (
            "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21",
            "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
            "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f",
        ),
        (
            "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43",
            "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
            "cf 78 2b 88 dd 83 54 9a ad f1 e9 84",
        ),
    ];
    for (secret, key, iv) in cases {
        let (k, i) = tls13_key_iv(HashAlg::Sha256, &hex(secret), 16).unwrap();
        assert_eq!(k, hex(key), "key of {secret}");
        assert_eq!(i, hex(iv), "iv of {secret}");
    }
    // The server's finished_key: HKDF-Expand-Label(server hs secret, "finished", "", 32).
    let fk = hkdf_expand_label(HashAlg::Sha256, &hex(cases[0].0), b"finished", b"", 32).unwrap();
    assert_eq!(
        fk,
        hex(
            "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8"
        )
    );
}

/// (capture name, TLS version, IANA suite the recorder forced)
const SAMPLES: &[(&str, &str, &str)] = &[
    ("py-tls13", "1.3", "TLS_AES_256_GCM_SHA384"),
    ("node-tls13-aes128", "1.3", "TLS_AES_128_GCM_SHA256"),
    ("node-tls13-aes256", "1.3", "TLS_AES_256_GCM_SHA384"),
    ("node-tls13-chacha", "1.3", "TLS_CHACHA20_POLY1305_SHA256"),
    (
        "node-tls12-aes128gcm",
        "1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "node-tls12-aes256gcm",
        "1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "node-tls12-chacha",
        "1.2",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "node-tls12-cbc-sha384",
        "1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "node-tls12-cbc-sha1-mte",
        "1.2",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
    ),
];

fn check_websocket_sample(name: &str, version: &str, cipher: &str, out: &Out) {
    assert_eq!(
        out.codes(),
        Vec::<&str>::new(),
        "{name}: findings {:?}",
        out.findings
    );
    let s = out.summary.as_ref().unwrap();
    assert_eq!(s.version, Some(version), "{name}");
    assert_eq!(s.cipher, Some(cipher), "{name}");
    assert_eq!(s.sni.as_deref(), Some("localhost"), "{name}");
    assert_eq!(s.alpn.as_deref(), Some("http/1.1"), "{name}");
    assert!(s.decrypted, "{name}");
    // The client's plaintext is the upgrade request it sent; the server answers 101.
    assert!(
        out.client.starts_with(b"GET /"),
        "{name}: client starts {:?}",
        &out.client[..out.client.len().min(20)]
    );
    assert!(
        contains(&out.client.to_ascii_lowercase(), b"upgrade: websocket"),
        "{name}"
    );
    assert!(out.server.starts_with(b"HTTP/1.1 101 "), "{name}");
    // Every message either application logged comes back unmasked from the echo server.
    let msgs = logged_messages(name);
    assert!(msgs.len() >= 8, "{name}: log has {} messages", msgs.len());
    for m in &msgs {
        assert!(
            contains(&out.server, m),
            "{name}: logged message of {} bytes not in the server's plaintext",
            m.len()
        );
    }
    // Each chunk names a packet of the capture, in order, and offsets grow.
    for w in out.data.windows(2) {
        if w[0].dir == w[1].dir {
            assert!(
                w[0].packet <= w[1].packet && w[0].end_offset < w[1].end_offset,
                "{name}"
            );
        }
    }
    assert!(
        out.data
            .iter()
            .all(|p| p.packet >= 1 && p.packet <= out.packets),
        "{name}"
    );
}

#[test]
fn every_real_sample_decrypts_both_directions_like_tshark() {
    for &(name, version, cipher) in SAMPLES {
        let cap = dir().join(format!("{name}.pcap"));
        let keys_path = dir().join(format!("{name}.keys"));
        let keys = keylog_file(&keys_path);
        assert!(
            keys.stats.entries >= 1 && keys.stats.garbage == 0,
            "{name}: {:?}",
            keys.stats
        );
        let out = run(&cap, &keys);
        check_websocket_sample(name, version, cipher, &out);
        if let Some((c, s)) = tshark_follow(&cap, Some(&keys_path), &out.client_addr) {
            assert!(
                !c.is_empty() && !s.is_empty(),
                "{name}: tshark decrypted nothing"
            );
            assert!(
                out.client == c,
                "{name}: client plaintext differs from tshark's ({} vs {} bytes)",
                out.client.len(),
                c.len()
            );
            assert!(
                out.server == s,
                "{name}: server plaintext differs from tshark's ({} vs {} bytes)",
                out.server.len(),
                s.len()
            );
        } else {
            eprintln!("tshark not installed: {name} checked against the logs only");
        }
    }
}

/// Key log text from every pcapng Decryption Secrets Block (type TLSK).
fn dsb_keys(path: &Path) -> KeyLog {
    use pcap_parser::{Block, PcapBlockOwned, PcapNGSlice};
    let bytes = fs::read(path).unwrap();
    let mut k = KeyLog::new();
    let mut blocks = 0;
    for b in PcapNGSlice::from_slice(&bytes).unwrap() {
        if let Ok(PcapBlockOwned::NG(Block::DecryptionSecrets(d))) = b {
            blocks += 1;
            assert_eq!(d.secrets_type.0, 0x544c_534b);
            k.add_text(d.data);
        }
    }
    assert_eq!(blocks, 1);
    k
}

#[test]
fn keys_from_a_pcapng_decryption_secrets_block() {
    let cap = dir().join("py-tls13-dsb.pcapng");
    let keys = dsb_keys(&cap);
    let from_file = keylog_file(&dir().join("py-tls13.keys"));
    assert_eq!(keys.stats.entries, from_file.stats.entries);
    let out = run(&cap, &keys);
    check_websocket_sample("py-tls13", "1.3", "TLS_AES_256_GCM_SHA384", &out);
    // tshark reads the block itself: no key log option.
    if let Some((c, s)) = tshark_follow(&cap, None, &out.client_addr) {
        assert!(
            out.client == c && out.server == s,
            "plaintext differs from tshark's"
        );
    }
}

#[test]
fn missing_keys_give_one_no_keys_finding_and_no_data() {
    let out = run(&dir().join("py-tls13-nokeys.pcap"), &KeyLog::new());
    assert_eq!(out.codes(), vec!["tls.no-keys"]);
    assert!(out.data.is_empty());
    let s = out.summary.unwrap();
    assert_eq!(
        (s.version, s.cipher, s.decrypted),
        (Some("1.3"), Some("TLS_AES_256_GCM_SHA384"), false)
    );
    // Another connection's key log does not match this one's client random either.
    let other = keylog_file(&dir().join("py-tls13.keys"));
    let out = run(&dir().join("py-tls13-nokeys.pcap"), &other);
    assert_eq!(out.codes(), vec!["tls.no-keys"]);
    assert!(out.data.is_empty());
}

/// Re-labels a key log's secrets with another client random.
fn secrets_moved_to(keys_text: &str, random_hex: &str) -> KeyLog {
    let mut k = KeyLog::new();
    for line in keys_text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() == 3 {
            k.add_line(format!("{} {} {}", f[0], random_hex, f[2]).as_bytes());
        }
    }
    k
}

#[test]
fn secrets_of_another_connection_fail_authentication_never_give_garbage() {
    // Take node-tls13-aes128's own client random (learned from a first run
    // with its real keys) and attach the secrets of a different capture with
    // the same suite.
    for (target, donor) in [
        ("node-tls13-aes256", "py-tls13"),
        ("node-tls12-cbc-sha384", "node-tls12-aes128gcm"),
        ("node-tls12-aes256gcm", "node-tls12-aes128gcm"),
    ] {
        let real = keylog_file(&dir().join(format!("{target}.keys")));
        let text = fs::read_to_string(dir().join(format!("{target}.keys"))).unwrap();
        let random = text
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .to_string();
        assert!(real.get(&hex(&random)).is_some());
        let donor_text = fs::read_to_string(dir().join(format!("{donor}.keys"))).unwrap();
        let wrong = secrets_moved_to(&donor_text, &random);
        let out = run(&dir().join(format!("{target}.pcap")), &wrong);
        assert!(
            out.data.is_empty(),
            "{target}: {} plaintext chunks from wrong keys",
            out.data.len()
        );
        let codes = out.codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| *c == "tls.decrypt-failed"),
            "{target}: {codes:?}"
        );
        assert!(!out.summary.unwrap().decrypted);
    }
}

#[test]
fn tls13_key_updates_from_openssl_follow_tshark() {
    // s_client's `K` (update and request the server's) and `k` commands:
    // three KeyUpdate messages (client twice, server once), each followed by data.
    let cap = dir().join("openssl-keyupdate.pcap");
    let keys_path = dir().join("openssl-keyupdate.keys");
    let out = run(&cap, &keylog_file(&keys_path));
    assert_eq!(out.codes(), Vec::<&str>::new(), "{:?}", out.findings);
    assert_eq!(
        out.summary.as_ref().unwrap().cipher,
        Some("TLS_AES_128_GCM_SHA256")
    );
    // What s_client sent, and s_server's -rev echo of it.
    for line in ["before key update", "after K", "after k"] {
        assert!(contains(&out.client, line.as_bytes()), "client: {line}");
        let rev: String = line.chars().rev().collect();
        assert!(contains(&out.server, rev.as_bytes()), "server: {rev}");
    }
    if let Some((c, s)) = tshark_follow(&cap, Some(&keys_path), &out.client_addr) {
        assert!(
            out.client == c && out.server == s,
            "plaintext differs from tshark's"
        );
    }
}

#[test]
fn openssl_hello_retry_resumption_and_ccm_follow_tshark() {
    // (capture, port, version, suite the recorder forced or OpenSSL's first choice, HelloRetryRequest)
    for (name, port, version, cipher, hrr) in [
        ("openssl-hrr", 9432, "1.3", "TLS_AES_256_GCM_SHA384", true),
        (
            "openssl-resume13",
            9433,
            "1.3",
            "TLS_AES_256_GCM_SHA384",
            false,
        ),
        (
            "openssl-resume12",
            9434,
            "1.2",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            false,
        ),
        (
            "openssl-tls13-ccm",
            9435,
            "1.3",
            "TLS_AES_128_CCM_SHA256",
            false,
        ),
        (
            "openssl-tls13-ccm8",
            9436,
            "1.3",
            "TLS_AES_128_CCM_8_SHA256",
            false,
        ),
    ] {
        let cap = dir().join(format!("{name}.pcap"));
        let keys_path = dir().join(format!("{name}.keys"));
        let out = run(&cap, &keylog_file(&keys_path));
        assert_eq!(
            out.codes(),
            Vec::<&str>::new(),
            "{name}: {:?}",
            out.findings
        );
        assert_eq!(out.hello_retry, hrr, "{name}");
        let s = out.summary.as_ref().unwrap();
        assert_eq!(
            (s.version, s.cipher, s.sni.as_deref(), s.decrypted),
            (Some(version), Some(cipher), Some("localhost"), true),
            "{name}"
        );
        // s_client sent two lines; s_server -rev answers each reversed.
        let hello = format!("hello {port}");
        for line in [hello.as_str(), "second line"] {
            assert!(
                contains(&out.client, line.as_bytes()),
                "{name}: client {line}"
            );
            let rev: String = line.chars().rev().collect();
            assert!(
                contains(&out.server, rev.as_bytes()),
                "{name}: server {rev}"
            );
        }
        // Both ends close with close_notify (encrypted in TLS 1.3).
        let alerts: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.kind == TlsFindingKind::Alert)
            .collect();
        assert!(
            alerts
                .iter()
                .any(|f| f.dir == Some(Dir::Client) && f.message.contains("close_notify")),
            "{name}: {alerts:?}"
        );
        if let Some((c, sv)) = tshark_follow(&cap, Some(&keys_path), &out.client_addr) {
            assert!(
                out.client == c && out.server == sv,
                "{name}: plaintext differs from tshark's"
            );
        }
    }
}

#[test]
fn tls13_early_data_is_decrypted_with_the_early_secret_and_skipped_without() {
    // OpenSSL 0-RTT: the ClientHello, a middlebox CCS and the early data
    // record share one segment, before the ServerHello; EndOfEarlyData
    // (early keys) and the client's Finished (handshake keys) share another.
    let cap = dir().join("openssl-early-data.pcap");
    let keys_path = dir().join("openssl-early-data.keys");
    let text = fs::read_to_string(&keys_path).unwrap();
    assert!(text.contains("CLIENT_EARLY_TRAFFIC_SECRET "));
    let out = run(&cap, &keylog_file(&keys_path));
    assert_eq!(out.codes(), Vec::<&str>::new(), "{:?}", out.findings);
    let early = b"GET /early HTTP/1.0\r\n\r\n";
    assert!(
        out.client.starts_with(early),
        "{:?}",
        String::from_utf8_lossy(&out.client)
    );
    assert!(contains(&out.client, b"hello 9438\n") && contains(&out.client, b"second line\n"));
    let tshark = tshark_follow(&cap, Some(&keys_path), &out.client_addr);
    if let Some((c, sv)) = &tshark {
        assert!(
            out.client == *c && out.server == *sv,
            "plaintext differs from tshark's"
        );
    }
    // Without the early secret the 0-RTT records are skipped, not failed,
    // and everything after the handshake still comes out.
    let mut no_early = KeyLog::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET"))
    {
        no_early.add_line(line.as_bytes());
    }
    let out2 = run(&cap, &no_early);
    assert_eq!(out2.codes(), Vec::<&str>::new(), "{:?}", out2.findings);
    assert_eq!(out2.client, out.client[early.len()..]);
}

#[test]
fn a_refused_handshake_gives_the_alert_and_no_keys() {
    // OpenSSL server with only AES128-SHA, client with only AES256-SHA: the
    // server answers the ClientHello with a plaintext fatal alert 40; the
    // client's key log has no line (nothing was negotiated).
    let keys_path = dir().join("openssl-no-common-suite.keys");
    let keys = keylog_file(&keys_path);
    assert_eq!((keys.stats.entries, keys.stats.comments), (0, 1));
    let out = run(&dir().join("openssl-no-common-suite.pcap"), &keys);
    let alerts: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.kind == TlsFindingKind::Alert)
        .collect();
    assert_eq!(alerts.len(), 1, "{:?}", out.findings);
    assert_eq!(alerts[0].dir, Some(Dir::Server));
    assert!(
        alerts[0].message.contains("fatal") && alerts[0].message.contains("handshake_failure (40)")
    );
    assert_eq!(out.codes(), vec!["tls.no-keys"]);
    assert!(out.data.is_empty());
    let s = out.summary.unwrap();
    assert_eq!(
        (s.version, s.cipher, s.sni.as_deref(), s.decrypted),
        (None, None, Some("localhost"), false)
    );
}

#[test]
fn a_key_log_with_one_handshake_secret_decrypts_that_direction() {
    // OpenSSL's s_client with -verify_return_error rejects the self-signed
    // certificate before it installs its own handshake keys: its key log
    // holds SERVER_HANDSHAKE_TRAFFIC_SECRET alone, and its alert goes in
    // plaintext. The server's flight is decrypted with that secret; the
    // client's alert is read; no secret is reported missing, since no
    // record needed one the log lacks.
    let keys_path = dir().join("openssl-cert-rejected.keys");
    let text = fs::read_to_string(&keys_path).unwrap();
    let labels: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(labels, ["SERVER_HANDSHAKE_TRAFFIC_SECRET"]);
    let out = run(
        &dir().join("openssl-cert-rejected.pcap"),
        &keylog_file(&keys_path),
    );
    let alerts: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.kind == TlsFindingKind::Alert)
        .collect();
    assert_eq!(alerts.len(), 1, "{:?}", out.findings);
    assert_eq!(alerts[0].dir, Some(Dir::Client));
    assert!(
        alerts[0].message.contains("unknown_ca (48)"),
        "{}",
        alerts[0].message
    );
    assert_eq!(out.codes(), Vec::<&str>::new(), "{:?}", out.findings);
    let s = out.summary.unwrap();
    assert_eq!((s.version, s.decrypted), (Some("1.3"), true));
    // The reverse, on node-tls13-aes128: a complete key log without the
    // client's handshake secret; its encrypted records are reported once.
    let full = fs::read_to_string(dir().join("node-tls13-aes128.keys")).unwrap();
    let mut no_client = KeyLog::default();
    for line in full
        .lines()
        .filter(|l| !l.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET"))
    {
        no_client.add_line(line.as_bytes());
    }
    let out = run(&dir().join("node-tls13-aes128.pcap"), &no_client);
    let nk: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.kind == TlsFindingKind::NoKeys)
        .collect();
    assert_eq!(nk.len(), 1, "{:?}", out.findings);
    assert_eq!(nk[0].dir, Some(Dir::Client));
    assert!(nk[0].message.contains("CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
    // The server's direction still decrypts: its data is there.
    assert!(!out.data.is_empty());
}

#[test]
fn a_suite_we_cannot_decrypt_is_reported_once_and_yields_nothing() {
    // TLS 1.2 ECDHE-ARIA128-GCM-SHA256 (0xc060) from OpenSSL, keys present.
    let out = run(
        &dir().join("openssl-tls12-aria.pcap"),
        &keylog_file(&dir().join("openssl-tls12-aria.keys")),
    );
    assert_eq!(out.codes(), vec!["tls.unsupported-cipher"]);
    assert!(out.data.is_empty());
    let s = out.summary.unwrap();
    assert_eq!(
        (s.version, s.cipher, s.decrypted),
        (
            Some("1.2"),
            Some("TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"),
            false
        )
    );
}

#[test]
fn real_captures_with_a_lost_segment_resume_at_the_next_sequence_number() {
    // Leave out one segment holding whole records (the server's echo of
    // the 20000-byte message: two records); the records after it carry
    // sequence numbers two past the last one seen.
    for (name, drop, side) in [
        ("node-tls13-aes128", 14, Dir::Server),
        ("node-tls13-aes128", 11, Dir::Client),
        ("py-tls13", 22, Dir::Server),
        ("node-tls12-cbc-sha1-mte", 16, Dir::Server),
        ("node-tls12-chacha", 0, Dir::Server),
    ] {
        let cap = dir().join(format!("{name}.pcap"));
        let keys = keylog_file(&dir().join(format!("{name}.keys")));
        let whole = run(&cap, &keys);
        // node-tls12-chacha: find its big server segment the same way (the
        // one whose records end the furthest apart).
        let drop = if drop != 0 {
            drop
        } else {
            whole
                .data
                .iter()
                .filter(|p| p.dir == side)
                .max_by_key(|p| p.data.len())
                .unwrap()
                .packet
        };
        let lossy = run_dropping(&cap, &keys, &[drop]);
        assert_eq!(
            lossy.codes(),
            Vec::<&str>::new(),
            "{name} -{drop}: {:?}",
            lossy.findings
        );
        let all: Vec<&Plaintext> = whole.data.iter().filter(|p| p.dir == side).collect();
        let got: Vec<&Plaintext> = lossy.data.iter().filter(|p| p.dir == side).collect();
        let lost: Vec<&&Plaintext> = all.iter().filter(|p| p.packet == drop).collect();
        assert!(
            !lost.is_empty(),
            "{name}: packet {drop} held no {side:?} record"
        );
        // What comes out is exactly the intact plaintext without the lost records.
        let want: Vec<&Vec<u8>> = all
            .iter()
            .filter(|p| p.packet != drop)
            .map(|p| &p.data)
            .collect();
        let have: Vec<&Vec<u8>> = got.iter().map(|p| &p.data).collect();
        assert_eq!(have, want, "{name} -{drop}");
        // And past the gap the stream offsets go on where the intact ones do.
        let after: Vec<u64> = all
            .iter()
            .filter(|p| p.packet > drop)
            .map(|p| p.end_offset)
            .collect();
        let after_lossy: Vec<u64> = got
            .iter()
            .filter(|p| p.packet > drop)
            .map(|p| p.end_offset)
            .collect();
        assert_eq!(after_lossy, after, "{name} -{drop}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// A byte changed anywhere in a real capture's TLS payload: what comes
    /// out is the intact run's plaintext, chunk for chunk, up to where it
    /// stops; never different bytes.
    #[test]
    fn a_flipped_byte_never_yields_different_plaintext(
        which in 0usize..4,
        pick in proptest::prelude::any::<usize>(),
        at in proptest::prelude::any::<usize>(),
    ) {
        let name = ["py-tls13", "node-tls13-chacha", "node-tls12-cbc-sha1-mte", "node-tls12-aes256gcm"][which];
        let cap = dir().join(format!("{name}.pcap"));
        let keys = keylog_file(&dir().join(format!("{name}.keys")));
        let whole = run(&cap, &keys);
        let packets: Vec<u64> = {
            let mut v: Vec<u64> = whole.data.iter().map(|p| p.packet).collect();
            v.dedup();
            v
        };
        let packet = packets[pick % packets.len()];
        let bad = run_altered(&cap, &keys, &[], Some((packet, at)));
        for side in [Dir::Client, Dir::Server] {
            let want: Vec<&Vec<u8>> = whole.data.iter().filter(|p| p.dir == side).map(|p| &p.data).collect();
            let have: Vec<&Vec<u8>> = bad.data.iter().filter(|p| p.dir == side).map(|p| &p.data).collect();
            proptest::prop_assert!(have.len() <= want.len());
            proptest::prop_assert_eq!(&have[..], &want[..have.len()], "{} packet {} byte {}", name, packet, at);
        }
        // The altered record is never passed off as authentic.
        proptest::prop_assert!(
            bad.data.len() < whole.data.len() || bad.flipped_ccs,
            "{} packet {}: nothing lost", name, packet
        );
    }

    /// Arbitrary bytes in arbitrary pieces, with gaps, on both sides.
    #[test]
    fn arbitrary_input_never_panics(
        pieces in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), 0u64..3),
            0..40,
        ),
        prefix in proptest::prelude::any::<bool>(),
    ) {
        let keys = synthetic_keys();
        let mut conn = TlsConn::new();
        let mut n = 0usize;
        if prefix {
            // Start like a real connection so the later bytes reach the keyed paths.
            let (client, server) = one_byte_records_stream(3);
            conn.feed(Dir::Client, &client, 0, &keys, &mut |_| n += 1);
            conn.feed(Dir::Server, &server[0], 0, &keys, &mut |_| n += 1);
        }
        for (i, (client, bytes, gap)) in pieces.into_iter().enumerate() {
            let d = if client { Dir::Client } else { Dir::Server };
            if gap == 2 {
                conn.gap(d, bytes.len() as u64 + 1);
            }
            conn.feed(d, &bytes, i as u64, &keys, &mut |_| n += 1);
        }
        conn.finish(&keys, &mut |_| n += 1);
        let _ = conn.summary();
    }
}

// ---- adversarial input, built here (robustness only) ----

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct, 3, 3];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn hs_msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

const CR: [u8; 32] = [0x11; 32];

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&CR);
    b.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    let ext = [0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04];
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    hs_msg(1, &b)
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[0x22; 32]);
    b.extend_from_slice(&[0, 0x13, 0x01, 0]);
    let ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04];
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    hs_msg(2, &b)
}

/// TLS 1.3 AES-128-GCM record sealing, for building adversarial streams.
struct Sealer {
    key: aes_gcm::Aes128Gcm,
    iv: [u8; 12],
    seq: u64,
}

impl Sealer {
    fn new(secret: &[u8]) -> Self {
        use aes_gcm::KeyInit;
        let (k, iv) = tls13_key_iv(HashAlg::Sha256, secret, 16).unwrap();
        Sealer {
            key: aes_gcm::Aes128Gcm::new_from_slice(&k).unwrap(),
            iv: iv.try_into().unwrap(),
            seq: 0,
        }
    }
    fn seal(&mut self, ct: u8, content: &[u8]) -> Vec<u8> {
        use aes_gcm::aead::AeadInOut;
        let mut inner = content.to_vec();
        inner.push(ct);
        let len = inner.len() + 16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let mut nonce = self.iv;
        for (b, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *b ^= s;
        }
        self.seq += 1;
        let tag = self
            .key
            .encrypt_inout_detached(&nonce.into(), &header, inner.as_mut_slice().into())
            .unwrap();
        let mut out = header.to_vec();
        out.extend_from_slice(&inner);
        out.extend_from_slice(&tag);
        out
    }
}

fn synthetic_keys() -> KeyLog {
    let r: String = CR.iter().map(|b| format!("{b:02x}")).collect();
    let mut k = KeyLog::new();
    for (label, byte) in [
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "a1"),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "a2"),
        ("CLIENT_TRAFFIC_SECRET_0", "a3"),
        ("SERVER_TRAFFIC_SECRET_0", "a4"),
    ] {
        k.add_line(format!("{label} {r} {}", byte.repeat(32)).as_bytes());
    }
    k
}

fn collect(
    conn: &mut TlsConn,
    d: Dir,
    bytes: &[u8],
    packet: u64,
    keys: &KeyLog,
    out: &mut Vec<TlsEvent>,
) {
    conn.feed(d, bytes, packet, keys, &mut |e| out.push(e));
}

/// A TLS 1.3 connection whose handshake comes one byte per record and whose
/// server sends `n` application records of one byte each.
fn one_byte_records_stream(n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut client = Vec::new();
    for b in client_hello() {
        client.extend(record(22, &[b]));
    }
    let mut server = vec![];
    for b in server_hello() {
        server.extend(record(22, &[b]));
    }
    let mut hs = Sealer::new(&[0xa2; 32]);
    let mut ee_fin = hs_msg(8, &[0, 8, 0, 16, 0, 4, 0, 2, 1, b'x']);
    ee_fin.extend(hs_msg(20, &[0; 32]));
    server.extend(hs.seal(22, &ee_fin));
    let mut app = Sealer::new(&[0xa4; 32]);
    let records = (0..n).map(|i| app.seal(23, &[(i % 251) as u8])).collect();
    (client, [vec![server], records].concat())
}

#[test]
fn thousands_of_one_byte_records() {
    let keys = synthetic_keys();
    let (client, server) = one_byte_records_stream(5000);
    let start = Instant::now();
    let mut conn = TlsConn::new();
    let mut ev = Vec::new();
    collect(&mut conn, Dir::Client, &client, 1, &keys, &mut ev);
    for (i, r) in server.iter().enumerate() {
        collect(&mut conn, Dir::Server, r, 2 + i as u64, &keys, &mut ev);
    }
    let data: Vec<u8> = ev
        .iter()
        .flat_map(|e| match e {
            TlsEvent::Data(p) => p.data.clone(),
            TlsEvent::Finding(f) => panic!("unexpected finding {f:?}"),
        })
        .collect();
    assert_eq!(data, (0..5000).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    assert_eq!(conn.summary().alpn.as_deref(), Some("x"));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn after_a_gap_the_next_sequence_numbers_are_tried() {
    let keys = synthetic_keys();
    let (client, server) = one_byte_records_stream(100);
    let mut conn = TlsConn::new();
    let mut ev = Vec::new();
    collect(&mut conn, Dir::Client, &client, 1, &keys, &mut ev);
    // server[0] is the handshake; records 1..=100 carry bytes 0..=99. Lose 40..=44
    // and cut the stream in the middle of records so the boundary is unknown.
    collect(
        &mut conn,
        Dir::Server,
        &server[..41].concat(),
        2,
        &keys,
        &mut ev,
    );
    let lost: usize = server[41..46].iter().map(|r| r.len()).sum::<usize>() + 3;
    conn.gap(Dir::Server, lost as u64);
    let rest = server[46..].concat();
    collect(&mut conn, Dir::Server, &rest[3..], 4, &keys, &mut ev);
    let data: Vec<u8> = ev
        .iter()
        .flat_map(|e| match e {
            TlsEvent::Data(p) => p.data.clone(),
            TlsEvent::Finding(f) => panic!("unexpected finding {f:?}"),
        })
        .collect();
    // The record cut by the gap (byte 45) is lost too; everything after comes back.
    let want: Vec<u8> = (0..40).chain(46..100).collect();
    assert_eq!(data, want);
}

#[test]
fn record_past_the_length_limit_gives_the_direction_up() {
    let keys = synthetic_keys();
    let mut conn = TlsConn::new();
    let mut ev = Vec::new();
    collect(
        &mut conn,
        Dir::Client,
        &record(22, &client_hello()),
        1,
        &keys,
        &mut ev,
    );
    let len = (1usize << 14) + 2048 + 1;
    let mut bad = vec![23, 3, 3, (len >> 8) as u8, len as u8];
    bad.extend(vec![0u8; 4096]);
    collect(&mut conn, Dir::Server, &bad, 2, &keys, &mut ev);
    collect(
        &mut conn,
        Dir::Server,
        &vec![0u8; 1 << 20],
        3,
        &keys,
        &mut ev,
    );
    let codes: Vec<_> = ev
        .iter()
        .map(|e| match e {
            TlsEvent::Finding(f) => f.kind.code(),
            TlsEvent::Data(_) => "data",
        })
        .collect();
    assert_eq!(codes, vec!["tls.malformed"]);
    assert!(conn.given_up(Dir::Server) && !conn.given_up(Dir::Client));
}

#[test]
fn sixteen_mib_declared_handshake_length_streams_past() {
    let keys = synthetic_keys();
    let mut conn = TlsConn::new();
    let mut ev = Vec::new();
    // A certificate-like message declaring 2^24-1 bytes, sent in full-size records,
    // then a ClientHello: the huge message is skipped, the hello still read.
    let mut first = vec![11u8, 0xff, 0xff, 0xff];
    first.extend(vec![0u8; (1 << 14) - 4]);
    collect(
        &mut conn,
        Dir::Client,
        &record(22, &first),
        1,
        &keys,
        &mut ev,
    );
    let mut left = 0xff_ffff - ((1 << 14) - 4);
    let chunk = vec![0u8; 1 << 14];
    let start = Instant::now();
    while left > 0 {
        let n = left.min(chunk.len());
        collect(
            &mut conn,
            Dir::Client,
            &record(22, &chunk[..n]),
            2,
            &keys,
            &mut ev,
        );
        left -= n;
    }
    collect(
        &mut conn,
        Dir::Client,
        &record(22, &client_hello()),
        3,
        &keys,
        &mut ev,
    );
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(conn.client_random(), Some(CR));
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// 100 MB of junk key log, made as it is read (never held whole), with a
/// few valid lines in between.
struct Junk {
    left: usize,
    state: u64,
    line: Vec<u8>,
    pos: usize,
    n: u64,
}

impl Read for Junk {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.line.len() {
            if self.left == 0 {
                return Ok(0);
            }
            self.n += 1;
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let kind = self.n % 100_000;
            self.line = if kind == 0 {
                format!("CLIENT_RANDOM {:064x} {}\n", self.n, "ab".repeat(48)).into_bytes()
            } else if kind == 1 {
                // A line of 5000 bytes without an end for a while.
                vec![b'Z'; 5000]
            } else {
                let len = 20 + (self.state >> 58) as usize;
                let mut l: Vec<u8> = (0..len)
                    .map(|i| (self.state >> (i % 56)) as u8 | 0x20)
                    .collect();
                if kind.is_multiple_of(7) {
                    l.extend_from_slice(b"\r");
                }
                l.push(b'\n');
                l
            };
            self.pos = 0;
        }
        let n = buf.len().min(self.line.len() - self.pos).min(self.left);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        self.left -= n;
        if self.left == 0 {
            self.line.truncate(self.pos);
        }
        Ok(n)
    }
}

#[test]
fn hundred_megabytes_of_junk_key_log() {
    let start = Instant::now();
    let mut k = KeyLog::new();
    let junk = Junk {
        left: 100 << 20,
        state: 7,
        line: Vec::new(),
        pos: 0,
        n: 0,
    };
    k.read_from(std::io::BufReader::new(junk)).unwrap();
    let valid = k.stats.entries;
    assert!(valid >= 10, "{:?}", k.stats);
    assert_eq!(k.len() as u64, valid);
    assert!(k.stats.garbage > 1_000_000, "{:?}", k.stats);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}
