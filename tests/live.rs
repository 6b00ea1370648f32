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

// ---------------------------------------------------------------------------
// `-i IFACE`: wsdissect reads the interface itself (libpcap). Each test runs
// in a network namespace of its own, on its loopback, so nothing else on the
// machine is captured and the ports are ours.

#[cfg(feature = "live")]
mod iface {
    use super::*;

    /// A network namespace with its loopback up; deleted when dropped.
    struct Netns(String);

    impl Netns {
        /// None (with the reason) where we are not root or namespaces are not
        /// available.
        fn new(tag: &str) -> Result<Netns, String> {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return Err("not root: cannot create a network namespace or capture".into());
            }
            let name = format!("wsd-{}-{tag}", std::process::id());
            let ok = |args: &[&str]| {
                Command::new("ip")
                    .args(args)
                    .stderr(Stdio::piped())
                    .output()
                    .map_err(|e| format!("ip {}: {e}", args.join(" ")))
                    .and_then(|o| {
                        if o.status.success() {
                            Ok(())
                        } else {
                            Err(format!(
                                "ip {}: {}",
                                args.join(" "),
                                String::from_utf8_lossy(&o.stderr).trim()
                            ))
                        }
                    })
            };
            ok(&["netns", "add", &name])?;
            let ns = Netns(name);
            ok(&["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"])?;
            Ok(ns)
        }

