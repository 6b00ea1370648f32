//! `messages --format har` over the real bundled captures: the document
//! meets HAR 1.2's required fields (checked from the spec), its
//! `_webSocketMessages` are the `messages --format json` records one by
//! one, and its HTTP entries are the requests `push` counts.

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use common::{bin, sample};
use serde_json::Value;

/// Real captures: WebSocket over HTTP/1.1 (plain, deflate, concurrent),
/// over HTTP/2, over decrypted TLS, and plain HTTP push traffic.
const CAPTURES: &[(&str, Option<&str>)] = &[
    ("python-echo.pcap", None),
    ("aiohttp-concurrent.pcap", None),
    ("deflate/aiohttp.pcap", None),
    ("deflate/node-deflate.pcap", None),
    ("h2/h2-ws.pcap", None),
    ("push/chromium-poll.pcap", None),
    ("push/chromium-sse.pcap", None),
    (
        "tls/chromium-wss-deflate.pcap",
        Some("tls/chromium-wss-deflate.keys"),
    ),
];

fn run(args: &[&str], capture: &str, keys: Option<&str>) -> Vec<u8> {
    let mut cmd = bin();
    cmd.args(args).env_remove("SSLKEYLOGFILE");
    if let Some(k) = keys {
        cmd.arg("--keylog").arg(sample(k));
    }
    let out = cmd.arg(sample(capture)).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} {capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn har(capture: &str, keys: Option<&str>) -> Value {
    let out = run(&["messages", "--format", "har"], capture, keys);
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{capture}: not JSON: {e}"))
}

fn has(v: &Value, path: &str, key: &str, pred: fn(&Value) -> bool) {
    let m = v
        .get(key)
        .unwrap_or_else(|| panic!("{path}: required member {key} missing"));
    assert!(pred(m), "{path}.{key}: wrong type: {m}");
}

fn num(v: &Value) -> bool {
    v.is_number()
}
fn string(v: &Value) -> bool {
    v.is_string()
}
fn array(v: &Value) -> bool {
    v.is_array()
}
fn object(v: &Value) -> bool {
    v.is_object()
}

fn name_values(v: &Value, path: &str) {
    for (i, nv) in v.as_array().unwrap().iter().enumerate() {
        has(nv, &format!("{path}[{i}]"), "name", string);
        has(nv, &format!("{path}[{i}]"), "value", string);
    }
}

/// HAR 1.2 (softwareishard.com/blog/har-12-spec): the required members of
/// log, creator, entries, request, response, content, cache and timings.
fn check_har_1_2(doc: &Value, capture: &str) {
    let log = doc
        .get("log")
        .unwrap_or_else(|| panic!("{capture}: no log"));
    assert_eq!(log["version"], "1.2", "{capture}");
    has(log, "log", "creator", object);
    has(&log["creator"], "log.creator", "name", string);
    has(&log["creator"], "log.creator", "version", string);
    has(log, "log", "entries", array);
    // ISO 8601: YYYY-MM-DDThh:mm:ss(.s+)?(Z|±hh:mm)
    let iso =
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$").unwrap();
    for (i, e) in log["entries"].as_array().unwrap().iter().enumerate() {
        let p = format!("{capture}: entries[{i}]");
        has(e, &p, "startedDateTime", string);
        let t = e["startedDateTime"].as_str().unwrap();
        assert!(iso.is_match(t), "{p}: startedDateTime {t}");
        has(e, &p, "time", num);
        has(e, &p, "cache", object);
        has(e, &p, "timings", object);
        for k in ["send", "wait", "receive"] {
            has(&e["timings"], &format!("{p}.timings"), k, num);
            assert!(e["timings"][k].as_f64().unwrap() >= -1.0);
        }
        for k in ["blocked", "dns", "connect", "ssl"] {
            if let Some(v) = e["timings"].get(k) {
                assert!(v.as_f64().unwrap() >= -1.0, "{p}.timings.{k}");
            }
        }
        let req = &e["request"];
        let rp = format!("{p}.request");
        for k in ["method", "url", "httpVersion"] {
            has(req, &rp, k, string);
        }
        for k in ["cookies", "headers", "queryString"] {
            has(req, &rp, k, array);
        }
        name_values(&req["headers"], &format!("{rp}.headers"));
        name_values(&req["queryString"], &format!("{rp}.queryString"));
        name_values(&req["cookies"], &format!("{rp}.cookies"));
        has(req, &rp, "headersSize", num);
        has(req, &rp, "bodySize", num);
        if let Some(pd) = req.get("postData") {
            has(pd, &format!("{rp}.postData"), "mimeType", string);
        }
        let res = &e["response"];
        let sp = format!("{p}.response");
        has(res, &sp, "status", num);
        for k in ["statusText", "httpVersion", "redirectURL"] {
            has(res, &sp, k, string);
        }
        for k in ["cookies", "headers"] {
            has(res, &sp, k, array);
        }
        name_values(&res["headers"], &format!("{sp}.headers"));
        has(res, &sp, "content", object);
        has(&res["content"], &format!("{sp}.content"), "size", num);
        has(
            &res["content"],
            &format!("{sp}.content"),
            "mimeType",
            string,
        );
        if let Some(enc) = res["content"].get("encoding") {
            assert_eq!(enc, "base64", "{sp}.content.encoding");
            let text = res["content"]["text"].as_str().unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|_| panic!("{sp}.content.text is not base64"));
        }
        has(res, &sp, "headersSize", num);
        has(res, &sp, "bodySize", num);
        if let Some(msgs) = e.get("_webSocketMessages") {
            for (j, m) in msgs.as_array().unwrap().iter().enumerate() {
                let mp = format!("{p}._webSocketMessages[{j}]");
                has(m, &mp, "type", string);
                assert!(m["type"] == "send" || m["type"] == "receive", "{mp}");
                has(m, &mp, "time", num);
                has(m, &mp, "opcode", num);
                has(m, &mp, "data", string);
            }
        }
    }
}

