//! `push`: which server-push technique each channel of a capture uses.
//!
//! Every HTTP/1.x exchange on any connection (from the analyzer's HttpHead /
//! HttpBody / HttpEnd events) and every WebSocket upgrade is grouped into
//! channels: one client (IP), one server, one resource (method, host, path
//! without query); an exchange that upgrades to WebSocket is a channel of its
//! own. Each channel is then classified from its timing, with thresholds
//! taken from the connection's measured round-trip time:
//! websocket, sse, iframe-streaming, long-polling, polling or plain.

pub mod render;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::event::{Event, HttpBodyRecord, HttpEndRecord, HttpHeadRecord, SessionRef, Sink};
use crate::findings::{Code, Dir, Finding, Location};
use crate::ws::frame::OpCode;

pub use crate::sse::SseRecord;

/// Exchanges remembered per channel (timings); past it only counts grow.
const MAX_EXCHANGES_PER_CHANNEL: usize = 100_000;
/// Exchanges remembered over all channels (40 bytes each).
const MAX_EXCHANGES: usize = 500_000;
/// Channels tracked; requests to further channels are counted in a
/// `limit.reached` finding.
pub const MAX_CHANNELS: usize = 10_000;
/// Channels that keep a timeline (for `explain`, which shows the first ones).
const TIMELINE_CHANNELS: usize = 32;
/// Connections with an exchange in progress tracked at once; past it the
/// least recently active half is forgotten.
const MAX_CONN_TRACKS: usize = 65_536;
/// Tracks of ended HTTP/1 connections kept (past it the longest ended
/// goes): a connection's last bytes can still come after both FINs, when
/// they wait behind a hole until a retransmission or an ACK that declares
/// it lost, so a track is not dropped at once.
const MAX_ENDED_TRACKS: usize = 4096;
/// Bytes of an HTML response scanned for `<script` across body pieces.
const SCRIPT_TAG: &[u8] = b"<script";

/// One channel's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct PushRecord {
    pub technique: &'static str,
    pub client: String,
    pub server: String,
    pub method: String,
    pub host: Option<String>,
    pub path: String,
    pub conns: Vec<u64>,
    pub requests: u64,
    pub events: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    /// Mean time between the starts of consecutive requests (s).
    pub mean_interval: Option<f64>,
    /// Mean time from a request to the end of its response (s); open
    /// responses count up to the capture's end.
    pub mean_hold: Option<f64>,
    pub events_per_request: f64,
    /// Requests after the first (SSE: reconnections) and the Last-Event-ID they sent.
    pub reconnects: u64,
    pub last_event_ids: Vec<String>,
    /// Responses still open when the capture ended.
    pub open: u64,
    /// The round-trip time the thresholds were scaled by (s).
    pub rtt: Option<f64>,
    /// The "held" threshold used (s): a response slower than this was held by the server.
    pub hold_threshold: f64,
    pub reason: String,
    /// The first requests and pushes, for `explain` (not in `push` records).
    #[serde(skip)]
    pub timeline: Vec<TimelineItem>,
}

/// A moment in a channel's life.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    pub ts: f64,
    pub conn: u64,
    /// request, response, event, script, message, open
    pub what: &'static str,
    pub detail: String,
}

/// Timeline items kept per channel.
const MAX_TIMELINE: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ChannelKey {
    client: IpAddr,
    server: SocketAddr,
    method: String,
    host: Option<String>,
    path: String,
    websocket: bool,
}

#[derive(Debug, Clone, Default)]
struct ExchangeTimes {
    request_ts: f64,
    /// When the response ended (None while open).
    end_ts: Option<f64>,
}

