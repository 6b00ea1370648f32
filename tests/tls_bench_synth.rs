//! The benchmark's TLS 1.3 capture (examples/synth_capture.rs --keylog)
//! carries the same WebSocket traffic as its plaintext capture: `frames`
//! with the generator's key log gives the same frames, and `check` finds no
//! TLS problem.

#[path = "common/synth.rs"]
#[allow(dead_code)]
mod synth;
#[path = "common/synth_mixed.rs"]
mod synth_mixed;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .output()
        .expect("run wsdissect");
    assert!(out.status.success(), "{args:?}: {:?}", out);
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// What must match between the two captures, frame by frame.
fn frame_keys(records: &[Value]) -> Vec<Vec<Value>> {
    const FIELDS: &[&str] = &[
        "conn",
        "client",
        "server",
        "from",
        "fin",
        "rsv1",
        "opcode",
        "masked",
        "mask_key",
        "payload_len",
        "payload_hex",
        "close_code",
        "findings",
    ];
    records
        .iter()
        .filter(|r| r["type"] == "frame")
        .map(|r| FIELDS.iter().map(|f| r[*f].clone()).collect())
        .collect()
}

fn generate(dir: &Path, name: &str, small: bool, tls: bool) -> (String, Option<String>, u64) {
    let cap = dir.join(format!("{name}.pcap"));
    let keys = dir.join(format!("{name}.keys"));
    let mut out = Vec::new();
    let mut keylog = Vec::new();
    let (_, frames) = synth_mixed::generate(
        &mut out,
        3 << 19,
        small,
        tls.then_some(&mut keylog as &mut dyn std::io::Write),
    )
    .expect("generate");
    std::fs::write(&cap, out).expect("write capture");
    let keys = tls.then(|| {
        std::fs::write(&keys, keylog).expect("write key log");
        keys.display().to_string()
    });
    (cap.display().to_string(), keys, frames)
}

fn same_frames(small: bool) {
    let dir = std::env::temp_dir().join(format!(
        "wsdissect-tls-bench-synth-{}-{small}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (plain, _, n_plain) = generate(&dir, "plain", small, false);
    let (tls, keys, n_tls) = generate(&dir, "tls", small, true);
    let keys = keys.expect("key log");
    assert_eq!(n_plain, n_tls, "the same seed gives the same frames");
    assert!(n_plain > 2000, "more than the closes: {n_plain}");

    let a = frame_keys(&run(&[
        "frames",
        "--format",
        "json",
        "--payload",
        "hex",
        &plain,
    ]));
    let b = frame_keys(&run(&[
        "frames",
        "--format",
        "json",
        "--payload",
        "hex",
        "--keylog",
        &keys,
        &tls,
    ]));
    assert_eq!(a.len() as u64, n_plain, "plaintext: every frame reported");
    assert_eq!(b.len(), a.len(), "TLS: every frame reported");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "frame {i}");
    }
    // Without the key log nothing is seen: the frames came from decryption.
    let none = frame_keys(&run(&["frames", "--format", "json", &tls]));
    assert!(none.is_empty(), "{} frames without keys", none.len());

    let check = run(&["check", "--format", "json", "--keylog", &keys, &tls]);
    let tls_findings: Vec<_> = check
        .iter()
        .filter(|r| r["code"].as_str().is_some_and(|c| c.starts_with("tls.")))
        .collect();
    assert!(tls_findings.is_empty(), "{tls_findings:?}");
    assert!(
        check.iter().all(|r| r["type"] != "finding"),
        "the plaintext traffic is clean, so is its TLS version: {check:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_mixed_capture_gives_the_plaintext_frames() {
    same_frames(false);
}

#[test]
fn tls_small_capture_gives_the_plaintext_frames() {
    same_frames(true);
}
