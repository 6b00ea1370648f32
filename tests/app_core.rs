//! The subprotocol decoders (src/app) on real recordings (samples/app,
//! samples/push/socketio*.pcap): the WebSocket messages come from the
//! library's own reassembly, the decoders are picked by `app::dispatch`
//! from the handshake, and every unit is compared with what the clients
//! logged (samples/record/app_record.sh).

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use wsdissect::app::{self, AppFinding, AppRecord, Decoder, Msg, Output, Session};
use wsdissect::event::Event;
use wsdissect::findings::Dir;
use wsdissect::ws::frame::OpCode;
use wsdissect::{Config, run as analyze};

struct Decoded {
    records: Vec<AppRecord>,
    findings: Vec<AppFinding>,
    /// Connections the dispatch gave a decoder, with the protocol.
    protocols: BTreeMap<u64, &'static str>,
}

fn decode(path: &str) -> Decoded {
    let bytes = fs::read(path).unwrap();
    let mut decoders: HashMap<u64, Decoder> = HashMap::new();
    let mut out = Output::default();
    let mut protocols = BTreeMap::new();
    analyze(
        &bytes[..],
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::Handshake(c, hs) => {
                if let Some(p) = app::dispatch(hs.subprotocol.as_deref(), Some(&hs.path), None) {
                    protocols.insert(c.conn, p.as_str());
                    let s = Session {
                        conn: c.conn,
                        client: c.client.to_string(),
                        server: c.server.to_string(),
                        stream: None,
                    };
                    decoders.insert(c.conn, Decoder::new(p, s));
                }
            }
            Event::Message(m) => {
                if let Some(d) = decoders.get_mut(&m.session.conn)
                    && matches!(m.opcode, OpCode::Text | OpCode::Binary)
                {
                    assert!(m.data_complete, "message truncated in {path}");
                    let msg = Msg {
                        from: m.from,
                        binary: m.opcode == OpCode::Binary,
                        payload: m.data,
                        packet: m.last_packet,
                        ts: m.last_ts,
                    };
                    d.message(&msg, &mut out);
                }
            }
            Event::ConnEnd(s) => {
                if let Some(d) = decoders.get_mut(&s.session.conn) {
                    d.finish(&mut out);
                }
            }
            _ => {}
        },
    )
    .unwrap();
    Decoded {
        records: out.records,
        findings: out.findings,
        protocols,
    }
}

fn lines(path: &str) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn payload_hex(r: &AppRecord) -> String {
    if let Some(t) = r.get("payload_text").and_then(Value::as_str) {
        hexs(t.as_bytes())
    } else {
        r.get("payload_hex")
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    }
}

/// paho's "(d0, q1, r0, m3)" of a PUBLISH log line.
fn paho_publish_flags(line: &str) -> Option<(u64, u64, u64, u64)> {
    let i = line.find("(d")?;
    let inner = &line[i + 1..i + line[i..].find(')')?];
    let v: Vec<u64> = inner.split(", ").map(|p| p[1..].parse().unwrap()).collect();
    Some((v[0], v[1], v[2], v[3]))
}

