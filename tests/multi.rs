//! Several capture files with `--threads N`: decoded N at a time, each
//! into its own output, written in argument order. Every list command and
//! format, with a filter and payloads, over captures of different kinds
//! (HTTP/2 WebSocket, lossy, without WebSocket, damaged, unreadable, not a
//! capture): standard output, standard error and exit status are those of
//! `--threads 1`, also when an output is big enough to wait in a
//! temporary file, and a run whose output closes early ends at once.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::synth::{Flow, Pcap, frame};
use common::{Outcome, bin, outcome, sample};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn path(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

/// `n` WebSocket connections, `rounds` frames each of `len` bytes or so,
/// interleaved.
fn busy(n: u32, rounds: u32, len: usize) -> Pcap {
    let mut cap = Pcap::new();
    let mut flows: Vec<Flow> = (0..n).map(Flow::new).collect();
    for f in &mut flows {
        f.open(&mut cap);
    }
    for f in &mut flows {
        f.upgrade(&mut cap, false);
    }
    for r in 0..rounds {
        for (i, f) in flows.iter_mut().enumerate() {
            let len = len / 2 + (r as usize * 37 + i * 11) % len;
            let body: Vec<u8> = (0..len).map(|k| b'a' + ((k + i) % 26) as u8).collect();
            let from_client = (r + i as u32).is_multiple_of(2);
            f.send(&mut cap, from_client, &frame(from_client, 0x81, &body));
        }
    }
    cap
}

/// Captures of every kind a run of several meets, in an order that puts
/// a table's `stream` column (HTTP/2) before captures without it.
fn mixed_captures() -> Vec<String> {
    // A damaged end: a record header promising more than the file holds.
    let mut damaged = std::fs::read(sample("python-echo.pcap")).expect("sample");
    damaged.truncate(damaged.len() - 40);
    let damaged_path = tmp("damaged.pcap");
    std::fs::write(&damaged_path, &damaged).expect("write");
    let not_a_capture = tmp("notes.txt");
    std::fs::write(&not_a_capture, "not a capture\n").expect("write");
    let synth = tmp("busy.pcap");
    std::fs::write(&synth, busy(6, 30, 300).bytes).expect("write");
    vec![
        path(sample("python-echo.pcap")),
        path(sample("h2/h2-ws.pcap")),
        path(sample("lossy.pcap")),
        path(sample("nonws/dns-tcp.pcap")),
        path(damaged_path),
        path(tmp("no-such-capture.pcap")),
        path(synth),
        path(not_a_capture),
        path(sample("port-reuse.pcap")),
        path(sample("h2/h2-midconn.pcap")),
        path(sample("aiohttp-concurrent.pcap")),
    ]
}

fn assert_same(args: &[&str], one: &Outcome, n: usize) {
    let got = outcome(args, n);
    assert!(
        got == *one,
        "{} with --threads {n} differs from --threads 1:\n--- 1 (exit {:?}):\n{}\n{}\n--- {n} (exit {:?}):\n{}\n{}",
        args.join(" "),
        one.2,
        String::from_utf8_lossy(&one.0[..one.0.len().min(3000)]),
        String::from_utf8_lossy(&one.1),
        got.2,
        String::from_utf8_lossy(&got.0[..got.0.len().min(3000)]),
        String::from_utf8_lossy(&got.1),
    );
}

#[test]
fn every_list_command_and_format_is_the_same_with_several_threads() {
    let caps = mixed_captures();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let mut runs = 0;
    for cmd in ["frames", "messages", "conns"] {
        for format in ["table", "json", "csv"] {
            let filter = match cmd {
                "conns" => "conn > 0",
                _ => "len > 20",
            };
            let mut variants: Vec<Vec<&str>> = vec![vec![], vec!["--filter", filter]];
            if cmd != "conns" {
                variants.push(vec!["--payload", "hex"]);
            }
            for extra in variants {
                let mut args = vec![cmd, "--format", format, "-q"];
                args.extend(&extra);
                args.extend(&caps);
                let one = outcome(&args, 1);
                // Something to compare: records, and the lines on stderr
                // of the captures that say something.
                assert!(one.0.len() > 1000, "{}: little output", args.join(" "));
                let err = String::from_utf8_lossy(&one.1);
                assert!(err.contains("no-such-capture.pcap"), "{err}");
                assert!(err.contains("notes.txt"), "{err}");
                assert!(err.contains("damaged.pcap: warning"), "{err}");
                assert!(err.contains("no WebSocket connection in"), "{err}");
                assert_eq!(one.2, Some(2), "an unreadable capture: exit 2");
                for n in [2, 3, 8] {
                    assert_same(&args, &one, n);
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 24);
}

/// The table's `stream` column appears with the first HTTP/2 record and
/// stays for the captures after it: a capture decoded at the same time as
/// the HTTP/2 one shows it too.
#[test]
fn a_tables_stream_column_carries_into_the_captures_after() {
    let args = [
        "frames",
        "-q",
        &path(sample("python-echo.pcap")),
        &path(sample("h2/h2-ws.pcap")),
        &path(sample("lossy.pcap")),
        &path(sample("port-reuse.pcap")),
    ]
    .map(|s| s.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let one = outcome(&args, 1);
    let text = String::from_utf8_lossy(&one.0);
    let after = text.split("lossy.pcap").nth(1).expect("lossy's table");
    let header = after.lines().nth(1).expect("a header");
    assert!(header.contains("stream"), "{header}");
    for n in [2, 4] {
        assert_same(&args, &one, n);
    }
}

/// Outputs of several MiB each (more than a capture holds in memory while
/// it waits): the same bytes.
#[test]
fn big_outputs_that_wait_in_a_temporary_file_are_the_same() {
    let big = tmp("big.pcap");
    std::fs::write(&big, busy(20, 400, 900).bytes).expect("write");
    let big = path(big);
    let small = path(sample("python-echo.pcap"));
    let args = [
        "frames",
        "--format",
        "json",
        "--payload",
        "hex",
        "-q",
        &big,
        &big,
        &small,
        &big,
    ];
    let one = outcome(&args, 1);
    assert!(one.0.len() > 3 * (9 << 20), "{} bytes", one.0.len());
    assert_same(&args, &one, 2);
    assert_same(&args, &one, 3);
}

/// Reads one line of the output and closes it: the run ends at once,
/// with the status of one thread.
#[test]
fn a_closed_output_ends_every_capture_at_once() {
    let big = tmp("closed.pcap");
    std::fs::write(&big, busy(20, 600, 900).bytes).expect("write");
    let big = path(big);
    let mut statuses = Vec::new();
    for threads in [1, 2, 4] {
        let start = Instant::now();
        let mut child = bin()
            .args(["frames", "--format", "json", "--payload", "hex", "-q"])
            .args([&big, &big, &big, &big])
            .args(["--threads", &threads.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let mut line = String::new();
        let mut r = BufReader::new(child.stdout.take().expect("stdout"));
        r.read_line(&mut line).expect("a line");
        assert!(line.contains("\"type\":\"frame\""), "{line}");
        drop(r);
        let limit = Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s.code();
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                panic!("--threads {threads}: the run did not end after its output closed");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        statuses.push(status);
    }
    assert!(statuses.iter().all(|s| *s == statuses[0]), "{statuses:?}");
}

/// The captures really are decoded at once: while a run of two big ones
/// goes on, the process has a capture thread for each.
#[test]
fn two_captures_are_decoded_on_two_threads() {
    let big = tmp("two.pcap");
    std::fs::write(&big, busy(20, 1500, 900).bytes).expect("write");
    let big = path(big);
    let mut child = bin()
        .args(["frames", "--format", "json", "--payload", "hex", "-q"])
        .args([&big, &big, "--threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let task = PathBuf::from(format!("/proc/{}/task", child.id()));
    let mut most = 0;
    while child.try_wait().expect("wait").is_none() {
        let names: Vec<String> = std::fs::read_dir(&task)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                    .map(|s| s.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        most = most.max(
            names
                .iter()
                .filter(|n| n.starts_with("wsdissect-cap"))
                .count(),
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(most, 2, "capture threads at once");
}

/// `push`: its SSE events as they come, then each capture's channels; the
/// CSV header once, with the first capture read (here not the first given).
#[test]
fn push_is_the_same_with_several_threads() {
    let mut caps = vec![path(tmp("no-such-push.pcap"))];
    caps.extend(mixed_captures());
    for p in [
        "push/chromium-sse.pcap",
        "push/chromium-longpoll.pcap",
        "push/malformed-push.pcap",
    ] {
        caps.insert(3, path(sample(p)));
    }
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    for format in ["table", "json", "csv"] {
        for extra in [&[][..], &["--filter", "technique == \"sse\""][..]] {
            let mut args = vec!["push", "--format", format, "-q"];
            args.extend(extra);
            args.extend(&caps);
            let one = outcome(&args, 1);
            assert!(one.0.len() > 500, "{}: little output", args.join(" "));
            assert_eq!(one.2, Some(2));
            for n in [2, 4] {
                assert_same(&args, &one, n);
            }
        }
    }
    // Nothing readable: the CSV header alone, once.
    let none = [path(tmp("none-1.pcap")), path(tmp("none-2.pcap"))];
    let args = ["push", "--format", "csv", "-q", &none[0], &none[1]];
    let one = outcome(&args, 1);
    assert_eq!(String::from_utf8_lossy(&one.0).lines().count(), 1);
    assert_same(&args, &one, 2);
}
