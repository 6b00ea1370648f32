//! STOMP 1.2 over WebSocket, real traffic (issue 16):
//! `samples/app/stomp12.pcap`, RabbitMQ 3.10's Web-STOMP plugin and two
//! npm @stomp/stompjs 7 clients offering only `v12.stomp`
//! (`samples/record/stomp12_record.sh`). Every WebSocket message each
//! client's socket sent and received (`stomp12.log.jsonl`) comes out of
//! `app --format json --payload text` as the STOMP frame it carries, in
//! order, per connection: command, headers unescaped per 1.2 (`\c \n \r
//! \\`, but not in CONNECT/CONNECTED), body by `content-length` or up to
//! the NUL; a bare EOL is a heart-beat. The applications' own view agrees:
//! what stompjs delivered (its parsed headers and body) and what it sent
//! and acked. `check` finds nothing.

use std::collections::BTreeMap;
mod common;

use common::{json_records, jsonl, unhex};

use serde_json::{Map, Value};

const CAP: &str = "samples/app/stomp12.pcap";

/// The reference reading of one logged WebSocket message, straight from
/// the STOMP 1.2 grammar: (command, headers, body); a message of EOLs only
/// is a heart-beat.
fn frame(data: &[u8]) -> (String, Map<String, Value>, String) {
    if data.iter().all(|&b| b == b'\n' || b == b'\r') {
        return ("HEARTBEAT".into(), Map::new(), String::new());
    }
    let text = std::str::from_utf8(data).unwrap();
    let (head, rest) = text.split_once("\n\n").unwrap();
    let mut lines = head.split('\n');
    let cmd = lines.next().unwrap().to_string();
    let escaped = !matches!(cmd.as_str(), "CONNECT" | "STOMP" | "CONNECTED");
    let unesc = |s: &str| {
        if !escaped {
            return s.to_string();
        }
        s.replace("\\\\", "\u{0}")
            .replace("\\c", ":")
            .replace("\\n", "\n")
            .replace("\\r", "\r")
            .replace('\u{0}', "\\")
    };
    let mut headers = Map::new();
    for l in lines {
        let (k, v) = l.split_once(':').unwrap();
        // a repeated header: the first one counts
        headers
            .entry(unesc(k))
            .or_insert_with(|| Value::String(unesc(v)));
    }
    let body = match headers.get("content-length") {
        Some(n) => {
            let n: usize = n.as_str().unwrap().parse().unwrap();
            assert_eq!(rest.as_bytes()[n], 0);
            std::str::from_utf8(&rest.as_bytes()[..n])
                .unwrap()
                .to_string()
        }
        None => rest.split('\0').next().unwrap().to_string(),
    };
    // after the NUL only EOLs (`NUL *(EOL)`)
    let after = &rest[rest.find('\0').unwrap() + 1..];
    assert!(after.bytes().all(|b| b == b'\n' || b == b'\r'), "{text:?}");
    (cmd, headers, body)
}

/// The app records per client name ("sub", "pub"): each connection is
/// told apart by the session its CONNECTED names.
fn records_by_client(recs: &[Value], log: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for l in log.iter().filter(|l| l["side"] == "server") {
        let (cmd, h, _) = frame(&unhex(l["data_hex"].as_str().unwrap()));
        if cmd != "CONNECTED" {
            continue;
        }
        let conn = recs
            .iter()
            .find(|r| r["kind"] == "CONNECTED" && r["headers"]["session"] == h["session"])
            .unwrap()["conn"]
            .clone();
        let mine: Vec<Value> = recs.iter().filter(|r| r["conn"] == conn).cloned().collect();
        out.insert(l["client"].as_str().unwrap().to_string(), mine);
    }
    out
}

