//! `wsdissect app` on the real samples (samples/app, samples/push): JSON
//! lines carry exactly the units the applications logged, in order; the
//! JSON, table and CSV forms agree; every field is documented; capture
//! bytes never reach a terminal raw.

mod common;

use common::synth::{Flow, Pcap, frame};
use common::{bin, unhex};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;

fn app(args: &[&str]) -> (Vec<Value>, String, i32) {
    let out = bin().arg("app").args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let recs = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
        .collect();
    (
        recs,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn json(path: &str) -> Vec<Value> {
    let (r, err, code) = app(&["--format", "json", "--payload", "text", path]);
    assert_eq!(code, 0, "{err}");
    r
}

fn log(path: &str) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn payload_hex(r: &Value) -> String {
    match r["payload_text"].as_str() {
        Some(t) => common::hex(t.as_bytes()),
        None => r["payload_hex"].as_str().unwrap_or("").to_string(),
    }
}

/// paho's "(d0, q1, r0, m3)".
fn paho_flags(line: &str) -> Option<(u64, u64, u64, u64)> {
    let i = line.find("(d")?;
    let inner = &line[i + 1..i + line[i..].find(')')?];
    let v: Vec<u64> = inner.split(", ").map(|p| p[1..].parse().unwrap()).collect();
    Some((v[0], v[1], v[2], v[3]))
}

/// Every packet paho logged sending and receiving, per client and way, in
/// order and with its kind, flags and packet id; every publish with topic,
/// QoS, retain and payload.
fn mqtt_as_logged(name: &str) {
    let recs = json(&format!("samples/app/{name}.pcap"));
    let log = log(&format!("samples/app/{name}.log.jsonl"));
    assert!(
        recs.iter()
            .all(|r| r["type"] == "app" && r["protocol"] == "mqtt")
    );
    let mut clients: Vec<&str> = log.iter().filter_map(|l| l["client"].as_str()).collect();
    clients.sort();
    clients.dedup();
    assert_eq!(clients.len(), 2);
    let mut total = 0;
    for client in clients {
        let conn = recs
            .iter()
            .find(|r| r["kind"] == "CONNECT" && r["client_id"] == client)
            .unwrap_or_else(|| panic!("no CONNECT of {client}"))["conn"]
            .clone();
        let mine: Vec<&Value> = log.iter().filter(|l| l["client"] == client).collect();
        for (from, verb) in [("client", "Sending "), ("server", "Received ")] {
            let logged: Vec<&str> = mine
                .iter()
                .filter(|l| l["event"] == "log")
                .filter_map(|l| l["line"].as_str()?.strip_prefix(verb))
                .collect();
            let got: Vec<&Value> = recs
                .iter()
                .filter(|r| r["conn"] == conn && r["from"] == from)
                .collect();
            let kinds: Vec<&str> = got.iter().map(|r| r["kind"].as_str().unwrap()).collect();
            let want: Vec<&str> = logged
                .iter()
                .map(|l| l.split([' ', '(']).next().unwrap())
                .collect();
            assert_eq!(kinds, want, "{name} {client} {from}");
            total += got.len();
            for (r, l) in got.iter().zip(&logged) {
                if r["kind"] == "PUBLISH" {
                    let (dup, qos, retain, mid) = paho_flags(l).unwrap();
                    assert_eq!(r["dup"], json!(dup == 1), "{l}");
                    assert_eq!(r["qos"], json!(qos), "{l}");
                    assert_eq!(r["retain"], json!(retain == 1), "{l}");
                    if qos > 0 {
                        assert_eq!(r["packet_id"], json!(mid), "{l}");
                    }
                } else if let Some(mid) = l.strip_suffix(')').and_then(|l| l.split("(Mid: ").nth(1))
                {
                    assert_eq!(r["packet_id"], json!(mid.parse::<u64>().unwrap()), "{l}");
                }
            }
            let event = if from == "client" {
                "publish"
            } else {
                "message"
            };
            let pubs: Vec<&&Value> = got.iter().filter(|r| r["kind"] == "PUBLISH").collect();
            let app: Vec<&&Value> = mine.iter().filter(|l| l["event"] == event).collect();
            assert_eq!(pubs.len(), app.len(), "{name} {client} {event}");
            for a in app {
                let hit = pubs.iter().any(|r| {
                    r["topic"] == a["topic"]
                        && r["qos"] == a["qos"]
                        && r["retain"] == a["retain"]
                        && payload_hex(r) == a["payload_hex"].as_str().unwrap()
                        && (a["qos"] == 0 || r["packet_id"] == a["mid"])
                });
                assert!(hit, "{name}: no PUBLISH for {a}");
            }
        }
    }
    // Nothing decoded beyond what paho logged.
    assert_eq!(total, recs.len(), "{name}");
}

#[test]
fn mqtt311_every_packet_as_paho_logged() {
    mqtt_as_logged("mqtt311");
}

#[test]
fn mqtt5_every_packet_as_paho_logged() {
    mqtt_as_logged("mqtt5");
    let recs = json("samples/app/mqtt5.pcap");
    let log = log("samples/app/mqtt5.log.jsonl");
    // MQTT 5 properties as the application set them.
    for a in log
        .iter()
        .filter(|l| l["event"] == "publish" && l["properties"].get("ContentType").is_some())
    {
        let r = recs
            .iter()
            .find(|r| r["kind"] == "PUBLISH" && r["from"] == "client" && r["topic"] == a["topic"])
            .unwrap();
        let p = &r["properties"];
        assert_eq!(p["content_type"], a["properties"]["ContentType"]);
        assert_eq!(
            p["message_expiry_interval"],
            a["properties"]["MessageExpiryInterval"]
        );
        assert_eq!(p["user_properties"], a["properties"]["UserProperty"]);
    }
}

#[test]
fn graphql_ws_every_message_as_logged() {
    let recs = json("samples/app/graphql-ws.pcap");
    let log = log("samples/app/graphql-ws.log.jsonl");
    for side in ["client", "server"] {
        let want: Vec<Value> = log
            .iter()
            .filter(|l| l["side"] == side)
            .map(|l| serde_json::from_slice(&unhex(l["data_hex"].as_str().unwrap())).unwrap())
            .collect();
        let got: Vec<&Value> = recs.iter().filter(|r| r["from"] == side).collect();
        assert_eq!(got.len(), want.len(), "{side}");
        for (r, w) in got.iter().zip(&want) {
            assert_eq!(r["protocol"], "graphql-transport-ws");
            assert_eq!(r["kind"], w["type"]);
            assert_eq!(r.get("id"), w.get("id"));
            assert_eq!(r.get("payload"), w.get("payload"));
        }
    }
}

#[test]
fn socketio_emits_and_acks_as_logged() {
    let recs = json("samples/app/socketio-app.pcap");
    let log = log("samples/app/socketio-app.log.jsonl");
    let got: Vec<&Value> = recs
        .iter()
        .filter(|r| {
            matches!(
                r["kind"].as_str().unwrap(),
                "EVENT" | "BINARY_EVENT" | "ACK" | "BINARY_ACK"
            )
        })
        .collect();
    assert_eq!(got.len(), log.len());
    for (r, l) in got.iter().zip(&log) {
        assert_eq!(r["from"], l["side"], "{l}");
        assert_eq!(r["namespace"], l["namespace"], "{l}");
        assert_eq!(r["args"], l["args"], "{l}");
        if l["kind"] != "ack" {
            assert_eq!(r["event"], l["event"], "{l}");
        }
    }
}

/// Every STOMP frame and heart-beat the clients' sockets logged, in
/// order, but the one the broker got wrong (its content-length counts
/// UTF-16 units), which `check` names instead.
#[test]
fn stomp_every_frame_as_logged_and_check_names_the_broken_one() {
    let recs = json("samples/app/stomp.pcap");
    let log = log("samples/app/stomp.log.jsonl");
    let mut bad = 0;
    let mut want_all = 0;
    for name in ["sub", "pub"] {
        for side in ["client", "server"] {
            let mut want = Vec::new();
            for l in log
                .iter()
                .filter(|l| l["client"] == name && l["side"] == side)
            {
                let b = unhex(l["data_hex"].as_str().unwrap());
                if b == b"\n" || b == b"\r\n" {
                    want.push("HEARTBEAT".to_string());
                    continue;
                }
                let text = String::from_utf8(b).unwrap();
                let (head, body) = text.split_once("\n\n").unwrap();
                let body = body.strip_suffix('\0').unwrap();
                let declared = head
                    .lines()
                    .find_map(|h| h.strip_prefix("content-length:"))
                    .map(|n| n.parse::<usize>().unwrap());
                if declared.is_some_and(|n| n != body.len()) {
                    bad += 1;
                    continue;
                }
                want.push(head.lines().next().unwrap().to_string());
            }
            want_all += want.len();
            // The subscriber's connection is the one with the SUBSCRIBE.
            let sub_conn = recs.iter().find(|r| r["kind"] == "SUBSCRIBE").unwrap()["conn"].clone();
            let got: Vec<&str> = recs
                .iter()
                .filter(|r| (r["conn"] == sub_conn) == (name == "sub") && r["from"] == side)
                .map(|r| r["kind"].as_str().unwrap())
                .collect();
            assert_eq!(got, want, "{name} {side}");
        }
    }
    assert_eq!(bad, 1);
    assert_eq!(want_all, recs.len());
    // check: that frame, and nothing else.
    let out = bin()
        .args(["check", "--format", "json", "samples/app/stomp.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let findings: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["type"] == "finding")
        .collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["code"], "stomp.malformed");
    assert_eq!(findings[0]["from"], "server");
}

#[test]
fn check_is_clean_on_the_clean_app_samples() {
    for s in [
        "samples/app/mqtt311.pcap",
        "samples/app/mqtt5.pcap",
        "samples/app/graphql-ws.pcap",
        "samples/app/socketio-app.pcap",
        "samples/push/socketio.pcap",
        "samples/push/socketio-polling.pcap",
    ] {
        let out = bin()
            .args(["check", "--format", "json", "--fail-on", "warning", s])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{s}: {text}");
        assert!(!text.contains("\"finding\""), "{s}: {text}");
    }
}

#[test]
fn a_capture_without_subprotocol_gives_no_app_records() {
    let (recs, err, code) = app(&["--format", "json", "samples/python-echo.pcap"]);
    assert_eq!(code, 0);
    assert!(recs.is_empty());
    assert!(err.contains("no subprotocol messages"), "{err}");
}

#[test]
fn every_app_field_is_documented() {
    let doc = fs::read_to_string("docs/schema.md").unwrap();
    let section = doc
        .split("### `app`")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let documented: BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let mut seen = BTreeSet::new();
    for p in ["text", "hex", "base64", "none"] {
        for s in [
            "samples/app/mqtt311.pcap",
            "samples/app/mqtt5.pcap",
            "samples/app/graphql-ws.pcap",
            "samples/app/stomp.pcap",
            "samples/app/socketio-app.pcap",
            "samples/push/socketio-polling.pcap",
        ] {
            let (recs, _, _) = app(&["--format", "json", "--payload", p, s]);
            for r in recs {
                seen.extend(r.as_object().unwrap().keys().cloned());
            }
        }
    }
    let missing: Vec<&String> = seen
        .iter()
        .filter(|k| !documented.contains(k.as_str()))
        .collect();
    assert!(missing.is_empty(), "undocumented app fields: {missing:?}");
}

#[test]
fn payload_modes_give_the_same_bytes() {
    let text = json("samples/app/mqtt311.pcap");
    let (hex, _, _) = app(&[
        "--format",
        "json",
        "--payload",
        "hex",
        "samples/app/mqtt311.pcap",
    ]);
    let (none, _, _) = app(&[
        "--format",
        "json",
        "--payload",
        "none",
        "samples/app/mqtt311.pcap",
    ]);
    assert_eq!(text.len(), hex.len());
    for ((t, h), n) in text.iter().zip(&hex).zip(&none) {
        if t["kind"] == "PUBLISH" {
            assert_eq!(payload_hex(t), h["payload_hex"].as_str().unwrap());
            assert!(h.get("payload_text").is_none());
            assert!(n.get("payload_text").is_none() && n.get("payload_hex").is_none());
            assert_eq!(n["topic"], t["topic"]);
        }
    }
}

/// The table has a row per record, fits 80 columns, and the CSV a row per
/// record under a header of JSON field names, each row as many cells.
#[test]
fn table_and_csv_agree_with_json() {
    for s in [
        "samples/app/mqtt5.pcap",
        "samples/app/stomp.pcap",
        "samples/app/graphql-ws.pcap",
        "samples/push/socketio-polling.pcap",
    ] {
        let n = json(s).len();
        let out = bin()
            .env("COLUMNS", "80")
            .args(["app", s])
            .output()
            .unwrap();
        let table = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), n + 1, "{s}");
        assert!(lines[0].starts_with("pkt"));
        for l in &lines {
            assert!(l.chars().count() <= 80, "{s}: {l}");
        }
        let out = bin().args(["app", "--format", "csv", s]).output().unwrap();
        let csv = String::from_utf8(out.stdout).unwrap();
        let rows = parse_csv(&csv);
        assert_eq!(rows.len(), n + 1, "{s}");
        let header = &rows[0];
        assert_eq!(header[0], "type");
        assert!(header.iter().any(|h| h == "topic"));
        for r in &rows[1..] {
            assert_eq!(r.len(), header.len(), "{s}: {r:?}");
            assert_eq!(r[0], "app");
        }
    }
}

/// RFC 4180: fields split on commas outside quotes, `""` a quote, rows
/// end in CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let mut cells = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        cells.push(cur);
        rows.push(cells);
    }
    rows
}

