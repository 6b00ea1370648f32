//! Odd and damaged inputs at the command line: gzip-compressed captures,
//! directories, files cut short, captures without WebSocket.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::synth::pcapng;
use common::{bin, sample};
use flate2::Compression;
use flate2::write::GzEncoder;

/// A scratch file for this test process.
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("wsdissect-inputs-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn run(args: &[&str], file: &Path) -> Output {
    bin().args(args).arg(file).output().unwrap()
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// JSON lines without their `capture` field (which names the input, so it
/// differs between a file, its gzip and standard input by design).
fn records_without_capture(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("capture");
            v
        })
        .collect()
}

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn gzip_captures_are_read_from_files_and_standard_input() {
    let raw = std::fs::read(sample("veth-lengths.pcap")).unwrap();
    let args = ["frames", "--format", "json", "--payload", "hex"];
    let plain = run(&args, &sample("veth-lengths.pcap"));
    assert!(plain.status.success());
    assert!(!plain.stdout.is_empty());
    // One gzip member, and the same capture as two members (as `cat a.gz
    // b.gz` makes): both are one stream.
    let one = gzip(&raw);
    let (a, b) = raw.split_at(raw.len() / 3);
    let mut two = gzip(a);
    two.extend_from_slice(&gzip(b));
    for (name, gz) in [("one", one), ("two", two)] {
        let f = scratch(&format!("{name}.pcap.gz"), &gz);
        let from_file = run(&args, &f);
        let _ = std::fs::remove_file(&f);
        assert!(
            from_file.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&from_file.stderr)
        );
        assert_eq!(
            records_without_capture(&from_file.stdout),
            records_without_capture(&plain.stdout),
            "{name}: from a file"
        );
        assert!(from_file.stderr.is_empty(), "{name}");
        let from_stdin = run_stdin(&args, &gz);
        assert!(from_stdin.status.success(), "{name}");
        assert_eq!(
            records_without_capture(&from_stdin.stdout),
            records_without_capture(&plain.stdout),
            "{name}: from standard input"
        );
    }
}

#[test]
fn a_directory_is_named_as_one_and_exits_2() {
    let dir = sample("deflate");
    for cmd in ["frames", "conns", "check"] {
        let o = run(&[cmd], &dir);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let lines = stderr_lines(&o);
        assert_eq!(lines.len(), 1, "{cmd}: {lines:?}");
        assert!(
            lines[0].ends_with("deflate: is a directory"),
            "{cmd}: {lines:?}"
        );
    }
}

#[test]
fn a_file_cut_short_gives_one_warning_line_and_keeps_what_was_read() {
    let raw = std::fs::read(sample("python-echo.pcap")).unwrap();
    let cut = scratch("cut.pcap", &raw[..3000]);
    for cmd in ["frames", "messages", "conns"] {
        let o = run(&[cmd], &cut);
        assert_eq!(o.status.code(), Some(0), "{cmd}");
        assert!(!o.stdout.is_empty(), "{cmd}: the records before the cut");
        let lines = stderr_lines(&o);
        assert_eq!(lines.len(), 1, "{cmd}: {lines:?}");
        assert!(lines[0].contains("warning"), "{cmd}: {lines:?}");
        assert!(lines[0].contains("cut short"), "{cmd}: {lines:?}");
        assert!(lines[0].contains("after packet 18"), "{cmd}: {lines:?}");
    }
    // The whole file: no warning.
    let o = run(&["frames"], &sample("python-echo.pcap"));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_file(&cut);
}

#[test]
fn a_capture_without_websocket_says_so_on_stderr() {
    // Plain HTTP polling, recorded from Chromium: no WebSocket at all.
    let http = sample("push/chromium-poll.pcap");
    for cmd in ["frames", "messages", "conns"] {
        for format in ["table", "json"] {
            let o = run(&[cmd, "--format", format], &http);
            assert_eq!(o.status.code(), Some(0), "{cmd} {format}");
            assert!(o.stdout.is_empty(), "{cmd} {format}");
            let lines = stderr_lines(&o);
            assert_eq!(lines.len(), 1, "{cmd} {format}: {lines:?}");
            assert!(
                lines[0].contains("no WebSocket connection in")
                    && lines[0].ends_with("chromium-poll.pcap"),
                "{cmd} {format}: {lines:?}"
            );
        }
        let o = run(&[cmd], &sample("python-echo.pcap"));
        assert!(
            o.stderr.is_empty(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn sigint_on_a_silent_pipe_ends_the_run_with_what_was_read() {
    // The whole capture is written, but the pipe stays open (as tcpdump's
    // does between packets): only SIGINT can end the run.
    let raw = std::fs::read(sample("python-echo.pcap")).unwrap();
    for (cmd, expect) in [("conns", "8/8"), ("check", "1 WebSocket connection")] {
        let mut child = bin()
            .args([cmd, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&raw).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{cmd}: still waiting for more"
        );
        // SAFETY: kill with a valid pid and signal number.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        let t = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        assert!(t.elapsed().as_secs() < 5, "{cmd}: SIGINT ended the run");
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(expect), "{cmd}: {stdout}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{cmd}: {lines:?}");
        assert!(
            lines[0].contains("interrupted after packet 26"),
            "{cmd}: {lines:?}"
        );
    }
}

#[test]
fn conns_rows_come_out_while_a_pipe_is_still_open() {
    use std::io::{BufRead, BufReader};
    // 20 connections that all close inside the capture; the pipe stays open.
    let raw = std::fs::read(sample("aiohttp-concurrent.pcap")).unwrap();
    let mut child = bin()
        .args(["conns", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&raw).unwrap();
    stdin.flush().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut rows = 0;
    while rows < 20 && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(100))
            && l.contains("/chat?n=")
        {
            rows += 1;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(stdin);
    assert_eq!(
        rows, 20,
        "every closed connection's row, before the input ended"
    );
}

#[test]
fn packets_of_an_unsupported_link_type_give_a_warning_line() {
    // USB packets (link type 189) in a pcapng file: skipped, and said so.
    let f = scratch(
        "usb.pcapng",
        &pcapng(&[189], &[(0, vec![0u8; 64]), (0, vec![1u8; 64])]),
    );
    let o = run(&["frames"], &f);
    let _ = std::fs::remove_file(&f);
    assert_eq!(o.status.code(), Some(0));
    let lines = stderr_lines(&o);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("warning") && l.contains("link type 189")),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "the link type, no WebSocket: {lines:?}");
}