fn check_mqtt(name: &str, level: u64) {
    let d = decode(&format!("samples/app/{name}.pcap"));
    let log = lines(&format!("samples/app/{name}.log.jsonl"));
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert_eq!(d.protocols.len(), 2);
    assert!(d.protocols.values().all(|p| *p == "mqtt"));
    let clients: Vec<String> = {
        let mut v: Vec<String> = log
            .iter()
            .map(|l| l["client"].as_str().unwrap().to_string())
            .collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(clients.len(), 2);
    let mut publishes_checked = 0;
    for client in &clients {
        // The connection whose CONNECT carries this client id.
        let conn = d
            .records
            .iter()
            .find(|r| r.kind == "CONNECT" && r.get("client_id") == Some(&json!(client)))
            .map(|r| r.conn)
            .unwrap_or_else(|| panic!("no CONNECT of {client}"));
        let connect = d.records.iter().find(|r| r.conn == conn).unwrap();
        assert_eq!(connect.kind, "CONNECT");
        assert_eq!(connect.get("protocol_level"), Some(&json!(level)));
        let mine: Vec<&Value> = log
            .iter()
            .filter(|l| l["client"] == json!(client))
            .collect();
        for (dir, verb) in [(Dir::Client, "Sending "), (Dir::Server, "Received ")] {
            // paho's own log of each packet, in order.
            let logged: Vec<&str> = mine
                .iter()
                .filter(|l| l["event"] == "log")
                .filter_map(|l| l["line"].as_str()?.strip_prefix(verb))
                .collect();
            let decoded: Vec<&AppRecord> = d
                .records
                .iter()
                .filter(|r| r.conn == conn && r.from == dir.as_str())
                .collect();
            let kinds: Vec<&str> = decoded.iter().map(|r| r.kind.as_str()).collect();
            let want: Vec<&str> = logged
                .iter()
                .map(|l| l.split([' ', '(']).next().unwrap())
                .collect();
            assert_eq!(kinds, want, "{client} {dir:?}");
            for (r, l) in decoded.iter().zip(&logged) {
                if r.kind == "PUBLISH" {
                    let (dup, qos, retain, mid) = paho_publish_flags(l).unwrap();
                    assert_eq!(r.get("dup"), Some(&json!(dup == 1)), "{l}");
                    assert_eq!(r.get("qos"), Some(&json!(qos)), "{l}");
                    assert_eq!(r.get("retain"), Some(&json!(retain == 1)), "{l}");
                    if qos > 0 {
                        assert_eq!(r.get("packet_id"), Some(&json!(mid)), "{l}");
                    } else {
                        assert_eq!(r.get("packet_id"), None);
                    }
                } else if let Some(mid) = l.strip_suffix(')').and_then(|l| l.split("(Mid: ").nth(1))
                {
                    assert_eq!(
                        r.get("packet_id"),
                        Some(&json!(mid.parse::<u64>().unwrap())),
                        "{l}"
                    );
                }
            }
            // What the application published / received, with payloads.
            let event = if dir == Dir::Client {
                "publish"
            } else {
                "message"
            };
            let app: Vec<&&Value> = mine.iter().filter(|l| l["event"] == event).collect();
            let pubs: Vec<&&AppRecord> = decoded.iter().filter(|r| r.kind == "PUBLISH").collect();
            assert_eq!(pubs.len(), app.len(), "{client} {event}");
            // paho logs a publish after its acknowledgement: match by mid
            // for QoS>0, by order otherwise.
            for a in &app {
                let r = pubs
                    .iter()
                    .find(|r| {
                        r.get("topic") == Some(&a["topic"])
                            && payload_hex(r) == a["payload_hex"].as_str().unwrap()
                            && (a["qos"] == 0 || r.get("packet_id") == Some(&a["mid"]))
                    })
                    .unwrap_or_else(|| panic!("{client}: no PUBLISH for {a}"));
                assert_eq!(r.get("qos"), Some(&a["qos"]));
                assert_eq!(r.get("retain"), Some(&a["retain"]));
                let props = &a["properties"];
                if let Some(ct) = props.get("ContentType") {
                    let p = r.get("properties").unwrap();
                    assert_eq!(p["content_type"], *ct);
                    assert_eq!(p["message_expiry_interval"], props["MessageExpiryInterval"]);
                    assert_eq!(p["user_properties"], props["UserProperty"]);
                }
                publishes_checked += 1;
            }
        }
        // Binary payloads come out as hex, text as text.
        for r in d
            .records
            .iter()
            .filter(|r| r.conn == conn && r.kind == "PUBLISH")
        {
            let bin = r.get("topic") == Some(&json!("wsd/data/bin"));
            assert_eq!(r.get("payload_hex").is_some(), bin);
        }
    }
    assert!(publishes_checked >= 12, "{publishes_checked}");
    // Keep-alive pings and the acks of each QoS are there.
    for k in [
        "PINGREQ",
        "PINGRESP",
        "PUBACK",
        "PUBREC",
        "PUBREL",
        "PUBCOMP",
        "SUBSCRIBE",
        "SUBACK",
        "UNSUBSCRIBE",
        "UNSUBACK",
        "DISCONNECT",
        "CONNACK",
    ] {
        assert!(d.records.iter().any(|r| r.kind == k), "no {k}");
    }
}

#[test]
fn mqtt311_paho_mosquitto_every_packet_as_logged() {
    check_mqtt("mqtt311", 4);
}

#[test]
fn mqtt5_paho_mosquitto_every_packet_as_logged() {
    check_mqtt("mqtt5", 5);
    let d = decode("samples/app/mqtt5.pcap");
    let sub = d.records.iter().find(|r| r.kind == "SUBSCRIBE").unwrap();
    let subs = sub.get("subscriptions").unwrap();
    assert_eq!(subs[1]["topic"], "wsd/data/#");
    assert_eq!(subs[1]["qos"], 2);
    assert_eq!(subs[1]["no_local"], true);
    assert_eq!(subs[1]["retain_as_published"], true);
}

#[test]
fn graphql_ws_every_message_as_logged() {
    let d = decode("samples/app/graphql-ws.pcap");
    let log = lines("samples/app/graphql-ws.log.jsonl");
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert_eq!(
        d.protocols.values().collect::<Vec<_>>(),
        vec![&"graphql-transport-ws"]
    );
    for side in ["client", "server"] {
        let want: Vec<Value> = log
            .iter()
            .filter(|l| l["side"] == side)
            .map(|l| {
                let b: Vec<u8> = (0..l["data_hex"].as_str().unwrap().len() / 2)
                    .map(|i| {
                        u8::from_str_radix(&l["data_hex"].as_str().unwrap()[2 * i..2 * i + 2], 16)
                            .unwrap()
                    })
                    .collect();
                serde_json::from_slice(&b).unwrap()
            })
            .collect();
        let got: Vec<&AppRecord> = d.records.iter().filter(|r| r.from == side).collect();
        assert_eq!(got.len(), want.len(), "{side}");
        for (r, w) in got.iter().zip(&want) {
            assert_eq!(r.kind, w["type"].as_str().unwrap());
            assert_eq!(r.get("id"), w.get("id"));
            assert_eq!(r.get("payload"), w.get("payload"));
            if r.kind == "subscribe" {
                // The recorder's operations: the name from operationName,
                // else from the query text, else none.
                let q = w["payload"]["query"].as_str().unwrap();
                let expect = match q {
                    q if q.starts_with("subscription Countdown") => Some("Countdown"),
                    q if q.starts_with("query Hello") => Some("Hello"),
                    q if q.starts_with("query Broken") => Some("Broken"),
                    _ => None,
                };
                assert_eq!(
                    r.get("operation_name").and_then(Value::as_str),
                    expect,
                    "{q}"
                );
            }
        }
    }
}

#[test]
fn socketio_namespace_acks_and_binary_attachments_as_logged() {
    let d = decode("samples/app/socketio-app.pcap");
    let log = lines("samples/app/socketio-app.log.jsonl");
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    assert_eq!(d.protocols.values().collect::<Vec<_>>(), vec![&"socketio"]);
    let got: Vec<&AppRecord> = d
        .records
        .iter()
        .filter(|r| {
            matches!(
                r.kind.as_str(),
                "EVENT" | "BINARY_EVENT" | "ACK" | "BINARY_ACK"
            )
        })
        .collect();
    assert_eq!(got.len(), log.len());
    for (r, l) in got.iter().zip(&log) {
        assert_eq!(r.from, l["side"].as_str().unwrap(), "{l}");
        assert_eq!(r.get("namespace"), Some(&l["namespace"]), "{l}");
        assert_eq!(r.get("args"), Some(&l["args"]), "{l}");
        if l["kind"] == "ack" {
            assert!(r.kind.ends_with("ACK"), "{l}");
            assert!(r.get("ack_id").is_some());
        } else {
            assert!(r.kind.ends_with("EVENT"), "{l}");
            assert_eq!(r.get("event"), Some(&l["event"]), "{l}");
        }
    }
    // The acked emit carries the id the ACK answers.
    let hello = got
        .iter()
        .find(|r| r.get("event") == Some(&json!("hello")))
        .unwrap();
    let ack = got.iter().find(|r| r.kind == "ACK").unwrap();
    assert_eq!(hello.get("ack_id"), ack.get("ack_id"));
    // Engine.IO open, Socket.IO CONNECT per namespace.
    assert_eq!(d.records[0].kind, "open");
    assert!(d.records[0].get("sid").is_some());
    let connects = d.records.iter().filter(|r| r.kind == "CONNECT").count();
    assert_eq!(connects, 4);
}

#[test]
fn socketio_push_samples_events_as_logged() {
    // socketio.pcap: the server's 4 "news" events after the upgrade.
    let d = decode("samples/push/socketio.pcap");
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    let log = lines("samples/push/socketio.log");
    let got: Vec<&AppRecord> = d.records.iter().filter(|r| r.kind == "EVENT").collect();
    assert_eq!(got.len(), log.len());
    for (r, l) in got.iter().zip(&log) {
        assert_eq!(r.from, "server");
        assert_eq!(r.get("event"), Some(&l["event"]));
        assert_eq!(r.get("args"), Some(&json!([{"n": l["n"]}])));
    }
    let kinds: Vec<&str> = d.records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(&kinds[..3], ["ping", "pong", "upgrade"]);
    assert_eq!(d.records[0].get("data"), Some(&json!("probe")));

    // socketio-polling.pcap: client B's WebSocket chats and news.
    let d = decode("samples/push/socketio-polling.pcap");
    assert!(d.findings.is_empty(), "{:?}", d.findings);
    let log = lines("samples/push/socketio-polling.log");
    for (side, kind, event) in [("client", "emit", "chat"), ("server", "emit", "news")] {
        let want: Vec<&Value> = log
            .iter()
            .filter(|l| l["transport"] == "websocket" && l["kind"] == kind && l["event"] == event)
            .collect();
        let got: Vec<&AppRecord> = d
            .records
            .iter()
            .filter(|r| r.kind == "EVENT" && r.from == side)
            .collect();
        assert_eq!(got.len(), want.len(), "{event}");
        for (r, l) in got.iter().zip(&want) {
            assert_eq!(r.get("event"), Some(&l["event"]));
            assert_eq!(r.get("args"), Some(&json!([{"n": l["n"]}])));
        }
    }
}

#[test]
fn records_serialise_to_the_design_app_record() {
    let d = decode("samples/app/mqtt311.pcap");
    let r = d.records.iter().find(|r| r.kind == "PUBLISH").unwrap();
    let v: Value = serde_json::to_value(r).unwrap();
    for k in [
        "type", "protocol", "conn", "client", "server", "stream", "from", "packet", "ts", "kind",
        "topic", "qos", "retain", "dup",
    ] {
        assert!(v.get(k).is_some(), "no {k} in {v}");
    }
    assert_eq!(v["type"], "app");
    assert_eq!(v["protocol"], "mqtt");
    assert!(v["stream"].is_null());
    assert!(v["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(v["packet"].as_u64().unwrap() > 0);
}

/// stomp-broker-js + @stomp/stompjs: every frame and heart-beat each client
/// logged, in order. One real defect of the broker: it writes
/// `content-length` in UTF-16 code units, so the MESSAGE relaying a
/// non-ASCII body declares fewer bytes than it carries, and the byte after
/// the declared body is not the NUL: exactly that frame is
/// `stomp.malformed`, and the frames after it decode.
#[test]
fn stomp_broker_and_stompjs_every_frame_as_logged() {
    let d = decode("samples/app/stomp.pcap");
    let log = lines("samples/app/stomp.log.jsonl");
    assert!(d.protocols.values().all(|p| *p == "stomp"));
    assert_eq!(d.protocols.len(), 2);
    let sub_conn = d
        .records
        .iter()
        .find(|r| r.kind == "SUBSCRIBE")
        .unwrap()
        .conn;
    let pub_conn = *d.protocols.keys().find(|c| **c != sub_conn).unwrap();
    let mut bad_frames = 0;
    let mut wire_messages: Vec<String> = Vec::new();
    for (name, conn) in [("sub", sub_conn), ("pub", pub_conn)] {
        for side in ["client", "server"] {
            let mut want: Vec<String> = Vec::new();
            for l in log
                .iter()
                .filter(|l| l["client"] == name && l["side"] == side)
            {
                let hex = l["data_hex"].as_str().unwrap();
                let b: Vec<u8> = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                if b == b"\n" || b == b"\r\n" {
                    want.push("HEARTBEAT".into());
                    continue;
                }
                let text = String::from_utf8(b.clone()).unwrap();
                let (head, body) = text.split_once("\n\n").unwrap();
                let body = body.strip_suffix('\0').unwrap();
                let declared = head
                    .lines()
                    .find_map(|h| h.strip_prefix("content-length:"))
                    .map(|n| n.parse::<usize>().unwrap());
                if declared.is_some_and(|n| n != body.len()) {
                    bad_frames += 1;
                    continue; // reported, not decoded
                }
                let cmd = head.lines().next().unwrap();
                if cmd == "MESSAGE" {
                    wire_messages.push(body.to_string());
                }
                want.push(cmd.to_string());
            }
            let got: Vec<&str> = d
                .records
                .iter()
                .filter(|r| r.conn == conn && r.from == side)
                .map(|r| r.kind.as_str())
                .collect();
            assert_eq!(got, want, "{name} {side}");
        }
    }
    assert_eq!(d.findings.len(), 1, "{:?}", d.findings);
    assert_eq!(bad_frames, 1);
    assert_eq!(d.findings[0].code.as_str(), "stomp.malformed");
    assert_eq!(d.findings[0].from, Dir::Server);
    // SENDs: destination, headers and body as the publisher sent them.
    let sends: Vec<&Value> = log.iter().filter(|l| l["event"] == "send").collect();
    let got: Vec<&AppRecord> = d.records.iter().filter(|r| r.kind == "SEND").collect();
    assert_eq!(got.len(), sends.len());
    for (r, s) in got.iter().zip(&sends) {
        let h = r.get("headers").unwrap();
        assert_eq!(h["destination"], s["destination"]);
        for (k, v) in s["headers"].as_object().unwrap() {
            assert_eq!(&h[k], v);
        }
        assert_eq!(r.get("body_text"), Some(&s["body"]));
    }
    // MESSAGEs: the well-formed ones on the wire, bodies included (stompjs
    // itself delivered the broken one cut short and lost the frame after
    // it, so its own log is no reference past that point).
    let got: Vec<&Value> = d
        .records
        .iter()
        .filter(|r| r.kind == "MESSAGE")
        .map(|r| r.get("body_text").unwrap())
        .collect();
    assert_eq!(
        got,
        wire_messages
            .iter()
            .map(|b| json!(b))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(wire_messages.len(), 2);
    let first = log.iter().find(|l| l["event"] == "message").unwrap();
    assert_eq!(got[0], &first["body"]);
}

/// Engine.IO's polling transport, as the wiring will feed it: each HTTP
/// body of a `/socket.io/?EIO=4` exchange to `Decoder::polling_body`, one
/// decoder per Engine.IO session (`sid`). Client A of
/// socketio-polling.pcap polls only: its 5 chats go up in POSTs, the
/// server's 3 news come down in held GETs.
#[test]
fn socketio_polling_bodies_decoded_per_sid_as_logged() {
    use wsdissect::event::SessionRef;
    let bytes = fs::read("samples/push/socketio-polling.pcap").unwrap();
    let mut by_sid: HashMap<String, Decoder> = HashMap::new();
    // Per connection: the sids of the requests awaiting their response.
    let mut waiting: HashMap<u64, std::collections::VecDeque<Option<String>>> = HashMap::new();
    let mut body: HashMap<(u64, Dir), (Vec<u8>, Option<String>)> = HashMap::new();
    let mut out = Output::default();
    let session = |c: &SessionRef| Session {
        conn: c.conn,
        client: c.client.to_string(),
        server: c.server.to_string(),
        stream: None,
    };
    analyze(
        &bytes[..],
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::HttpHead(h) => {
                let key = (h.session.conn, h.from);
                if h.from == Dir::Client {
                    let path = h.head.path.clone().unwrap_or_default();
                    if app::dispatch(None, Some(&path), None) == Some(app::Protocol::SocketIo)
                        && !path.contains("transport=websocket")
                    {
                        let sid = path
                            .split(['?', '&'])
                            .find_map(|kv| kv.strip_prefix("sid="))
                            .map(str::to_string);
                        waiting
                            .entry(h.session.conn)
                            .or_default()
                            .push_back(sid.clone());
                        body.insert(key, (Vec::new(), sid));
                    }
                } else if let Some(sid) =
                    waiting.get_mut(&h.session.conn).and_then(|q| q.pop_front())
                {
                    body.insert(key, (Vec::new(), sid));
                }
            }
            Event::HttpBody(b) => {
                if let Some((buf, _)) = body.get_mut(&(b.session.conn, b.from)) {
                    buf.extend_from_slice(b.bytes);
                }
            }
            Event::HttpEnd(e) => {
                let Some((buf, sid)) = body.remove(&(e.session.conn, e.from)) else {
                    return;
                };
                if buf.is_empty() || buf == b"ok" {
                    return; // a POST's answer
                }
                let m = Msg {
                    from: e.from,
                    binary: false,
                    payload: &buf,
                    packet: e.packet,
                    ts: e.ts,
                };
                match sid {
                    Some(sid) => {
                        let d = by_sid.entry(sid).or_insert_with(|| {
                            Decoder::new(app::Protocol::SocketIo, session(&e.session))
                        });
                        d.polling_body(&m, &mut out);
                    }
                    None => {
                        // The handshake: its open packet names the sid.
                        let mut d = Decoder::new(app::Protocol::SocketIo, session(&e.session));
                        let before = out.records.len();
                        d.polling_body(&m, &mut out);
                        let sid = out.records[before..]
                            .iter()
                            .find_map(|r| r.get("sid")?.as_str().map(str::to_string))
                            .unwrap();
                        by_sid.insert(sid, d);
                    }
                }
            }
            _ => {}
        },
    )
    .unwrap();
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert_eq!(by_sid.len(), 2, "clients A and B");
    let log = lines("samples/push/socketio-polling.log");
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
        let got: Vec<&AppRecord> = out
            .records
            .iter()
            .filter(|r| r.server == a && r.kind == "EVENT" && r.from == side)
            .collect();
        assert_eq!(got.len(), want.len(), "{event}");
        assert!(!want.is_empty());
        for (r, l) in got.iter().zip(&want) {
            assert_eq!(r.get("event"), Some(&l["event"]));
            assert_eq!(r.get("args"), Some(&json!([{"n": l["n"]}])));
        }
    }
    // Each session opened with the open packet, then its namespace CONNECT.
    for r in out.records.iter().filter(|r| r.kind == "open") {
        assert!(r.get("payload").unwrap()["pingInterval"].is_u64());
    }
    // Both clients POST their namespace CONNECT and poll the answer.
    for srv in [a, "127.0.0.2:9033"] {
        for side in ["client", "server"] {
            let n = out
                .records
                .iter()
                .filter(|r| r.server == srv && r.kind == "CONNECT" && r.from == side)
                .count();
            assert_eq!(n, 1, "{srv} {side}");
        }
    }
}

mod robustness {
    use super::*;
    use proptest::prelude::*;
    use wsdissect::app::Protocol;

    const ALL: [Protocol; 5] = [
        Protocol::Mqtt,
        Protocol::Stomp,
        Protocol::SocketIo,
        Protocol::GraphqlWs,
        Protocol::GraphqlTransportWs,
    ];

    /// The data messages of one direction of a sample's connections.
    fn stream(path: &str, from: Dir) -> Vec<Vec<u8>> {
        let bytes = fs::read(path).unwrap();
        let mut v = Vec::new();
        analyze(&bytes[..], &Config::default(), &mut |ev: Event<'_>| {
            if let Event::Message(m) = ev
                && m.from == from
                && m.session.conn == 0
                && matches!(m.opcode, OpCode::Text | OpCode::Binary)
            {
                v.push(m.data.to_vec());
            }
        })
        .unwrap();
        v
    }

    fn feed(p: Protocol, from: Dir, msgs: &[&[u8]]) -> Output {
        let mut d = Decoder::new(p, Session::default());
        let mut out = Output::default();
        for (i, b) in msgs.iter().enumerate() {
            let m = Msg {
                from,
                binary: i % 2 == 0,
                payload: b,
                packet: i as u64 + 1,
                ts: 0.0,
            };
            d.message(&m, &mut out);
        }
        d.finish(&mut out);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes, any protocol, either side: records and findings,
        /// never a panic.
        #[test]
        fn arbitrary_messages_never_panic(
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            p in 0usize..5,
            client in any::<bool>(),
        ) {
            let from = if client { Dir::Client } else { Dir::Server };
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let _ = feed(ALL[p], from, &refs);
        }

        /// Real traffic with bytes overwritten: deep into every decoder's
        /// paths, never a panic.
        #[test]
        fn mutated_real_messages_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            which in 0usize..4,
        ) {
            let (path, p, from) = [
                ("samples/app/mqtt5.pcap", Protocol::Mqtt, Dir::Server),
                ("samples/app/stomp.pcap", Protocol::Stomp, Dir::Client),
                ("samples/app/socketio-app.pcap", Protocol::SocketIo, Dir::Server),
                ("samples/app/graphql-ws.pcap", Protocol::GraphqlTransportWs, Dir::Client),
            ][which];
            let mut msgs = stream(path, from);
            for (at, b) in &edits {
                let i = at % msgs.len();
                if !msgs[i].is_empty() {
                    let n = msgs[i].len();
                    msgs[i][at / 7 % n] = *b;
                }
            }
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let _ = feed(p, from, &refs);
        }

        /// MQTT and STOMP reassemble across messages: the real client
        /// streams cut anywhere decode to the same units.
        #[test]
        fn real_streams_cut_anywhere_decode_the_same(cuts in proptest::collection::vec(1usize..2000, 1..40)) {
            for (path, p) in [("samples/app/mqtt5.pcap", Protocol::Mqtt), ("samples/app/stomp.pcap", Protocol::Stomp)] {
                let msgs = stream(path, Dir::Client);
                let whole: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
                let want = feed(p, Dir::Client, &whole);
                let all: Vec<u8> = msgs.concat();
                let mut pieces: Vec<&[u8]> = Vec::new();
                let mut at = 0;
                for c in cuts.iter().cycle() {
                    if at >= all.len() {
                        break;
                    }
                    let end = (at + c).min(all.len());
                    pieces.push(&all[at..end]);
                    at = end;
                }
                let got = feed(p, Dir::Client, &pieces);
                prop_assert!(got.findings.is_empty(), "{:?}", got.findings);
                // Heart-beats are lone EOLs: cut up, an EOL right after a
                // frame's NUL is the frame's own (`NUL *(EOL)`), so STOMP
                // compares its frames only.
                let key = |o: &Output| -> Vec<(String, Value)> {
                    o.records
                        .iter()
                        .filter(|r| r.kind != "HEARTBEAT")
                        .map(|r| (r.kind.clone(), Value::Object(r.fields.clone())))
                        .collect()
                };
                prop_assert_eq!(key(&want), key(&got));
            }
        }
    }
}