#[test]
fn stomp12_rabbitmq_stompjs_every_frame_as_logged() {
    let recs = json_records(&["app", "--format", "json", "--payload", "text", "-q", CAP]);
    let log = jsonl("app/stomp12.log.jsonl");
    assert!(recs.iter().all(|r| r["protocol"] == "stomp"));
    let by_client = records_by_client(&recs, &log);
    assert_eq!(by_client.len(), 2);
    let mut beats = BTreeMap::new();
    for (client, got) in &by_client {
        for side in ["client", "server"] {
            let want: Vec<(String, Map<String, Value>, String)> = log
                .iter()
                .filter(|l| l["client"] == client.as_str() && l["side"] == side)
                .map(|l| frame(&unhex(l["data_hex"].as_str().unwrap())))
                .collect();
            let got: Vec<&Value> = got.iter().filter(|r| r["from"] == side).collect();
            assert!(want.len() >= 4, "{client} {side}");
            assert_eq!(got.len(), want.len(), "{client} {side}");
            for (r, (cmd, headers, body)) in got.iter().zip(&want) {
                assert_eq!(r["kind"], cmd.as_str(), "{client} {side}");
                if cmd == "HEARTBEAT" {
                    *beats.entry(side).or_insert(0) += 1;
                    continue;
                }
                assert_eq!(r["headers"].as_object().unwrap(), headers, "{cmd}");
                assert_eq!(r["body_text"].as_str().unwrap_or(""), body, "{cmd}");
            }
        }
    }
    // heart-beats both ways
    assert!(beats["client"] >= 2 && beats["server"] >= 2, "{beats:?}");
}

/// What the applications saw: stompjs's own parse of each MESSAGE (1.2
/// unescaping included), what the publisher asked to send, and the
/// subscriber's ACK/NACK with the 1.2 `id` header, in order.
#[test]
fn stomp12_applications_agree() {
    let recs = json_records(&["app", "--format", "json", "--payload", "text", "-q", CAP]);
    let log = jsonl("app/stomp12.log.jsonl");
    let by_client = records_by_client(&recs, &log);
    let sub = &by_client["sub"];
    let pub_ = &by_client["pub"];

    let connected: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "CONNECTED").collect();
    assert_eq!(connected.len(), 2);
    assert!(connected.iter().all(|r| r["headers"]["version"] == "1.2"));

    let delivered: Vec<&Value> = log.iter().filter(|l| l["event"] == "message").collect();
    let messages: Vec<&Value> = sub.iter().filter(|r| r["kind"] == "MESSAGE").collect();
    assert!(delivered.len() >= 5);
    assert_eq!(messages.len(), delivered.len());
    for (r, d) in messages.iter().zip(&delivered) {
        assert_eq!(r["headers"], d["headers"]);
        assert_eq!(r["body_text"], d["body"]);
    }

    let sent: Vec<&Value> = log.iter().filter(|l| l["event"] == "send").collect();
    let sends: Vec<&Value> = pub_.iter().filter(|r| r["kind"] == "SEND").collect();
    assert_eq!(sends.len(), sent.len());
    let mut without_length = 0;
    let mut escaped = 0;
    for (r, s) in sends.iter().zip(&sent) {
        assert_eq!(r["headers"]["destination"], s["destination"]);
        assert_eq!(r["body_text"], s["body"]);
        for (k, v) in s["headers"].as_object().unwrap() {
            assert_eq!(&r["headers"][k], v, "{k}");
            if v.as_str().unwrap().contains(['\n', '\r', ':', '\\']) {
                escaped += 1;
            }
        }
        if r["headers"].get("content-length").is_none() {
            without_length += 1;
        }
    }
    // the 1.2 escapes and a body ended by its NUL alone were exercised
    assert!(escaped >= 1 && without_length >= 1);

    let acks: Vec<(&str, &Value)> = log
        .iter()
        .filter(|l| l["event"] == "ack" || l["event"] == "nack")
        .map(|l| (if l["event"] == "ack" { "ACK" } else { "NACK" }, &l["id"]))
        .collect();
    let got: Vec<(&str, &Value)> = sub
        .iter()
        .filter(|r| r["kind"] == "ACK" || r["kind"] == "NACK")
        .map(|r| (r["kind"].as_str().unwrap(), &r["headers"]["id"]))
        .collect();
    assert_eq!(got, acks);
    assert!(got.iter().any(|(k, _)| *k == "NACK"));

    // receipts: the SUBSCRIBE's and a SEND's
    let receipts: Vec<&Value> = log.iter().filter(|l| l["event"] == "receipt").collect();
    let got: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "RECEIPT")
        .map(|r| &r["headers"]["receipt-id"])
        .collect();
    assert_eq!(got.len(), receipts.len());
    for r in receipts {
        assert!(got.contains(&&r["headers"]["receipt-id"]));
    }
}

#[test]
fn stomp12_rabbitmq_stompjs_is_clean() {
    let findings = json_records(&["check", "--format", "json", "-q", CAP]);
    let codes: Vec<&str> = findings
        .iter()
        .filter(|f| f["type"] == "finding")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.is_empty(), "{findings:?}");
    // both STOMP connections were looked at
    let summary = findings.iter().find(|f| f["type"] == "summary").unwrap();
    assert_eq!(summary["connections"], 2);
}
