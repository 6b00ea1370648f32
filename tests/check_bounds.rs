//! `check` on a hostile capture: every finding is counted (the verdict and
//! the summary), but only the first ones of each code per connection are
//! kept for the listing, so memory does not follow the capture's size.

mod common;

use common::synth::{Flow, Pcap, frame_keyed};
use wsdissect::render::check::MAX_LISTED_PER_CODE;

fn unmasked_client_frames(n: usize) -> std::path::PathBuf {
    let mut cap = Pcap::new();
    let mut f = Flow::new(7);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    for i in 0..n {
        // A client frame without a mask: frame.client-unmasked, each one.
        let mut fr = frame_keyed(false, 0x81, format!("m{i}").as_bytes(), [0; 4]);
        fr[1] &= 0x7f;
        f.send(&mut cap, true, &fr);
    }
    let path = std::env::temp_dir().join(format!("wsd-check-bounds-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap.bytes).unwrap();
    path
}

#[test]
fn findings_past_the_listing_cap_are_counted_not_kept() {
    let n = MAX_LISTED_PER_CODE * 3;
    let path = unmasked_client_frames(n);
    let out = common::bin()
        .args(["check", "--format", "json", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = lines
        .iter()
        .filter(|v| v["type"] == "finding" && v["code"] == "frame.client-unmasked")
        .count();
    let summary = lines.iter().find(|v| v["type"] == "summary").unwrap();
    assert_eq!(listed, MAX_LISTED_PER_CODE);
    assert_eq!(summary["errors"], n as u64, "{summary}");
    assert_eq!(summary["not_listed"], (n - MAX_LISTED_PER_CODE) as u64);
    let table = common::bin()
        .args(["check", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "and {} more frame.client-unmasked",
            n - MAX_LISTED_PER_CODE
        )),
        "{}",
        text.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
    let _ = std::fs::remove_file(path);
}
