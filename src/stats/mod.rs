//! `wsdissect stats`: figures per WebSocket connection and for the whole
//! capture, gathered in one pass by a [`StatsCollector`] (a [`Sink`] that
//! forwards nothing) and handed out as plain structs ([`CaptureStats`],
//! [`ConnStats`]) that serialise to the `stats` records of DESIGN.md.
//!
//! Streaming: memory follows the connections, not the messages. Each
//! connection keeps counters, a bounded quantile sketch per figure
//! ([`sketch::Sketch`], error below 1/128), a message-rate series of at
//! most [`SERIES_CAP`] buckets (merged two by two, the bucket width
//! doubling, when a longer capture would need more), at most
//! [`TOP_CAP`] subprotocol topic names and at most [`KEY_CAP`] keys in
//! each other map. Connections that show no WebSocket traffic are kept
//! only while they may still turn out to (at most [`PENDING_CAP`]).

pub mod sketch;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use serde::Serialize;

use crate::event::{Event, Sink};
use crate::findings::Dir;
use crate::session::Carrier;
use crate::ws::frame::OpCode;
use sketch::Sketch;

/// Buckets of a message-rate series at most.
pub const SERIES_CAP: usize = 600;
/// Subprotocol topic (event, destination, operation) names counted one by
/// one per connection; further names are counted together as `other`.
pub const TOP_CAP: usize = 256;
/// Topic names reported (the most frequent).
pub const TOP_N: usize = 10;
/// Keys of the other maps (close codes, app kinds) at most; further keys
/// are counted under `other`.
pub const KEY_CAP: usize = 64;
/// Connections without WebSocket traffic (yet) followed at once.
pub const PENDING_CAP: usize = 4096;

/// The figures of one capture: one [`ConnStats`] per WebSocket connection
/// (in order of their ids) and one for the whole capture.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureStats {
    /// Per WebSocket connection, by id.
    pub per_conn: Vec<ConnStats>,
    /// The whole capture (`conn`, `client`, `server` are `None`).
    pub total: ConnStats,
}

/// The figures of one WebSocket connection, or of the whole capture (then
/// `conn` is `None`). Durations and times in seconds; bytes in bytes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnStats {
    /// The connection's id (as in `conns`); absent for the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<u64>,
    /// The TCP client, `ip:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The TCP server, `ip:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `h1` or `h2` (how its sessions were opened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<&'static str>,
    /// WebSocket connections counted (1 for a connection).
    pub connections: u64,
    /// WebSocket sessions (handshakes seen; several per connection over HTTP/2).
    pub sessions: u64,
    /// The first packet's time (the capture's first packet for the capture).
    pub first_ts: Option<f64>,
    /// The last packet's time (for the capture: the last event's).
    pub last_ts: Option<f64>,
    /// `last_ts - first_ts`.
    pub duration: f64,
    /// Frames, both directions.
    pub frames: u64,
    /// Data messages, both directions.
    pub messages: u64,
    /// Frame bytes on the wire (headers and payloads), both directions.
    pub wire_bytes: u64,
    /// Frame payload bytes (every opcode), both directions.
    pub payload_bytes: u64,
    /// Data messages' payload bytes as sent (compressed when compressed).
    pub message_wire_bytes: u64,
    /// Data messages' bytes after inflation.
    pub inflated_bytes: u64,
    /// `inflated_bytes / message_wire_bytes` (null without message bytes).
    pub compression_ratio: Option<f64>,
    /// From the client.
    pub client_to_server: DirFigures,
    /// From the server.
    pub server_to_client: DirFigures,
    /// Data message sizes (inflated), both directions.
    pub message_size: Sizes,
    /// Data messages per second.
    pub rate: Rate,
    /// Ping to pong round trips.
    pub ping_rtt: Rtt,
    /// TCP handshake round trips (SYN to the client's ACK).
    pub tcp_rtt: Rtt,
    /// Close codes and who closed first.
    pub close: CloseStats,
    /// Findings by code.
    pub findings: BTreeMap<String, u64>,
    /// Subprotocol records.
    pub app: AppStats,
}