#[derive(Debug, Default)]
struct Channel {
    conns: Vec<u64>,
    requests: u64,
    responses: u64,
    open: u64,
    exchanges: Vec<ExchangeTimes>,
    first_ts: f64,
    last_ts: f64,
    rtt: Option<f64>,
    sse_events: u64,
    event_stream: bool,
    accepts_event_stream: bool,
    html: bool,
    scripts: u64,
    /// Distinct body pieces (times) that brought scripts.
    script_pieces: u64,
    upgraded: bool,
    /// The status of the first response that upgraded: 101, or a 2xx to an
    /// extended CONNECT over HTTP/2 (RFC 8441 section 5).
    upgrade_status: Option<u16>,
    ws_messages: u64,
    /// Requests of Socket.IO's engine.io polling transport (`transport=polling`).
    engine_io_polling: u64,
    /// Requests that carried a body of the client's (Content-Length > 0 or chunked).
    with_body: u64,
    last_event_ids: Vec<String>,
    /// Requests that carried a Last-Event-ID.
    with_last_event_id: u64,
    timeline: Vec<TimelineItem>,
    /// Only the first channels keep one.
    keeps_timeline: bool,
}

impl Channel {
    fn note(&mut self, ts: f64, conn: u64, what: &'static str, detail: String) {
        if self.keeps_timeline && self.timeline.len() < MAX_TIMELINE {
            self.timeline.push(TimelineItem {
                ts,
                conn,
                what,
                detail,
            });
        }
    }
}

/// An exchange whose response is awaited or being read, on one connection.
#[derive(Debug)]
struct Pending {
    /// The request's number among the requests paired (from 0), for
    /// consumers that follow the exchanges themselves (HAR).
    seq: u64,
    channel: usize,
    index: Option<usize>,
    upgrade: bool,
}

#[derive(Debug, Default)]
struct ConnTrack {
    /// Requests waiting for their response, in order (pipelining).
    waiting: std::collections::VecDeque<Pending>,
    /// The exchange whose response body is being read.
    reading: Option<Pending>,
    /// Bytes of the last body piece kept to find a `<script` split across pieces.
    tail: Vec<u8>,
    /// A WebSocket channel this connection upgraded to.
    ws_channel: Option<usize>,
    /// The last HTTP activity (to forget the idlest connections first).
    last_ts: f64,
    /// The directions that sent a FIN (bit 0 the client's, 1 the server's).
    fins: u8,
}

/// What `PushSink::on_sse` hands each event to.
type OnSse<'a> = Box<dyn FnMut(&SseRecord) + 'a>;

/// Collects the channels from the event stream.
pub struct PushSink<'a> {
    keys: HashMap<ChannelKey, usize>,
    channels: Vec<(ChannelKey, Channel)>,
    /// By connection and HTTP/2 stream (one exchange per stream).
    conns: HashMap<(u64, Option<u32>), ConnTrack>,
    /// Findings on push traffic, as they come (capped).
    pub findings: Vec<Finding>,
    last_ts: f64,
    /// Exchange timings kept over all channels.
    exchanges: usize,
    /// Whether the `limit.reached` finding for exchange timings was raised.
    exchanges_capped: bool,
    /// Requests to channels past MAX_CHANNELS (not classified).
    pub dropped_requests: u64,
    /// Receives each dispatched SSE event as it is decoded (streamed, never
    /// stored); the counts are kept either way.
    on_sse: Option<OnSse<'a>>,
    /// Requests queued for pairing so far (the next one's `seq`).
    requests_queued: u64,
    /// The pairing the last event made, for consumers that follow the
    /// exchanges (HAR): a request queued, a response matched to one.
    pub last_pairing: Option<Pairing>,
    /// HTTP/1 connections that ended (FIN both ways, or an RST), with the
    /// packet that ended them, oldest first: past `MAX_ENDED_TRACKS` the
    /// oldest one's track goes.
    closing: std::collections::VecDeque<(u64, u64)>,
}

/// What the last HTTP head did to the pairing of requests and responses
/// (`PushSink::last_pairing`): the number of the request (its `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// A request was queued for its response.
    Request(u64),
    /// A final response was matched to the request of that number.
    Response(u64),
}

