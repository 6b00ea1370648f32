//! `--threads N`: every command's output, byte for byte, and its exit
//! status are those of `--threads 1`, over every bundled sample and over
//! generated captures built to exercise what a split could get wrong
//! (many interleaved connections spanning many batches, port reuse, IP
//! fragments, eviction at the connection limit, a damaged end); a run
//! whose output closes early ends; several captures stay in argument
//! order; a pipe is decoded as it arrives.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::synth::{Flow, Pcap, frame};
use common::{bin, outcome, sample};

/// The commands and formats compared, each followed by the capture(s).
const COMMANDS: &[&[&str]] = &[
    &["frames", "--format", "json", "--payload", "hex"],
    &["frames"],
    &["messages", "--format", "json"],
    &["conns", "--format", "json"],
    &["check", "--format", "json"],
    &["check"],
    &["push", "--format", "json"],
    &["explain", "--format", "json"],
];

/// Every command over `captures` with 2, 3 and 4 threads against 1.
/// Returns how many runs printed something (so a test cannot pass by
/// comparing empty outputs).
fn same_with_any_threads(captures: &[&str], extra: &[&str]) -> usize {
    let mut printed = 0;
    for cmd in COMMANDS {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend_from_slice(extra);
        args.push("-q");
        args.extend_from_slice(captures);
        let one = outcome(&args, 1);
        if !one.0.is_empty() {
            printed += 1;
        }
        for n in [2, 3, 4] {
            let got = outcome(&args, n);
            assert!(
                got == one,
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
    }
    printed
}

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures_under(&p, out);
        } else {
            let name = p.to_string_lossy();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz") {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_sample_gives_the_same_output_with_any_thread_count() {
    let mut caps = Vec::new();
    captures_under(&sample(""), &mut caps);
    assert!(caps.len() > 50, "found only {} samples", caps.len());
    // Two at a time: the samples are many and each run is short.
    let chunks: Vec<Vec<PathBuf>> = caps
        .chunks(caps.len().div_ceil(2))
        .map(<[_]>::to_vec)
        .collect();
    let printed: usize = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| same_with_any_threads(&[&p.to_string_lossy()], &[]))
                        .sum::<usize>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum()
    });
    assert!(
        printed > caps.len() * 4,
        "only {printed} runs printed anything"
    );
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn write(name: &str, cap: &Pcap) -> String {
    let p = tmp(name);
    std::fs::write(&p, &cap.bytes).expect("write capture");
    p.to_string_lossy().into_owned()
}

/// `n` connections opened together, their frames interleaved round-robin
/// (one in four over IPv6, client frames masked), several MiB in all so
/// that the reader fills many batches; most end with FIN both ways, some
/// stay open to the end of the capture.
fn interleaved(n: u32, rounds: u32) -> Pcap {
    let mut cap = Pcap::new();
    let mut flows: Vec<Flow> = (0..n)
        .map(|i| {
            if i % 4 == 3 {
                Flow::new_v6(i)
            } else {
                Flow::new(i)
            }
        })
        .collect();
    for f in &mut flows {
        f.open(&mut cap);
    }
    for (i, f) in flows.iter_mut().enumerate() {
        f.upgrade(&mut cap, i % 5 == 0);
    }
    for r in 0..rounds {
        for (i, f) in flows.iter_mut().enumerate() {
            let len = 20 + (r as usize * 37 + i * 11) % 1500;
            let body: Vec<u8> = (0..len).map(|k| b'a' + ((k + i) % 26) as u8).collect();
            let from_client = (r + i as u32).is_multiple_of(2);
            // Every seventh round a fragmented message with a ping between.
            if r % 7 == 3 {
                let (a, b) = body.split_at(len / 2);
                let mut bytes = frame(from_client, 0x01, a);
                bytes.extend(frame(from_client, 0x89, b"p"));
                bytes.extend(frame(from_client, 0x80, b));
                f.send(&mut cap, from_client, &bytes);
            } else {
                f.send(&mut cap, from_client, &frame(from_client, 0x81, &body));
            }
        }
    }
    for (i, f) in flows.iter_mut().enumerate() {
        if i % 3 == 2 {
            continue; // left open
        }
        f.send(&mut cap, false, &frame(false, 0x88, &[0x03, 0xe8]));
        f.send(&mut cap, true, &frame(true, 0x88, &[0x03, 0xe8]));
        for from_client in [false, true] {
            f.fin(&mut cap, from_client);
        }
    }
    cap
}

