//! `check` sharded over several decoding threads (src/shard.rs), held to
//! one thread: for every bundled sample and generated captures, 2, 3 and 4
//! workers (the command caps them at the machine's cores, so the
//! command-level tests in tests/threads.rs see 2 at most here) give the
//! findings, numbering and summary of one thread; and a capture that
//! reaches a limit decided over all connections at once (the connection
//! limit, the out-of-order budget) is refused, so that it is decoded in one
//! thread instead.

mod common;
#[path = "common/synth_mixed.rs"]
mod synth_mixed;

use std::fs::File;
use std::path::{Path, PathBuf};

use common::sample;
use common::synth;
use common::synth::{Flow, Pcap, frame};
use wsdissect::Config;
use wsdissect::render::Out;
use wsdissect::render::check::CheckSink;

fn check_config() -> Config {
    Config {
        keep_frame_payload: false,
        keep_message_data: false,
        ..Config::default()
    }
}

/// What `check` prints of a sink: the JSON lines and the table.
fn rendered(sink: &CheckSink) -> String {
    let mut json = Out::new(Vec::new());
    sink.render_json(&mut json);
    let mut table = Out::new(Vec::new());
    sink.render_table(&mut table, None);
    String::from_utf8_lossy(&json.w).into_owned() + &String::from_utf8_lossy(&table.w)
}

fn single(path: &Path, cfg: &Config) -> String {
    let mut sink = CheckSink::new(Vec::new());
    sink.begin_capture("c");
    match File::open(path) {
        Ok(f) => match wsdissect::run(f, cfg, &mut sink) {
            Ok(_) => {}
            Err(e) => sink.capture_error(e.to_string()),
        },
        Err(e) => sink.capture_error(e.to_string()),
    }
    rendered(&sink)
}

/// The sharded run, merged; `None` when it refused.
fn sharded(path: &Path, cfg: &Config, workers: usize) -> Option<String> {
    sharded_with(path, cfg, workers, false)
}

/// The same, worker 0 decoding no connections of its own if `only_reads`.
fn sharded_with(path: &Path, cfg: &Config, workers: usize, only_reads: bool) -> Option<String> {
    let input = File::open(path).ok()?;
    let got = wsdissect::shard::run(workers, input, only_reads, cfg, |_| {
        let mut s = CheckSink::new(Vec::new());
        s.begin_capture("c");
        s
    });
    let sharded = match got {
        Ok(s) => s?,
        // Not a capture: what one thread says, as the command reports it.
        Err(e) => {
            let mut sink = CheckSink::new(Vec::new());
            sink.begin_capture("c");
            sink.capture_error(e.to_string());
            return Some(rendered(&sink));
        }
    };
    let mut merged = CheckSink::new(Vec::new());
    merged.begin_capture("c");
    assert!(
        merged.merge_shards(sharded.sinks, &sharded.ids),
        "merge refused"
    );
    Some(rendered(&merged))
}

