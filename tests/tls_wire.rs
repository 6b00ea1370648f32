#![allow(dead_code)] // the decryption tests that use the rest come with the carrier
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

use common::{bin, sample};
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
