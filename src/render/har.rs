//! `messages --format har`: one HTTP Archive 1.2 document
//! (<http://www.softwareishard.com/blog/har-12-spec/>) of the capture's
//! HTTP exchanges, each WebSocket session's data messages in the entry's
//! `_webSocketMessages` array as Chromium's DevTools writes and imports it
//! (`type` send/receive from the client's view, `time` in epoch seconds,
//! `opcode`, `data`: text as is, binary base64 as in the DevTools protocol's
//! `payloadData`).
//!
//! Requests and responses are paired by `push` (`PushSink::last_pairing`),
//! the one pairing of the program. One JSON document cannot be streamed, so
//! what is kept follows the exchanges, and is capped: [`MAX_BODY`] bytes of
//! each body, [`MAX_ENTRIES`] entries, [`MAX_WS_MESSAGES`] messages and
//! [`MAX_KEPT_BYTES`] bytes of bodies and messages over the whole document.
//! Past a cap the document says so in the entry's `comment`.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use base64::Engine;
use serde_json::{Value, json};

use crate::event::{Event, Sink};
use crate::findings::Dir;
use crate::http::HttpHead;
use crate::push::{Pairing, PushSink};
use crate::session::SessionRef;
use crate::ws::frame::OpCode;

/// Bytes of one request or response body kept.
pub const MAX_BODY: usize = 1 << 20;
/// Entries (HTTP exchanges) kept.
pub const MAX_ENTRIES: usize = 100_000;
/// WebSocket messages kept over all entries.
pub const MAX_WS_MESSAGES: usize = 1_000_000;
/// Bytes of bodies and message data kept over the whole document.
pub const MAX_KEPT_BYTES: usize = 256 << 20;

struct Body {
    bytes: Vec<u8>,
    size: u64,
}

impl Body {
    fn new() -> Self {
        Body {
            bytes: Vec::new(),
            size: 0,
        }
    }
    fn cut(&self) -> bool {
        (self.bytes.len() as u64) < self.size
    }
}

struct WsMessage {
    send: bool,
    time: f64,
    opcode: u8,
    data: Vec<u8>,
}

struct Response {
    ts: f64,
    head: HttpHead,
    body: Body,
}

struct Entry {
    session: SessionRef,
    ts: f64,
    request: HttpHead,
    request_body: Body,
    response: Option<Response>,
    end_ts: Option<f64>,
    websocket: bool,
    messages: Vec<WsMessage>,
    messages_dropped: u64,
}

/// Collects the exchanges; [`HarSink::finish`] writes the document.
pub struct HarSink<'a> {
    push: PushSink<'a>,
    entries: Vec<Entry>,
    /// Request number (push's `seq`) -> entry.
    by_seq: HashMap<u64, usize>,
    /// The last request on a connection (and stream): its body follows it.
    sending: HashMap<(u64, Option<u32>), usize>,
    /// WebSocket sessions -> their upgrade's entry.
    ws: HashMap<(u64, Option<u32>), usize>,
    /// Connections that were TLS (https, wss).
    tls: HashSet<u64>,
    kept_bytes: usize,
    ws_messages: usize,
    /// Exchanges not kept (past MAX_ENTRIES).
    pub dropped_entries: u64,
    version: &'static str,
}

