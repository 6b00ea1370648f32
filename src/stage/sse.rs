//! The Server-Sent Events stage: reads every `text/event-stream` response
//! body (HTML Living Standard section 9.2) and emits its events as
//! [`Event::Sse`] records, with the findings of the format: a stream not
//! served as `text/event-stream` to a client that asked for one
//! (`sse.content-type`), bytes that are not UTF-8 (`sse.invalid-utf8`), a
//! `retry` that is not digits (`sse.invalid-retry`).

use std::collections::VecDeque;

use foldhash::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

use crate::event::{Event, HttpBodyRecord, HttpHeadRecord, Sink};
use crate::findings::{Code, Dir, Finding, Location};
use crate::sse::{SseEvent, SseParser, SseProblem, SseRecord};
use crate::stage::Stage;

/// Resources remembered (whether a client asked them for an event stream).
const MAX_RESOURCES: usize = 10_000;
/// Requests awaiting their answer per connection.
const MAX_WAITING: usize = 1024;
/// Connections with an exchange in progress tracked at once; past it the
/// least recently active half is forgotten.
const MAX_CONNS: usize = 65_536;

/// A resource as `push` groups exchanges: client, server, method, host, path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Resource {
    client: IpAddr,
    server: SocketAddr,
    method: String,
    host: Option<String>,
    path: String,
    websocket: bool,
}