/// One direction's counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DirFigures {
    /// Frames.
    pub frames: u64,
    /// Data messages.
    pub messages: u64,
    /// Frame bytes on the wire (headers and payloads).
    pub wire_bytes: u64,
    /// Frame payload bytes.
    pub payload_bytes: u64,
    /// Data messages' payload bytes as sent.
    pub message_wire_bytes: u64,
    /// Data messages' bytes after inflation.
    pub inflated_bytes: u64,
    /// By the opcode of the frame (messages: by their text/binary opcode).
    pub by_opcode: ByOpcode,
}

/// Counts per opcode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ByOpcode {
    /// 0x0.
    pub continuation: OpcodeFigures,
    /// 0x1.
    pub text: OpcodeFigures,
    /// 0x2.
    pub binary: OpcodeFigures,
    /// 0x8.
    pub close: OpcodeFigures,
    /// 0x9.
    pub ping: OpcodeFigures,
    /// 0xA.
    pub pong: OpcodeFigures,
    /// 0x3-0x7, 0xB-0xF.
    pub reserved: OpcodeFigures,
}

/// Counts of one opcode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpcodeFigures {
    /// Frames.
    pub frames: u64,
    /// Their payload bytes.
    pub payload_bytes: u64,
    /// Data messages of this opcode (text and binary only).
    pub messages: u64,
    /// Their bytes after inflation.
    pub message_bytes: u64,
}

/// Message sizes: nearest-rank percentiles within 1/128 of the exact
/// value ([`sketch::REL_ERROR`]); count, min, max and mean exact.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sizes {
    /// Messages.
    pub count: u64,
    /// Smallest.
    pub min: Option<u64>,
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 99th percentile.
    pub p99: Option<u64>,
    /// Largest.
    pub max: Option<u64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// Data messages per second.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rate {
    /// Messages over the duration (null for a zero duration).
    pub mean: Option<f64>,
    /// The most messages in one 1-second window (windows counted from the
    /// capture's first packet).
    pub peak_1s: u64,
    /// Messages over time (by the time each was complete).
    pub series: Series,
}

/// A bounded time series of message counts: `counts[i]` messages were
/// complete in `[start + i * width, start + (i + 1) * width)`. At most
/// [`SERIES_CAP`] buckets; `width` is 1 s, doubled as often as needed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    /// The first bucket's start (seconds since the epoch; on the 1 s grid
    /// of the capture's first packet).
    pub start: Option<f64>,
    /// Bucket width in seconds.
    pub width: f64,
    /// Messages per bucket.
    pub counts: Vec<u64>,
}

/// Round-trip times in seconds (median within 1/128 of the exact one).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rtt {
    /// Round trips measured.
    pub count: u64,
    /// Shortest.
    pub min: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Longest.
    pub max: Option<f64>,
}

/// How the connection(s) closed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CloseStats {
    /// The code of the client's first close frame (connections only).
    pub client_code: Option<u16>,
    /// The code of the server's first close frame (connections only).
    pub server_code: Option<u16>,
    /// Who sent the first close frame: `client` or `server`.
    pub first: Option<&'static str>,
    /// Who sent the first FIN or RST.
    pub tcp_first: Option<&'static str>,
    /// Each side's first close code, counted (by the code as a string).
    pub codes: BTreeMap<String, u64>,
    /// Connections whose first close frame came from each side.
    pub closed_first: ByDir,
    /// Connections whose first FIN or RST came from each side.
    pub tcp_closed_first: ByDir,
}

/// A count per side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ByDir {
    /// The client.
    pub client: u64,
    /// The server.
    pub server: u64,
}

/// Subprotocol (`app`) records.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppStats {
    /// Records.
    pub records: u64,
    /// By protocol (`mqtt`, ...).
    pub by_protocol: BTreeMap<String, u64>,
    /// By `protocol/kind` (`mqtt/PUBLISH`, ...).
    pub by_kind: BTreeMap<String, u64>,
    /// The most frequent topics (MQTT topic, STOMP destination, Socket.IO
    /// event, GraphQL operation name), at most [`TOP_N`], most frequent first.
    pub top_topics: Vec<NameCount>,
    /// Records with a topic beyond the first [`TOP_CAP`] distinct names.
    pub other_topics: u64,
}

