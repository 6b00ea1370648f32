//! HTTP/2 wired into the analyzer (the `h2` carrier), on the real Hypercorn,
//! curl and nghttp recordings of samples/h2: WebSocket messages over RFC 8441
//! extended CONNECT against what the applications logged (NAME.sent.jsonl),
//! the HTTP/2 DATA bytes against tshark 4.0.17's (NAME.tshark-h2.jsonl), the
//! requests and SSE events `push` sees against the logs and tshark's
//! HEADERS, and the h2c upgrade handed over from HTTP/1.1.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn h2(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/h2")
        .join(name)
}

fn run(args: &[&str], cap: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .arg(cap)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A message's bytes as hex, from `--payload hex` output.
fn msg_hex(m: &Value) -> String {
    match (m["data_hex"].as_str(), m["text"].as_str()) {
        (Some(h), _) => h.to_string(),
        (None, Some(t)) => hex(t.as_bytes()),
        _ => panic!("no data in {m}"),
    }
}

const SAMPLES: &[&str] = &[
    "h2-ws.pcap",
    "h2-push.pcap",
    "h2-curl.pcap",
    "h2-upgrade.pcap",
];

#[test]
fn websocket_messages_over_extended_connect_are_the_logged_ones_with_their_stream() {
    let cap = h2("h2-ws.pcap");
    let logged = jsonl(&h2("h2-ws.sent.jsonl"));
    let got: Vec<Value> = run(&["messages", "--format", "json", "--payload", "hex"], &cap)
        .into_iter()
        .filter(|r| r["type"] == "message")
        .collect();
    // The CONNECT streams, from the client's log.
    let ws_streams: BTreeSet<u64> = logged
        .iter()
        .filter(|l| l["kind"] == "request" && l["protocol"] == "websocket")
        .map(|l| l["stream"].as_u64().unwrap())
        .collect();
    assert_eq!(ws_streams.len(), 2);
    // Client lines name their stream; the server cannot see it (null).
    let mut want: BTreeMap<(String, Option<u64>, u64, String), usize> = BTreeMap::new();
    for l in logged.iter().filter(|l| l.get("side").is_some()) {
        let side = l["side"].as_str().unwrap().to_string();
        let key = (
            side,
            l["stream"].as_u64(),
            l["opcode"].as_u64().unwrap(),
            l["data_hex"].as_str().unwrap().to_string(),
        );
        *want.entry(key).or_default() += 1;
    }
    let mut have: BTreeMap<(String, Option<u64>, u64, String), usize> = BTreeMap::new();
    for m in &got {
        assert_eq!(m["carrier"], "h2", "{m}");
        let stream = m["stream"].as_u64().unwrap();
        assert!(ws_streams.contains(&stream), "{m}");
        assert_eq!(m["findings"].as_array().unwrap().len(), 0, "{m}");
        let side = m["from"].as_str().unwrap().to_string();
        let key_stream = (side == "client").then_some(stream);
        let key = (side, key_stream, m["opcode"].as_u64().unwrap(), msg_hex(m));
        *have.entry(key).or_default() += 1;
    }
    assert!(want.len() >= 10, "{want:?}");
    assert_eq!(have, want);
    // The server echoes on the stream it was sent on: every server message
    // of a stream answers a client message of that stream.
    let mut echoes = 0;
    for m in got
        .iter()
        .filter(|m| m["from"] == "server" && m["opcode"] == 1)
    {
        let t = msg_hex(m);
        let Some(sent) = t.strip_prefix(&hex(b"echo:")) else {
            continue;
        };
        assert!(
            got.iter()
                .any(|c| c["from"] == "client" && c["stream"] == m["stream"] && msg_hex(c) == sent),
            "{m}"
        );
        echoes += 1;
    }
    assert!(echoes >= 4, "{echoes}");
}

#[test]
fn websocket_frame_bytes_are_tsharks_data_frames_per_stream() {
    // tshark 4.0 shows the CONNECT streams' DATA as opaque bytes: their
    // total per stream and direction is every WebSocket frame's header
    // and payload.
    let cap = h2("h2-ws.pcap");
    let mut want: BTreeMap<(u64, String), u64> = BTreeMap::new();
    for f in jsonl(&h2("h2-ws.tshark-h2.jsonl")) {
        if f["type"] == 0 && (f["stream"] == 1 || f["stream"] == 3) {
            *want
                .entry((
                    f["stream"].as_u64().unwrap(),
                    f["from"].as_str().unwrap().into(),
                ))
                .or_default() += f["data_len"].as_u64().unwrap();
        }
    }
    let mut have: BTreeMap<(u64, String), u64> = BTreeMap::new();
    for f in run(&["frames", "--format", "json"], &cap) {
        if f["type"] != "frame" {
            continue;
        }
        let len = f["payload_len"].as_u64().unwrap();
        // RFC 6455 section 5.2, minimal length encoding (no finding says otherwise).
        assert_eq!(f["findings"].as_array().unwrap().len(), 0, "{f}");
        let ext = match len {
            0..=125 => 0,
            126..=65535 => 2,
            _ => 8,
        };
        let mask = if f["masked"] == true { 4 } else { 0 };
        *have
            .entry((
                f["stream"].as_u64().unwrap(),
                f["from"].as_str().unwrap().into(),
            ))
            .or_default() += 2 + ext + mask + len;
    }
    assert_eq!(want.len(), 4, "{want:?}");
    assert_eq!(have, want);
}

#[test]
fn extended_connect_handshakes_and_the_connection_row() {
    let recs = run(&["conns", "--format", "json"], &h2("h2-ws.pcap"));
    let hs: Vec<&Value> = recs.iter().filter(|r| r["type"] == "handshake").collect();
    let streams: Vec<u64> = hs.iter().map(|h| h["stream"].as_u64().unwrap()).collect();
    assert_eq!(streams, [1, 3]);
    for h in &hs {
        assert_eq!(h["carrier"], "h2");
        assert_eq!(h["method"], "CONNECT");
        assert_eq!(h["protocol"], "websocket");
        assert_eq!(h["status"], 200);
        assert_eq!(h["path"], "/ws");
        assert_eq!(h["host"], "127.0.0.1:9201");
        assert!(h["key"].is_null() && h["accept"].is_null() && h["accept_ok"].is_null());
        assert_eq!(h["findings"].as_array().unwrap().len(), 0);
    }
    let conns: Vec<&Value> = recs.iter().filter(|r| r["type"] == "conn").collect();
    assert_eq!(conns.len(), 1, "one TCP connection carries both sessions");
    let c = conns[0];
    assert_eq!(c["handshake"], true);
    assert_eq!(c["status"], 200);
    // Both sessions' messages are counted on the connection.
    let logged = jsonl(&h2("h2-ws.sent.jsonl"));
    for (side, dir) in [
        ("client", "client_to_server"),
        ("server", "server_to_client"),
    ] {
        let n = logged.iter().filter(|l| l["side"] == side).count() as u64;
        assert_eq!(c[dir]["messages"], n, "{dir}");
        assert_eq!(c[dir]["close_code"], 1000);
    }
}

#[test]
fn check_is_clean_on_every_h2_sample() {
    for name in SAMPLES {
        let recs = run(&["check", "--format", "json"], &h2(name));
        let findings: Vec<&Value> = recs.iter().filter(|r| r["type"] == "finding").collect();
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        let summary = recs.iter().find(|r| r["type"] == "summary").unwrap();
        let ws = u64::from(*name == "h2-ws.pcap");
        assert_eq!(summary["connections"], ws, "{name}: WebSocket connections");
    }
}

#[test]
fn push_sees_every_request_tshark_sees_and_the_logged_sse_events() {
    for name in SAMPLES {
        let base = name.trim_end_matches(".pcap");
        let tshark = jsonl(&h2(&format!("{base}.tshark-h2.jsonl")));
        // Every request tshark decodes: client HEADERS with :method.
        let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
        for f in &tshark {
            if f["from"] != "client" {
                continue;
            }
            let Some(h) = f["headers"].as_array() else {
                continue;
            };
            let get = |n: &str| {
                h.iter()
                    .find(|kv| kv[0] == n)
                    .and_then(|kv| kv[1].as_str())
                    .map(str::to_string)
            };
            if let (Some(m), Some(p)) = (get(":method"), get(":path")) {
                let p = p.split('?').next().unwrap().to_string();
                *want.entry((m, p)).or_default() += 1;
            }
        }
        // h2-upgrade: the first request is HTTP/1.1 (tshark's HTTP, not HTTP2).
        if *name == "h2-upgrade.pcap" {
            *want.entry(("GET".into(), "/sse".into())).or_default() += 1;
        }
        let recs = run(&["push", "--format", "json"], &h2(name));
        let mut have: BTreeMap<(String, String), u64> = BTreeMap::new();
        for p in recs.iter().filter(|r| r["type"] == "push") {
            *have
                .entry((
                    p["method"].as_str().unwrap().into(),
                    p["path"].as_str().unwrap().into(),
                ))
                .or_default() += p["requests"].as_u64().unwrap();
        }
        assert_eq!(have, want, "{name}");

        let sse = recs
            .iter()
            .find(|p| p["type"] == "push" && p["path"] == "/sse")
            .unwrap_or_else(|| panic!("{name}: no /sse channel"));
        assert_eq!(sse["technique"], "sse", "{name}: {}", sse["reason"]);
        let logged: Vec<(String, String, String)> = jsonl(&h2(&format!("{base}.sent.jsonl")))
            .iter()
            .filter(|l| l["kind"] == "sse")
            .map(|l| {
                (
                    l["id"].as_str().unwrap().into(),
                    l["event"].as_str().unwrap().into(),
                    l["data"].as_str().unwrap().into(),
                )
            })
            .collect();
        let events: Vec<(String, String, String)> = recs
            .iter()
            .filter(|r| r["type"] == "sse-event")
            .map(|e| {
                (
                    e["id"].as_str().unwrap().into(),
                    e["event"].as_str().unwrap().into(),
                    e["data"].as_str().unwrap().into(),
                )
            })
            .collect();
        if !logged.is_empty() {
            assert_eq!(events, logged, "{name}");
        } else {
            // curl's SSE: five events from the same server app.
            assert_eq!(events.len(), 5, "{name}");
        }
        assert_eq!(
            sse["events"].as_u64().unwrap(),
            events.len() as u64,
            "{name}"
        );
    }
}

#[test]
fn the_websocket_channel_over_h2_is_websocket_in_push() {
    let recs = run(&["push", "--format", "json"], &h2("h2-ws.pcap"));
    let ws = recs
        .iter()
        .find(|p| p["type"] == "push" && p["method"] == "CONNECT")
        .unwrap();
    assert_eq!(ws["technique"], "websocket", "{}", ws["reason"]);
    // HTTP/2 has no 101 (RFC 9113 section 8.6): the extended CONNECT
    // succeeds with a 2xx (RFC 8441 section 5), and the reason says which.
    let reason = ws["reason"].as_str().unwrap();
    assert!(reason.contains("(200, RFC 8441)"), "{reason}");
    assert!(!reason.contains("101"), "{reason}");
    assert_eq!(ws["requests"], 2);
    let served = jsonl(&h2("h2-ws.sent.jsonl"))
        .iter()
        .filter(|l| l["side"] == "server")
        .count() as u64;
    assert_eq!(ws["events"], served);
}

#[test]
fn an_h2c_upgrade_hands_the_connection_to_http2() {
    // curl --http2 on http://: GET /sse with Upgrade: h2c, 101, then the
    // answer on stream 1 and a second request on stream 3.
    let recs = run(&["push", "--format", "json"], &h2("h2-upgrade.pcap"));
    let paths: BTreeSet<&str> = recs
        .iter()
        .filter(|r| r["type"] == "push")
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, BTreeSet::from(["/sse", "/poll"]));
    let events = recs.iter().filter(|r| r["type"] == "sse-event").count();
    let logged = jsonl(&h2("h2-upgrade.sent.jsonl"))
        .iter()
        .filter(|l| l["kind"] == "sse")
        .count();
    assert!(logged > 0);
    assert_eq!(events, logged);
}

