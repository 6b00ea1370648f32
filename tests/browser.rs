//! `explain --format html` in a real browser: headless Chromium (Debian's
//! /usr/bin/chromium) driven by playwright-core from tests/browser/, checked
//! from the DOM against `frames --format json` and the capture's own TCP
//! flags. `scripts/setup-browser-deps.sh` installs both; without chromium
//! the test says so and skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The capture's first packet time, and the packet number of the first SYN
/// without ACK sent to `server` (read with etherparse, not the analyzer).
fn first_ts_and_syn(path: &Path, server: &str) -> (f64, Option<u64>) {
    let mut t0 = None;
    let mut syn = None;
    let file = std::fs::File::open(path).unwrap();
    wsdissect::capture::read_capture(file, |rec| {
        t0.get_or_insert(rec.ts.as_f64());
        if syn.is_some() {
            return;
        }
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(rec.data) else {
            return;
        };
        let (Some(net), Some(etherparse::TransportSlice::Tcp(tcp))) = (p.net, p.transport) else {
            return;
        };
        let dst = match net {
            etherparse::NetSlice::Ipv4(ip) => {
                std::net::IpAddr::from(ip.header().destination_addr())
            }
            etherparse::NetSlice::Ipv6(ip) => {
                std::net::IpAddr::from(ip.header().destination_addr())
            }
            _ => return,
        };
        let to = std::net::SocketAddr::new(dst, tcp.destination_port()).to_string();
        if tcp.syn() && !tcp.ack() && to == server {
            syn = Some(rec.number);
        }
    })
    .unwrap();
    (t0.unwrap(), syn)
}

#[test]
fn explain_html_in_headless_chromium() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!(
            "skipped: /usr/bin/chromium is not installed (scripts/setup-browser-deps.sh installs it)"
        );
        return;
    }
    let dir = root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "chromium is here but playwright-core is not: run scripts/setup-browser-deps.sh"
    );
    let tmp = std::env::temp_dir().join(format!("wsdissect-browser-{}", std::process::id()));
    // Screenshots (the top of each page, and its second card focused by
    // the keyboard) go to WSDISSECT_SHOTS when set, else they are removed.
    let keep = std::env::var_os("WSDISSECT_SHOTS").map(PathBuf::from);
    let shots = keep.clone().unwrap_or_else(|| tmp.join("shots"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&shots).unwrap();
    let mut pages = Vec::new();
    for name in [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "python-echo.pcap",
        "deflate/node-deflate.pcap",
    ] {
        let cap = root().join("samples").join(name);
        let c = cap.to_str().unwrap();
        let html = run(&["explain", "--format", "html", "--max-frames", "1000", c]);
        let file = tmp.join(format!("{}.html", name.replace('/', "-")));
        std::fs::write(&file, html).unwrap();
        let frames: Vec<Value> = run(&["frames", "--format", "json", "--payload", "hex", c])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|f| f["conn"] == 0)
            .collect();
        assert!(!frames.is_empty(), "{name}");
        let server = frames[0]["server"].as_str().unwrap().to_string();
        let (t0, syn) = first_ts_and_syn(&cap, &server);
        pages.push(json!({
            "name": name.replace('/', "-").trim_end_matches(".pcap"),
            "html": file,
            "frames": frames,
            "t0": t0,
            "syn_packet": syn,
        }));
    }
    let spec = tmp.join("spec.json");
    std::fs::write(
        &spec,
        serde_json::to_vec(&json!({"shots": shots, "pages": pages})).unwrap(),
    )
    .unwrap();
    let out = Command::new("timeout")
        .arg("300")
        .arg("node")
        .arg(dir.join("explain.mjs"))
        .arg(&spec)
        .current_dir(&dir)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        4,
        "{stdout}"
    );
    eprint!("{stdout}");
    if let Some(k) = keep {
        eprintln!("screenshots in {}", k.display());
    }
}