/// A name and how often it was seen.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// Times seen.
    pub count: u64,
}

/// Gathers [`CaptureStats`] from the event stream of one capture.
#[derive(Debug, Default)]
pub struct StatsCollector {
    /// The capture's first packet's time (the 1 s grid).
    start: Option<f64>,
    last_ts: Option<f64>,
    conns: foldhash::HashMap<u64, Acc>,
    /// Ids of the connections in `conns` with no WebSocket traffic yet.
    pending: BTreeSet<u64>,
    total: Acc,
    /// List only connections with a frame, message, finding or app record
    /// (when a filter chose the records).
    records_only: bool,
}

impl StatsCollector {
    /// An empty collector.
    pub fn new() -> Self {
        StatsCollector::default()
    }

    /// Lists only the connections with at least one frame, message,
    /// finding or app record (for `--filter`: the connections it chose).
    pub fn records_only(mut self, yes: bool) -> Self {
        self.records_only = yes;
        self
    }

    fn listed(&self, a: &Acc) -> bool {
        a.websocket && (!self.records_only || a.counted)
    }

    /// The figures so far.
    pub fn stats(&self) -> CaptureStats {
        let origin = self.start;
        let mut listed: Vec<(&u64, &Acc)> =
            self.conns.iter().filter(|(_, a)| self.listed(a)).collect();
        listed.sort_unstable_by_key(|(id, _)| **id);
        let per_conn = listed
            .iter()
            .map(|(_, a)| a.figures(origin))
            .collect::<Vec<_>>();
        let mut total = self.total.figures(origin);
        total.connections = per_conn.len() as u64;
        total.first_ts = self.start.or(self.total.first_ts);
        total.last_ts = self.last_ts;
        total.duration = duration(total.first_ts, total.last_ts);
        total.rate.mean = rate(total.messages, total.duration);
        let mut tcp = Sketch::default();
        let close = &mut total.close;
        for (a, c) in self
            .conns
            .values()
            .filter(|a| self.listed(a))
            .zip(&per_conn)
        {
            if let Some(v) = a.tcp.min() {
                tcp.add(v);
            }
            for (k, &n) in &c.close.codes {
                add_capped(&mut close.codes, k, n);
            }
            close.closed_first.client += c.close.closed_first.client;
            close.closed_first.server += c.close.closed_first.server;
            close.tcp_closed_first.client += c.close.tcp_closed_first.client;
            close.tcp_closed_first.server += c.close.tcp_closed_first.server;
        }
        total.tcp_rtt = rtt_of(&tcp);
        CaptureStats { per_conn, total }
    }

    /// The capture's data message sizes by powers of two
    /// ([`Sketch::by_power_of_two`]): the report's histogram.
    pub fn size_histogram(&self) -> Vec<(u32, u64)> {
        self.total.sizes.by_power_of_two()
    }

    /// The figures, ending the collection.
    pub fn finish(self) -> CaptureStats {
        self.stats()
    }

    /// What the collector holds: connections, sketch buckets, series
    /// buckets and map keys (for tests that memory does not follow messages).
    pub fn footprint(&self) -> usize {
        self.conns.values().map(Acc::footprint).sum::<usize>() + self.total.footprint()
    }

    fn note_ts(&mut self, ts: f64) {
        if ts.is_finite() && self.last_ts.is_none_or(|l| ts > l) {
            self.last_ts = Some(ts);
        }
        if self.start.is_none() && ts.is_finite() {
            self.start = Some(ts);
        }
    }

