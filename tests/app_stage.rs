//! The app stage in the pipeline (src/stage/app.rs): on the real samples
//! (samples/app, samples/push/socketio*.pcap) it emits the decoders'
//! records as `Event::App` and their findings as `Event::Finding`, also
//! when the consumer keeps no message bodies (as `check` runs), and
//! nothing at all on captures without a subprotocol.

use serde_json::{Value, json};
use std::fs;
use wsdissect::app::{AppRecord, Protocol};
use wsdissect::event::Event;
use wsdissect::findings::{Code, Dir, Finding};
use wsdissect::{Config, run};

struct Seen {
    apps: Vec<AppRecord>,
    findings: Vec<Finding>,
}

fn seen(path: &str, cfg: &Config) -> Seen {
    let bytes = fs::read(path).unwrap();
    let mut s = Seen {
        apps: Vec::new(),
        findings: Vec::new(),
    };
    run(&bytes[..], cfg, &mut |ev: Event<'_>| match ev {
        Event::App(r) => s.apps.push(r.clone()),
        Event::Finding(f) => s.findings.push(f.clone()),
        _ => {}
    })
    .unwrap();
    s
}

/// As `check` runs: no payloads, no bodies kept for the consumer.
fn check_cfg() -> Config {
    Config {
        keep_frame_payload: false,
        keep_message_data: false,
        ..Config::default()
    }
}

const APP_SAMPLES: [(&str, &str); 7] = [
    ("samples/app/mqtt311.pcap", "mqtt"),
    ("samples/app/mqtt5.pcap", "mqtt"),
    ("samples/app/graphql-ws.pcap", "graphql-transport-ws"),
    ("samples/app/stomp.pcap", "stomp"),
    ("samples/app/socketio-app.pcap", "socketio"),
    ("samples/push/socketio.pcap", "socketio"),
    ("samples/push/socketio-polling.pcap", "socketio"),
];

#[test]
fn every_sample_decodes_the_same_whether_bodies_are_kept_or_not() {
    for (path, proto) in APP_SAMPLES {
        let kept = seen(path, &Config::default());
        let lean = seen(path, &check_cfg());
        assert!(!kept.apps.is_empty(), "{path}: no app records");
        assert!(kept.apps.iter().all(|r| r.protocol == proto), "{path}");
        assert_eq!(kept.apps, lean.apps, "{path}");
        assert_eq!(kept.findings, lean.findings, "{path}");
    }
}

