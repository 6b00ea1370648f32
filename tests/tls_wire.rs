//! wss:// and https:// through every command (issue 14, the wiring): the
//! key log options, decryption in the TLS carrier, and what comes out of it
//! on REAL captures (samples/tls/, recorded by samples/record/tls_record.sh).
//!
//! References are independent of the program: tshark's frames with the same
//! keys (`NAME.tshark.jsonl`, made by samples/record/tls_tshark_expect.sh
//! with ../shared/tools/tshark-frames.py), and the applications' own logs of
//! the messages they sent (`NAME.sent.jsonl`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{MsgKey, bin, key, load_sent, sample, unhex};
use serde_json::Value;

/// WebSocket over TLS samples with their key logs, message logs and tshark references.
const WS_SAMPLES: &[&str] = &[
    "py-tls13",
    "node-tls13-aes128",
    "node-tls13-aes256",
    "node-tls13-chacha",
    "node-tls12-aes128gcm",
    "node-tls12-aes256gcm",
    "node-tls12-chacha",
    "node-tls12-cbc-sha384",
    "node-tls12-cbc-sha1-mte",
    "chromium-wss-deflate",
    // Through a bridge that drops ~3% and delays ~5% of data frames:
    // retransmissions and out-of-order segments.
    "node-tls13-lossy",
    "node-tls12-lossy",
];

fn tls(name: &str) -> PathBuf {
    sample("tls").join(name)
}