    /// The accumulator of connection `conn`; `ws` marks it a WebSocket one.
    fn conn(&mut self, conn: u64, ws: bool) -> &mut Acc {
        let known = self.conns.get(&conn).map(|a| a.websocket);
        if known.is_none() {
            if !ws {
                // Bounded: forget the oldest connection still without WebSocket.
                if self.pending.len() >= PENDING_CAP
                    && let Some(old) = self.pending.pop_first()
                {
                    self.conns.remove(&old);
                }
                self.pending.insert(conn);
            }
            self.conns.insert(conn, Acc::default());
        }
        if ws && known != Some(true) {
            self.pending.remove(&conn);
        }
        let a = self.conns.entry(conn).or_default();
        a.websocket |= ws;
        a
    }
}

/// `last - first` to the microsecond (as `conns` gives it), 0 when unknown.
fn duration(first: Option<f64>, last: Option<f64>) -> f64 {
    match (first, last) {
        (Some(a), Some(b)) if b > a => ((b - a) * 1e6).round() / 1e6,
        _ => 0.0,
    }
}

fn rate(messages: u64, duration: f64) -> Option<f64> {
    (duration > 0.0).then(|| messages as f64 / duration)
}

/// One direction's running counts.
#[derive(Debug, Clone, Default)]
struct DirAcc {
    fig: DirFigures,
    /// The code of this side's first close frame, once it sent one.
    closed: Option<Option<u16>>,
}

/// A message-rate series being built.
#[derive(Debug, Clone, Default)]
struct SeriesAcc {
    /// The second (from the origin) of the first bucket.
    first: i64,
    /// Bucket width in seconds.
    width: i64,
    counts: Vec<u64>,
    /// The 1 s window being counted, and its count.
    cur: Option<(i64, u64)>,
    peak: u64,
}

impl SeriesAcc {
    fn add(&mut self, sec: i64) {
        match &mut self.cur {
            Some((s, n)) if *s == sec => *n += 1,
            cur => *cur = Some((sec, 1)),
        }
        if let Some((_, n)) = self.cur {
            self.peak = self.peak.max(n);
        }
        if self.counts.is_empty() {
            self.first = sec;
            self.width = 1;
        }
        let rel = (sec - self.first).max(0);
        let mut b = rel / self.width;
        while b >= SERIES_CAP as i64 {
            self.counts = self.counts.chunks(2).map(|c| c.iter().sum()).collect();
            self.width *= 2;
            b = rel / self.width;
        }
        let b = b as usize;
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        if let Some(c) = self.counts.get_mut(b) {
            *c += 1;
        }
    }

    fn series(&self, origin: Option<f64>) -> Series {
        if self.counts.is_empty() {
            return Series {
                start: None,
                width: 1.0,
                counts: Vec::new(),
            };
        }
        Series {
            start: origin.map(|o| o + self.first as f64),
            width: self.width as f64,
            counts: self.counts.clone(),
        }
    }
}

/// Running figures of a connection (or of the capture).
#[derive(Debug, Clone, Default)]
struct Acc {
    websocket: bool,
    /// A frame, message, finding or app record was counted.
    counted: bool,
    conn: Option<u64>,
    client: Option<String>,
    server: Option<String>,
    h2: bool,
    sessions: u64,
    first_ts: Option<f64>,
    last_ts: Option<f64>,
    dirs: [DirAcc; 2],
    sizes: Sketch,
    series: SeriesAcc,
    /// Round trips in microseconds.
    ping: Sketch,
    tcp: Sketch,
    syn_ts: Option<f64>,
    close_first: Option<Dir>,
    tcp_first: Option<Dir>,
    codes: BTreeMap<String, u64>,
    closed_first: ByDir,
    tcp_closed_first: ByDir,
    findings: BTreeMap<String, u64>,
    app: AppAcc,
}

/// Subprotocol counts being built.
#[derive(Debug, Clone, Default)]
struct AppAcc {
    records: u64,
    by_protocol: BTreeMap<String, u64>,
    by_kind: BTreeMap<String, u64>,
    topics: BTreeMap<String, u64>,
    other_topics: u64,
}

/// Adds one to `key` in a map of at most [`KEY_CAP`] keys (`other` past it).
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    add_capped(map, key, 1);
}

