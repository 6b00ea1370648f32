//! `wsdissect stats` over the real bundled captures: every figure is
//! computed again here, independently, from the `frames`, `messages`,
//! `conns`, `check` and `app` JSON records (and, for the capture's start
//! and the TCP handshakes, from the pcap file itself), and compared.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::bin;
use serde_json::Value;

/// The sketch's documented bound on a percentile's relative error.
const REL_ERROR: f64 = 1.0 / 128.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A capture and the key log that decrypts it, if any.
struct Cap {
    path: PathBuf,
    keys: Option<PathBuf>,
}

fn cap(rel: &str) -> Cap {
    let path = root().join("samples").join(rel);
    let keys = ["keys", "keylog"]
        .iter()
        .map(|e| path.with_extension(e))
        .find(|k| k.exists());
    Cap { path, keys }
}

fn run(args: &[&str], c: &Cap) -> Vec<Value> {
    let mut cmd = bin();
    cmd.args(args);
    if let Some(k) = &c.keys {
        cmd.arg("--keylog").arg(k);
    }
    let out = cmd
        .arg(&c.path)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{args:?} {:?}: {}",
        c.path,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The `stats` records: by connection, and the capture's.
fn stats(c: &Cap, extra: &[&str]) -> (BTreeMap<u64, Value>, Value) {
    let mut args = vec!["stats", "--format", "json"];
    args.extend_from_slice(extra);
    let recs = run(&args, c);
    let mut per = BTreeMap::new();
    let mut total = None;
    for r in recs {
        assert_eq!(r["type"], "stats");
        assert!(r["frames"].is_u64() && r["messages"].is_u64(), "{r}");
        match r.get("conn") {
            Some(id) => {
                assert!(per.insert(id.as_u64().unwrap(), r).is_none());
            }
            None => {
                assert!(total.is_none(), "one capture record");
                total = Some(r);
            }
        }
    }
    (per, total.expect("a capture record"))
}

fn dir_key(from: &str) -> &'static str {
    match from {
        "client" => "client_to_server",
        "server" => "server_to_client",
        other => panic!("from {other}"),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The captures the figures are checked on: plaintext, deflate, fragments,
/// loss, TLS (decrypted with their key logs), HTTP/2, subprotocols.
const SAMPLES: &[&str] = &[
    "python-echo.pcap",
    "aiohttp-concurrent.pcap",
    "node-fragments.pcap",
    "port-reuse.pcap",
    "lossy.pcap",
    "multi-if.pcapng",
    "any-sll2.pcap",
    "rfc-examples.pcap",
    "deflate/aiohttp.pcap",
    "deflate/node-deflate.pcap",
    "deflate/tornado.pcap",
    "deflate/midconn-stream-deflate.pcap",
    "tls/chromium-wss-deflate.pcap",
    "tls/node-tls12-aes128gcm.pcap",
    "h2/h2-ws.pcap",
    "app/mqtt311.pcap",
    "app/stomp.pcap",
    "app/socketio-app.pcap",
    "violations/c-unusual-valid.pcap",
];

/// Frame header bytes for a payload length in its shortest form (what
/// every implementation recorded here sends).
fn header_len(payload_len: u64, masked: bool) -> u64 {
    let ext = if payload_len < 126 {
        0
    } else if payload_len < 65536 {
        2
    } else {
        8
    };
    2 + ext + if masked { 4 } else { 0 }
}

#[derive(Default, Debug, PartialEq)]
struct Dir {
    frames: u64,
    messages: u64,
    wire_bytes: u64,
    payload_bytes: u64,
    message_wire_bytes: u64,
    inflated_bytes: u64,
    /// opcode name -> (frames, payload bytes, messages, message bytes)
    by_opcode: BTreeMap<String, (u64, u64, u64, u64)>,
}

fn dir_of(v: &Value) -> Dir {
    let mut by_opcode = BTreeMap::new();
    for (name, o) in v["by_opcode"].as_object().unwrap() {
        let t = (
            u(&o["frames"]),
            u(&o["payload_bytes"]),
            u(&o["messages"]),
            u(&o["message_bytes"]),
        );
        if t != (0, 0, 0, 0) {
            by_opcode.insert(name.clone(), t);
        }
    }
    Dir {
        frames: u(&v["frames"]),
        messages: u(&v["messages"]),
        wire_bytes: u(&v["wire_bytes"]),
        payload_bytes: u(&v["payload_bytes"]),
        message_wire_bytes: u(&v["message_wire_bytes"]),
        inflated_bytes: u(&v["inflated_bytes"]),
        by_opcode,
    }
}

/// Opcode names as `stats` groups them.
fn group(opcode_name: &str) -> String {
    match opcode_name {
        "continuation" | "text" | "binary" | "close" | "ping" | "pong" => opcode_name.into(),
        _ => "reserved".into(),
    }
}

/// Per connection (None: the capture) and direction, from frames and messages.
fn expected_dirs(frames: &[Value], messages: &[Value]) -> BTreeMap<(Option<u64>, String), Dir> {
    let mut m: BTreeMap<(Option<u64>, String), Dir> = BTreeMap::new();
    for fr in frames {
        let len = u(&fr["payload_len"]);
        let wire = header_len(len, fr["masked"].as_bool().unwrap()) + len;
        for conn in [Some(u(&fr["conn"])), None] {
            let d = m
                .entry((conn, fr["from"].as_str().unwrap().into()))
                .or_default();
            d.frames += 1;
            d.payload_bytes += len;
            d.wire_bytes += wire;
            let o = d
                .by_opcode
                .entry(group(fr["opcode_name"].as_str().unwrap()))
                .or_default();
            o.0 += 1;
            o.1 += len;
        }
    }
    for msg in messages {
        for conn in [Some(u(&msg["conn"])), None] {
            let d = m
                .entry((conn, msg["from"].as_str().unwrap().into()))
                .or_default();
            d.messages += 1;
            d.message_wire_bytes += u(&msg["wire_len"]);
            d.inflated_bytes += u(&msg["len"]);
            let o = d
                .by_opcode
                .entry(group(msg["opcode_name"].as_str().unwrap()))
                .or_default();
            o.2 += 1;
            o.3 += u(&msg["len"]);
        }
    }
    m
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn assert_percentiles(rec: &Value, mut sizes: Vec<u64>, what: &str) {
    let s = &rec["message_size"];
    assert_eq!(u(&s["count"]), sizes.len() as u64, "{what}: count");
    if sizes.is_empty() {
        assert!(s["p50"].is_null() && s["max"].is_null(), "{what}: {s}");
        return;
    }
    sizes.sort_unstable();
    for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        let exact = nearest_rank(&sizes, q) as f64;
        let got = f(&s[k]);
        assert!(
            (got - exact).abs() <= exact * REL_ERROR,
            "{what}: {k} {got} vs exact {exact}"
        );
    }
    assert_eq!(u(&s["max"]), *sizes.last().unwrap(), "{what}: max");
    assert_eq!(u(&s["min"]), sizes[0], "{what}: min");
    let mean = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
    assert!((f(&s["mean"]) - mean).abs() < 1e-6, "{what}: mean");
}

#[test]
fn counts_bytes_and_sizes_match_frames_and_messages_on_real_samples() {
    for rel in SAMPLES {
        let c = cap(rel);
        let frames = run(&["frames", "--format", "json"], &c);
        let messages = run(&["messages", "--format", "json", "--payload", "none"], &c);
        let conns = run(&["conns", "--format", "json"], &c);
        assert!(!frames.is_empty(), "{rel}: no frames (key log?)");
        let (per, total) = stats(&c, &[]);
        let want = expected_dirs(&frames, &messages);
        // One record per WebSocket connection `conns` lists.
        let mut ws_conns: Vec<u64> = conns
            .iter()
            .filter(|r| r["type"] == "conn")
            .filter(|r| {
                r["handshake"] == true
                    || u(&r["client_to_server"]["frames"]) + u(&r["server_to_client"]["frames"]) > 0
            })
            .map(|r| u(&r["conn"]))
            .collect();
        ws_conns.sort_unstable();
        assert_eq!(
            per.keys().copied().collect::<Vec<_>>(),
            ws_conns,
            "{rel}: connections"
        );
        assert_eq!(u(&total["connections"]), ws_conns.len() as u64, "{rel}");
        for (conn, rec) in per
            .iter()
            .map(|(k, v)| (Some(*k), v))
            .chain([(None, &total)])
        {
            let what = format!("{rel} conn {conn:?}");
            let mut frames_n = 0;
            let mut messages_n = 0;
            for side in ["client", "server"] {
                let got = dir_of(&rec[dir_key(side)]);
                let exp = want.get(&(conn, side.to_string()));
                let empty = Dir::default();
                assert_eq!(&got, exp.unwrap_or(&empty), "{what} {side}");
                frames_n += got.frames;
                messages_n += got.messages;
            }
            assert_eq!(u(&rec["frames"]), frames_n, "{what}: frames total");
            assert_eq!(u(&rec["messages"]), messages_n, "{what}: messages total");
            let mw = u(&rec["message_wire_bytes"]);
            let inf = u(&rec["inflated_bytes"]);
            match rec["compression_ratio"].as_f64() {
                Some(r) => assert!((r - inf as f64 / mw as f64).abs() < 1e-9, "{what}"),
                None => assert_eq!(mw, 0, "{what}"),
            }
            let sizes: Vec<u64> = messages
                .iter()
                .filter(|m| conn.is_none_or(|c| u(&m["conn"]) == c))
                .map(|m| u(&m["len"]))
                .collect();
            assert_percentiles(rec, sizes, &what);
        }
        // Duration and times of each connection are those of `conns`.
        for r in conns.iter().filter(|r| r["type"] == "conn") {
            if let Some(s) = per.get(&u(&r["conn"])) {
                for k in ["first_ts", "last_ts", "duration", "client", "server"] {
                    assert_eq!(s[k], r[k], "{rel} conn {}: {k}", r["conn"]);
                }
            }
        }
    }
}

#[test]
fn compressed_samples_inflate_to_more_than_they_took_on_the_wire() {
    for rel in [
        "deflate/aiohttp.pcap",
        "deflate/node-deflate.pcap",
        "deflate/tornado.pcap",
        "tls/chromium-wss-deflate.pcap",
    ] {
        let c = cap(rel);
        let messages = run(&["messages", "--format", "json", "--payload", "none"], &c);
        let compressed: Vec<&Value> = messages
            .iter()
            .filter(|m| m["compressed"] == true)
            .collect();
        assert!(!compressed.is_empty(), "{rel}: no compressed message");
        let wire: u64 = messages.iter().map(|m| u(&m["wire_len"])).sum();
        let inflated: u64 = messages.iter().map(|m| u(&m["len"])).sum();
        let (_, total) = stats(&c, &[]);
        assert_eq!(u(&total["message_wire_bytes"]), wire, "{rel}");
        assert_eq!(u(&total["inflated_bytes"]), inflated, "{rel}");
        assert!(inflated > wire, "{rel}: {inflated} <= {wire}");
        assert!(f(&total["compression_ratio"]) > 1.0, "{rel}");
    }
}

#[test]
fn close_codes_and_who_closed_first_match_the_close_frames() {
    let mut first_sides = BTreeMap::new();
    // Servers that close first: a hand-written server's violations, each
    // answered by the peer's close 1002.
    let violations = [
        "violations/c-rsv-bits.pcap",
        "violations/c-reserved-opcode.pcap",
        "violations/c-invalid-utf8.pcap",
        "violations/c-client-unmasked.pcap",
    ];
    for rel in SAMPLES.iter().chain(&violations) {
        let c = cap(rel);
        let frames = run(&["frames", "--format", "json"], &c);
        let conns = run(&["conns", "--format", "json"], &c);
        let (per, total) = stats(&c, &[]);
        let mut codes_total: BTreeMap<String, u64> = BTreeMap::new();
        let mut first_total: BTreeMap<String, u64> = BTreeMap::new();
        for (conn, rec) in &per {
            let closes: Vec<&Value> = frames
                .iter()
                .filter(|fr| u(&fr["conn"]) == *conn && fr["opcode_name"] == "close")
                .collect();
            // Frames are in capture order: the first close frame's side.
            let first = closes.first().map(|fr| fr["from"].as_str().unwrap());
            assert_eq!(rec["close"]["first"].as_str(), first, "{rel} conn {conn}");
            if let Some(s) = first {
                *first_total.entry(s.into()).or_default() += 1;
                *first_sides.entry(s.to_string()).or_insert(0) += 1;
            }
            for side in ["client", "server"] {
                let code = closes
                    .iter()
                    .find(|fr| fr["from"] == side)
                    .map(|fr| fr["close_code"].clone());
                let got = &rec["close"][format!("{side}_code")];
                assert_eq!(got, code.as_ref().unwrap_or(&Value::Null), "{rel} {conn}");
                if let Some(n) = code.as_ref().and_then(Value::as_u64) {
                    *codes_total.entry(n.to_string()).or_default() += 1;
                }
                // The same as `conns` says (its first close code per side).
                let conn_rec = conns
                    .iter()
                    .find(|r| r["type"] == "conn" && r["conn"] == *conn)
                    .unwrap();
                assert_eq!(got, &conn_rec[dir_key(side)]["close_code"], "{rel} {conn}");
            }
        }
        let got: BTreeMap<String, u64> = total["close"]["codes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), u(v)))
            .collect();
        assert_eq!(got, codes_total, "{rel}: close codes");
        for side in ["client", "server"] {
            assert_eq!(
                u(&total["close"]["closed_first"][side]),
                first_total.get(side).copied().unwrap_or(0),
                "{rel}: {side} closed first"
            );
        }
    }
    // The samples have both kinds of closer.
    assert!(
        first_sides.get("client").is_some_and(|&n| n > 0),
        "{first_sides:?}"
    );
    assert!(
        first_sides.get("server").is_some_and(|&n| n > 0),
        "{first_sides:?}"
    );
}

#[test]
fn ping_rtt_is_the_time_from_each_ping_to_the_pong_that_echoes_it() {
    let mut measured = 0;
    for rel in [
        "python-echo.pcap",
        "node-fragments.pcap",
        "multi-if.pcapng",
        "any-sll2.pcap",
        "deflate/node-deflate.pcap",
        "violations/c-unusual-valid.pcap",
    ] {
        let c = cap(rel);
        let frames = run(&["frames", "--format", "json", "--payload", "hex"], &c);
        let (per, total) = stats(&c, &[]);
        let mut all = Vec::new();
        for (conn, rec) in &per {
            // Each pong answers the earliest unanswered ping of the other
            // side with the same payload (RFC 6455 5.5.3: echoed).
            let mut open: Vec<&Value> = Vec::new();
            let mut rtts = Vec::new();
            for fr in frames.iter().filter(|fr| u(&fr["conn"]) == *conn) {
                match fr["opcode_name"].as_str() {
                    Some("ping") => open.push(fr),
                    Some("pong") => {
                        if let Some(i) = open.iter().position(|p| {
                            p["from"] != fr["from"] && p["payload_hex"] == fr["payload_hex"]
                        }) {
                            let p = open.remove(i);
                            rtts.push(f(&fr["ts"]) - f(&p["ts"]));
                        }
                    }
                    _ => {}
                }
            }
            check_rtt(&rec["ping_rtt"], &rtts, &format!("{rel} conn {conn}"));
            all.extend(rtts);
        }
        check_rtt(&total["ping_rtt"], &all, rel);
        measured += all.len();
    }
    assert!(measured >= 5, "{measured} round trips");
}

/// min/median/max of round trips: min and max to the microsecond, the
/// median within the sketch's error (and a microsecond).
fn check_rtt(r: &Value, rtts: &[f64], what: &str) {
    assert_eq!(u(&r["count"]), rtts.len() as u64, "{what}: {r}");
    if rtts.is_empty() {
        assert!(r["min"].is_null() && r["median"].is_null() && r["max"].is_null());
        return;
    }
    let mut s = rtts.to_vec();
    s.sort_by(f64::total_cmp);
    let near = |a: f64, b: f64, rel: f64| (a - b).abs() <= 1.01e-6 + b * rel;
    assert!(near(f(&r["min"]), s[0], 0.0), "{what}: min {r} vs {s:?}");
    assert!(near(f(&r["max"]), s[s.len() - 1], 0.0), "{what}: max {r}");
    let rank = ((0.5 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    assert!(
        near(f(&r["median"]), s[rank - 1], REL_ERROR),
        "{what}: median {r} vs {s:?}"
    );
}

/// The time of a pcap file's first record (the capture's start), read here.
fn pcap_first_ts(path: &Path) -> f64 {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
    let file = std::fs::File::open(path).unwrap();
    let mut r = LegacyPcapReader::new(1 << 16, file).unwrap();
    let mut nanos = false;
    loop {
        match r.next() {
            Ok((off, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => nanos = h.is_nanosecond_precision(),
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if nanos { 1e9 } else { 1e6 };
                        return f64::from(b.ts_sec) + f64::from(b.ts_usec) / frac;
                    }
                    PcapBlockOwned::NG(_) => panic!("pcapng"),
                }
                r.consume(off);
            }
            Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn message_rate_is_counted_in_one_second_windows_from_the_capture_start() {
    for rel in [
        "python-echo.pcap",
        "aiohttp-concurrent.pcap",
        "lossy.pcap",
        "app/mqtt311.pcap",
        "app/socketio-app.pcap",
        "deflate/tornado.pcap",
        "h2/h2-ws.pcap",
    ] {
        let c = cap(rel);
        let start = pcap_first_ts(&c.path);
        let messages = run(&["messages", "--format", "json", "--payload", "none"], &c);
        let (per, total) = stats(&c, &[]);
        assert_eq!(f(&total["first_ts"]), start, "{rel}: the capture's start");
        for (conn, rec) in per
            .iter()
            .map(|(k, v)| (Some(*k), v))
            .chain([(None, &total)])
        {
            let what = format!("{rel} conn {conn:?}");
            let mut windows: BTreeMap<i64, u64> = BTreeMap::new();
            for m in messages
                .iter()
                .filter(|m| conn.is_none_or(|c| u(&m["conn"]) == c))
            {
                *windows
                    .entry((f(&m["ts"]) - start).floor() as i64)
                    .or_default() += 1;
            }
            let n: u64 = windows.values().sum();
            let rate = &rec["rate"];
            assert_eq!(
                u(&rate["peak_1s"]),
                windows.values().copied().max().unwrap_or(0),
                "{what}"
            );
            let dur = f(&rec["duration"]);
            match rate["mean"].as_f64() {
                Some(m) => assert!((m - n as f64 / dur).abs() < 1e-6 * m.max(1.0), "{what}"),
                None => assert_eq!(dur, 0.0, "{what}"),
            }
            // The series: 1 s buckets on the same grid (no capture here
            // is long enough to coarsen it).
            let series = &rate["series"];
            let counts: Vec<u64> = series["counts"].as_array().unwrap().iter().map(u).collect();
            assert_eq!(counts.iter().sum::<u64>(), n, "{what}");
            if let Some((&first, _)) = windows.first_key_value() {
                assert_eq!(f(&series["width"]), 1.0);
                assert_eq!(f(&series["start"]), start + first as f64, "{what}");
                for (i, &cnt) in counts.iter().enumerate() {
                    let sec = first + i as i64;
                    assert_eq!(cnt, windows.get(&sec).copied().unwrap_or(0), "{what} {i}");
                }
            }
        }
    }
}

/// Per TCP connection (client, server): the last SYN's time and the
/// client's first ACK after the SYN/ACK, from the Ethernet frames of a pcap.
fn tcp_handshakes(path: &Path) -> BTreeMap<(String, String), f64> {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
    let file = std::fs::File::open(path).unwrap();
    let mut r = LegacyPcapReader::new(1 << 16, file).unwrap();
    let mut nanos = false;
    let mut syn: BTreeMap<(String, String), (f64, bool)> = BTreeMap::new();
    let mut rtt = BTreeMap::new();
    loop {
        match r.next() {
            Ok((off, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        assert_eq!(h.network.0, 1, "Ethernet samples only");
                        nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if nanos { 1e9 } else { 1e6 };
                        let ts = f64::from(b.ts_sec) + f64::from(b.ts_usec) / frac;
                        tcp_segment(ts, b.data, &mut syn, &mut rtt);
                    }
                    PcapBlockOwned::NG(_) => panic!("pcapng"),
                }
                r.consume(off);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
            Err(e) => panic!("{e:?}"),
        }
    }
    rtt
}

/// Notes one Ethernet frame's TCP handshake flags.
fn tcp_segment(
    ts: f64,
    data: &[u8],
    syn: &mut BTreeMap<(String, String), (f64, bool)>,
    rtt: &mut BTreeMap<(String, String), f64>,
) {
    let p = etherparse::SlicedPacket::from_ethernet(data).unwrap();
    let (Some(net), Some(etherparse::TransportSlice::Tcp(t))) = (p.net, p.transport) else {
        return;
    };
    let (src, dst) = match net {
        etherparse::NetSlice::Ipv4(i) => (
            i.header().source_addr().to_string(),
            i.header().destination_addr().to_string(),
        ),
        etherparse::NetSlice::Ipv6(i) => (
            format!("[{}]", i.header().source_addr()),
            format!("[{}]", i.header().destination_addr()),
        ),
        _ => return,
    };
    let a = format!("{src}:{}", t.source_port());
    let b = format!("{dst}:{}", t.destination_port());
    if t.syn() && !t.ack() {
        syn.insert((a, b), (ts, false));
    } else if t.syn() && t.ack() {
        if let Some(s) = syn.get_mut(&(b, a)) {
            s.1 = true;
        }
    } else if let Some(&(s, true)) = syn.get(&(a.clone(), b.clone())) {
        rtt.entry((a, b)).or_insert(ts - s);
    }
}

#[test]
fn tcp_rtt_is_syn_to_the_clients_ack_of_each_connection() {
    let mut measured = 0;
    for rel in [
        "python-echo.pcap",
        "aiohttp-concurrent.pcap",
        "port-reuse.pcap",
        "app/stomp.pcap",
        "h2/h2-ws.pcap",
        "tls/node-tls12-aes128gcm.pcap",
    ] {
        let c = cap(rel);
        let hs = tcp_handshakes(&c.path);
        let (per, total) = stats(&c, &[]);
        let mut all = Vec::new();
        for (conn, rec) in &per {
            let key = (
                rec["client"].as_str().unwrap().to_string(),
                rec["server"].as_str().unwrap().to_string(),
            );
            let want: Vec<f64> = hs.get(&key).copied().into_iter().collect();
            // Port reuse: the same addresses twice; the capture's last
            // handshake is the later connection's.
            if rel == "port-reuse.pcap" && !want.is_empty() {
                assert_eq!(u(&rec["tcp_rtt"]["count"]), 1);
                all.push(f(&rec["tcp_rtt"]["min"]));
                continue;
            }
            check_rtt(&rec["tcp_rtt"], &want, &format!("{rel} conn {conn}"));
            all.extend(want);
        }
        check_rtt(&total["tcp_rtt"], &all, rel);
        measured += all.len();
    }
    assert!(measured >= 25, "{measured}");
}

#[test]
fn findings_are_counted_by_code_as_check_reports_them() {
    for rel in [
        "lossy.pcap",
        "violations/c-unusual-valid.pcap",
        "violations/s-pong-latest.pcap",
        "deflate/oversized-extensions.pcap",
        "snapped.pcap",
        "python-echo.pcap",
    ] {
        let c = cap(rel);
        let findings = run(&["check", "--format", "json"], &c);
        let (per, total) = stats(&c, &[]);
        let mut want: BTreeMap<Option<u64>, BTreeMap<String, u64>> = BTreeMap::new();
        for fi in findings.iter().filter(|r| r["type"] == "finding") {
            let code = fi["code"].as_str().unwrap().to_string();
            *want
                .entry(None)
                .or_default()
                .entry(code.clone())
                .or_default() += 1;
            if let Some(conn) = fi["conn"].as_u64()
                && per.contains_key(&conn)
            {
                *want.entry(Some(conn)).or_default().entry(code).or_default() += 1;
            }
        }
        for (conn, rec) in per
            .iter()
            .map(|(k, v)| (Some(*k), v))
            .chain([(None, &total)])
        {
            let got: BTreeMap<String, u64> = rec["findings"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), u(v)))
                .collect();
            assert_eq!(
                got,
                want.get(&conn).cloned().unwrap_or_default(),
                "{rel} {conn:?}"
            );
        }
    }
}

#[test]
fn app_records_are_counted_by_protocol_kind_and_topic() {
    for rel in [
        "app/mqtt311.pcap",
        "app/mqtt5.pcap",
        "app/stomp.pcap",
        "app/socketio-app.pcap",
        "app/graphql-ws.pcap",
    ] {
        let c = cap(rel);
        let apps = run(&["app", "--format", "json"], &c);
        assert!(!apps.is_empty(), "{rel}");
        let (per, total) = stats(&c, &[]);
        for (conn, rec) in per
            .iter()
            .map(|(k, v)| (Some(*k), v))
            .chain([(None, &total)])
        {
            let mine: Vec<&Value> = apps
                .iter()
                .filter(|a| conn.is_none_or(|c| u(&a["conn"]) == c))
                .collect();
            let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
            let mut protos: BTreeMap<String, u64> = BTreeMap::new();
            let mut topics: BTreeMap<String, u64> = BTreeMap::new();
            for a in &mine {
                let p = a["protocol"].as_str().unwrap();
                *protos.entry(p.into()).or_default() += 1;
                *kinds
                    .entry(format!("{p}/{}", a["kind"].as_str().unwrap()))
                    .or_default() += 1;
                let t = ["topic", "event", "operation_name", "destination"]
                    .iter()
                    .find_map(|k| a[*k].as_str())
                    .or_else(|| a["headers"]["destination"].as_str());
                if let Some(t) = t {
                    *topics.entry(t.into()).or_default() += 1;
                }
            }
            let app = &rec["app"];
            let what = format!("{rel} {conn:?}");
            assert_eq!(u(&app["records"]), mine.len() as u64, "{what}");
            let as_map = |v: &Value| -> BTreeMap<String, u64> {
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), u(v)))
                    .collect()
            };
            assert_eq!(as_map(&app["by_protocol"]), protos, "{what}");
            assert_eq!(as_map(&app["by_kind"]), kinds, "{what}");
            let mut top: Vec<(String, u64)> = topics.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(10);
            let got: Vec<(String, u64)> = app["top_topics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["name"].as_str().unwrap().to_string(), u(&t["count"])))
                .collect();
            assert_eq!(got, top, "{what}");
        }
    }
}

#[test]
fn the_filter_chooses_the_records_before_they_are_counted() {
    let c = cap("aiohttp-concurrent.pcap");
    let (all, _) = stats(&c, &[]);
    let (per, total) = stats(&c, &["--filter", "from == server"]);
    assert_eq!(per.len(), all.len());
    for (conn, rec) in &per {
        assert_eq!(u(&rec["client_to_server"]["frames"]), 0, "{conn}");
        assert_eq!(u(&rec["client_to_server"]["messages"]), 0, "{conn}");
        assert_eq!(
            rec["server_to_client"]["frames"], all[conn]["server_to_client"]["frames"],
            "{conn}"
        );
        assert_eq!(rec["frames"], all[conn]["server_to_client"]["frames"]);
    }
    // The connections the filter chose, only.
    let (per, total3) = stats(&c, &["-Y", "conn == 3 or conn == 5"]);
    assert_eq!(per.keys().copied().collect::<Vec<_>>(), vec![3, 5]);
    assert_eq!(u(&total3["connections"]), 2);
    assert_eq!(
        u(&total3["frames"]),
        u(&all[&3]["frames"]) + u(&all[&5]["frames"])
    );
    assert!(u(&total["frames"]) > 0);
}

#[test]
fn several_captures_give_records_of_each_named_by_capture() {
    let a = root().join("samples/python-echo.pcap");
    let b = root().join("samples/h2/h2-ws.pcap");
    let out = bin()
        .args(["stats", "--format", "json"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(out.status.success());
    let recs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for p in [&a, &b] {
        let name = p.to_str().unwrap();
        let mine: Vec<&Value> = recs.iter().filter(|r| r["capture"] == name).collect();
        assert_eq!(mine.iter().filter(|r| r.get("conn").is_none()).count(), 1);
        let one = stats(
            &Cap {
                path: p.clone(),
                keys: None,
            },
            &[],
        );
        assert_eq!(mine.len(), one.0.len() + 1);
    }
    // HTTP/2: a session per stream on one connection.
    let (per, _) = stats(
        &Cap {
            path: b,
            keys: None,
        },
        &[],
    );
    assert!(per.values().any(|r| r["carrier"] == "h2"));
}

#[test]
fn csv_holds_the_values_of_the_json_records() {
    for rel in ["python-echo.pcap", "app/mqtt311.pcap", "lossy.pcap"] {
        let c = cap(rel);
        let json = run(&["stats", "--format", "json"], &c);
        let out = bin()
            .args(["stats", "--format", "csv"])
            .arg(&c.path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut r = csv::ReaderBuilder::new().from_reader(out.stdout.as_slice());
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), json.len(), "{rel}");
        for (row, rec) in rows.iter().zip(&json) {
            let mut flat = BTreeMap::new();
            flatten("", rec, &mut flat);
            for (i, name) in header.iter().enumerate() {
                let want = flat.get(name).cloned().unwrap_or_default();
                assert_eq!(row[i], want, "{rel}: column {name}");
            }
            // Every JSON leaf has its column.
            for k in flat.keys() {
                assert!(header.contains(k), "{rel}: no column {k}");
            }
        }
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, x, out);
            }
        }
        Value::Null => {
            out.insert(prefix.into(), String::new());
        }
        Value::String(s) => {
            out.insert(prefix.into(), s.clone());
        }
        Value::Array(a) => {
            let cells: Vec<String> = a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.insert(prefix.into(), cells.join(";"));
        }
        other => {
            out.insert(prefix.into(), other.to_string());
        }
    }
}

#[test]
fn the_table_fits_80_columns_with_a_row_per_connection() {
    for rel in SAMPLES {
        let c = cap(rel);
        let mut cmd = bin();
        cmd.args(["stats"]).env("COLUMNS", "80");
        if let Some(k) = &c.keys {
            cmd.arg("--keylog").arg(k);
        }
        let out = cmd.arg(&c.path).output().unwrap();
        assert!(out.status.success(), "{rel}");
        let text = String::from_utf8(out.stdout).unwrap();
        for l in text.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(l) <= 80,
                "{rel}: {l:?}"
            );
        }
        let (per, _) = stats(&c, &[]);
        let rows = text
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.trim_start().starts_with(|ch: char| ch.is_ascii_digit()))
            .count();
        assert_eq!(rows, per.len(), "{rel}:\n{text}");
        assert!(text.contains("capture:"), "{rel}");
    }
}

