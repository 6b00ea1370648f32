//! Peak memory of the commands that keep payloads, measured on the process
//! (wait4's peak RSS): `explain` keeps them for the connection it shows
//! only, not for every connection of the capture.

mod common;

use std::process::Stdio;

use common::bin;
use common::synth::{Flow, Pcap, frame};

/// Peak RSS in bytes and the output of one run.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives the RSS
fn peak_rss(args: &[&str]) -> (u64, Vec<u8>) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let mut out = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        std::io::Read::read_to_end(&mut s, &mut out).expect("reads");
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet waited for.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert!(r > 0, "wait4");
    (ru.ru_maxrss as u64 * 1024, out)
}

/// `n` upgraded connections, each sending a 60,000-byte text message from
/// the server, their segments interleaved: at the middle of the capture
/// every connection holds half a frame and half a message.
fn half_frames_everywhere(n: u32) -> Pcap {
    let mut cap = Pcap::new();
    let mut flows = Flow::upgraded(&mut cap, n);
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let body: Vec<u8> = (0..60_000u32)
                .map(|k| b'a' + ((k + i) % 26) as u8)
                .collect();
            frame(false, 0x81, &body)
        })
        .collect();
    for chunk in 0..frames[0].len().div_ceil(1400) {
        for (f, bytes) in flows.iter_mut().zip(&frames) {
            let piece =
                &bytes[(chunk * 1400).min(bytes.len())..((chunk + 1) * 1400).min(bytes.len())];
            f.send(&mut cap, false, piece);
        }
    }
    cap
}

#[test]
fn explain_keeps_payloads_of_the_connection_it_shows_only() {
    let cap = half_frames_everywhere(400);
    let path = std::env::temp_dir().join(format!("wsdissect-memory-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap.bytes).expect("write");
    let p = path.to_string_lossy().into_owned();
    // What a run that keeps nothing takes, for reference.
    let (check, _) = peak_rss(&["check", "-q", "--threads", "1", &p]);
    let (explain, out) = peak_rss(&["explain", "-q", "--threads", "1", &p]);
    // The walkthrough still shows the first connection's message.
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("abcdefghij"),
        "{}",
        &text[..text.len().min(2000)]
    );
    // 400 connections each holding ~60 kB of frame and of message would
    // be ~48 MB; one connection's is 120 kB.
    let (check_mib, explain_mib) = (check >> 20, explain >> 20);
    let _ = std::fs::remove_file(&path);
    assert!(
        explain < check + (12 << 20),
        "explain peaked at {explain_mib} MiB, check at {check_mib} MiB"
    );
}