impl Default for HarSink<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl HarSink<'_> {
    pub fn new() -> Self {
        HarSink {
            push: PushSink::new(),
            entries: Vec::new(),
            by_seq: HashMap::new(),
            sending: HashMap::new(),
            ws: HashMap::new(),
            tls: HashSet::new(),
            kept_bytes: 0,
            ws_messages: 0,
            dropped_entries: 0,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    fn keep(&mut self, body: &mut Body, bytes: &[u8]) {
        body.size += bytes.len() as u64;
        let room = MAX_BODY
            .saturating_sub(body.bytes.len())
            .min(MAX_KEPT_BYTES.saturating_sub(self.kept_bytes));
        let n = bytes.len().min(room);
        body.bytes
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        self.kept_bytes += n;
    }

    /// The HAR document (pretty-printed JSON, as DevTools writes it).
    pub fn finish(&self) -> String {
        let entries: Vec<Value> = self.entries.iter().map(|e| self.entry(e)).collect();
        let doc = json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "wsdissect", "version": self.version},
                "pages": [],
                "entries": entries,
            }
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }

    fn entry(&self, e: &Entry) -> Value {
        let tls = self.tls.contains(&e.session.conn);
        let scheme = match (e.websocket, tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        let http_version = |h: &HttpHead| {
            if e.session.stream.is_some() {
                "http/2.0".to_string()
            } else {
                format!("HTTP/1.{}", h.version)
            }
        };
        let target = e.request.path.as_deref().unwrap_or("/");
        let url = if target.contains("://") {
            target.to_string()
        } else {
            let host = e
                .request
                .header("host")
                .map(str::to_string)
                .unwrap_or_else(|| e.session.server.to_string());
            format!("{scheme}://{host}{target}")
        };
        let query: Vec<Value> = target
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""))
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (n, v) = kv.split_once('=').unwrap_or((kv, ""));
                json!({"name": n, "value": v})
            })
            .collect();
        let request_cookies: Vec<Value> = e
            .request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        let mut request = json!({
            "method": e.request.method.as_deref().unwrap_or(""),
            "url": url,
            "httpVersion": http_version(&e.request),
            "cookies": request_cookies,
            "headers": headers(&e.request),
            "queryString": query,
            "headersSize": e.request.len,
            "bodySize": e.request_body.size,
        });
        if e.request_body.size > 0 {
            let mime = e.request.header("content-type").unwrap_or("");
            request["postData"] = json!({
                "mimeType": mime,
                "text": String::from_utf8_lossy(&e.request_body.bytes),
            });
        }
        let (response, wait, receive) = match &e.response {
            Some(r) => {
                let mime = r
                    .head
                    .header("content-type")
                    .unwrap_or("x-unknown")
                    .to_string();
                let mut content = json!({"size": r.body.size, "mimeType": mime});
                if r.body.size > 0 {
                    match std::str::from_utf8(&r.body.bytes) {
                        Ok(t) => content["text"] = json!(t),
                        Err(_) => {
                            content["text"] = json!(
                                base64::engine::general_purpose::STANDARD.encode(&r.body.bytes)
                            );
                            content["encoding"] = json!("base64");
                        }
                    }
                    if r.body.cut() {
                        content["comment"] = json!(format!(
                            "wsdissect kept the first {} of {} bytes",
                            r.body.bytes.len(),
                            r.body.size
                        ));
                    }
                }
                let cookies: Vec<Value> = r
                    .head
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
                    .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect();
                let redirect = r.head.header("location").unwrap_or("");
                let status = r.head.status.unwrap_or(0);
                let v = json!({
                    "status": status,
                    "statusText": r.head.reason.as_deref().unwrap_or(""),
                    "httpVersion": http_version(&r.head),
                    "cookies": cookies,
                    "headers": headers(&r.head),
                    "content": content,
                    "redirectURL": redirect,
                    "headersSize": r.head.len,
                    "bodySize": if e.websocket { 0 } else { r.body.size },
                });
                let wait = (r.ts - e.ts).max(0.0) * 1000.0;
                let receive = match e.end_ts {
                    Some(t) if !e.websocket => (t - r.ts).max(0.0) * 1000.0,
                    _ if e.websocket => 0.0,
                    _ => -1.0,
                };
                (v, wait, receive)
            }
            // No response captured: HAR 1.2 asks for a response object all the same.
            None => (
                json!({
                    "status": 0,
                    "statusText": "",
                    "httpVersion": http_version(&e.request),
                    "cookies": [],
                    "headers": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                }),
                -1.0,
                -1.0,
            ),
        };
        let time: f64 = [wait, receive].iter().filter(|t| **t >= 0.0).sum();
        let mut v = json!({
            "startedDateTime": iso8601(e.ts),
            "time": time,
            "request": request,
            "response": response,
            "cache": {},
            "timings": {
                "blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                "send": 0, "wait": wait, "receive": receive
            },
            "serverIPAddress": e.session.server.ip().to_string(),
            "connection": e.session.conn.to_string(),
        });
        if e.websocket {
            v["_resourceType"] = json!("websocket");
            let msgs: Vec<Value> = e
                .messages
                .iter()
                .map(|m| {
                    let data = if m.opcode == 1 {
                        String::from_utf8_lossy(&m.data).into_owned()
                    } else {
                        base64::engine::general_purpose::STANDARD.encode(&m.data)
                    };
                    json!({
                        "type": if m.send { "send" } else { "receive" },
                        "time": m.time,
                        "opcode": m.opcode,
                        "data": data,
                    })
                })
                .collect();
            v["_webSocketMessages"] = json!(msgs);
            if e.messages_dropped > 0 {
                v["comment"] = json!(format!(
                    "wsdissect left out {} messages past its caps",
                    e.messages_dropped
                ));
            }
        }
        v
    }
}