#[test]
fn memory_follows_connections_not_messages() {
    use common::synth::{Flow, Pcap, frame};
    use wsdissect::stats::{SERIES_CAP, StatsCollector};
    let footprint = |messages: usize| {
        let mut cap = Pcap::new();
        let mut conns = Flow::upgraded(&mut cap, 3);
        for i in 0..messages {
            // 40 ms apart: the long captures need more than SERIES_CAP seconds.
            cap.ts_us += 40_000;
            let c = &mut conns[i % 3];
            // Sizes over many powers of two: the sketch's worst case here.
            let body = vec![b'x'; (1usize << (i % 12)) + i % 7];
            c.send(&mut cap, i % 2 == 0, &frame(i % 2 == 0, 0x82, &body));
        }
        let mut st = StatsCollector::new();
        wsdissect::run(cap.bytes.as_slice(), &wsdissect::Config::default(), &mut st).unwrap();
        let s = st.stats();
        assert_eq!(s.total.messages, messages as u64);
        assert_eq!(s.per_conn.len(), 3);
        for c in s.per_conn.iter().chain([&s.total]) {
            assert!(c.rate.series.counts.len() <= SERIES_CAP);
            assert_eq!(c.rate.series.counts.iter().sum::<u64>(), c.messages);
        }
        (st.footprint(), s.total.rate.series.width)
    };
    let (small, w_small) = footprint(6_000); // 240 s: 1 s buckets
    let (big, w_big) = footprint(60_000); // 2400 s: coarser buckets
    assert_eq!(w_small, 1.0);
    assert!(w_big >= 4.0, "{w_big}");
    // Ten times the messages: only the rate series may have grown, up to its cap.
    assert!(big <= small + 4 * (SERIES_CAP - 240), "{small} -> {big}");
    assert!(big < 6_000, "{big}");
}