/// A generated capture (robustness): an MQTT PUBLISH whose topic and
/// payload carry ESC sequences, on a session that negotiated nothing,
/// decoded with --decode-as mqtt: the table escapes them, JSON escapes them.
#[test]
fn decode_as_and_control_characters_never_reach_the_terminal() {
    let mut cap = Pcap::new();
    let mut f = Flow::new(1);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    let connect = [
        0x10, 0x10, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 4, b'e', b'v', b'i', b'l',
    ];
    f.send(&mut cap, true, &frame(true, 0x82, &connect));
    let topic = b"a\x1b]0;pwn\x07";
    let body = b"\x1b[2Jhi";
    let mut publish = vec![
        0x30,
        (2 + topic.len() + body.len()) as u8,
        0,
        topic.len() as u8,
    ];
    publish.extend_from_slice(topic);
    publish.extend_from_slice(body);
    f.send(&mut cap, true, &frame(true, 0x82, &publish));
    let path = std::env::temp_dir().join(format!("wsd-app-esc-{}.pcap", std::process::id()));
    fs::write(&path, &cap.bytes).unwrap();
    let p = path.to_str().unwrap();
    // Nothing negotiated: nothing decoded without --decode-as.
    let (recs, _, _) = app(&["--format", "json", p]);
    assert!(recs.is_empty());
    let (recs, _, code) = app(&["--format", "json", "--decode-as", "mqtt", p]);
    assert_eq!(code, 0);
    let kinds: Vec<&str> = recs.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CONNECT", "PUBLISH"]);
    assert_eq!(recs[1]["topic"], "a\x1b]0;pwn\x07");
    for args in [
        &["app", "--decode-as", "mqtt", p][..],
        &["app", "--decode-as", "mqtt", "--format", "csv", p],
    ] {
        let out = bin().args(args).output().unwrap();
        assert!(
            !out.stdout.iter().any(|&b| b == 0x1b || b == 0x07),
            "{args:?}: raw control bytes"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("\\x1b"), "{text}");
    }
    let out = bin()
        .args(["app", "--decode-as", "mqtt", "--format", "json", p])
        .output()
        .unwrap();
    assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == 0x07));
    let _ = fs::remove_file(&path);
    // An unknown protocol is bad usage.
    let (_, err, code) = app(&["--decode-as", "nope", p]);
    assert_eq!(code, 2);
    assert!(err.contains("mqtt"), "{err}");
}
