//! `tls.alert` and close_notify (issue 14): RFC 8446 section 6.1 makes
//! close_notify the normal end of a TLS connection (each side sends it
//! before closing its write side; in TLS 1.3 its level means nothing), so
//! it is no finding; any other alert still is. On the real recordings of
//! samples/tls with their key logs: Node, OpenSSL, Python and Chromium all
//! close with close_notify (tshark 4.0.17 with the same keys shows those
//! alerts at the end of each connection), and OpenSSL's refusal of a suite
//! is a fatal handshake_failure.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn check(cap: &PathBuf) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    cmd.args(["check", "-q", "--format", "json"]);
    let keys = cap.with_extension("keys");
    if keys.exists() {
        cmd.arg("--keylog").arg(&keys);
    }
    let out = cmd.arg(cap).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn close_notify_at_the_end_is_no_finding_other_alerts_are() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/tls");
    let mut caps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    caps.sort();
    assert!(caps.len() >= 20);
    let mut decrypted = 0;
    for cap in &caps {
        let findings = check(cap);
        let alerts: Vec<&str> = findings
            .iter()
            .filter(|f| f["code"] == "tls.alert")
            .map(|f| f["message"].as_str().unwrap())
            .collect();
        assert!(
            alerts.iter().all(|m| !m.contains("close_notify")),
            "{}: {alerts:?}",
            cap.display()
        );
        decrypted += usize::from(cap.with_extension("keys").exists());
        if cap.ends_with("openssl-no-common-suite.pcap") {
            assert_eq!(alerts, ["fatal alert handshake_failure (40)"]);
        }
    }
    assert!(decrypted >= 15, "{decrypted} captures with keys");
}