/// The MQTT samples through the stage: the publishes paho logged, with
/// topic, QoS, retain and payload, in order per client (the decoders'
/// own comparison with every logged packet is tests/app_core.rs).
#[test]
fn mqtt_publishes_as_paho_logged_through_the_stage() {
    for name in ["mqtt311", "mqtt5"] {
        let s = seen(&format!("samples/app/{name}.pcap"), &check_cfg());
        let log: Vec<Value> = fs::read_to_string(format!("samples/app/{name}.log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let published: Vec<&Value> = log.iter().filter(|l| l["event"] == "publish").collect();
        assert!(published.len() >= 6, "{name}");
        for p in &published {
            let hit = s.apps.iter().any(|r| {
                r.kind == "PUBLISH"
                    && r.from == "client"
                    && r.get("topic") == Some(&p["topic"])
                    && r.get("qos") == Some(&p["qos"])
                    && r.get("retain") == Some(&p["retain"])
                    && payload_hex(r) == p["payload_hex"].as_str().unwrap()
            });
            assert!(hit, "{name}: no PUBLISH for {p}");
        }
        // Packets reach the stage in capture order.
        assert!(s.apps.windows(2).all(|w| w[0].packet <= w[1].packet));
    }
}

fn payload_hex(r: &AppRecord) -> String {
    match r.get("payload_text").and_then(Value::as_str) {
        Some(t) => t.bytes().map(|b| format!("{b:02x}")).collect(),
        None => r
            .get("payload_hex")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    }
}

#[test]
fn findings_on_the_samples_only_the_real_stomp_content_length() {
    for (path, _) in APP_SAMPLES {
        let s = seen(path, &check_cfg());
        let app_codes = [
            Code::MqttMalformed,
            Code::MqttProtocolViolation,
            Code::StompMalformed,
            Code::SocketioMalformed,
            Code::GraphqlProtocolViolation,
        ];
        let app: Vec<&Finding> = s
            .findings
            .iter()
            .filter(|f| app_codes.contains(&f.code))
            .collect();
        if path.ends_with("stomp.pcap") {
            assert_eq!(app.len(), 1, "{app:?}");
            let f = app[0];
            assert_eq!(f.code, Code::StompMalformed);
            assert_eq!(f.from(), Some(Dir::Server));
            assert!(f.message.contains("content-length"), "{}", f.message);
            // Located at the MESSAGE frame's packet, on its connection.
            let conn = f.conn().unwrap();
            assert!(s.apps.iter().any(|r| r.conn == conn));
            assert!(f.packet().is_some());
        } else {
            assert!(app.is_empty(), "{path}: {app:?}");
        }
        // Nothing else is said about the clean samples either.
        let others: Vec<&Finding> = s
            .findings
            .iter()
            .filter(|f| !app_codes.contains(&f.code))
            .collect();
        assert!(others.is_empty(), "{path}: {others:?}");
    }
}

#[test]
fn captures_without_a_subprotocol_give_no_app_records() {
    for path in [
        "samples/python-echo.pcap",
        "samples/node-fragments.pcap",
        "samples/lossy.pcap",
        "samples/push/sse.pcap",
    ] {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let s = seen(path, &Config::default());
        assert!(s.apps.is_empty(), "{path}");
    }
}

/// Engine.IO over HTTP long polling: the bodies of the `/socket.io/?EIO=4`
/// exchanges are decoded per `sid`; client A (polling only) sends its 5
/// chats in POSTs and gets the 3 news in held GETs, as the servers logged.
#[test]
fn socketio_polling_bodies_decoded_by_the_stage() {
    let s = seen("samples/push/socketio-polling.pcap", &check_cfg());
    let log: Vec<Value> = fs::read_to_string("samples/push/socketio-polling.log")
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let a = "127.0.0.1:9033";
    for (side, event) in [("client", "chat"), ("server", "news")] {
        let want: Vec<&Value> = log
            .iter()
            .filter(|l| {
                l["host"] == a
                    && l["kind"] == "emit"
                    && l["event"] == event
                    && l["transport"] == "polling"
            })
            .collect();
        assert!(!want.is_empty());
        let got: Vec<&AppRecord> = s
            .apps
            .iter()
            .filter(|r| r.server == a && r.kind == "EVENT" && r.from == side)
            .collect();
        assert_eq!(got.len(), want.len(), "{event}");
        for (r, l) in got.iter().zip(&want) {
            assert_eq!(r.get("event"), Some(&l["event"]));
            assert_eq!(r.get("args"), Some(&json!([{"n": l["n"]}])));
        }
    }
    // One open packet per Engine.IO session (A and B), from polling.
    let opens = s.apps.iter().filter(|r| r.kind == "open").count();
    assert_eq!(opens, 2);
    // B's WebSocket transport continues its polling session: the probe,
    // the upgrade, then its events over WebSocket.
    let b = "127.0.0.2:9033";
    let ws_events = s
        .apps
        .iter()
        .filter(|r| r.server == b && r.kind == "EVENT")
        .count();
    let logged = log
        .iter()
        .filter(|l| l["host"] == b && l["kind"] == "emit")
        .count();
    assert_eq!(ws_events, logged);
    assert!(s.apps.iter().any(|r| r.server == b && r.kind == "upgrade"));
}

/// `--decode-as` (Config::decode_as) picks the decoder where nothing was
/// negotiated, and wins over what was.
#[test]
fn decode_as_overrides_the_negotiated_subprotocol() {
    let negotiated = seen("samples/app/graphql-ws.pcap", &check_cfg());
    let cfg = Config {
        decode_as: Some(Protocol::GraphqlWs),
        ..check_cfg()
    };
    let s = seen("samples/app/graphql-ws.pcap", &cfg);
    // The same messages, read as the legacy protocol.
    assert_eq!(s.apps.len(), negotiated.apps.len());
    assert!(s.apps.iter().all(|r| r.protocol == "graphql-ws"));
    // graphql-transport-ws's `subscribe` is no legacy message type: named.
    assert!(
        s.findings
            .iter()
            .any(|f| f.code == Code::GraphqlProtocolViolation)
    );
}

/// Found by fuzz/app_mqtt: a unit left incomplete when the session ends is
/// reported at the packet of its last bytes, not at packet 0 (packets are
/// numbered from 1; `check` printed "pkt 0").
#[test]
fn truncated_units_are_reported_at_their_last_packet() {
    use wsdissect::app::{Decoder, Msg, Output, Session};
    for (p, bytes) in [
        // PUBLISH announcing 10 bytes, 3 sent.
        (Protocol::Mqtt, &b"\x30\x0a\x00\x01t"[..]),
        // A SEND without its NUL.
        (Protocol::Stomp, &b"SEND\ndestination:/q\n\nbody"[..]),
    ] {
        let mut d = Decoder::new(p, Session::default());
        let mut out = Output::default();
        for packet in [4, 9] {
            let m = Msg {
                from: Dir::Client,
                binary: p == Protocol::Mqtt,
                payload: if packet == 4 { b"" } else { bytes },
                packet,
                ts: 0.0,
            };
            d.message(&m, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out.findings.len(), 1, "{p:?}: {:?}", out.findings);
        assert_eq!(out.findings[0].packet, 9, "{p:?}");
    }
}
