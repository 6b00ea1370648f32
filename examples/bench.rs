//! The benchmark: one command, side by side, in one run.
//!
//!     cargo run --release --example bench             # 1 GiB mixed + 100 MiB small
//!     cargo run --release --example bench -- --quick  # 100 MiB mixed + 20 MiB small
//!
//! Options: `--runs N` (default 5), `--tshark-runs N` (default 1; 0 leaves
//! tshark out), `--mib N` (the mixed capture's size). It needs the release binary and the other examples built
//! first (`cargo build --release --examples`; `cargo run` builds this one).
//!
//! It generates the deterministic synthetic captures (examples/synth_capture.rs)
//! under target/bench/ unless they are there already, checks that every
//! command reports every frame the generator wrote (and that the floor and
//! our capture+packet stages agree on packets and TCP payload bytes), then
//! times each command N times, interleaved, so a noisy neighbour hurts every
//! command alike:
//!
//!   floor                  examples/floor: pcap-parser + etherparse, no wsdissect code
//!   capture+packet stages  examples/read_and_slice: wsdissect's own capture and packet stages
//!   check                  wsdissect check
//!   check, TLS 1.3 (--keylog) wsdissect check --keylog K on the same traffic in TLS 1.3
//!                          (AES-128-GCM; mixed only; synth_capture --keylog)
//!   frames json            wsdissect frames --format json
//!   frames table           wsdissect frames
//!   check, TLS, 2 threads  the same with --threads 2 (worker 0 reads and takes 27 of the
//!                          64 shares of connections: decrypting is most of the work)
//!   check, 2 threads       wsdissect check --threads 2 (the others run --threads 1): worker
//!                          0 reads the file once, decodes a quarter of the connections
//!                          and deals the rest to the other worker
//!   frames json, 2 threads wsdissect frames --format json --threads 2
//!   explain                wsdissect explain (for its peak RSS: payloads of one connection)
//!   push json              wsdissect push --format json (peak RSS: HTTP connections released)
//!   tshark                 tshark -T fields over the same frames (where installed)
//!
//! and prints the median wall time, its ratio to the floor's, MB/s of
//! capture, peak RSS (from wait4; this process stays small, so a child's
//! figure is its own), and the median CPU time (user + system, from the same
//! wait4) with its ratio to the floor's: on a shared machine the CPU time
//! moves less than the wall time. Every ratio is against the floor.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn die(msg: String) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(1);
}

/// Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one
/// run, output discarded.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives the RSS
fn run_timed(argv: &[String]) -> (f64, f64, u64) {
    let t0 = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| die(format!("{}: {e}", argv[0])));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet waited for.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let wall = t0.elapsed().as_secs_f64();
    if r < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        die(format!("{} failed (status {status})", argv.join(" ")));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = secs(ru.ru_utime) + secs(ru.ru_stime);
    (wall, cpu, ru.ru_maxrss as u64 * 1024)
}

/// Frames a command reports, counted from its output as it streams (untimed).
#[allow(clippy::zombie_processes)] // an early return leaves a finished child only
fn count_frames(name: &str, argv: &[String]) -> Option<u64> {
    // "frames json, 2 threads" counts as "frames json".
    let name = name.split(',').next().unwrap_or(name);
    if !matches!(name, "frames json" | "frames table" | "tshark") {
        return None;
    }
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| die(format!("{}: {e}", argv[0])));
    let out = BufReader::with_capacity(1 << 16, child.stdout.take()?);
    let mut n = 0u64;
    for (i, line) in out.split(b'\n').enumerate() {
        let line = line.ok()?;
        n += match name {
            "frames json" => u64::from(line.starts_with(b"{\"type\":\"frame\"")),
            "frames table" => u64::from(i > 0 && !line.is_empty()), // one header line
            // One line a packet; several frames in a packet are comma-separated.
            _ => line
                .split(|&b| b == b'\t')
                .nth(2)
                .map_or(0, |f| 1 + f.iter().filter(|&&b| b == b',').count() as u64),
        };
    }
    child.wait().ok()?;
    Some(n)
}

