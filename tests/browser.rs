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

/// Slices a record by its link type (Ethernet, Linux SLL and SLL2, raw
/// IP), with etherparse.
fn slice(link: i32, data: &[u8]) -> Option<etherparse::SlicedPacket<'_>> {
    match link {
        1 => etherparse::SlicedPacket::from_ethernet(data).ok(),
        // Linux SLL: the protocol at bytes 14-15, 16 bytes of header
        // (etherparse's from_linux_sll refuses loopback's ARPHRD type).
        113 if data.len() >= 16 => etherparse::SlicedPacket::from_ether_type(
            etherparse::EtherType(u16::from_be_bytes([data[14], data[15]])),
            &data[16..],
        )
        .ok(),
        276 if data.len() >= 20 => etherparse::SlicedPacket::from_ether_type(
            etherparse::EtherType(u16::from_be_bytes([data[0], data[1]])),
            &data[20..],
        )
        .ok(),
        12 | 101 | 228 | 229 => etherparse::SlicedPacket::from_ip(data).ok(),
        _ => None,
    }
}

/// The capture's first packet time, and the packet number of the first SYN
/// without ACK from `client` to `server` (read with etherparse, not the
/// analyzer).
fn first_ts_and_syn(path: &Path, client: &str, server: &str) -> (f64, Option<u64>) {
    let mut t0 = None;
    let mut syn = None;
    let file = std::fs::File::open(path).unwrap();
    wsdissect::capture::read_capture(file, |rec| {
        t0.get_or_insert(rec.ts.as_f64());
        if syn.is_some() {
            return;
        }
        let Some(p) = slice(rec.link, rec.data) else {
            return;
        };
        let (Some(net), Some(etherparse::TransportSlice::Tcp(tcp))) = (p.net, p.transport) else {
            return;
        };
        let (src, dst) = match net {
            etherparse::NetSlice::Ipv4(ip) => (
                std::net::IpAddr::from(ip.header().source_addr()),
                std::net::IpAddr::from(ip.header().destination_addr()),
            ),
            etherparse::NetSlice::Ipv6(ip) => (
                std::net::IpAddr::from(ip.header().source_addr()),
                std::net::IpAddr::from(ip.header().destination_addr()),
            ),
            _ => return,
        };
        let from = std::net::SocketAddr::new(src, tcp.source_port()).to_string();
        let to = std::net::SocketAddr::new(dst, tcp.destination_port()).to_string();
        if tcp.syn() && !tcp.ack() && from == client && to == server {
            syn = Some(rec.number);
        }
    })
    .unwrap();
    (t0.unwrap(), syn)
}

/// Every capture under samples/ (and one level of folders).
fn all_samples() -> Vec<String> {
    let mut names = Vec::new();
    let base = root().join("samples");
    let mut dirs = vec![String::new()];
    for e in std::fs::read_dir(&base).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            dirs.push(format!("{}/", e.file_name().to_string_lossy()));
        }
    }
    for d in dirs {
        for e in std::fs::read_dir(base.join(&d)).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.ends_with(".pcap") || n.ends_with(".pcapng") {
                names.push(format!("{d}{n}"));
            }
        }
    }
    names.sort();
    names
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
    // Four samples with every check (keyboard, print, screenshots); every
    // other bundled capture with frames gets the DOM checks.
    let full = [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "python-echo.pcap",
        "deflate/node-deflate.pcap",
    ];
    let mut pages = Vec::new();
    for name in all_samples() {
        let cap = root().join("samples").join(&name);
        let c = cap.to_str().unwrap();
        // TLS samples with their key log (the page then walks through the
        // TLS layer too).
        let keys = cap.with_extension("keys");
        let keys = keys.to_str().unwrap().to_string();
        let mut extra: Vec<&str> = Vec::new();
        if std::path::Path::new(&keys).exists() {
            extra.extend(["--keylog", &keys]);
        }
        let mut fargs = vec!["frames", "--format", "json", "--payload", "hex"];
        fargs.extend(&extra);
        fargs.push(c);
        let all: Vec<Value> = run(&fargs)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        let Some(conn) = all.first().map(|f| f["conn"].clone()) else {
            assert!(!full.contains(&name.as_str()), "{name}: no frames");
            continue;
        };
        // Over HTTP/2 the page is of one WebSocket session: one stream.
        let stream = all[0]["stream"].clone();
        let frames: Vec<Value> = all
            .into_iter()
            .filter(|f| f["conn"] == conn && f["stream"] == stream)
            .collect();
        let conn = conn.to_string();
        let stream = stream.as_u64().map(|s| s.to_string());
        let mut eargs = vec![
            "explain",
            "--format",
            "html",
            "--max-frames",
            "1000",
            "--conn",
            &conn,
        ];
        if let Some(s) = &stream {
            eargs.extend(["--stream", s.as_str()]);
        }
        eargs.extend(&extra);
        eargs.push(c);
        let html = run(&eargs);
        let file = tmp.join(format!("{}.html", name.replace('/', "-")));
        std::fs::write(&file, html).unwrap();
        let client = frames[0]["client"].as_str().unwrap().to_string();
        let server = frames[0]["server"].as_str().unwrap().to_string();
        let (t0, syn) = first_ts_and_syn(&cap, &client, &server);
        pages.push(json!({
            "name": name.replace('/', "-").trim_end_matches(".pcapng").trim_end_matches(".pcap"),
            "html": file,
            "frames": frames,
            "t0": t0,
            "syn_packet": syn,
            "full": full.contains(&name.as_str()),
        }));
    }
    assert!(pages.len() >= 40, "{} samples with frames", pages.len());
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
        pages.len(),
        "{stdout}"
    );
    eprint!("{stdout}");
    if let Some(k) = keep {
        eprintln!("screenshots in {}", k.display());
    }
}