fn run(args: &[&str], files: &[&Path]) -> Output {
    let mut c = bin();
    c.args(args).arg("-q").env_remove("SSLKEYLOGFILE");
    for f in files {
        c.arg(f);
    }
    c.output().unwrap()
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

/// The fields of a frame that tshark also reports.
const FRAME_FIELDS: &[&str] = &[
    "conn",
    "client",
    "server",
    "from",
    "packet",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "opcode",
    "masked",
    "mask_key",
    "payload_len",
    "payload_hex",
    "close_code",
];

fn frames_with_keys(capture: &Path, keys: Option<&Path>) -> Vec<Value> {
    let keys = keys.map(|k| k.to_string_lossy().into_owned());
    let mut args = vec!["frames", "--format", "json", "--payload", "hex"];
    if let Some(k) = &keys {
        args.extend(["--keylog", k.as_str()]);
    }
    let out = run(&args, &[capture]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    records(&out)
}

fn assert_frames_match_tshark(name: &str, ours: &[Value]) {
    let theirs: Vec<Value> = std::fs::read_to_string(tls(&format!("{name}.tshark.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!theirs.is_empty(), "{name}: empty tshark reference");
    assert_eq!(ours.len(), theirs.len(), "{name}: frame count");
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        for f in FRAME_FIELDS {
            assert_eq!(o[f], t[f], "{name}: frame {i}, field {f}");
        }
        let dt = o["ts"].as_f64().unwrap() - t["ts"].as_f64().unwrap();
        assert!(dt.abs() < 2e-6, "{name}: frame {i}: ts differs by {dt}");
    }
}

#[test]
fn frames_agree_with_tshark_using_the_same_keys() {
    for name in WS_SAMPLES {
        let ours = frames_with_keys(
            &tls(&format!("{name}.pcap")),
            Some(&tls(&format!("{name}.keys"))),
        );
        assert_frames_match_tshark(name, &ours);
    }
}

#[test]
fn messages_are_what_the_applications_logged() {
    for name in WS_SAMPLES {
        let keys = tls(&format!("{name}.keys"));
        let out = run(
            &[
                "messages",
                "--format",
                "json",
                "--payload",
                "hex",
                "--keylog",
                &keys.to_string_lossy(),
            ],
            &[&tls(&format!("{name}.pcap"))],
        );
        assert!(out.status.success());
        let mut ours: Vec<MsgKey> = records(&out)
            .iter()
            .map(|m| {
                key(
                    m["from"].as_str().unwrap(),
                    m["opcode"].as_u64().unwrap() as u8,
                    &unhex(m["data_hex"].as_str().unwrap()),
                )
            })
            .collect();
        let mut sent = load_sent(&tls(&format!("{name}.sent.jsonl")));
        assert!(!sent.is_empty());
        ours.sort();
        sent.sort();
        assert_eq!(ours, sent, "{name}");
    }
}

#[test]
fn conn_record_tells_the_tls_it_decrypted() {
    let cases = [
        ("py-tls13", "1.3", "TLS_AES_256_GCM_SHA384"),
        ("node-tls13-chacha", "1.3", "TLS_CHACHA20_POLY1305_SHA256"),
        (
            "node-tls12-cbc-sha1-mte",
            "1.2",
            "TLS_RSA_WITH_AES_128_CBC_SHA",
        ),
    ];
    for (name, version, cipher) in cases {
        let keys = tls(&format!("{name}.keys"));
        let out = run(
            &[
                "conns",
                "--format",
                "json",
                "--keylog",
                &keys.to_string_lossy(),
            ],
            &[&tls(&format!("{name}.pcap"))],
        );
        let recs = records(&out);
        let conns = of_type(&recs, "conn");
        assert_eq!(conns.len(), 1, "{name}");
        let t = &conns[0]["tls"];
        assert_eq!(t["decrypted"], true, "{name}");
        assert_eq!(t["version"], version, "{name}");
        assert_eq!(t["cipher"], cipher, "{name}");
        assert_eq!(t["sni"], "localhost", "{name}");
        // The server's choice (TLS 1.3: from the decrypted EncryptedExtensions).
        assert_eq!(t["alpn"], "http/1.1", "{name}");
        assert_eq!(conns[0]["status"], 101, "{name}");
        // The handshake record tells the same TLS it travelled in.
        let hs = of_type(&recs, "handshake");
        assert_eq!(hs.len(), 1, "{name}");
        assert_eq!(hs[0]["tls"], *t, "{name}");
        assert!(conns[0]["client_to_server"]["messages"].as_u64() > Some(0));
    }
}

#[test]
fn without_keys_one_no_keys_finding_and_no_frames() {
    for (capture, keys) in [
        ("py-tls13-nokeys.pcap", None),
        ("py-tls13.pcap", None),
        // Secrets for another connection are no secrets for this one.
        ("py-tls13.pcap", Some("node-tls13-aes128.keys")),
    ] {
        let keys = keys.map(tls);
        let frames = frames_with_keys(&tls(capture), keys.as_deref());
        assert!(frames.is_empty(), "{capture}: frames without keys");
        let mut args = vec!["check", "--format", "json"];
        let k = keys.map(|k| k.to_string_lossy().into_owned());
        if let Some(k) = &k {
            args.extend(["--keylog", k.as_str()]);
        }
        let out = run(&args, &[&tls(capture)]);
        let recs = records(&out);
        let codes: Vec<&str> = of_type(&recs, "finding")
            .iter()
            .filter_map(|f| f["code"].as_str())
            .filter(|c| c.starts_with("tls."))
            .collect();
        assert_eq!(codes, ["tls.no-keys"], "{capture} with {k:?}");
    }
}

#[test]
fn a_suite_we_cannot_decrypt_is_reported_not_guessed() {
    // ARIA-GCM with its keys: tls.unsupported-cipher, not tls.no-keys.
    let keys = tls("openssl-tls12-aria.keys");
    let out = run(
        &[
            "check",
            "--format",
            "json",
            "--keylog",
            &keys.to_string_lossy(),
        ],
        &[&tls("openssl-tls12-aria.pcap")],
    );
    let recs = records(&out);
    let codes: Vec<&str> = of_type(&recs, "finding")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"tls.unsupported-cipher"), "{codes:?}");
    assert!(!codes.contains(&"tls.no-keys"), "{codes:?}");
}

#[test]
fn a_record_that_does_not_authenticate_is_decrypt_failed_and_no_garbage() {
    // The right key log with one secret's last byte changed: the records
    // under it fail authentication.
    let text = std::fs::read_to_string(tls("node-tls12-aes128gcm.keys")).unwrap();
    let bad: String = text
        .lines()
        .map(|l| {
            if l.starts_with("CLIENT_RANDOM") {
                let mut s = l.to_string();
                let last = s.pop().unwrap();
                s.push(if last == '0' { '1' } else { '0' });
                s
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempdir();
    let k = dir.join("bad.keys");
    std::fs::write(&k, bad).unwrap();
    let cap = tls("node-tls12-aes128gcm.pcap");
    assert!(frames_with_keys(&cap, Some(&k)).is_empty());
    let out = run(
        &[
            "check",
            "--format",
            "json",
            "--keylog",
            &k.to_string_lossy(),
        ],
        &[&cap],
    );
    let recs = records(&out);
    let failed = of_type(&recs, "finding")
        .iter()
        .filter(|f| f["code"] == "tls.decrypt-failed")
        .count();
    assert_eq!(failed, 2, "one per direction");
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "wsdissect-tls-wire-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn keylog_file_that_cannot_be_read_is_one_line_and_exit_2() {
    let cap = tls("node-tls13-aes128.pcap");
    for cmd in ["frames", "messages", "conns", "check", "explain", "push"] {
        let out = run(
            &[cmd, "--keylog", "/nonexistent/keys.log"],
            &[cap.as_path()],
        );
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert!(err.contains("/nonexistent/keys.log"), "{err}");
    }
    // Garbage lines are skipped, never fatal.
    let dir = tempdir();
    let k = dir.join("junk.keys");
    std::fs::write(&k, "junk\r\n\u{1b}[31mred\nCLIENT_RANDOM zz yy\n").unwrap();
    let out = run(
        &["check", "--keylog", &k.to_string_lossy()],
        &[cap.as_path()],
    );
    assert_eq!(out.status.code(), Some(0));
    // An SSLKEYLOGFILE that does not exist yet (browsers create it) is a warning.
    let out = bin()
        .args(["check", "-q"])
        .arg(&cap)
        .env("SSLKEYLOGFILE", dir.join("not-yet.keys"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SSLKEYLOGFILE"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keylog_with_garbage_lines_repeated_and_from_the_environment() {
    let cap = tls("node-tls13-aes128.pcap");
    // Garbage lines around the real ones: counted, never fatal.
    let dir = tempdir();
    let k = dir.join("garbage.keys");
    let real = std::fs::read_to_string(tls("node-tls13-aes128.keys")).unwrap();
    std::fs::write(
        &k,
        format!("junk\r\n\u{1b}[31mred\nCLIENT_RANDOM zz yy\n{real}\nmore junk"),
    )
    .unwrap();
    let frames = frames_with_keys(&cap, Some(&k));
    assert_frames_match_tshark("node-tls13-aes128", &frames);
    // Repeatable: the wrong file first, the right one second.
    let out = run(
        &[
            "frames",
            "--format",
            "json",
            "--payload",
            "hex",
            "--keylog",
            &tls("py-tls13.keys").to_string_lossy(),
            "--keylog",
            &k.to_string_lossy(),
        ],
        &[cap.as_path()],
    );
    assert_frames_match_tshark("node-tls13-aes128", &records(&out));
    // SSLKEYLOGFILE, no flag.
    let out = bin()
        .args(["frames", "--format", "json", "--payload", "hex", "-q"])
        .arg(&cap)
        .env("SSLKEYLOGFILE", tls("node-tls13-aes128.keys"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_frames_match_tshark("node-tls13-aes128", &records(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn non_http_plaintext_is_not_read_as_frames() {
    // openssl s_client/s_server lines inside TLS 1.3 (with KeyUpdates):
    // decrypted, and nothing inside is WebSocket.
    for name in ["openssl-keyupdate", "openssl-hrr", "openssl-resume13"] {
        let frames = frames_with_keys(
            &tls(&format!("{name}.pcap")),
            Some(&tls(&format!("{name}.keys"))),
        );
        assert!(frames.is_empty(), "{name}");
        let keys = tls(&format!("{name}.keys"));
        let out = run(
            &[
                "conns",
                "--format",
                "json",
                "--keylog",
                &keys.to_string_lossy(),
            ],
            &[&tls(&format!("{name}.pcap"))],
        );
        let recs = records(&out);
        let conns = of_type(&recs, "conn");
        assert_eq!(conns.len(), 1, "{name}");
        assert_eq!(conns[0]["tls"]["decrypted"], true, "{name}");
    }
}

#[test]
fn keys_from_the_captures_own_decryption_secrets_block() {
    // editcap --inject-secrets: no key file needed.
    let frames = frames_with_keys(&tls("py-tls13-dsb.pcapng"), None);
    assert_frames_match_tshark("py-tls13", &frames);
}

/// The blocks of a little-endian pcapng file, whole.
fn pcapng_blocks(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push(&bytes[at..at + len]);
        at += len;
    }
    assert_eq!(at, bytes.len());
    out
}

/// py-tls13-dsb.pcapng with its Decryption Secrets Block moved to just
/// after the `after`-th packet.
fn dsb_moved(after: usize) -> Vec<u8> {
    let bytes = std::fs::read(tls("py-tls13-dsb.pcapng")).unwrap();
    let blocks = pcapng_blocks(&bytes);
    const DSB: u32 = 0x0000_000a;
    const EPB: u32 = 0x0000_0006;
    let ty = |b: &[u8]| u32::from_le_bytes(b[..4].try_into().unwrap());
    let dsb: Vec<&[u8]> = blocks.iter().copied().filter(|b| ty(b) == DSB).collect();
    assert_eq!(dsb.len(), 1);
    let mut out = Vec::new();
    let mut packets = 0;
    for b in blocks.iter().filter(|b| ty(b) != DSB) {
        out.extend_from_slice(b);
        if ty(b) == EPB {
            packets += 1;
            if packets == after {
                out.extend_from_slice(dsb[0]);
            }
        }
    }
    assert!(packets >= after);
    out
}

#[test]
fn a_secrets_block_anywhere_decrypts_the_packets_after_it() {
    let dir = tempdir();
    // After the ClientHello (packet 4), before the ServerHello (packet 6):
    // the keys are there when the connection needs them.
    let mid = dir.join("dsb-after-4.pcapng");
    std::fs::write(&mid, dsb_moved(4)).unwrap();
    assert_frames_match_tshark("py-tls13", &frames_with_keys(&mid, None));
    // After every packet: too late for this connection, which has no keys.
    let late = dir.join("dsb-at-end.pcapng");
    std::fs::write(&late, dsb_moved(33)).unwrap();
    assert!(frames_with_keys(&late, None).is_empty());
    // Keys a capture brings stay with it: the next capture on the command
    // line does not decrypt with them.
    let out = run(
        &["frames", "--format", "json"],
        &[&tls("py-tls13-dsb.pcapng"), &tls("py-tls13.pcap")],
    );
    let recs = records(&out);
    assert!(!recs.is_empty());
    assert!(
        recs.iter().all(|r| r["capture"]
            .as_str()
            .is_some_and(|c| c.ends_with("py-tls13-dsb.pcapng"))),
        "the second capture was decrypted with the first one's keys"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn push_classifies_an_https_event_stream_as_on_plaintext() {
    let cap = tls("node-sse-tls13.pcap");
    let keys = tls("node-sse-tls13.keys");
    let out = run(
        &[
            "push",
            "--format",
            "json",
            "--keylog",
            &keys.to_string_lossy(),
        ],
        &[&cap],
    );
    assert!(out.status.success());
    let recs = records(&out);
    let push = of_type(&recs, "push");
    assert_eq!(push.len(), 1);
    assert_eq!(push[0]["technique"], "sse");
    assert_eq!(push[0]["requests"], 2);
    assert_eq!(push[0]["reconnects"], 1);
    // Every event the server logged sending, in order, with its id, type and data.
    let sent: Vec<Value> = std::fs::read_to_string(tls("node-sse-tls13.events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = of_type(&recs, "sse-event");
    assert_eq!(got.len(), sent.len());
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(g["id"], s["id"]);
        assert_eq!(g["event"], s["event"]);
        assert_eq!(g["data"], s["data"]);
    }
    // Without the keys there is no channel to classify.
    let out = run(&["push", "--format", "json"], &[&cap]);
    assert!(of_type(&records(&out), "push").is_empty());
}