#[test]
fn nghttpd_answering_an_h2c_upgrade_in_http2_at_once_keeps_the_http1_request() {
    // samples/nonws/h2c.pcap: three files over prior knowledge (one
    // connection), then `nghttp -nu`: the server's SETTINGS arrive before
    // the client's HTTP/1.1 GET with Upgrade: h2c, which no 101 answers.
    let cap = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/nonws/h2c.pcap");
    let recs = run(&["push", "--format", "json"], &cap);
    let mut have: Vec<(u64, String)> = recs
        .iter()
        .filter(|r| r["type"] == "push")
        .map(|p| {
            (
                p["conns"][0].as_u64().unwrap(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    have.sort();
    let want: Vec<(u64, String)> = vec![
        (0, "/blob.bin".into()),
        (0, "/f1.txt".into()),
        (0, "/f2.txt".into()),
        (1, "/f3.txt".into()),
    ];
    assert_eq!(have, want);
    let check = run(&["check", "--format", "json"], &cap);
    assert!(check.iter().all(|r| r["type"] != "finding"), "{check:#?}");
}

#[test]
fn third_party_h2c_every_request_tshark_sees_and_no_finding() {
    // samples/h2/h2-nghttp2.pcap: nghttpd with h2load (concurrent streams
    // on two connections) and nghttp (a header block continued in
    // CONTINUATION frames, a 404); no Python, no Hypercorn.
    let cap = h2("h2-nghttp2.pcap");
    let tshark = jsonl(&h2("h2-nghttp2.tshark-h2.jsonl"));
    assert!(tshark.iter().any(|f| f["type"] == 9), "no CONTINUATION");
    let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
    for f in tshark.iter().filter(|f| f["from"] == "client") {
        let Some(h) = f["headers"].as_array() else {
            continue;
        };
        let get = |n: &str| {
            h.iter()
                .find(|kv| kv[0] == n)
                .and_then(|kv| kv[1].as_str())
                .map(str::to_string)
        };
        if let (Some(m), Some(p)) = (get(":method"), get(":path")) {
            *want.entry((m, p)).or_default() += 1;
        }
    }
    assert!(want.values().sum::<u64>() >= 40, "{want:?}");
    let recs = run(&["push", "--format", "json"], &cap);
    let mut have: BTreeMap<(String, String), u64> = BTreeMap::new();
    for p in recs.iter().filter(|r| r["type"] == "push") {
        *have
            .entry((
                p["method"].as_str().unwrap().into(),
                p["path"].as_str().unwrap().into(),
            ))
            .or_default() += p["requests"].as_u64().unwrap();
    }
    assert_eq!(have, want);
    let check = run(&["check", "--format", "json"], &cap);
    assert!(check.iter().all(|r| r["type"] != "finding"), "{check:#?}");
    let frames = run(&["frames", "--format", "json"], &cap);
    assert!(frames.iter().all(|r| r["type"] != "frame"));
}