#[test]
fn har_meets_the_har_1_2_required_fields() {
    for (c, k) in CAPTURES {
        let doc = har(c, *k);
        check_har_1_2(&doc, c);
        assert_eq!(doc["log"]["creator"]["name"], "wsdissect");
        assert!(
            !doc["log"]["entries"].as_array().unwrap().is_empty(),
            "{c}: no entries"
        );
    }
}

/// (conn, stream) -> the session's messages as (send, opcode, bytes, time).
type Msgs = BTreeMap<(u64, Option<u64>), Vec<(bool, u64, Vec<u8>, f64)>>;

#[test]
fn websocket_messages_are_the_messages_records_one_by_one() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut total = 0;
    for (c, k) in CAPTURES {
        let json = run(
            &["messages", "--format", "json", "--payload", "base64"],
            c,
            *k,
        );
        let mut want: Msgs = BTreeMap::new();
        for l in String::from_utf8_lossy(&json).lines() {
            let r: Value = serde_json::from_str(l).unwrap();
            let key = (r["conn"].as_u64().unwrap(), r["stream"].as_u64());
            let data = b64.decode(r["data_base64"].as_str().unwrap()).unwrap();
            want.entry(key).or_default().push((
                r["from"] == "client",
                r["opcode"].as_u64().unwrap(),
                data,
                r["ts"].as_f64().unwrap(),
            ));
        }
        let doc = har(c, *k);
        let mut got: Msgs = BTreeMap::new();
        for e in doc["log"]["entries"].as_array().unwrap() {
            let Some(msgs) = e.get("_webSocketMessages") else {
                continue;
            };
            assert_eq!(e["_resourceType"], "websocket", "{c}");
            let conn: u64 = e["connection"].as_str().unwrap().parse().unwrap();
            let url = e["request"]["url"].as_str().unwrap();
            assert!(
                url.starts_with("ws://") || url.starts_with("wss://"),
                "{c}: {url}"
            );
            // The stream is not a HAR field: sessions of one connection in order.
            let stream = if e["response"]["httpVersion"] == "http/2.0" {
                want.keys()
                    .filter(|(cn, s)| *cn == conn && s.is_some())
                    .map(|k| k.1)
                    .find(|s| !got.contains_key(&(conn, *s)))
                    .flatten()
            } else {
                None
            };
            let list = got.entry((conn, stream)).or_default();
            for m in msgs.as_array().unwrap() {
                let op = m["opcode"].as_u64().unwrap();
                let data = m["data"].as_str().unwrap();
                let bytes = match op {
                    1 => data.as_bytes().to_vec(),
                    // DevTools: a binary message's data is base64.
                    _ => b64.decode(data).unwrap(),
                };
                list.push((m["type"] == "send", op, bytes, m["time"].as_f64().unwrap()));
            }
        }
        assert_eq!(got.len(), want.len(), "{c}: sessions");
        for (key, w) in &want {
            let g = &got[key];
            assert_eq!(g.len(), w.len(), "{c} {key:?}: message count");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_eq!(
                    (g.0, g.1, &g.2),
                    (w.0, w.1, &w.2),
                    "{c} {key:?} message {i}"
                );
                assert!((g.3 - w.3).abs() < 1e-6, "{c} {key:?} message {i}: time");
            }
            total += w.len();
        }
    }
    assert!(total > 50, "only {total} messages compared");
}