/// Adds `n` to `key` in a map of at most [`KEY_CAP`] keys (`other` past it).
fn add_capped(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    if let Some(v) = map.get_mut(key) {
        *v += n;
    } else if map.len() < KEY_CAP {
        map.insert(key.to_string(), n);
    } else {
        *map.entry("other".to_string()).or_insert(0) += n;
    }
}

fn secs(us: Option<u64>) -> Option<f64> {
    us.map(|v| v as f64 / 1e6)
}

fn rtt_of(s: &Sketch) -> Rtt {
    Rtt {
        count: s.count(),
        min: secs(s.min()),
        median: secs(s.quantile(0.5)),
        max: secs(s.max()),
    }
}

/// Seconds to whole microseconds (round trips are kept so).
fn micros(d: f64) -> u64 {
    (d.max(0.0) * 1e6).round() as u64
}

impl Acc {
    fn footprint(&self) -> usize {
        1 + self.sizes.buckets()
            + self.ping.buckets()
            + self.tcp.buckets()
            + self.series.counts.len()
            + self.codes.len()
            + self.findings.len()
            + self.app.by_protocol.len()
            + self.app.by_kind.len()
            + self.app.topics.len()
    }

    fn touch(&mut self, ts: f64) {
        if !ts.is_finite() {
            return;
        }
        if self.first_ts.is_none_or(|f| ts < f) {
            self.first_ts = Some(ts);
        }
        if self.last_ts.is_none_or(|l| ts > l) {
            self.last_ts = Some(ts);
        }
    }

    fn figures(&self, origin: Option<f64>) -> ConnStats {
        let [c, s] = [&self.dirs[0].fig, &self.dirs[1].fig];
        let message_wire_bytes = c.message_wire_bytes + s.message_wire_bytes;
        let inflated_bytes = c.inflated_bytes + s.inflated_bytes;
        let messages = c.messages + s.messages;
        let duration = duration(self.first_ts, self.last_ts);
        let mut topics: Vec<NameCount> = self
            .app
            .topics
            .iter()
            .map(|(k, &v)| NameCount {
                name: k.clone(),
                count: v,
            })
            .collect();
        topics.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        topics.truncate(TOP_N);
        let side = |d: Option<Dir>| d.map(Dir::as_str);
        ConnStats {
            conn: self.conn,
            client: self.client.clone(),
            server: self.server.clone(),
            carrier: self
                .conn
                .map(|_| if self.h2 { "h2" } else { Carrier::H1.as_str() }),
            connections: u64::from(self.websocket),
            sessions: self.sessions,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            duration,
            frames: c.frames + s.frames,
            messages,
            wire_bytes: c.wire_bytes + s.wire_bytes,
            payload_bytes: c.payload_bytes + s.payload_bytes,
            message_wire_bytes,
            inflated_bytes,
            compression_ratio: (message_wire_bytes > 0)
                .then(|| inflated_bytes as f64 / message_wire_bytes as f64),
            client_to_server: c.clone(),
            server_to_client: s.clone(),
            message_size: Sizes {
                count: self.sizes.count(),
                min: self.sizes.min(),
                p50: self.sizes.quantile(0.5),
                p90: self.sizes.quantile(0.9),
                p99: self.sizes.quantile(0.99),
                max: self.sizes.max(),
                mean: self.sizes.mean(),
            },
            rate: Rate {
                mean: rate(messages, duration),
                peak_1s: self.series.peak,
                series: self.series.series(origin),
            },
            ping_rtt: rtt_of(&self.ping),
            tcp_rtt: rtt_of(&self.tcp),
            close: CloseStats {
                client_code: self.dirs[0].closed.flatten(),
                server_code: self.dirs[1].closed.flatten(),
                first: side(self.close_first),
                tcp_first: side(self.tcp_first),
                codes: self.codes.clone(),
                closed_first: self.closed_first.clone(),
                tcp_closed_first: self.tcp_closed_first.clone(),
            },
            findings: self.findings.clone(),
            app: AppStats {
                records: self.app.records,
                by_protocol: self.app.by_protocol.clone(),
                by_kind: self.app.by_kind.clone(),
                top_topics: topics,
                other_topics: self.app.other_topics,
            },
        }
    }
}

