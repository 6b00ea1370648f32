//! Live use, for real: `tcpdump -i lo -U -w - | wsdissect frames -` while a
//! real WebSocket client and server (python websockets, tests/live/ws_peer.py)
//! talk on loopback. Each frame's row must arrive within a second of the
//! message being sent, and SIGINT must end the run with what was decoded and
//! the summary (`conns` prints its rows from the end-of-capture path).
//!
//! Skips (saying why) only where tcpdump is missing or we are not root;
//! `scripts/setup-test-deps.sh` installs tcpdump and websockets.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: tcpdump cannot capture on lo".into());
    }
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return Some("tcpdump is not installed (scripts/setup-test-deps.sh installs it)".into());
    }
    None
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `tcpdump ... | wsdissect CMD -`, with wsdissect's stdout lines timed.
struct Pipeline {
    tcpdump: Child,
    ws: Child,
    lines: mpsc::Receiver<(f64, String)>,
    stderr: Option<thread::JoinHandle<String>>,
}

/// A failing assertion must not leave tcpdump (or wsdissect) running.
impl Drop for Pipeline {
    fn drop(&mut self) {
        for c in [&mut self.ws, &mut self.tcpdump] {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Kills the peer when the test ends, however it ends.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn start(cmd: &str, port: u16) -> Pipeline {
    let mut tcpdump = Command::new("tcpdump")
        // --immediate-mode: without it, libpcap hands packets over in
        // blocks, up to a second late (measured: four messages sent 300 ms
        // apart reached the pipe in one write ~0.8 s after the first), and
        // this test would time tcpdump, not us.
        .args([
            "-i",
            "lo",
            "-U",
            "--immediate-mode",
            "-w",
            "-",
            &format!("tcp port {port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump starts");
    // Wait until tcpdump listens.
    let err = tcpdump.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let t = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if l.contains("listening") => break,
            Ok(_) => {}
            Err(e) => panic!("tcpdump did not start: {e}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "tcpdump did not start"
        );
    }
    let mut ws = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args([cmd, "-"])
        .stdin(tcpdump.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsdissect starts");
    let out = ws.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((now(), line));
        }
    });
    let mut err = ws.stderr.take().unwrap();
    let stderr = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    Pipeline {
        tcpdump,
        ws,
        lines,
        stderr: Some(stderr),
    }
}

fn interrupt(child: &Child) {
    // SAFETY: kill with a valid pid and signal number.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
}

/// Waits up to `limit` for the child to exit.
fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_live_pipe_shows_each_frame_within_a_second_and_sigint_keeps_the_summary() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut frames = start("frames", port);
    let mut conns = start("conns", port);
    const COUNT: usize = 6;
    let mut peer = Reap(
        Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/live/ws_peer.py"
            ))
            .args([&port.to_string(), &COUNT.to_string(), "0.3", "30"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let mut sent = Vec::new();
    for line in BufReader::new(peer.0.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v.get("done").is_some() {
            break;
        }
        sent.push(v["t"].as_f64().unwrap());
    }
    assert_eq!(
        sent.len(),
        COUNT,
        "the peer sent every message (is websockets installed?)"
    );
    // Each client frame's row, and when it arrived.
    let mut seen = [None; COUNT];
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.iter().any(Option::is_none) && Instant::now() < deadline {
        if let Ok((t, line)) = frames.lines.recv_timeout(Duration::from_millis(100)) {
            for (i, s) in seen.iter_mut().enumerate() {
                if s.is_none() && line.contains("C>S") && line.contains(&format!("live-{i:02}")) {
                    *s = Some(t);
                }
            }
        }
    }
    let lags: Vec<String> = seen
        .iter()
        .zip(&sent)
        .map(|(s, t)| s.map_or("-".into(), |s| format!("{:.3}", s - t)))
        .collect();
    eprintln!("row lag after each send (s): {}", lags.join(" "));
    for (i, (s, t)) in seen.iter().zip(&sent).enumerate() {
        let s = s.unwrap_or_else(|| panic!("no row for message {i} while the capture was live"));
        assert!(
            s - t < 1.0,
            "message {i}: its row came {:.3} s after it was sent",
            s - t
        );
    }
    // The connection is still open: Ctrl-C (SIGINT to wsdissect alone, the
    // pipe stays open and silent) ends the run with what was decoded.
    interrupt(&frames.ws);
    interrupt(&conns.ws);
    for (name, p) in [("frames", &mut frames), ("conns", &mut conns)] {
        let st = wait_for(&mut p.ws, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{name}: SIGINT did not end the run"));
        assert!(st.success(), "{name}: {st:?}");
    }
    drop(peer);
    for p in [&mut frames, &mut conns] {
        interrupt(&p.tcpdump);
        if wait_for(&mut p.tcpdump, Duration::from_secs(5)).is_none() {
            let _ = p.tcpdump.kill();
            let _ = p.tcpdump.wait();
        }
    }
    let rows: Vec<String> = conns.lines.try_iter().map(|(_, l)| l).collect();
    let err = conns.stderr.take().unwrap().join().unwrap();
    assert!(err.contains("interrupted"), "{err}");
    let row = rows
        .iter()
        .find(|l| l.contains("/live"))
        .unwrap_or_else(|| panic!("conns printed its summary row: {rows:?} {err}"));
    assert!(row.contains("101 ok"), "{row}");
    let counts = format!("{COUNT}/{COUNT}");
    assert!(row.contains(&counts), "every frame counted: {row}");
    let err = frames.stderr.take().unwrap().join().unwrap();
    assert!(err.contains("interrupted"), "{err}");
}
