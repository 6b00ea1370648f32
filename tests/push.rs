//! `push` on real recordings of every technique (samples/push/): the
//! technique, requests and events of each channel, and every SSE event
//! field for field, against the programs' own logs and tshark
//! (samples/push/manifest.json, written by samples/record/push_expect.py).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/push")
}

fn push_json(cap: &PathBuf) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["push", "--format", "json"])
        .arg(cap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_channel_technique_requests_and_events() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for (name, want) in manifest.as_object().unwrap() {
        let got = push_json(&dir().join(name));
        let pushes: Vec<&Value> = got.iter().filter(|r| r["type"] == "push").collect();
        let want_ch = want["channels"].as_array().unwrap();
        assert_eq!(pushes.len(), want_ch.len(), "{name}: channels {pushes:#?}");
        for w in want_ch {
            let ws = w["websocket"].as_bool().unwrap();
            let g = pushes
                .iter()
                .find(|p| {
                    p["method"] == w["method"]
                        && p["path"] == w["path"]
                        && (p["technique"] == "websocket") == ws
                        && (w.get("server").is_none() || p["server"] == w["server"])
                })
                .unwrap_or_else(|| panic!("{name}: no channel {w}"));
            for k in ["technique", "requests", "events"] {
                assert_eq!(
                    g[k], w[k],
                    "{name} {} {}: {k} ({})",
                    w["method"], w["path"], g["reason"]
                );
            }
            assert!(!g["reason"].as_str().unwrap().is_empty());
            checked += 1;
        }
        // SSE events field for field, in order, as the server sent them.
        let events: Vec<&Value> = got.iter().filter(|r| r["type"] == "sse-event").collect();
        let sent = want["sse_events"].as_array().unwrap();
        assert_eq!(events.len(), sent.len(), "{name}: sse events");
        for (g, s) in events.iter().zip(sent) {
            for k in ["id", "event", "data", "retry"] {
                assert_eq!(g[k], s[k], "{name}: sse-event {k}");
            }
        }
        // Findings: exactly those the raw peer provoked (none on the others).
        let mut codes: Vec<&str> = got
            .iter()
            .filter(|r| r["type"] == "finding")
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        codes.sort();
        let want_codes: Vec<&str> = want["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(codes, want_codes, "{name}: findings");
        // The Last-Event-IDs the reconnects carried, as the server saw them.
        if let Some(p) = pushes
            .iter()
            .find(|p| p["technique"] == "sse" && p["path"] == "/events")
        {
            assert_eq!(p["last_event_ids"], want["last_event_ids"], "{name}");
            let n = want["last_event_ids"].as_array().unwrap().len();
            assert!(p["reconnects"].as_u64().unwrap() >= n as u64, "{name}");
        }
    }
    assert!(checked >= 17, "{checked} channels checked");
}

#[test]
fn client_posts_to_a_polled_resource_are_the_client_sending() {
    // Engine.IO's polling transport POSTs the client's own packets
    // (socketio-polling: a polling-only client with 6 POSTs); a client that
    // POSTs reports to the resource it polls (node-pollpost) likewise.
    for (name, why) in [
        (
            "socketio.pcap",
            "Engine.IO polling transport: the client's POSTs carry its own packets",
        ),
        (
            "socketio-polling.pcap",
            "Engine.IO polling transport: the client's POSTs carry its own packets",
        ),
        ("node-pollpost.pcap", "carry a body of its own"),
    ] {
        let got = push_json(&dir().join(name));
        let posts: Vec<&Value> = got
            .iter()
            .filter(|r| r["type"] == "push" && r["method"] == "POST")
            .collect();
        assert!(!posts.is_empty(), "{name}");
        for p in posts {
            assert_eq!(p["technique"], "plain", "{name}: {p}");
            assert_eq!(p["events"], 0, "{name}: {p}");
            assert!(p["reason"].as_str().unwrap().contains(why), "{name}: {p}");
        }
    }
    // The polling-only client made several POSTs: once they were "polling".
    let got = push_json(&dir().join("socketio-polling.pcap"));
    assert!(
        got.iter()
            .any(|r| r["method"] == "POST" && r["requests"].as_u64().unwrap() >= 2)
    );
}