/// The opcode's counts in `b`.
fn by_opcode(b: &mut ByOpcode, op: OpCode) -> &mut OpcodeFigures {
    match op {
        OpCode::Continuation => &mut b.continuation,
        OpCode::Text => &mut b.text,
        OpCode::Binary => &mut b.binary,
        OpCode::Close => &mut b.close,
        OpCode::Ping => &mut b.ping,
        OpCode::Pong => &mut b.pong,
        OpCode::Reserved(_) => &mut b.reserved,
    }
}

/// The topic-like field of a subprotocol record.
fn topic_of(app: &crate::app::AppRecord) -> Option<String> {
    use serde_json::Value;
    let direct = ["topic", "event", "operation_name", "destination"]
        .iter()
        .find_map(|k| app.get(k).and_then(Value::as_str));
    let stomp = || {
        app.get("headers")
            .and_then(|h| h.get("destination"))
            .and_then(Value::as_str)
    };
    direct.or_else(stomp).map(str::to_string)
}

/// The second of `ts` on the 1 s grid of `origin`.
fn second(ts: f64, origin: Option<f64>) -> i64 {
    let o = origin.unwrap_or(ts);
    let s = (ts - o).floor();
    if s.is_finite() { s as i64 } else { 0 }
}

/// Applies one event to both the connection's and the capture's figures.
fn apply(acc: &mut Acc, ev: &Event<'_>, origin: Option<f64>, per_conn: bool) {
    acc.counted |= matches!(
        ev,
        Event::Frame(_) | Event::Message(_) | Event::Finding(_) | Event::App(_)
    );
    match *ev {
        Event::Handshake(s, _) => {
            acc.sessions += 1;
            acc.h2 |= s.carrier == Carrier::H2;
        }
        Event::Frame(f) => {
            acc.h2 |= f.session.carrier == Carrier::H2;
            acc.touch(f.ts);
            let d = &mut acc.dirs[f.from.index()];
            let len = f.header.payload_len;
            let wire = (f.header_bytes.len() as u64).saturating_add(len);
            d.fig.frames += 1;
            d.fig.payload_bytes = d.fig.payload_bytes.saturating_add(len);
            d.fig.wire_bytes = d.fig.wire_bytes.saturating_add(wire);
            let o = by_opcode(&mut d.fig.by_opcode, f.header.opcode);
            o.frames += 1;
            o.payload_bytes = o.payload_bytes.saturating_add(len);
            if per_conn && f.header.opcode == OpCode::Close && d.closed.is_none() {
                d.closed = Some(f.close_code);
                if let Some(code) = f.close_code {
                    bump(&mut acc.codes, &code.to_string());
                }
                if acc.close_first.is_none() {
                    acc.close_first = Some(f.from);
                    match f.from {
                        Dir::Client => acc.closed_first.client += 1,
                        Dir::Server => acc.closed_first.server += 1,
                    }
                }
            }
            if f.header.opcode == OpCode::Pong
                && let Some(p) = f.answers
            {
                acc.ping.add(micros(f.ts - p.ts));
            }
        }
        Event::Message(m) => {
            acc.touch(m.first_ts);
            let d = &mut acc.dirs[m.from.index()];
            d.fig.messages += 1;
            d.fig.message_wire_bytes = d.fig.message_wire_bytes.saturating_add(m.wire_len);
            d.fig.inflated_bytes = d.fig.inflated_bytes.saturating_add(m.len);
            let o = by_opcode(&mut d.fig.by_opcode, m.opcode);
            o.messages += 1;
            o.message_bytes = o.message_bytes.saturating_add(m.len);
            acc.sizes.add(m.len);
            // When it was complete (the `ts` of its JSON record).
            acc.series.add(second(m.last_ts, origin));
        }
        Event::Finding(f) => bump(&mut acc.findings, f.code.as_str()),
        Event::App(a) => {
            acc.app.records += 1;
            bump(&mut acc.app.by_protocol, a.protocol);
            bump(&mut acc.app.by_kind, &format!("{}/{}", a.protocol, a.kind));
            if let Some(t) = topic_of(a) {
                if let Some(n) = acc.app.topics.get_mut(&t) {
                    *n += 1;
                } else if acc.app.topics.len() < TOP_CAP {
                    acc.app.topics.insert(t, 1);
                } else {
                    acc.app.other_topics += 1;
                }
            }
        }
        Event::Tcp(t) if per_conn => {
            use crate::event::TcpKind;
            acc.touch(t.ts);
            match t.kind {
                TcpKind::Syn => acc.syn_ts = Some(t.ts),
                TcpKind::Ack => {
                    if let Some(s) = acc.syn_ts
                        && t.ts >= s
                    {
                        acc.tcp.add(micros(t.ts - s));
                    }
                }
                TcpKind::Fin | TcpKind::Rst => {
                    if acc.tcp_first.is_none()
                        && let Some(d) = t.from
                    {
                        acc.tcp_first = Some(d);
                        match d {
                            Dir::Client => acc.tcp_closed_first.client += 1,
                            Dir::Server => acc.tcp_closed_first.server += 1,
                        }
                    }
                }
                TcpKind::SynAck => {}
            }
        }
        Event::ConnEnd(c) => {
            acc.first_ts = Some(c.first_ts);
            acc.last_ts = Some(c.last_ts);
        }
        Event::HttpHead(h) => acc.touch(h.ts),
        Event::Tcp(_)
        | Event::Start(_)
        | Event::HttpBody(_)
        | Event::HttpEnd(_)
        | Event::Sse(_)
        | Event::Layer(_)
        | Event::Segment(_) => {}
    }
}