#[test]
fn many_interleaved_connections_and_eviction_give_the_same_output() {
    let cap = interleaved(120, 40);
    assert!(cap.bytes.len() > 2 << 20, "{} bytes", cap.bytes.len());
    let path = write("interleaved.pcap", &cap);
    assert!(same_with_any_threads(&[&path], &[]) >= 6);
    // At most 7 connections at once: the least recently active are evicted
    // (and come back as connections caught mid-stream, so that frames are
    // no longer decoded, but conns, check, push and explain show them).
    assert!(same_with_any_threads(&[&path], &["--max-connections", "7"]) >= 4);
    let (out, _, _) = outcome(
        &["check", "--format", "json", "--max-connections", "7", &path],
        2,
    );
    assert!(
        String::from_utf8_lossy(&out).contains("limit.reached"),
        "no eviction happened"
    );
}

#[test]
fn port_reuse_fragments_and_a_damaged_end_give_the_same_output() {
    let mut cap = Pcap::new();
    // The same port pair three times in a row, each a new connection.
    for round in 0..3u32 {
        let mut f = Flow::new(7);
        f.seq = [1000 + round * 100_000, 9_000_000 + round * 100_000];
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
        f.send(
            &mut cap,
            true,
            &frame(true, 0x81, format!("round {round}").as_bytes()),
        );
        // A frame whose segment is cut into two IPv4 fragments, sent in
        // reverse order.
        let body = vec![b'x'; 600];
        let bytes = frame(false, 0x82, &body);
        let seg = f.segment(false, f.seq[1], "A", &bytes);
        f.seq[1] = f.seq[1].wrapping_add(bytes.len() as u32);
        let mut frags = ip_fragments_at(&seg, &[200]);
        frags.reverse();
        for fr in &frags {
            cap.record(fr, None);
        }
        for from_client in [true, false] {
            f.fin(&mut cap, from_client);
        }
    }
    // A fragment whose datagram never completes, reported at the end.
    let mut g = Flow::new(9);
    g.open(&mut cap);
    let seg = g.segment(true, g.seq[0], "A", &[b'y'; 300]);
    let frags = ip_fragments_at(&seg, &[160]);
    cap.record(&frags[0], None);
    let mut path_bytes = cap.bytes.clone();
    // A record header promising more than the file holds: a damaged end.
    path_bytes.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 200, 0, 0, 0, 1, 2]);
    let path = tmp("reuse.pcap");
    std::fs::write(&path, &path_bytes).expect("write");
    let path = path.to_string_lossy().into_owned();
    assert!(same_with_any_threads(&[&path], &[]) >= 6);
    let (out, _, _) = outcome(&["conns", "--format", "json", &path], 2);
    let conns = String::from_utf8_lossy(&out).lines().count();
    assert!(conns >= 3, "port reuse gave {conns} connections");
}

/// Splits an Ethernet/IPv4 packet into IP fragments at the given offsets
/// of its IP payload (multiples of 8).
fn ip_fragments_at(eth: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let ihl = usize::from(eth[14] & 0x0f) * 4;
    let (head, payload) = eth.split_at(14 + ihl);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let (off, end) = (w[0], w[1]);
            let mut v = head.to_vec();
            let total = (ihl + end - off) as u16;
            v[16..18].copy_from_slice(&total.to_be_bytes());
            let more = end < payload.len();
            let flags = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            v[20..22].copy_from_slice(&flags.to_be_bytes());
            v.extend_from_slice(&payload[off..end]);
            v
        })
        .collect()
}