impl Default for PushSink<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> PushSink<'a> {
    pub fn new() -> Self {
        PushSink {
            keys: HashMap::new(),
            channels: Vec::new(),
            conns: HashMap::new(),
            findings: Vec::new(),
            last_ts: 0.0,
            exchanges: 0,
            exchanges_capped: false,
            dropped_requests: 0,
            on_sse: None,
            requests_queued: 0,
            last_pairing: None,
            closing: std::collections::VecDeque::new(),
        }
    }

    /// The request whose response body is being read on a connection (and
    /// HTTP/2 stream), by its number (`Pairing`).
    pub fn reading(&self, conn: u64, stream: Option<u32>) -> Option<u64> {
        self.conns
            .get(&(conn, stream))
            .and_then(|t| t.reading.as_ref())
            .map(|p| p.seq)
    }

    /// Hands every dispatched SSE event to `f` as it is decoded.
    pub fn on_sse(mut self, f: impl FnMut(&SseRecord) + 'a) -> Self {
        self.on_sse = Some(Box::new(f));
        self
    }

    fn channel(&mut self, key: ChannelKey, conn: u64, ts: f64) -> Option<usize> {
        if let Some(&i) = self.keys.get(&key) {
            let ch = &mut self.channels[i].1;
            // Connection ids grow in capture order: a new one is the largest.
            if ch.conns.last().is_none_or(|&l| conn > l) || !ch.conns.contains(&conn) {
                ch.conns.push(conn);
            }
            return Some(i);
        }
        if self.channels.len() >= MAX_CHANNELS {
            return None;
        }
        let i = self.channels.len();
        self.keys.insert(key.clone(), i);
        self.channels.push((
            key,
            Channel {
                conns: vec![conn],
                first_ts: ts,
                last_ts: ts,
                keeps_timeline: i < TIMELINE_CHANNELS,
                ..Channel::default()
            },
        ));
        Some(i)
    }

    fn finding(
        &mut self,
        code: Code,
        session: SessionRef,
        from: Dir,
        packet: u64,
        message: String,
    ) {
        if self.findings.len() < MAX_FINDINGS {
            let at = Location::session(session).from(Some(from)).packet(packet);
            self.findings.push(Finding::new(code, at, message));
        }
    }

    fn head(&mut self, h: &HttpHeadRecord<'_>) {
        self.last_ts = self.last_ts.max(h.ts);
        let id = h.session.conn;
        let track = (id, h.session.stream);
        match h.from {
            Dir::Client => {
                let head = h.head;
                let upgrade = crate::handshake::is_upgrade_request(head);
                let key = ChannelKey {
                    client: h.session.client.ip(),
                    server: h.session.server,
                    method: head.method.clone().unwrap_or_default(),
                    host: head.header("host").map(str::to_string),
                    path: crate::stage::sse::path_only(head.path.as_deref().unwrap_or("")),
                    websocket: upgrade,
                };
                let Some(ci) = self.channel(key, id, h.ts) else {
                    if self.dropped_requests == 0 {
                        let msg = format!(
                            "more than {MAX_CHANNELS} push channels: requests to further channels are not classified"
                        );
                        self.finding(Code::LimitReached, h.session, Dir::Client, h.packet, msg);
                    }
                    self.dropped_requests += 1;
                    return;
                };
                let ch = &mut self.channels[ci].1;
                let exchanges = &mut self.exchanges;
                ch.requests += 1;
                let detail = match head.header("last-event-id") {
                    Some(l) => format!(
                        "{} {} (Last-Event-ID: {l})",
                        key_method(head),
                        head.path.as_deref().unwrap_or("")
                    ),
                    None => format!(
                        "{} {}",
                        key_method(head),
                        head.path.as_deref().unwrap_or("")
                    ),
                };
                ch.note(h.ts, id, "request", detail);
                ch.last_ts = ch.last_ts.max(h.ts);
                if let Some(r) = h.rtt {
                    ch.rtt = Some(ch.rtt.map_or(r, |x: f64| x.min(r)));
                }
                if head
                    .header("accept")
                    .is_some_and(|a| a.to_ascii_lowercase().contains("text/event-stream"))
                {
                    ch.accepts_event_stream = true;
                }
                if head.path.as_deref().is_some_and(|p| {
                    p.split_once('?')
                        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "transport=polling"))
                }) {
                    ch.engine_io_polling += 1;
                }
                if head.content_length().is_some_and(|n| n > 0) || head.is_chunked() {
                    ch.with_body += 1;
                }
                if let Some(l) = head.header("last-event-id") {
                    ch.with_last_event_id += 1;
                    if ch.last_event_ids.len() < 100 {
                        ch.last_event_ids.push(l.to_string());
                    }
                }
                let room =
                    ch.exchanges.len() < MAX_EXCHANGES_PER_CHANNEL && *exchanges < MAX_EXCHANGES;
                let index = room.then(|| {
                    *exchanges += 1;
                    ch.exchanges.push(ExchangeTimes {
                        request_ts: h.ts,
                        ..Default::default()
                    });
                    ch.exchanges.len() - 1
                });
                if !room && !self.exchanges_capped {
                    self.exchanges_capped = true;
                    let msg = format!(
                        "more than {MAX_EXCHANGES} HTTP exchanges (or {MAX_EXCHANGES_PER_CHANNEL} on one channel): the timings of later ones are not kept, so the push techniques are judged on the earlier ones (requests are still counted)"
                    );
                    self.finding(Code::LimitReached, h.session, Dir::Client, h.packet, msg);
                }
                if !self.conns.contains_key(&track) && self.conns.len() >= MAX_CONN_TRACKS {
                    self.forget_idle_conns();
                }
                let t = self.conns.entry(track).or_default();
                t.last_ts = h.ts;
                if t.waiting.len() < 1024 {
                    let seq = self.requests_queued;
                    self.requests_queued += 1;
                    self.last_pairing = Some(Pairing::Request(seq));
                    t.waiting.push_back(Pending {
                        seq,
                        channel: ci,
                        index,
                        upgrade,
                    });
                }
            }
            Dir::Server => {
                let status = h.head.status.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    return; // interim
                }
                let Some(t) = self.conns.get_mut(&track) else {
                    return;
                };
                let Some(p) = t.waiting.pop_front() else {
                    return;
                };
                self.last_pairing = Some(Pairing::Response(p.seq));
                let ct = h
                    .head
                    .header("content-type")
                    .map(|c| c.to_ascii_lowercase())
                    .unwrap_or_default();
                let (ci, idx, upgrade) = (p.channel, p.index, p.upgrade);
                let event_stream = ct.starts_with("text/event-stream");
                t.tail.clear();
                // RFC 8441: over HTTP/2 a 2xx to the extended CONNECT upgrades.
                let ws = upgrade
                    && (status == 101
                        || h.session.stream.is_some() && (200..300).contains(&status));
                if ws {
                    t.ws_channel = Some(ci);
                } else {
                    t.reading = Some(p);
                }
                let ch = &mut self.channels[ci].1;
                ch.last_ts = ch.last_ts.max(h.ts);
                if ws && let Some(e) = idx.and_then(|i| ch.exchanges.get_mut(i)) {
                    e.end_ts = Some(h.ts);
                }
                ch.upgraded |= ws;
                if ws {
                    ch.upgrade_status.get_or_insert(status);
                }
                let what = if ws { "upgraded" } else { "response" };
                ch.note(
                    h.ts,
                    id,
                    what,
                    format!("{status} {}", if ct.is_empty() { "-" } else { &ct }),
                );
                ch.event_stream |= event_stream;
                ch.html |= ct.starts_with("text/html");
            }
        }
    }

    fn body(&mut self, b: &HttpBodyRecord<'_>) {
        self.last_ts = self.last_ts.max(b.ts);
        if b.from != Dir::Server {
            return;
        }
        let Some(t) = self.conns.get_mut(&(b.session.conn, b.session.stream)) else {
            return;
        };
        let Some(p) = t.reading.as_ref() else { return };
        let ci = p.channel;
        // <script tags, also when one is split between two pieces.
        let mut scan = std::mem::take(&mut t.tail);
        scan.extend_from_slice(b.bytes);
        let scripts = count_tags(&scan);
        let keep = scan.len().min(SCRIPT_TAG.len() - 1);
        t.tail = scan[scan.len() - keep..].to_vec();
        let ch = &mut self.channels[ci].1;
        ch.last_ts = ch.last_ts.max(b.ts);
        ch.scripts += scripts;
        ch.script_pieces += u64::from(scripts > 0);
        if scripts > 0 {
            ch.note(
                b.ts,
                b.session.conn,
                "script",
                format!("{scripts} <script> tag(s), {} bytes", b.bytes.len()),
            );
        }
    }

    /// A server-sent event of the response being read (from the SSE stage).
    fn sse(&mut self, e: &SseRecord) {
        let Some(ci) = self
            .conns
            .get(&(e.session.conn, e.session.stream))
            .and_then(|t| t.reading.as_ref())
            .map(|p| p.channel)
        else {
            return;
        };
        let ch = &mut self.channels[ci].1;
        ch.sse_events += 1;
        let data: String = e.data.chars().take(40).collect();
        ch.note(
            e.ts,
            e.session.conn,
            "event",
            format!("{}: {data:?}", e.event),
        );
        if let Some(f) = self.on_sse.as_mut() {
            f(e);
        }
    }

    fn end(&mut self, e: &HttpEndRecord) {
        self.last_ts = self.last_ts.max(e.ts);
        if e.from != Dir::Server {
            return;
        }
        let Some(t) = self.conns.get_mut(&(e.session.conn, e.session.stream)) else {
            return;
        };
        let Some(p) = t.reading.take() else { return };
        t.last_ts = e.ts;
        if t.waiting.is_empty() && t.ws_channel.is_none() {
            // Nothing more is expected: the next request starts afresh.
            self.conns.remove(&(e.session.conn, e.session.stream));
        }
        let ch = &mut self.channels[p.channel].1;
        ch.last_ts = ch.last_ts.max(e.ts);
        ch.note(
            e.ts,
            e.session.conn,
            if e.complete { "end" } else { "open" },
            String::new(),
        );
        if e.complete {
            ch.responses += 1;
            if let Some(x) = p.index.and_then(|i| ch.exchanges.get_mut(i)) {
                x.end_ts = Some(e.ts);
            }
        } else {
            ch.open += 1;
        }
    }

    fn message(&mut self, m: &crate::event::MessageRecord<'_>) {
        if m.from != Dir::Server || !matches!(m.opcode, OpCode::Text | OpCode::Binary) {
            return;
        }
        if let Some(ci) = self
            .conns
            .get(&(m.session.conn, m.session.stream))
            .and_then(|t| t.ws_channel)
        {
            let ch = &mut self.channels[ci].1;
            ch.ws_messages += 1;
            ch.last_ts = ch.last_ts.max(m.last_ts);
            ch.note(
                m.last_ts,
                m.session.conn,
                "message",
                format!("{} message, {} bytes", m.opcode.name(), m.len),
            );
        }
    }

    /// A TCP control segment: an RST, or the FIN of the second direction,
    /// ends its connection (HTTP/1: an HTTP/2 connection's streams stay
    /// until the connection's end record); the tracks of the connections
    /// that ended longest ago go, all but `MAX_ENDED_TRACKS`.
    fn tcp(&mut self, t: &crate::event::TcpRecord) {
        while self.closing.len() > MAX_ENDED_TRACKS {
            let Some(&(conn, packet)) = self.closing.front() else {
                break;
            };
            // (The flow table finalises a connection while it handles the
            // packet that ends it at the earliest.)
            if packet >= t.packet {
                break;
            }
            self.closing.pop_front();
            self.conns.remove(&(conn, None));
        }
        let bits = match (t.kind, t.from) {
            (crate::event::TcpKind::Rst, _) => 3,
            (crate::event::TcpKind::Fin, Some(Dir::Client)) => 1,
            (crate::event::TcpKind::Fin, Some(Dir::Server)) => 2,
            _ => return,
        };
        let conn = t.session.conn;
        if let Some(track) = self.conns.get_mut(&(conn, None))
            && track.fins != 3
        {
            track.fins |= bits;
            if track.fins == 3 {
                self.closing.push_back((conn, t.packet));
            }
        }
    }

    /// Makes room among the tracked connections: the least recently
    /// active half is forgotten (their exchanges stay counted as requests).
    fn forget_idle_conns(&mut self) {
        let mut ts: Vec<f64> = self.conns.values().map(|t| t.last_ts).collect();
        ts.sort_by(f64::total_cmp);
        let cut = ts[ts.len() / 2];
        self.conns.retain(|_, t| t.last_ts > cut);
    }

    /// The verdict for every channel, in order of first request.
    pub fn finish(&self) -> Vec<PushRecord> {
        // Resources a client polls with GET: its requests with a body to
        // the same resource are it sending, not asking for pushes.
        let polled: std::collections::HashSet<(IpAddr, SocketAddr, &Option<String>, &str)> = self
            .channels
            .iter()
            .filter(|(k, c)| k.method == "GET" && !k.websocket && c.requests > 0)
            .map(|(k, _)| (k.client, k.server, &k.host, k.path.as_str()))
            .collect();
        self.channels
            .iter()
            .map(|(k, c)| {
                let sends_to_polled =
                    polled.contains(&(k.client, k.server, &k.host, k.path.as_str()));
                classify(k, c, self.last_ts, sends_to_polled)
            })
            .collect()
    }
}