impl Sink for StatsCollector {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        let (session, ws, ts) = match ev {
            Event::Start(s) => {
                self.start = Some(s.ts);
                self.note_ts(s.ts);
                return ControlFlow::Continue(());
            }
            Event::Tcp(t) => (Some(t.session), false, Some(t.ts)),
            Event::Handshake(s, _) => (Some(s), true, None),
            Event::HttpHead(h) => (Some(h.session), false, Some(h.ts)),
            Event::HttpBody(_)
            | Event::HttpEnd(_)
            | Event::Sse(_)
            | Event::Layer(_)
            | Event::Segment(_) => {
                return ControlFlow::Continue(());
            }
            Event::Frame(f) => (Some(f.session), true, Some(f.ts)),
            Event::Message(m) => (Some(m.session), true, Some(m.last_ts)),
            Event::Finding(f) => (f.at.session, false, None),
            Event::App(a) => (None, false, Some(a.ts)),
            Event::ConnEnd(c) => (Some(c.session), c.websocket, Some(c.last_ts)),
        };
        if let Some(ts) = ts {
            self.note_ts(ts);
        }
        let origin = self.start;
        // The capture's figures see every event; the connection's, the
        // events of connections that are (or may become) WebSocket ones.
        let conn = match (&ev, session) {
            (_, Some(s)) => Some((s.conn, Some(s))),
            (Event::App(a), None) => Some((a.conn, None)),
            _ => None,
        };
        // Close codes, who closed first and TCP round trips are per
        // connection: the capture's are its connections' (in `stats`).
        apply(&mut self.total, &ev, origin, false);
        if let Some((id, s)) = conn {
            let known = self.conns.contains_key(&id);
            if !ws && !known && !matches!(ev, Event::Tcp(_) | Event::HttpHead(_)) {
                // Findings and records of a connection never seen begin
                // nothing (it would hold no WebSocket figures).
                return ControlFlow::Continue(());
            }
            let acc = self.conn(id, ws);
            acc.conn = Some(id);
            if let Some(s) = s
                && acc.client.is_none()
            {
                acc.client = Some(s.client.to_string());
                acc.server = Some(s.server.to_string());
            }
            apply(acc, &ev, origin, true);
            if let Event::ConnEnd(c) = ev
                && !c.websocket
                && !acc.websocket
            {
                // A TLS connection that carried no WebSocket: done with it.
                self.conns.remove(&id);
                self.pending.remove(&id);
            }
        }
        ControlFlow::Continue(())
    }
}