#[test]
fn http_entries_are_the_exchanges_push_counts() {
    for (c, k) in CAPTURES {
        let out = run(&["push", "--format", "json"], c, *k);
        let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
        for l in String::from_utf8_lossy(&out).lines() {
            let r: Value = serde_json::from_str(l).unwrap();
            if r["type"] != "push" {
                continue;
            }
            let key = (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            );
            *want.entry(key).or_default() += r["requests"].as_u64().unwrap();
        }
        let doc = har(c, *k);
        let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
        for e in doc["log"]["entries"].as_array().unwrap() {
            let url = e["request"]["url"].as_str().unwrap();
            let after_scheme = url.split_once("://").unwrap().1;
            let path = &after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..];
            let path = path.split(['?', '#']).next().unwrap().to_string();
            let method = e["request"]["method"].as_str().unwrap().to_string();
            *got.entry((method, path)).or_default() += 1;
            // Every request push paired has its response in the capture.
            assert!(
                e["response"]["status"].as_u64().unwrap() >= 100,
                "{c}: {url}"
            );
        }
        assert_eq!(got, want, "{c}");
    }
}

#[test]
fn har_only_for_messages() {
    for cmd in ["frames", "conns", "push"] {
        let out = bin()
            .args([cmd, "--format", "har"])
            .arg(sample("python-echo.pcap"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}");
    }
}

/// The JSON type of a value, as a name.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every member `reference` has (but its tool's own `_` extensions and the
/// optional `pageref`), `ours` has too, with the same JSON type; objects
/// compared member by member, arrays by their first elements.
fn same_shape(reference: &Value, ours: &Value, path: &str) {
    match (reference, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                // Chromium's extensions that DevTools reads back: the messages,
                // and the resource type of a WebSocket (other types we cannot tell).
                let extension = k.starts_with('_')
                    && k != "_webSocketMessages"
                    && !(k == "_resourceType" && rv == "websocket");
                // HAR 1.2 optional members left out when unknown: `compression`
                // (bodies are kept as sent, not decoded from Content-Encoding).
                if extension || ["pageref", "pages", "compression"].contains(&k.as_str()) {
                    continue;
                }
                let ov = o
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k}: Chromium writes it, we do not"));
                assert_eq!(kind(rv), kind(ov), "{path}.{k}: {rv} vs {ov}");
                same_shape(rv, ov, &format!("{path}.{k}"));
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if let (Some(rv), Some(ov)) = (r.first(), o.first()) {
                assert_eq!(kind(rv), kind(ov), "{path}[0]");
                same_shape(rv, ov, &format!("{path}[0]"));
            }
        }
        _ => {}
    }
}

/// tests/data/har/chromium-reference.har was written by real Chromium
/// (headless, playwright-core's recordHar; tests/data/har/record_reference.py):
/// our check of HAR 1.2 accepts it, and our document has its shape, the
/// WebSocket entry's and the page's entry's, member by member.
#[test]
fn har_has_the_shape_chromium_writes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/har/chromium-reference.har");
    let reference: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    check_har_1_2(&reference, "chromium-reference.har");
    let entries = reference["log"]["entries"].as_array().unwrap();
    let r_ws = entries
        .iter()
        .find(|e| e["_resourceType"] == "websocket")
        .expect("Chromium's WebSocket entry");
    let r_page = entries
        .iter()
        .find(|e| e.get("_webSocketMessages").is_none())
        .expect("Chromium's page entry");
    // Chromium writes a binary message's data as base64, with opcode 2.
    let r_msgs = r_ws["_webSocketMessages"].as_array().unwrap();
    assert!(
        r_msgs
            .iter()
            .any(|m| m["opcode"] == 2 && m["data"] == "AAEC/w==")
    );
    same_shape(
        &reference["log"]["creator"],
        &har("python-echo.pcap", None)["log"]["creator"],
        "log.creator",
    );
    let ours = har("python-echo.pcap", None);
    let ws = ours["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["_resourceType"] == "websocket")
        .unwrap()
        .clone();
    same_shape(r_ws, &ws, "websocket entry");
    let ours = har("push/chromium-poll.pcap", None);
    same_shape(r_page, &ours["log"]["entries"][0], "page entry");
}