/// Packets and TCP payload bytes a reading program (the floor, or
/// read_and_slice) printed: "N packets, ..., M TCP payload bytes, ...".
fn packet_sums(argv: &[String]) -> (u64, u64) {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            die(format!(
                "{}: {e} (cargo build --release --examples)",
                argv[0]
            ))
        });
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |suffix: &str| {
        text.trim()
            .split(", ")
            .find_map(|p| p.strip_suffix(suffix))
            .and_then(|n| n.parse().ok())
    };
    match (
        out.status.success(),
        field(" packets"),
        field(" TCP payload bytes"),
    ) {
        (true, Some(p), Some(b)) => (p, b),
        _ => die(format!("{} said: {text}", argv.join(" "))),
    }
}

/// The capture and the number of frames its generator wrote.
/// With `keylog`, the same traffic in TLS 1.3, its secrets written there.
fn generate(
    dir: &Path,
    rel: &Path,
    name: &str,
    mib: u64,
    profile: &str,
    keylog: Option<&Path>,
) -> (PathBuf, u64) {
    let path = dir.join(name);
    let meta = dir.join(format!("{name}.frames"));
    if let (true, Ok(n)) = (path.exists(), std::fs::read_to_string(&meta))
        && let Ok(n) = n.trim().parse()
    {
        return (path, n);
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|e| die(format!("{}: {e}", dir.display())));
    let mut cmd = Command::new(rel.join("examples/synth_capture"));
    cmd.arg(&path).arg(mib.to_string()).arg(profile);
    if let Some(k) = keylog {
        cmd.arg("--keylog").arg(k);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        die(format!(
            "synth_capture: {e} (cargo build --release --examples)"
        ))
    });
    let err = String::from_utf8_lossy(&out.stderr);
    let n: u64 = err
        .split(", ")
        .find_map(|p| p.strip_suffix(" frames\n").or(p.strip_suffix(" frames")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| die(format!("synth_capture said: {err}")));
    let _ = std::fs::write(&meta, n.to_string());
    (path, n)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let opt = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let runs = opt("--runs", 5).max(1);
    let tshark_runs = opt("--tshark-runs", 1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rel = root.join("target/release");
    let ws = rel.join("wsdissect").display().to_string();
    let have_tshark = tshark_runs > 0
        && Command::new("tshark")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let (mixed, small) = if quick { (100, 20) } else { (1024, 100) };
    let mixed = opt("--mib", mixed as usize) as u64;
    // The machine is shared: the load when the run began.
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default()
    );
    for (name, mib, profile) in [
        (format!("mixed-{mixed}m.pcap"), mixed, "mixed"),
        (format!("small-{small}m.pcap"), small, "small"),
    ] {
        let dir = root.join("target/bench");
        let (cap, expect) = generate(&dir, &rel, &name, mib, profile, None);
        let cap = cap.display().to_string();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let mut cmds: Vec<(&str, Vec<String>)> = vec![
            (
                "floor",
                s(&[&rel.join("examples/floor").display().to_string(), &cap]),
            ),
            (
                "capture+packet stages",
                s(&[
                    &rel.join("examples/read_and_slice").display().to_string(),
                    &cap,
                ]),
            ),
            ("check", s(&[&ws, "check", "-q", "--threads", "1", &cap])),
        ];
        if profile == "mixed" {
            // The same traffic in TLS 1.3 (AES-128-GCM), decrypted with its key log.
            let keys = dir.join(format!("tls-{name}.keys"));
            let (tls, n) = generate(
                &dir,
                &rel,
                &format!("tls-{name}"),
                mib,
                profile,
                Some(&keys),
            );
            if n != expect {
                die(format!(
                    "the TLS capture has {n} frames, the plaintext one {expect}"
                ));
            }
            let (keys, tls) = (keys.display().to_string(), tls.display().to_string());
            let tls_check = |threads: &str| {
                s(&[
                    &ws,
                    "check",
                    "-q",
                    "--threads",
                    threads,
                    "--keylog",
                    &keys,
                    &tls,
                ])
            };
            cmds.push(("check, TLS 1.3 (--keylog)", tls_check("1")));
            cmds.push(("check, TLS, 2 threads", tls_check("2")));
        }
        cmds.extend([
            (
                "frames json",
                s(&[
                    &ws,
                    "frames",
                    "-q",
                    "--format",
                    "json",
                    "--threads",
                    "1",
                    &cap,
                ]),
            ),
            (
                "frames table",
                s(&[&ws, "frames", "-q", "--threads", "1", &cap]),
            ),
            (
                "check, 2 threads",
                s(&[&ws, "check", "-q", "--threads", "2", &cap]),
            ),
            (
                "frames json, 2 threads",
                s(&[
                    &ws,
                    "frames",
                    "-q",
                    "--format",
                    "json",
                    "--threads",
                    "2",
                    &cap,
                ]),
            ),
            (
                "explain",
                s(&[&ws, "explain", "-q", "--threads", "1", &cap]),
            ),
            (
                "push json",
                s(&[
                    &ws,
                    "push",
                    "-q",
                    "--format",
                    "json",
                    "--threads",
                    "1",
                    &cap,
                ]),
            ),
        ]);
        if have_tshark {
            let mut t = s(&[
                "tshark",
                "-n",
                "-r",
                &cap,
                "-Y",
                "websocket",
                "-T",
                "fields",
            ]);
            for f in [
                "frame.number",
                "websocket.fin",
                "websocket.opcode",
                "websocket.mask",
                "websocket.payload_length",
                "websocket.masking_key",
            ] {
                t.extend(s(&["-e", f]));
            }
            cmds.push(("tshark", t));
        }
        // One untimed pass: warms the page cache and checks every frame is
        // reported, and that the floor reads what our own stages read.
        let floor_sums = packet_sums(&cmds[0].1);
        let stage_sums = packet_sums(&cmds[1].1);
        if floor_sums != stage_sums {
            die(format!(
                "the floor read {floor_sums:?} (packets, TCP payload bytes); \
                 the capture+packet stages {stage_sums:?}"
            ));
        }
        for (n, argv) in &cmds {
            if let Some(got) = count_frames(n, argv)
                && got != expect
            {
                die(format!(
                    "{n} reported {got} frames; the generator wrote {expect}"
                ));
            }
        }
        let mut times = vec![Vec::new(); cmds.len()];
        let mut cpus = vec![Vec::new(); cmds.len()];
        let mut rss = vec![0u64; cmds.len()];
        for i in 0..runs {
            for (k, (n, argv)) in cmds.iter().enumerate() {
                if *n == "tshark" && i >= tshark_runs {
                    continue;
                }
                let (t, c, r) = run_timed(argv);
                times[k].push(t);
                cpus[k].push(c);
                rss[k] = rss[k].max(r);
            }
        }
        let size = std::fs::metadata(&cap).map_or(0, |m| m.len()) as f64;
        let med: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
        let cpu: Vec<f64> = cpus.iter_mut().map(|t| median(t)).collect();
        println!(
            "\n{name}: {:.0} MiB, {expect} frames (every command reported all of them), \
             median of {runs} runs{}",
            size / f64::from(1 << 20),
            if have_tshark {
                format!(" (tshark: {})", tshark_runs.min(runs))
            } else {
                String::new()
            }
        );
        println!(
            "  {:<27}{:>9}{:>9}{:>9}{:>13}{:>9}{:>9}",
            "command", "seconds", "x floor", "MB/s", "peak RSS", "CPU s", "x floor"
        );
        for (k, (n, _)) in cmds.iter().enumerate() {
            println!(
                "  {n:<27}{:>9.3}{:>9.2}{:>9.0}{:>9.1} MiB{:>9.3}{:>9.2}",
                med[k],
                med[k] / med[0],
                size / 1e6 / med[k],
                rss[k] as f64 / f64::from(1 << 20),
                cpu[k],
                cpu[k] / cpu[0].max(1e-3)
            );
        }
        let at = |name: &str| cmds.iter().position(|(n, _)| *n == name);
        if let (Some(t), Some(c)) = (at("check, TLS 1.3 (--keylog)"), at("check")) {
            let tls_size = cmds[t].1.last().and_then(|p| std::fs::metadata(p).ok());
            println!(
                "  check on TLS 1.3 takes {:.2}x the wall time ({:.2}x the CPU) of check on the \
                 same traffic in plaintext (TLS capture {:.0} MiB; MB/s is of the plaintext's size)",
                med[t] / med[c],
                cpu[t] / cpu[c].max(1e-3),
                tls_size.map_or(0, |m| m.len()) as f64 / f64::from(1 << 20)
            );
        }
        if let (Some(t), Some(j)) = (at("tshark"), at("frames json")) {
            println!(
                "  frames json is {:.1}x faster than tshark -T fields",
                med[t] / med[j]
            );
        }
    }
}
