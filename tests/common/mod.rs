#![allow(dead_code)]
//! Helpers shared by the golden tests.

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One message as the applications logged it: the bytes themselves, or
/// (for long ones) their length and SHA-256.
#[derive(Debug, Deserialize)]
struct SentLine {
    side: String,
    opcode: u8,
    data_hex: Option<String>,
    len: Option<usize>,
    sha256: Option<String>,
}

/// A message reduced to what both sides can be compared on:
/// (side, opcode, length, SHA-256 of the bytes).
pub type MsgKey = (String, u8, usize, String);

pub fn key(side: &str, opcode: u8, data: &[u8]) -> MsgKey {
    (
        side.to_string(),
        opcode,
        data.len(),
        hex(&Sha256::digest(data)),
    )
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Reads a `NAME.sent.jsonl` log.
pub fn load_sent(path: &std::path::Path) -> Vec<MsgKey> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let m: SentLine = serde_json::from_str(l).unwrap();
            match (m.data_hex, m.len, m.sha256) {
                (Some(h), _, _) => key(&m.side, m.opcode, &unhex(&h)),
                (None, Some(n), Some(sha)) => (m.side, m.opcode, n, sha),
                _ => panic!("{}: bad log line {l}", path.display()),
            }
        })
        .collect()
}
pub mod synth;

/// The wsdissect binary under test.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
}

/// A file or folder under samples/.
pub fn sample(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// The JSON records a run prints (its lines that start with `{`), run
/// from the repository's root.
pub fn json_records(args: &[&str]) -> Vec<serde_json::Value> {
    let out = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

/// A JSON-lines file under samples/ (an application's log), one value a line.
pub fn jsonl(name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(sample(name))
        .expect("the log is there")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// stdout, stderr and exit status of one run.
pub type Outcome = (Vec<u8>, Vec<u8>, Option<i32>);

/// One run of the program with `--threads N`, standard input empty.
pub fn outcome(args: &[&str], threads: usize) -> Outcome {
    let out = bin()
        .args(args)
        .args(["--threads", &threads.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    (out.stdout, out.stderr, out.status.code())
}

/// The standard output of a run that must succeed (its stderr is the
/// failure's message).
pub fn stdout_ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Each line of `s` as a JSON value.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}