fn headers(h: &HttpHead) -> Vec<Value> {
    h.headers
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

/// `ts` (epoch seconds) as ISO 8601 in UTC, to the microsecond.
pub fn iso8601(ts: f64) -> String {
    let t = Duration::try_from_secs_f64(ts)
        .ok()
        .and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    humantime::format_rfc3339_micros(t).to_string()
}

impl Sink for HarSink<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        // Where a body or an end belongs, before push moves on.
        let reading = match ev {
            Event::HttpBody(b) if b.from == Dir::Server => {
                self.push.reading(b.session.conn, b.session.stream)
            }
            Event::HttpEnd(e) if e.from == Dir::Server => {
                self.push.reading(e.session.conn, e.session.stream)
            }
            _ => None,
        };
        let _ = self.push.event(ev);
        match ev {
            Event::HttpHead(h) => match self.push.last_pairing {
                Some(Pairing::Request(seq)) => {
                    if self.entries.len() >= MAX_ENTRIES {
                        self.dropped_entries += 1;
                        return ControlFlow::Continue(());
                    }
                    let i = self.entries.len();
                    self.entries.push(Entry {
                        session: h.session,
                        ts: h.ts,
                        request: h.head.clone(),
                        request_body: Body::new(),
                        response: None,
                        end_ts: None,
                        websocket: false,
                        messages: Vec::new(),
                        messages_dropped: 0,
                    });
                    self.by_seq.insert(seq, i);
                    self.sending.insert((h.session.conn, h.session.stream), i);
                }
                Some(Pairing::Response(seq)) => {
                    let Some(&i) = self.by_seq.get(&seq) else {
                        return ControlFlow::Continue(());
                    };
                    let Some(e) = self.entries.get_mut(i) else {
                        return ControlFlow::Continue(());
                    };
                    let status = h.head.status.unwrap_or(0);
                    let upgrade = crate::handshake::is_upgrade_request(&e.request);
                    e.websocket = upgrade
                        && (status == 101
                            || h.session.stream.is_some() && (200..300).contains(&status));
                    e.response = Some(Response {
                        ts: h.ts,
                        head: h.head.clone(),
                        body: Body::new(),
                    });
                    if e.websocket {
                        self.ws.insert((h.session.conn, h.session.stream), i);
                        self.by_seq.remove(&seq);
                    }
                }
                None => {}
            },
            Event::HttpBody(b) => {
                let i = match b.from {
                    Dir::Server => reading.and_then(|s| self.by_seq.get(&s).copied()),
                    Dir::Client => self
                        .sending
                        .get(&(b.session.conn, b.session.stream))
                        .copied(),
                };
                let Some(i) = i else {
                    return ControlFlow::Continue(());
                };
                let mut body = match self.entries.get_mut(i) {
                    Some(e) if b.from == Dir::Client => {
                        std::mem::replace(&mut e.request_body, Body::new())
                    }
                    Some(Entry {
                        response: Some(r), ..
                    }) => std::mem::replace(&mut r.body, Body::new()),
                    _ => return ControlFlow::Continue(()),
                };
                self.keep(&mut body, b.bytes);
                match self.entries.get_mut(i) {
                    Some(e) if b.from == Dir::Client => e.request_body = body,
                    Some(Entry {
                        response: Some(r), ..
                    }) => r.body = body,
                    _ => {}
                }
            }
            Event::HttpEnd(end) => {
                if let Some(s) = reading
                    && let Some(i) = self.by_seq.remove(&s)
                    && let Some(e) = self.entries.get_mut(i)
                {
                    e.end_ts = Some(end.ts);
                }
            }
            Event::Message(m) => {
                let key = (m.session.conn, m.session.stream);
                let Some(&i) = self.ws.get(&key) else {
                    return ControlFlow::Continue(());
                };
                let opcode = match m.opcode {
                    OpCode::Text => 1,
                    OpCode::Binary => 2,
                    _ => return ControlFlow::Continue(()),
                };
                let room = self.ws_messages < MAX_WS_MESSAGES
                    && self.kept_bytes.saturating_add(m.data.len()) <= MAX_KEPT_BYTES;
                let Some(e) = self.entries.get_mut(i) else {
                    return ControlFlow::Continue(());
                };
                if !room {
                    e.messages_dropped += 1;
                    return ControlFlow::Continue(());
                }
                self.ws_messages += 1;
                self.kept_bytes += m.data.len();
                e.messages.push(WsMessage {
                    send: m.from == Dir::Client,
                    time: m.last_ts,
                    opcode,
                    data: m.data.to_vec(),
                });
            }
            Event::ConnEnd(s) => {
                if s.tls.is_some() {
                    self.tls.insert(s.session.conn);
                }
                let conn = s.session.conn;
                self.sending.retain(|k, _| k.0 != conn);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
