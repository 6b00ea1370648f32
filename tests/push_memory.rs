//! `push` releases an HTTP connection's state when the connection ends:
//! its memory does not follow the number of HTTP connections in the
//! capture, and its output is what it was.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::bin;
use common::synth::{Flow, Pcap};

/// Writes `n` short HTTP/1.1 connections, one after another, to `path`:
/// SYN, a GET (every third one, of the second client to the second
/// resource, unanswered; the others answered by a small 200), FIN both
/// ways. Written as it is
/// built (this process stays small: a child's peak RSS as the kernel
/// reports it is at least its parent's at the spawn).
fn short_http(n: u32, path: &Path) {
    let mut file = std::fs::File::create(path).expect("create");
    let mut cap = Pcap::new();
    for i in 0..n {
        let mut f = Flow::new(i);
        f.client = ([10, 1, 0, 1 + (i % 3) as u8], 10_000 + (i % 50_000) as u16);
        f.open(&mut cap);
        let path = ["/poll", "/status", "/feed?x=1"][(i % 3) as usize];
        let req = format!("GET {path} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\n\r\n");
        f.send(&mut cap, true, req.as_bytes());
        if i % 3 != 1 {
            let body = format!("{{\"n\":{i}}}");
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            f.send(&mut cap, false, resp.as_bytes());
        }
        for from_client in [true, false] {
            f.fin(&mut cap, from_client);
        }
        if cap.bytes.len() > 1 << 20 {
            file.write_all(&cap.bytes).expect("write");
            cap.bytes.clear();
        }
    }
    file.write_all(&cap.bytes).expect("write");
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsdissect-pushmem-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// Peak resident memory (KiB) and standard output of a run.
// The child is reaped by wait4 (which reports its peak RSS), not by wait.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str], capture: &Path) -> (u64, Vec<u8>) {
    let out_path = capture.with_extension(format!("{}.out", args.join("-")));
    let child = bin()
        .args(args)
        .args(["-q", "--threads", "1"])
        .arg(capture)
        .stdout(std::fs::File::create(&out_path).expect("out"))
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // wait4 reports the child's peak RSS.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as i32, "wait4");
    let out = std::fs::read(&out_path).expect("read");
    (ru.ru_maxrss as u64, out)
}

/// What the generator made, as `push --format json` must say it: a
/// channel per resource, its requests and connections, answered or not.
fn check_channels(out: &[u8], n: u32) {
    let recs: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect();
    // Connection i is client 10.1.0.(1 + i % 3)'s, to resource i % 3.
    assert_eq!(recs.len(), 3, "a channel per client and resource");
    for r in &recs {
        let client: u32 = r["client"].as_str().expect("client")[7..]
            .parse()
            .expect("ip");
        let path = r["path"].as_str().expect("path");
        let k = ["/poll", "/status", "/feed"]
            .iter()
            .position(|p| *p == path)
            .expect("a resource") as u32;
        let want: Vec<u64> = (0..n)
            .filter(|i| i % 3 == k && 1 + i % 3 == client)
            .map(u64::from)
            .collect();
        let conns: Vec<u64> = r["conns"]
            .as_array()
            .expect("conns")
            .iter()
            .map(|c| c.as_u64().expect("id"))
            .collect();
        assert!(conns == want, "{path} from {client}: connections");
        assert_eq!(r["requests"].as_u64(), Some(want.len() as u64));
    }
}

/// 80,000 short HTTP connections cost `push` hardly more than 20,000 do
/// beyond what the pipeline itself (`check`) grows by: what it kept of
/// each connection after its end (the pairing of its unanswered request)
/// goes with it.
#[test]
fn push_memory_does_not_follow_the_number_of_http_connections() {
    let d = dir();
    let mut extra = Vec::new();
    for n in [20_000u32, 80_000] {
        let cap = d.join(format!("short-{n}.pcap"));
        short_http(n, &cap);
        let (check_rss, _) = run(&["check"], &cap);
        let (push_rss, out) = run(&["push", "--format", "json"], &cap);
        check_channels(&out, n);
        let (_, table) = run(&["push"], &cap);
        assert!(
            String::from_utf8_lossy(&table).contains("/status"),
            "the table lists the channels"
        );
        extra.push(push_rss.saturating_sub(check_rss));
        let _ = std::fs::remove_file(&cap);
    }
    // 60,000 connections more: their channels' timings and ids (about 50
    // bytes each, which the output needs) are all push may add.
    let grew = extra[1].saturating_sub(extra[0]);
    assert!(
        grew < 5 * 1024,
        "push's own memory grew by {grew} KiB from 20k to 80k connections ({extra:?})"
    );
}