/// The sharded run with each number of `workers` gives `one`, one
/// thread's output.
fn each_gives(path: &Path, cfg: &Config, workers: impl IntoIterator<Item = usize>, one: &str) {
    for n in workers {
        assert_eq!(sharded(path, cfg, n).as_deref(), Some(one), "{n} workers");
    }
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
            // No sample is gzip; the command tests below shard gzip files.
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_sample_gives_one_threads_findings_with_2_3_and_4_workers() {
    let mut caps = Vec::new();
    captures_under(&sample(""), &mut caps);
    assert!(caps.len() > 50, "found only {} samples", caps.len());
    let cfg = check_config();
    let mut with_findings = 0;
    let mut several_conns = 0;
    for p in &caps {
        let one = single(p, &cfg);
        if one.contains("\"type\":\"finding\"") {
            with_findings += 1;
        }
        if !one.contains(" in 0 WebSocket") && !one.contains(" in 1 WebSocket connection ") {
            several_conns += 1;
        }
        // Worker 0 decoding a share, and (as for gzip) none.
        for (n, only_reads) in [(2, false), (3, false), (4, false), (2, true), (3, true)] {
            let got = sharded_with(p, &cfg, n, only_reads)
                .unwrap_or_else(|| panic!("{}: {n} workers ({only_reads}) refused", p.display()));
            assert!(
                got == one,
                "{} with {n} workers (worker 0 only reads: {only_reads}):\n{got}\n--- one thread:\n{one}",
                p.display()
            );
        }
    }
    assert!(
        with_findings > 20,
        "only {with_findings} samples have findings"
    );
    assert!(
        several_conns > 5,
        "only {several_conns} samples have several connections"
    );
}

/// With keys given up front, worker 0 takes a larger share (decoding
/// decrypts): every TLS sample with its key log still gives one thread's
/// output with 2, 3 and 5 workers (5: a share unlike the plain one at any
/// count), and the keys are used (the output with them is not the output
/// without them for most samples).
#[test]
fn keyed_tls_samples_give_one_threads_findings_sharded() {
    let mut caps = Vec::new();
    captures_under(&sample("tls"), &mut caps);
    let mut keyed = 0;
    let mut decrypted = 0;
    for p in &caps {
        let Ok(text) = std::fs::read(p.with_extension("keys")) else {
            continue;
        };
        keyed += 1;
        let cfg = keyed_config(&text);
        let one = single(p, &cfg);
        if one != single(p, &check_config()) {
            decrypted += 1;
        }
        each_gives(p, &cfg, [2, 3, 5], &one);
    }
    assert!(keyed >= 10, "only {keyed} keyed TLS samples");
    assert!(
        decrypted * 2 > keyed,
        "keys changed the output of only {decrypted} of {keyed} samples"
    );
}

fn keyed_config(keylog: &[u8]) -> Config {
    let mut keys = wsdissect::tlscore::KeyLog::new();
    keys.add_text(keylog);
    Config {
        keylog: wsdissect::tlscore::KeyRing::new(keys),
        ..check_config()
    }
}

/// The benchmark's TLS 1.3 traffic, small: 2,000 connections over every
/// bucket. With its keys worker 0 takes 27 of 64 buckets (16 without), and
/// the sharded result is one thread's.
#[test]
fn many_keyed_tls_connections_shard_as_one_thread() {
    let mut cap = Vec::new();
    let mut keylog = Vec::new();
    synth_mixed::generate(&mut cap, 1 << 20, false, Some(&mut keylog)).expect("generate");
    let path = tmp("keyed-tls.pcap");
    std::fs::write(&path, &cap).expect("write capture");
    let cfg = keyed_config(&keylog);
    let one = single(&path, &cfg);
    assert!(
        one.contains(" in 2000 WebSocket connections"),
        "the keys open every connection: {}",
        &one[one.floor_char_boundary(one.len().saturating_sub(600))..]
    );
    let buckets = |cfg: &Config| {
        let input = File::open(&path).expect("open");
        wsdissect::shard::run(2, input, false, cfg, |_| CheckSink::new(Vec::new()))
            .expect("a capture")
            .expect("not refused")
            .worker0_buckets
    };
    assert_eq!(buckets(&cfg), 27);
    assert_eq!(buckets(&check_config()), 16);
    each_gives(&path, &cfg, [2, 3, 5], &one);
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-shard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// `n` connections opened one after another, interleaved; each breaks a
/// rule (a masked server frame, an unmasked client frame, a bad close
/// code) in its own order; some stay open, some close.
fn many_with_findings(n: u32) -> Pcap {
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
    for (i, f) in flows.iter_mut().enumerate() {
        f.open(&mut cap);
        if i % 5 != 4 {
            f.upgrade(&mut cap, false);
        }
    }
    for r in 0..6u32 {
        for (i, f) in flows.iter_mut().enumerate().rev() {
            let body = format!("round {r} conn {i}");
            let bytes = match (r + i as u32) % 4 {
                0 => frame(true, 0x81, body.as_bytes()),
                // Masked from the server.
                1 => frame(true, 0x81, body.as_bytes()),
                // Unmasked from the client.
                2 => frame(false, 0x81, body.as_bytes()),
                _ => frame(false, 0x82, body.as_bytes()),
            };
            let from_client = (r + i as u32) % 4 != 1;
            f.send(&mut cap, from_client, &bytes);
        }
    }
    for (i, f) in flows.iter_mut().enumerate() {
        if i % 3 == 0 {
            continue;
        }
        // Close code 1005 may not be sent.
        f.send(&mut cap, false, &frame(false, 0x88, &[0x03, 0xed]));
        for from_client in [false, true] {
            f.fin(&mut cap, from_client);
        }
    }
    cap
}

#[test]
fn findings_of_many_interleaved_connections_merge_in_one_threads_order() {
    let path = tmp("many.pcap");
    std::fs::write(&path, many_with_findings(60).bytes).expect("write");
    let cfg = check_config();
    let one = single(&path, &cfg);
    assert!(one.matches("\"type\":\"finding\"").count() > 100, "{one}");
    each_gives(&path, &cfg, [2, 3, 4], &one);
}

#[test]
fn the_connection_limit_reached_is_left_to_one_thread() {
    let path = tmp("limit.pcap");
    std::fs::write(&path, many_with_findings(30).bytes).expect("write");
    let cfg = Config {
        max_connections: 7,
        ..check_config()
    };
    assert!(single(&path, &cfg).contains("limit.reached"));
    for n in [2, 3, 4] {
        assert_eq!(sharded(&path, &cfg, n), None, "{n} workers");
    }
    // Below the limit in all, above it in none: sharded.
    let cfg = Config {
        max_connections: 31,
        ..check_config()
    };
    assert_eq!(sharded(&path, &cfg, 2), Some(single(&path, &cfg)));
}

/// `n` connections each holding `hole` bytes out of order at the same time
/// (every segment after a hole first, the holes filled afterwards).
fn out_of_order(n: u32, hole: usize) -> Pcap {
    let mut cap = Pcap::new();
    let mut flows: Vec<Flow> = (0..n).map(Flow::new).collect();
    for f in &mut flows {
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
    }
    let body = vec![b'o'; hole * 2];
    let bytes = frame(false, 0x82, &body);
    let (first, second) = bytes.split_at(hole);
    for f in &flows {
        let late = f.segment(false, f.seq[1].wrapping_add(hole as u32), "A", second);
        cap.record(&late, None);
    }
    for f in &mut flows {
        let early = f.segment(false, f.seq[1], "A", first);
        cap.record(&early, None);
        f.seq[1] = f.seq[1].wrapping_add(bytes.len() as u32);
    }
    cap
}

#[test]
fn the_out_of_order_budget_reached_is_left_to_one_thread() {
    let path = tmp("ooo.pcap");
    std::fs::write(&path, out_of_order(12, 300).bytes).expect("write");
    // Within the budget: sharded, as one thread.
    let cfg = check_config();
    assert_eq!(sharded(&path, &cfg, 2), Some(single(&path, &cfg)));
    // 12 x ~300 bytes held at once: a budget of 2,000 is spent in one
    // thread while each of 2 workers may stay within it; refused either way.
    let tight = Config {
        max_ooo_total: 2000,
        ..check_config()
    };
    assert_ne!(
        single(&path, &tight),
        single(&path, &cfg),
        "the budget changed nothing"
    );
    for n in [2, 3, 4] {
        assert_eq!(sharded(&path, &tight, n), None, "{n} workers");
    }
}

#[test]
fn a_file_that_is_no_capture_says_so_as_one_thread() {
    let path = tmp("not.pcap");
    std::fs::write(&path, b"this is not a capture at all, just text\n").expect("write");
    let cfg = check_config();
    assert_eq!(sharded(&path, &cfg, 2), Some(single(&path, &cfg)));
}

/// stdout, stderr and exit status of `check ARGS --threads N`.
fn cli(args: &[&str], threads: usize) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let out = common::bin()
        .arg("check")
        .args(args)
        .args(["--threads", &threads.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    (out.stdout, out.stderr, out.status.code())
}

#[test]
fn the_command_with_two_threads_is_one_threads_for_one_and_several_captures() {
    let many = tmp("cli-many.pcap");
    std::fs::write(&many, many_with_findings(40).bytes).expect("write");
    let many = many.to_string_lossy().into_owned();
    // Cut short in the middle of a record: a warning on stderr.
    let cut = tmp("cli-cut.pcap");
    let bytes = many_with_findings(9).bytes;
    std::fs::write(&cut, &bytes[..bytes.len() - 30]).expect("write");
    let cut = cut.to_string_lossy().into_owned();
    let missing = tmp("no-such.pcap").to_string_lossy().into_owned();
    let sll = sample("any-sll.pcap").to_string_lossy().into_owned();
    let gz = gzipped("cli-many.pcap.gz", &many_with_findings(30).bytes);
    let gz = gz.to_string_lossy().into_owned();
    let sets: [&[&str]; 7] = [
        &[&many],
        &[&gz],
        &[&gz, &many],
        &[&cut],
        &[&many, &cut, &sll],
        &[&cut, &missing, &many],
        &[&sll, &many, &many, &cut],
    ];
    let options: [&[&str]; 7] = [
        &[],
        &["--format", "json"],
        &["--format", "junit", "--fail-on", "warning"],
        &["--format", "csv"],
        &["--allow", "frame.server-masked"],
        &["--filter", "severity == \"error\""],
        &["--filter", "conn == 3 or conn == 17", "--format", "json"],
    ];
    let mut printed = 0;
    for set in sets {
        for opt in options {
            let mut args: Vec<&str> = opt.to_vec();
            args.push("-q");
            args.extend_from_slice(set);
            let one = cli(&args, 1);
            printed += usize::from(one.0.len() > 200);
            for n in [2, 3] {
                let got = cli(&args, n);
                assert!(
                    got == one,
                    "check {} --threads {n}:\n{}\n{}\n--- one thread (exit {:?}):\n{}\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&got.0),
                    String::from_utf8_lossy(&got.1),
                    one.2,
                    String::from_utf8_lossy(&one.0),
                    String::from_utf8_lossy(&one.1),
                );
            }
        }
    }
    assert!(printed > 25, "only {printed} runs printed much");
    // The cut capture warns, the missing one fails the run.
    let (_, err, code) = cli(&["-q", &cut, &missing, &many], 2);
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains("cut short"), "{err}");
    assert!(err.contains("no-such.pcap"), "{err}");
    assert_eq!(code, Some(2));
}

fn gzipped(name: &str, bytes: &[u8]) -> PathBuf {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).expect("gzip");
    let path = tmp(name);
    std::fs::write(&path, z.finish().expect("gzip")).expect("write");
    path
}

/// With two threads on one regular file, plain or gzip, `check` runs its
/// shard workers (threads named wsdissect-shard1...), seen in /proc while
/// it runs.
#[test]
fn two_threads_on_a_file_run_shard_workers() {
    let mut cap = many_with_findings(50);
    // Several tens of MiB, so that the run lasts a while.
    let mut f = Flow::new(900);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    let big = frame(false, 0x82, &vec![b'z'; 60_000]);
    for _ in 0..800 {
        f.send(&mut cap, false, &big);
    }
    let plain = tmp("cli-big.pcap");
    std::fs::write(&plain, &cap.bytes).expect("write");
    let gz = gzipped("cli-big.pcap.gz", &cap.bytes);
    for path in [plain, gz] {
        assert!(
            shard_workers_seen(&path),
            "{}: no shard worker thread seen",
            path.display()
        );
    }
}

fn shard_workers_seen(path: &Path) -> bool {
    let mut seen = false;
    for _ in 0..5 {
        let mut child = common::bin()
            .args(["check", "-q", "--threads", "2"])
            .arg(path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("runs");
        let task = PathBuf::from(format!("/proc/{}/task", child.id()));
        while !seen && matches!(child.try_wait(), Ok(None)) {
            seen = std::fs::read_dir(&task).is_ok_and(|rd| {
                rd.filter_map(|e| e.ok()).any(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .is_ok_and(|n| n.starts_with("wsdissect-shard"))
                })
            });
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let _ = child.wait();
        if seen {
            break;
        }
    }
    seen
}

/// Every connection ends inside a frame: found only when each worker's
/// flow table is finished at the end of the capture.
fn ends_inside_frames(n: u32) -> Pcap {
    let mut cap = Pcap::new();
    let mut flows = Flow::upgraded(&mut cap, n);
    for (i, f) in flows.iter_mut().enumerate() {
        let b = frame(true, 0x81, format!("conn {i} partial").as_bytes());
        f.send(&mut cap, true, &b[..b.len() / 2]);
    }
    cap
}

#[test]
fn every_worker_finishes_its_connections_at_the_end() {
    let path = tmp("ends.pcap");
    std::fs::write(&path, ends_inside_frames(40).bytes).expect("write");
    let cfg = check_config();
    let one = single(&path, &cfg);
    let found = one.matches("\"code\":\"stream.incomplete-frame\"").count();
    assert_eq!(found, 40, "{one}");
    each_gives(&path, &cfg, [2, 3, 4, 7, 16, 64, 100], &one);
}

/// The keys of a Decryption Secrets Block reach whichever worker owns the
/// TLS connection (with some worker counts worker 0 does, with others not).
#[test]
fn capture_keys_reach_every_worker() {
    let p = sample("tls/py-tls13-dsb.pcapng");
    let cfg = check_config();
    let one = single(&p, &cfg);
    assert!(one.contains("1 WebSocket connection"), "{one}");
    each_gives(&p, &cfg, 2..=12, &one);
}

/// A check sink that stops (or panics) after `after` events; slow when
/// asked, so that worker 0 waits on a full channel.
struct Stopping {
    inner: CheckSink,
    after: Option<usize>,
    seen: usize,
    slow: bool,
    panic: bool,
}

impl wsdissect::event::Sink for Stopping {
    fn event(&mut self, ev: wsdissect::event::Event<'_>) -> std::ops::ControlFlow<()> {
        self.seen += 1;
        if self.slow {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        if self.after.is_some_and(|a| self.seen > a) {
            if self.panic {
                panic!("test: the sink panics");
            }
            return std::ops::ControlFlow::Break(());
        }
        self.inner.event(ev)
    }
}

/// A worker whose sink stops or panics, with worker 0 blocked on a full
/// channel to a slow one: the run ends, refused, and does not hang.
#[test]
fn a_worker_that_stops_or_panics_ends_the_run_refused() {
    let path = tmp("stops.pcap");
    let mut cap = Pcap::new();
    let mut flows = Flow::upgraded(&mut cap, 64);
    let body = vec![b'z'; 4000];
    for r in 0..40 {
        for f in flows.iter_mut() {
            f.send(&mut cap, r % 2 == 0, &frame(r % 2 == 0, 0x82, &body));
        }
    }
    std::fs::write(&path, &cap.bytes).expect("write");
    let cases = [
        (2, 1, false),
        (3, 2, false),
        (4, 3, false),
        (2, 0, false),
        (4, 0, false),
        (2, 1, true),
        (3, 2, true),
    ];
    for (workers, stopper, panic) in cases {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let got = wsdissect::shard::run(
                workers,
                File::open(&p).expect("open"),
                false,
                &check_config(),
                |i| Stopping {
                    inner: CheckSink::new(Vec::new()),
                    after: (i == stopper).then_some(5),
                    seen: 0,
                    slow: i != stopper && i != 0,
                    panic,
                },
            );
            let _ = tx.send(matches!(got, Ok(None)));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok(refused) => assert!(refused, "{workers} workers, {stopper} stops: not refused"),
            Err(_) => panic!("{workers} workers, {stopper} stops (panics: {panic}): hangs"),
        }
    }
}