#[test]
fn several_captures_keep_their_argument_order() {
    let a = write("multi-a.pcap", &interleaved(5, 3));
    let b = sample("python-echo.pcap").to_string_lossy().into_owned();
    let c = sample("port-reuse.pcap").to_string_lossy().into_owned();
    assert!(same_with_any_threads(&[&a, &b, &c], &[]) >= 6);
    assert!(same_with_any_threads(&[&c, &a, &b], &[]) >= 6);
    // And the order is the arguments' (not, say, the fastest first).
    let one = |x: &str| outcome(&["frames", "--format", "json", "-q", x], 2).0;
    let mut want = one(&c);
    want.extend(one(&a));
    want.extend(one(&b));
    let got = outcome(&["frames", "--format", "json", "-q", &c, &a, &b], 2).0;
    assert!(
        got == want,
        "the captures' outputs are not in argument order"
    );
}

/// Runs `args`, reads one line of its output, closes the output: the run
/// ends (the sink's Break), with the same status whatever the threads.
#[test]
fn a_closed_output_ends_the_run_with_any_thread_count() {
    let path = write("break.pcap", &interleaved(40, 30));
    let mut statuses = Vec::new();
    for threads in [1, 2, 4] {
        let mut child = bin()
            .args(["frames", "--format", "json", "-q", &path, "--threads"])
            .arg(threads.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let mut line = String::new();
        let mut r = BufReader::new(child.stdout.take().expect("stdout"));
        r.read_line(&mut line).expect("a line");
        assert!(line.contains("\"type\":\"frame\""), "{line}");
        drop(r);
        let status = wait_for(&mut child, Duration::from_secs(20));
        statuses.push(status);
    }
    assert!(statuses.iter().all(|s| *s == statuses[0]), "{statuses:?}");
}

fn wait_for(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the run did not end after its output closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// From a pipe, a frame is printed as soon as its packet arrives, while
/// the writer still holds the pipe open: the reader thread does not wait
/// for a batch to fill.
#[test]
fn a_pipe_is_decoded_as_it_arrives_with_threads() {
    let mut cap = Pcap::new();
    let mut f = Flow::new(3);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    f.send(&mut cap, false, &frame(false, 0x81, b"first"));
    let first = cap.bytes.clone();
    f.send(&mut cap, false, &frame(false, 0x81, b"second"));
    let rest = cap.bytes[first.len()..].to_vec();
    let mut child = bin()
        .args(["frames", "--format", "json", "-q", "--threads", "2", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&first).expect("write");
    stdin.flush().expect("flush");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(10));
    let arrived = line
        .as_ref()
        .is_ok_and(|l| l.contains("\"type\":\"frame\""));
    stdin.write_all(&rest).expect("write the rest");
    drop(stdin);
    let _ = wait_for(&mut child, Duration::from_secs(20));
    assert!(
        arrived,
        "no frame printed while the pipe was open: {line:?}"
    );
}

/// With 2 threads the reader really is another thread: the command's
/// threads, read from /proc while it runs from a pipe, include it.
#[test]
fn two_threads_use_a_reader_thread() {
    let mut child = bin()
        .args(["check", "-q", "--threads", "2", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    // The capture's first record, then wait (the pipe stays open).
    let cap = interleaved(1, 1);
    stdin.write_all(&cap.bytes[..200]).expect("write");
    stdin.flush().expect("flush");
    let task = PathBuf::from(format!("/proc/{}/task", child.id()));
    let mut names = Vec::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        names = std::fs::read_dir(&task)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                    .map(|s| s.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if names.iter().any(|n| n.starts_with("wsdissect-read")) {
            break;
        }
    }
    drop(stdin);
    let _ = wait_for(&mut child, Duration::from_secs(20));
    assert!(
        names.iter().any(|n| n.starts_with("wsdissect-read")),
        "threads: {names:?}"
    );
}