        /// A command run inside the namespace.
        fn cmd(&self, program: &str) -> Command {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &self.0, program]);
            c
        }

        fn wsdissect(&self) -> Command {
            self.cmd(env!("CARGO_BIN_EXE_wsdissect"))
        }
    }

    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    /// A running process whose stdout lines are timed as they come, and whose
    /// stderr is watched for a line; killed when dropped.
    struct Watched {
        child: Child,
        lines: mpsc::Receiver<(f64, String)>,
        err_lines: mpsc::Receiver<String>,
        err_seen: Vec<String>,
    }

    impl Watched {
        fn spawn(mut cmd: Command) -> Watched {
            let mut child = cmd
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts");
            let out = child.stdout.take().unwrap();
            let (tx, lines) = mpsc::channel();
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send((now(), line));
                }
            });
            let err = child.stderr.take().unwrap();
            let (tx, err_lines) = mpsc::channel();
            thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            Watched {
                child,
                lines,
                err_lines,
                err_seen: Vec::new(),
            }
        }

        /// Waits (10 s at most) for a stderr line containing `what`.
        fn wait_err(&mut self, what: &str) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(l) = self.err_lines.recv_timeout(Duration::from_millis(50)) {
                    let hit = l.contains(what);
                    self.err_seen.push(l);
                    if hit {
                        return;
                    }
                }
                if let Ok(Some(st)) = self.child.try_wait() {
                    self.err_seen.extend(self.err_lines.iter());
                    panic!("exited ({st:?}) before {what:?}: {:?}", self.err_seen);
                }
            }
            panic!("no {what:?} on stderr in 10 s: {:?}", self.err_seen);
        }

        /// The rest of stderr, once the process has exited.
        fn stderr_rest(&mut self) -> Vec<String> {
            let mut v = std::mem::take(&mut self.err_seen);
            while let Ok(l) = self.err_lines.recv_timeout(Duration::from_secs(2)) {
                v.push(l);
            }
            v
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    /// Starts tests/live/ws_peer.py in `ns` and returns it with the send times
    /// of its COUNT messages (once all are sent).
    fn ws_peer(ns: &Netns, port: u16, count: usize, interval: &str, hold: &str) -> Reap {
        let peer = ns
            .cmd("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/live/ws_peer.py"
            ))
            .args([&port.to_string(), &count.to_string(), interval, hold])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        Reap(peer)
    }

    fn send_times(peer: &mut Reap) -> Vec<f64> {
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
        sent
    }

    fn json(line: &str) -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    #[test]
    fn an_interface_capture_shows_what_the_client_sent_within_a_second_and_only_the_filtered_port()
    {
        let ns = match Netns::new("frames") {
            Ok(ns) => ns,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        const PORT: u16 = 8765;
        const OTHER: u16 = 8766;
        const COUNT: usize = 5;
        let filter = format!("tcp port {PORT}");
        let mut frames = {
            let mut c = ns.wsdissect();
            c.args(["frames", "-i", "lo", "-f", &filter, "--format", "json"]);
            c.args(["--payload", "text"]);
            Watched::spawn(c)
        };
        let mut conns = {
            let mut c = ns.wsdissect();
            c.args(["conns", "-i", "lo", "--capture-filter", &filter]);
            Watched::spawn(c)
        };
        frames.wait_err("capturing on 'lo'");
        conns.wait_err("capturing on 'lo'");
        // Traffic the filter must keep out: another WebSocket conversation on
        // the same interface at the same time.
        let mut other = ws_peer(&ns, OTHER, 3, "0.1", "0.5");
        let mut peer = ws_peer(&ns, PORT, COUNT, "0.3", "30");
        let sent = send_times(&mut peer);
        assert_eq!(
            sent.len(),
            COUNT,
            "the peer sent every message (is websockets installed?)"
        );
        assert_eq!(send_times(&mut other).len(), 3, "the other peer talked too");
        // Every frame of the conversation (COUNT each way), as it comes.
        let server = format!("127.0.0.1:{PORT}");
        let mut records = Vec::new();
        let mut seen = [None; COUNT];
        let deadline = Instant::now() + Duration::from_secs(5);
        let ours = |r: &Vec<serde_json::Value>| r.iter().filter(|v| v["server"] == *server).count();
        while ours(&records) < 2 * COUNT && Instant::now() < deadline {
            if let Ok((t, line)) = frames.lines.recv_timeout(Duration::from_millis(100)) {
                let v = json(&line);
                if v["from"] == "client"
                    && v["server"] == *server
                    && let Some(i) = v["payload_text"]
                        .as_str()
                        .and_then(|s| s.strip_prefix("live-"))
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|&i| i < COUNT)
                {
                    seen[i].get_or_insert(t);
                }
                records.push(v);
            }
        }
        for v in &records {
            assert_eq!(
                v["server"],
                server.as_str(),
                "only port {PORT} passes the filter: {v}"
            );
        }
        let lags: Vec<String> = seen
            .iter()
            .zip(&sent)
            .map(|(s, t)| s.map_or("-".into(), |s| format!("{:.3}", s - t)))
            .collect();
        eprintln!("-i lo: record lag after each send (s): {}", lags.join(" "));
        for (i, (s, t)) in seen.iter().zip(&sent).enumerate() {
            let s =
                s.unwrap_or_else(|| panic!("no record for message {i} while live: {records:?}"));
            assert!(
                s - t < 1.0,
                "message {i}: its record came {:.3} s after it was sent",
                s - t
            );
        }
        // Ctrl-C while the connection is still open: the run ends cleanly, with
        // the end-of-capture summary.
        interrupt(&frames.child);
        interrupt(&conns.child);
        for (name, w) in [("frames", &mut frames), ("conns", &mut conns)] {
            let st = wait_for(&mut w.child, Duration::from_secs(5))
                .unwrap_or_else(|| panic!("{name}: SIGINT did not end the run"));
            assert!(st.success(), "{name}: {st:?}");
        }
        records.extend(frames.lines.iter().map(|(_, l)| json(&l)));
        // Exactly what the client sent, and the server's echo of it; nothing
        // from the other conversation.
        let expect: Vec<String> = (0..COUNT).map(|i| format!("live-{i:02}")).collect();
        for (from, masked) in [("client", true), ("server", false)] {
            let mine: Vec<&serde_json::Value> =
                records.iter().filter(|v| v["from"] == from).collect();
            let texts: Vec<&str> = mine
                .iter()
                .map(|v| v["payload_text"].as_str().unwrap_or("?"))
                .collect();
            assert_eq!(texts, expect, "{from} frames");
            for v in &mine {
                assert_eq!(v["opcode"], 1, "{v}");
                assert_eq!(v["fin"], true, "{v}");
                assert_eq!(v["masked"], masked, "{v}");
                assert_eq!(v["capture"], "lo", "{v}");
            }
        }
        assert_eq!(records.len(), 2 * COUNT, "{records:?}");
        for v in &records {
            assert_eq!(
                v["server"],
                server.as_str(),
                "only port {PORT} passes the filter: {v}"
            );
        }
        let err = frames.stderr_rest();
        assert!(err.iter().any(|l| l.contains("interrupted")), "{err:?}");
        // conns prints its row from the end-of-capture path.
        let rows: Vec<String> = conns.lines.iter().map(|(_, l)| l).collect();
        let live_rows: Vec<&String> = rows.iter().filter(|l| l.contains("/live")).collect();
        assert_eq!(
            live_rows.len(),
            1,
            "one connection passes the filter: {rows:?}"
        );
        assert!(live_rows[0].contains("101 ok"), "{}", live_rows[0]);
        assert!(
            live_rows[0].contains(&format!("{COUNT}/{COUNT}")),
            "{}",
            live_rows[0]
        );
        assert!(
            !rows.iter().any(|l| l.contains(&format!(":{OTHER}"))),
            "{rows:?}"
        );
        let err = conns.stderr_rest();
        assert!(err.iter().any(|l| l.contains("interrupted")), "{err:?}");
    }

    /// Packets in a classic pcap file (as tcpdump writes it).
    fn pcap_packets(bytes: &[u8]) -> usize {
        let mut at = 24;
        let mut n = 0;
        while at + 16 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            at += 16 + len;
            n += 1;
        }
        assert_eq!(at, bytes.len(), "a whole number of records");
        n
    }

    #[test]
    fn count_stops_after_n_packets_the_same_ones_tcpdump_c_keeps() {
        if let Some(why) = skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
        let ns = match Netns::new("count") {
            Ok(ns) => ns,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        const PORT: u16 = 8770;
        const N: &str = "14";
        // 8 messages and their echoes are 16 frames, more than 14 packets can
        // carry with the handshake: -c must stop mid-conversation.
        const COUNT: usize = 8;
        let filter = format!("tcp port {PORT}");
        let dir = std::env::temp_dir().join(format!("wsd-live-count-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.pcap");
        let mut tcpdump = {
            let mut c = ns.cmd("tcpdump");
            c.args(["-i", "lo", "-U", "-c", N, "-w"])
                .arg(&file)
                .arg(&filter);
            Watched::spawn(c)
        };
        let mut live = {
            let mut c = ns.wsdissect();
            c.args([
                "frames", "-i", "lo", "-f", &filter, "-c", N, "--format", "json",
            ]);
            c.args(["--payload", "text"]);
            Watched::spawn(c)
        };
        tcpdump.wait_err("listening on lo");
        live.wait_err("capturing on 'lo'");
        let _peer = ws_peer(&ns, PORT, COUNT, "0.1", "20");
        // It ends by itself, the peer still talking.
        let st = wait_for(&mut live.child, Duration::from_secs(10))
            .expect("-c 14 ended the run by itself");
        assert!(st.success(), "{st:?} {:?}", live.stderr_rest());
        let st = wait_for(&mut tcpdump.child, Duration::from_secs(10)).expect("tcpdump -c ends");
        assert!(st.success(), "{st:?}");
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(pcap_packets(&bytes), 14);
        let got: Vec<serde_json::Value> = live.lines.iter().map(|(_, l)| json(&l)).collect();
        // The same packets, read from tcpdump's file.
        let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(["frames", "--format", "json", "--payload", "text"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        let _ = std::fs::remove_dir_all(&dir);
        let want: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(json)
            .collect();
        assert!(
            !want.is_empty(),
            "14 packets hold the handshake and a frame or more"
        );
        assert!(want.len() < 2 * COUNT, "tcpdump stopped mid-conversation");
        assert_eq!(got.len(), want.len(), "live: {got:?}\nfile: {want:?}");
        for (g, w) in got.iter().zip(&want) {
            for field in [
                "packet",
                "from",
                "opcode",
                "payload_text",
                "payload_len",
                "client",
                "server",
            ] {
                assert_eq!(g[field], w[field], "{field}: live {g}\nfile {w}");
            }
            assert!(g["packet"].as_u64().unwrap() <= 14, "{g}");
            let (a, b) = (g["ts"].as_f64().unwrap(), w["ts"].as_f64().unwrap());
            assert!((a - b).abs() < 0.01, "time stamps {a} and {b}");
        }
    }

    #[test]
    fn a_bad_capture_filter_or_interface_is_one_line_and_exit_2() {
        let ns = match Netns::new("errors") {
            Ok(ns) => ns,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        // Each must end at once: a filter or an interface ignored would
        // capture until killed.
        let run = |args: &[&str]| {
            let mut w = {
                let mut c = ns.wsdissect();
                c.args(args).stdin(Stdio::null());
                Watched::spawn(c)
            };
            let st = wait_for(&mut w.child, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("{args:?} still running after 10 s"));
            let out: Vec<String> = w.lines.iter().map(|(_, l)| l).collect();
            (st.code(), out, w.stderr_rest().join("\n"))
        };
        let (code, out, err) = run(&["frames", "-i", "lo", "-f", "tcp prot 80"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("bad capture filter 'tcp prot 80'"), "{err}");
        // check too: the reason is a capture error, not a pass.
        let (code, _, err) = run(&["check", "-i", "lo", "-f", "port 99999"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("bad capture filter"), "{err}");
        // A name from the user reaches the terminal escaped.
        let (code, out, err) = run(&["frames", "-i", "no\x1b[2Jsuch", "--format", "json"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains('\x1b'), "{err:?}");
        // Escaped as `\u{1b}` or `\x1b`, whichever the escaper writes.
        assert!(
            err.contains("no\\u{1b}[2Jsuch") || err.contains("no\\x1b[2Jsuch"),
            "{err}"
        );
        assert!(err.contains("no such interface"), "{err}");
        assert!(err.contains("lo"), "the interfaces there are: {err}");
    }

    /// tests/live/ws_blast.py in `ns`: COUNT messages of SIZE bytes as fast
    /// as python sends them; returns once all are on the wire.
    fn blast(ns: &Netns, port: u16, count: usize, size: usize) {
        let mut peer = Reap(
            ns.cmd("python3")
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/live/ws_blast.py"
                ))
                .args([&port.to_string(), &count.to_string(), &size.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 starts"),
        );
        let mut line = String::new();
        let _ = BufReader::new(peer.0.stdout.take().unwrap()).read_line(&mut line);
        assert!(
            line.contains("done"),
            "the blast was sent (is websockets installed?): {line:?}"
        );
        // Sent is not yet written: python's buffer empties until it closes.
        let st = wait_for(&mut peer.0, Duration::from_secs(20)).expect("the blast ends");
        assert!(st.success(), "{st:?}");
    }

    /// The client's text frames among JSON lines (read until the run ends).
    fn client_frames(lines: &mpsc::Receiver<(f64, String)>) -> usize {
        lines
            .iter()
            .filter(|(_, l)| {
                let v = json(l);
                v["from"] == "client" && v["opcode"] == 1
            })
            .count()
    }

    #[test]
    fn a_burst_of_large_loopback_segments_is_captured_whole() {
        // 20000 messages of 100 bytes go out in about 40 segments of 64 KiB
        // within a second, thousands of JSON lines each. In libpcap's
        // default 2 MB buffer the kernel dropped a third of the packets
        // (measured: 52 of 154, 11029 frames of 20000); the buffer is now
        // 16 MiB by default.
        let ns = match Netns::new("burst") {
            Ok(ns) => ns,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        const PORT: u16 = 8780;
        const COUNT: usize = 20_000;
        let mut live = {
            let mut c = ns.wsdissect();
            c.args(["frames", "-i", "lo", "-f", &format!("tcp port {PORT}")]);
            c.args(["--format", "json"]);
            Watched::spawn(c)
        };
        live.wait_err("capturing on 'lo'");
        blast(&ns, PORT, COUNT, 100);
        thread::sleep(Duration::from_millis(1000));
        interrupt(&live.child);
        let st = wait_for(&mut live.child, Duration::from_secs(10)).expect("SIGINT ends it");
        assert!(st.success(), "{st:?}");
        let seen = client_frames(&live.lines);
        let err = live.stderr_rest();
        assert!(!err.iter().any(|l| l.contains("dropped")), "{err:?}");
        assert_eq!(seen, COUNT, "every message's frame: {err:?}");
    }

    #[test]
    fn packets_the_kernel_dropped_are_counted_in_a_warning() {
        // A small buffer (-B) and a consumer that cannot keep up (nobody
        // reads its output while the burst goes by): the kernel must drop,
        // and the end of the run says how many.
        let ns = match Netns::new("drops") {
            Ok(ns) => ns,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        };
        const PORT: u16 = 8781;
        const COUNT: usize = 20_000;
        let mut child = ns
            .wsdissect()
            .args(["frames", "-i", "lo", "-f", &format!("tcp port {PORT}")])
            .args(["-B", "256", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let mut w = Watched {
            child,
            lines: mpsc::channel().1,
            err_lines: {
                let (tx, rx) = mpsc::channel();
                thread::spawn(move || {
                    for line in BufReader::new(err).lines().map_while(Result::ok) {
                        let _ = tx.send(line);
                    }
                });
                rx
            },
            err_seen: Vec::new(),
        };
        w.wait_err("capturing on 'lo'");
        blast(&ns, PORT, COUNT, 100);
        // Now read what it wrote, until it has been quiet a while.
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send((now(), line));
            }
        });
        let mut seen = 0;
        while let Ok((_, l)) = lines.recv_timeout(Duration::from_millis(700)) {
            let v = json(&l);
            seen += usize::from(v["from"] == "client" && v["opcode"] == 1);
        }
        interrupt(&w.child);
        let st = wait_for(&mut w.child, Duration::from_secs(10)).expect("SIGINT ends it");
        assert!(st.success(), "{st:?}");
        seen += client_frames(&lines);
        assert!(seen < COUNT, "some frames were lost: {seen}");
        let err = w.stderr_rest();
        let line = err
            .iter()
            .find(|l| l.contains("the kernel dropped"))
            .unwrap_or_else(|| panic!("a warning counts the drops: {err:?}"));
        // "... dropped D of R packets ..."
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "dropped").unwrap();
        let dropped: u64 = words[at + 1].parse().unwrap();
        let received: u64 = words[at + 3].parse().unwrap();
        assert!(dropped > 0 && dropped < received, "{line}");
        assert!(line.contains("-B"), "it says what helps: {line}");
    }
}

#[cfg(not(feature = "live"))]
#[test]
fn a_build_without_live_capture_says_so_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["frames", "-i", "lo"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("built without live capture"), "{err}");
}

#[test]
fn count_and_capture_filter_need_an_interface_and_files_do_not_go_with_one() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/python-echo.pcap");
    for (args, says) in [
        (&["frames", "-c", "3", sample][..], "--interface <IFACE>"),
        (&["frames", "-f", "tcp", sample], "--interface <IFACE>"),
        (
            &["messages", "-i", "lo", sample],
            "name no capture files with it",
        ),
        (&["frames", "-i", "lo", "-c", "0"], "0 is not in 1.."),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(err.starts_with("error:"), "a usage error: {args:?}: {err}");
    }
}