/// Occurrences of `<script` (any case).
fn count_tags(b: &[u8]) -> u64 {
    b.windows(SCRIPT_TAG.len())
        .filter(|w| w.eq_ignore_ascii_case(SCRIPT_TAG))
        .count() as u64
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn ms(s: f64) -> String {
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// `polled`: the client also polls this resource with GET requests.
fn classify(k: &ChannelKey, c: &Channel, capture_end: f64, polled: bool) -> PushRecord {
    // Thresholds from the measured round trip: a response slower than ten
    // round trips (and than 50 ms, the scheduling noise of a busy server)
    // was held; a new request within ten round trips (or 100 ms) of the
    // previous response came "at once".
    let rtt = c.rtt;
    let r = rtt.unwrap_or(0.0);
    let hold_threshold = (10.0 * r).max(0.05);
    let prompt = (10.0 * r).max(0.1);
    let ex = &c.exchanges;
    let holds: Vec<f64> = ex
        .iter()
        .map(|e| e.end_ts.unwrap_or(capture_end) - e.request_ts)
        .collect();
    let starts: Vec<f64> = ex.iter().map(|e| e.request_ts).collect();
    let intervals: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    let gaps: Vec<f64> = ex
        .windows(2)
        .filter_map(|w| w[0].end_ts.map(|end| w[1].request_ts - end))
        .collect();
    let held = holds.iter().filter(|&&h| h > hold_threshold).count();
    let mean_hold = mean(&holds);
    let mean_interval = mean(&intervals);
    let rtt_text = match rtt {
        Some(r) => format!("round trip {} from the TCP handshake", ms(r)),
        None => "no TCP handshake captured, so fixed floors".to_string(),
    };
    let n = c.requests;
    let (technique, events, reason) = if c.upgraded {
        (
            "websocket",
            c.ws_messages,
            format!(
                "{}; {} server-to-client data messages",
                match c.upgrade_status {
                    Some(s @ 200..=299) =>
                        format!("the extended CONNECT for WebSocket succeeded ({s}, RFC 8441)"),
                    _ => "the upgrade to WebSocket succeeded (101)".to_string(),
                },
                c.ws_messages
            ),
        )
    } else if c.event_stream || c.accepts_event_stream {
        (
            "sse",
            c.sse_events,
            format!(
                "{}; {} events dispatched over {} request(s), {} carrying Last-Event-ID",
                if c.event_stream {
                    "the response is text/event-stream"
                } else {
                    "the client asked for text/event-stream (Accept), though the response is not one"
                },
                c.sse_events,
                n,
                c.with_last_event_id
            ),
        )
    } else if c.html && c.script_pieces >= 2 && holds.iter().any(|&h| h > hold_threshold) {
        (
            "iframe-streaming",
            c.scripts,
            format!(
                "a long-lived text/html response ({} open, threshold {}; {rtt_text}) delivered {} <script> tags in {} separate pieces",
                ms(holds.iter().cloned().fold(0.0, f64::max)),
                ms(hold_threshold),
                c.scripts,
                c.script_pieces
            ),
        )
    } else if c.engine_io_polling == n && n > 0 && k.method == "POST" {
        // Engine.io's polling transport: the client POSTs its own packets.
        (
            "plain",
            0,
            format!(
                "Engine.IO polling transport: the client's POSTs carry its own packets ({n} POST(s) with transport=polling); the client sending, not asking for pushes"
            ),
        )
    } else if polled && k.method != "GET" && k.method != "HEAD" && n > 0 && c.with_body == n {
        (
            "plain",
            0,
            format!(
                "the client's {n} {} request(s) carry a body of its own to a resource it polls with GET: the client sending, not asking for pushes",
                k.method
            ),
        )
    } else if c.engine_io_polling == n && n > 0 && k.method == "GET" {
        // Engine.io's polling transport holds each GET until the server has
        // packets (or its ping interval passes): long polling by design,
        // even when an upgrade to WebSocket cuts the hold short.
        (
            "long-polling",
            c.responses,
            format!(
                "Socket.IO (engine.io) polling transport: transport=polling on all {n} GETs, each held until the server has packets; {held} held longer than {} here ({rtt_text})",
                ms(hold_threshold)
            ),
        )
    } else if n >= 2 && held > 0 && 2 * held + 1 >= holds.len() && gaps.iter().all(|&g| g < prompt)
    {
        (
            "long-polling",
            c.responses,
            format!(
                "{held} of {} responses were held longer than {} ({rtt_text}; mean hold {}), and the client asked again within {} of each answer",
                holds.len(),
                ms(hold_threshold),
                ms(mean_hold.unwrap_or(0.0)),
                ms(prompt)
            ),
        )
    } else if n >= 2 && held == 0 {
        let steady = match (mean_interval, intervals.len()) {
            (Some(m), k) if k >= 2 && m > 0.0 => {
                let var = intervals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / k as f64;
                var.sqrt() / m < 0.5
            }
            _ => true,
        };
        (
            "polling",
            c.responses,
            format!(
                "{n} requests{} every {} on average, each answered at once (mean {}, under {}; {rtt_text})",
                if steady { " at a steady interval" } else { "" },
                ms(mean_interval.unwrap_or(0.0)),
                ms(mean_hold.unwrap_or(0.0)),
                ms(hold_threshold)
            ),
        )
    } else {
        (
            "plain",
            0,
            if n < 2 {
                "a single request: nothing repeated, streamed or upgraded".to_string()
            } else {
                format!(
                    "{n} requests, but neither steady prompt answers nor held ones ({held} of {} held longer than {})",
                    holds.len(),
                    ms(hold_threshold)
                )
            },
        )
    };
    PushRecord {
        technique,
        client: k.client.to_string(),
        server: k.server.to_string(),
        method: k.method.clone(),
        host: k.host.clone(),
        path: k.path.clone(),
        conns: c.conns.clone(),
        requests: n,
        events,
        first_ts: c.first_ts,
        last_ts: c.last_ts,
        mean_interval,
        mean_hold,
        events_per_request: if n > 0 { events as f64 / n as f64 } else { 0.0 },
        reconnects: n.saturating_sub(1),
        last_event_ids: c.last_event_ids.clone(),
        open: c.open,
        rtt,
        hold_threshold,
        reason,
        timeline: c.timeline.clone(),
    }
}

fn key_method(h: &crate::http::HttpHead) -> &str {
    h.method.as_deref().unwrap_or("?")
}

/// The findings `push` lists: malformed bodies and the event-stream rules.
const PUSH_CODES: &[Code] = &[
    Code::HttpBadChunk,
    Code::SseContentType,
    Code::SseInvalidUtf8,
    Code::SseInvalidRetry,
];

/// Findings kept for the `push` output.
const MAX_FINDINGS: usize = 10_000;

impl Sink for PushSink<'_> {
    fn event(&mut self, ev: Event<'_>) -> std::ops::ControlFlow<()> {
        match ev {
            Event::HttpHead(h) => {
                self.last_pairing = None;
                self.head(h)
            }
            Event::HttpBody(b) => self.body(b),
            Event::HttpEnd(e) => self.end(e),
            Event::Message(m) => self.message(m),
            Event::Sse(e) => self.sse(e),
            Event::Tcp(t) => self.tcp(t),
            Event::ConnEnd(s) => {
                let conn = s.session.conn;
                self.conns.retain(|k, _| k.0 != conn);
            }
            Event::Finding(f)
                if PUSH_CODES.contains(&f.code) && self.findings.len() < MAX_FINDINGS =>
            {
                self.findings.push(f.clone())
            }
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    }
}