#[derive(Debug, Default)]
struct Track {
    /// The resource of each request awaiting its answer.
    waiting: VecDeque<Option<usize>>,
    /// The response being read is an event stream.
    parser: Option<SseParser>,
    last_ts: f64,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SseStage {
    resources: HashMap<Resource, usize>,
    /// Whether some request for the resource accepted `text/event-stream`.
    accepts: Vec<bool>,
    tracks: HashMap<(u64, Option<u32>), Track>,
}

/// A request target without query or fragment (absolute form, a proxy
/// request: its path): the resource `push` and this stage group by.
pub(crate) fn path_only(target: &str) -> String {
    let t = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .map(|rest| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(target);
    t.split(['?', '#']).next().unwrap_or("").to_string()
}

impl SseStage {
    fn head(&mut self, h: &HttpHeadRecord<'_>, out: &mut dyn Sink) -> ControlFlow<()> {
        let key = (h.session.conn, h.session.stream);
        match h.from {
            Dir::Client => {
                let accepts = h
                    .head
                    .header("accept")
                    .is_some_and(|a| a.to_ascii_lowercase().contains("text/event-stream"));
                // Only resources some request asked an event stream of are
                // remembered: until one has, no answer can be of the wrong type.
                let i = if accepts || !self.resources.is_empty() {
                    self.resource(h)
                } else {
                    None
                };
                if accepts && let Some(a) = i.and_then(|i| self.accepts.get_mut(i)) {
                    *a = true;
                }
                if !self.tracks.contains_key(&key) && self.tracks.len() >= MAX_CONNS {
                    self.forget_idle();
                }
                let t = self.tracks.entry(key).or_default();
                t.last_ts = h.ts;
                if t.waiting.len() < MAX_WAITING {
                    t.waiting.push_back(i);
                }
            }
            Dir::Server => {
                let status = h.head.status.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    return ControlFlow::Continue(()); // interim
                }
                let Some(t) = self.tracks.get_mut(&key) else {
                    return ControlFlow::Continue(());
                };
                let Some(res) = t.waiting.pop_front() else {
                    return ControlFlow::Continue(());
                };
                let ct = h
                    .head
                    .header("content-type")
                    .map(|c| c.to_ascii_lowercase())
                    .unwrap_or_default();
                let event_stream = ct.starts_with("text/event-stream");
                t.parser = event_stream.then(SseParser::new);
                t.last_ts = h.ts;
                let accepts = res.and_then(|i| self.accepts.get(i).copied());
                // 204 is how a server tells an EventSource to stop: not a wrong type.
                if accepts == Some(true) && !event_stream && status == 200 {
                    let msg = format!(
                        "the client asked for text/event-stream but the response's Content-Type is {}; an EventSource fails the connection (HTML Living Standard 9.2.3)",
                        if ct.is_empty() {
                            "missing".to_string()
                        } else {
                            format!("\"{ct}\"")
                        }
                    );
                    let at = Location::session(h.session)
                        .from(Some(Dir::Server))
                        .packet(h.packet);
                    out.event(Event::Finding(&Finding::new(Code::SseContentType, at, msg)))?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The resource a request asks for, remembered (up to MAX_RESOURCES).
    fn resource(&mut self, h: &HttpHeadRecord<'_>) -> Option<usize> {
        let head = h.head;
        let r = Resource {
            client: h.session.client.ip(),
            server: h.session.server,
            method: head.method.clone().unwrap_or_default(),
            host: head.header("host").map(str::to_string),
            path: path_only(head.path.as_deref().unwrap_or("")),
            websocket: crate::handshake::is_upgrade_request(head),
        };
        let n = self.resources.len();
        match self.resources.get(&r) {
            Some(&i) => Some(i),
            None if n < MAX_RESOURCES => {
                self.resources.insert(r, n);
                self.accepts.push(false);
                Some(n)
            }
            None => None,
        }
    }

    fn body(&mut self, b: &HttpBodyRecord<'_>, out: &mut dyn Sink) -> ControlFlow<()> {
        if b.from != Dir::Server {
            return ControlFlow::Continue(());
        }
        let Some(parser) = self
            .tracks
            .get_mut(&(b.session.conn, b.session.stream))
            .and_then(|t| t.parser.as_mut())
        else {
            return ControlFlow::Continue(());
        };
        let mut events = Vec::new();
        let mut problems = Vec::new();
        parser.feed(
            b.bytes,
            &mut |e: SseEvent| events.push(e),
            &mut |p: SseProblem| problems.push(p),
        );
        for e in events {
            let rec = SseRecord {
                session: b.session,
                conn: b.session.conn,
                packet: b.packet,
                ts: b.ts,
                id: e.id,
                event: e.event,
                data: e.data,
                retry: e.retry,
            };
            out.event(Event::Sse(&rec))?;
        }
        for p in problems {
            let (code, msg) = match p {
                SseProblem::InvalidUtf8 => (
                    Code::SseInvalidUtf8,
                    "the event stream is not valid UTF-8 (HTML Living Standard 9.2.6); the bad bytes decode as U+FFFD".to_string(),
                ),
                SseProblem::InvalidRetry(v) => (
                    Code::SseInvalidRetry,
                    format!("retry: \"{v}\" is not ASCII digits only, so the field is ignored (HTML Living Standard 9.2.6)"),
                ),
            };
            let at = Location::session(b.session)
                .from(Some(Dir::Server))
                .packet(b.packet);
            out.event(Event::Finding(&Finding::new(code, at, msg)))?;
        }
        ControlFlow::Continue(())
    }

    /// Forgets the least recently active half of the connections tracked.
    fn forget_idle(&mut self) {
        let mut ts: Vec<f64> = self.tracks.values().map(|t| t.last_ts).collect();
        ts.sort_by(f64::total_cmp);
        if let Some(&cut) = ts.get(ts.len() / 2) {
            self.tracks.retain(|_, t| t.last_ts > cut);
        }
    }
}

impl Stage for SseStage {
    fn interests(&self) -> u32 {
        use crate::stage::kinds::*;
        HTTP_HEAD | HTTP_BODY | HTTP_END | CONN_END
    }

    fn event(&mut self, ev: &Event<'_>, out: &mut dyn Sink) -> ControlFlow<()> {
        match ev {
            Event::HttpHead(h) => self.head(h, out),
            Event::HttpBody(b) => self.body(b, out),
            Event::HttpEnd(e) => {
                if e.from == Dir::Server
                    && let Some(t) = self.tracks.get_mut(&(e.session.conn, e.session.stream))
                {
                    t.parser = None;
                    t.last_ts = e.ts;
                    if t.waiting.is_empty() {
                        self.tracks.remove(&(e.session.conn, e.session.stream));
                    }
                }
                ControlFlow::Continue(())
            }
            Event::ConnEnd(s) => {
                self.tracks.remove(&(s.session.conn, None));
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
}
