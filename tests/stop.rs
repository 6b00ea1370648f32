//! The consumer decides when a run ends: a sink that answers `Break`, an
//! output closed by its reader (`| head -1`), or an output that fails.
//! And every stage's findings reach `check`.

mod common;

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::synth::{Flow, Pcap, frame};
use wsdissect::event::{Event, Sink};
use wsdissect::{Config, run};

/// One WebSocket connection with `n` small text messages from the server.
fn many_frames(n: usize) -> Vec<u8> {
    let mut cap = Pcap::new();
    let mut f = Flow::new(1);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    for i in 0..n {
        f.send(
            &mut cap,
            false,
            &frame(false, 0x81, format!("message {i}").as_bytes()),
        );
    }
    cap.bytes
}

struct FirstFrame {
    frames: usize,
}

impl Sink for FirstFrame {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if let Event::Frame(_) = ev {
            self.frames += 1;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// A sink that has what it wants stops the run: no more events, and the
/// rest of the capture is not read.
#[test]
fn a_sink_that_breaks_ends_the_run() {
    let bytes = many_frames(2000);
    let mut sink = FirstFrame { frames: 0 };
    let summary = run(&bytes[..], &Config::default(), &mut sink).unwrap();
    assert_eq!(sink.frames, 1, "events after the Break");
    assert!(summary.stopped);
    // 2 handshake + 2 SYN packets + 2000 frames were in the file; the reader
    // stopped at the packet that completed the first frame.
    assert!(summary.packets < 100, "read {} packets", summary.packets);
    // The same capture read to the end.
    let mut all = 0;
    let full = run(&bytes[..], &Config::default(), &mut |ev: Event<'_>| {
        if let Event::Frame(_) = ev {
            all += 1
        }
    })
    .unwrap();
    assert_eq!(all, 2000);
    assert!(!full.stopped);
}

/// `wsdissect frames - | head -1`: once the reader has gone, the run
/// stops reading its input and exits quietly with status 0.
#[test]
fn a_closed_output_stops_reading_and_exits_0() {
    let bytes = many_frames(400_000); // ~40 MB
    let total = bytes.len();
    let mut child = common::bin()
        .args(["frames", "--format", "json", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut written = 0;
        for chunk in bytes.chunks(64 << 10) {
            if stdin.write_all(chunk).is_err() {
                break; // the reader closed its input: it stopped reading
            }
            written += chunk.len();
        }
        written
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = Vec::new();
    let mut b = [0u8; 1];
    while stdout.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        first.push(b[0]);
    }
    drop(stdout); // `head -1` exits
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let written = writer.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(line["type"], "frame");
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(err.is_empty(), "a broken pipe is not an error: {err}");
    assert!(
        written < total,
        "the whole input ({total} bytes) was read after the output closed"
    );
}

/// An output that fails otherwise (a full disk) is a one-line error and
/// exit status 2.
#[test]
fn a_failing_output_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full on this system");
        return;
    };
    let out = common::bin()
        .args(["frames", "--format", "json", "-q"])
        .arg(common::sample("node-fragments.pcap"))
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("cannot write output"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Every finding a push sample was recorded to provoke (its manifest,
/// written from what the raw peer did) is reported by `check`, whichever
/// stage raises it, and nothing else of push's kinds.
#[test]
fn check_reports_the_findings_of_every_stage() {
    let dir = common::sample("push");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut checked = 0;
    for (name, m) in manifest.as_object().unwrap() {
        let want: std::collections::BTreeSet<String> = m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let out = common::bin()
            .args(["check", "--format", "json", "-q"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        let got: std::collections::BTreeSet<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "finding")
            .map(|v| v["code"].as_str().unwrap().to_string())
            .filter(|c| c.starts_with("sse.") || c.starts_with("http."))
            .collect();
        assert_eq!(got, want, "{name}");
        checked += usize::from(!want.is_empty());
    }
    assert!(checked >= 1, "no sample with findings in the manifest");
}
