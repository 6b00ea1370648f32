//! `--filter`: the typed records read as [`crate::filter::Record`]s, and the sink
//! that passes a command's records on only when they match.
//!
//! Each record answers by the names its JSON record prints (`conn`,
//! `client`, `from`, `opcode_name`, `payload_len`, `close_code`, `ts`,
//! `code`, `severity`, ...), straight from the typed fields: nothing is
//! serialised per record, and a string (an address, a hex payload) is
//! formatted only when the filter asks for it. The payload fields (`text`,
//! `payload_text`, `payload_hex`, `data_hex`, ...) are there whatever
//! `--payload` prints, as far as the kept bytes go.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::ops::ControlFlow;

use super::{MessageTypes, PayloadKind, base64_into, hex_into};
use crate::event::{ConnSummary, Event, FrameRecord, MessageRecord, SessionRef, Sink};
use crate::filter::{Endpoint, FieldValue, Filter, Record};
use crate::findings::{Code, Finding};
use crate::handshake::Handshake;
use crate::push::PushRecord;
use crate::sse::SseRecord;
use crate::stage::kinds;
use crate::ws::frame::OpCode;

fn text(s: &str) -> FieldValue<'_> {
    FieldValue::Str(Cow::Borrowed(s))
}

fn owned<'a>(s: String) -> FieldValue<'a> {
    FieldValue::Str(Cow::Owned(s))
}

fn int<'a>(i: impl Into<i128>) -> FieldValue<'a> {
    FieldValue::Int(i.into())
}

fn opt<'a, T>(v: Option<T>, f: impl FnOnce(T) -> FieldValue<'a>) -> FieldValue<'a> {
    v.map_or(FieldValue::Null, f)
}

fn opt_str(v: Option<&str>) -> FieldValue<'_> {
    opt(v, text)
}

fn addr<'a>(a: SocketAddr) -> FieldValue<'a> {
    owned(a.to_string())
}

fn codes(c: &[Code]) -> FieldValue<'static> {
    FieldValue::List(c.iter().map(|c| text(c.as_str())).collect())
}

fn hex(b: &[u8]) -> FieldValue<'static> {
    let mut s = String::new();
    hex_into(b, &mut s);
    owned(s)
}

fn base64(b: &[u8]) -> FieldValue<'static> {
    let mut s = String::new();
    base64_into(b, &mut s);
    owned(s)
}

/// `type` and `capture`, the fields every record starts with.
fn head<'a>(name: &str, ty: &'static str, capture: Option<&'a str>) -> Option<FieldValue<'a>> {
    match name {
        "type" => Some(text(ty)),
        "capture" => capture.map(text),
        _ => None,
    }
}

/// `conn`, `client`, `server`, `carrier` and `stream` of a session.
fn session_field(s: &SessionRef, name: &str) -> Option<FieldValue<'static>> {
    Some(match name {
        "conn" => int(s.conn),
        "client" => addr(s.client),
        "server" => addr(s.server),
        "carrier" => text(s.carrier.as_str()),
        "stream" => opt(s.stream, int),
        _ => return None,
    })
}

fn session_endpoint(s: &SessionRef, which: &str) -> Option<Endpoint> {
    match which {
        "client" => Some(Endpoint::Sock(s.client)),
        "server" => Some(Endpoint::Sock(s.server)),
        _ => None,
    }
}

/// A `frame` record: the frame, and the type of the message it belongs to
/// (which decides whether its payload reads as text, as in the JSON).
pub struct FrameView<'r, 'a> {
    pub frame: &'r FrameRecord<'a>,
    pub kind: PayloadKind,
    pub capture: Option<&'r str>,
}

impl FrameView<'_, '_> {
    /// Whether `payload_text` is given (the JSON's rule for `--payload text`).
    fn as_text(&self) -> bool {
        super::frame_payload_as_text(self.frame, self.kind)
    }
}

impl Record for FrameView<'_, '_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let f = self.frame;
        if let Some(v) = head(name, "frame", self.capture) {
            return Some(v);
        }
        if let Some(v) = session_field(&f.session, name) {
            return Some(v);
        }
        let h = &f.header;
        Some(match name {
            "from" => text(f.from.as_str()),
            "packet" => int(f.packet),
            "ts" => FieldValue::Float(f.ts),
            "fin" => FieldValue::Bool(h.fin),
            "rsv1" => FieldValue::Bool(h.rsv1),
            "rsv2" => FieldValue::Bool(h.rsv2),
            "rsv3" => FieldValue::Bool(h.rsv3),
            "opcode" => int(h.opcode.as_u8()),
            "opcode_name" => text(h.opcode.name()),
            "masked" => FieldValue::Bool(h.masked()),
            "mask_key" => opt(h.mask_key, |k| hex(&k)),
            "payload_len" => int(h.payload_len),
            "payload_text" if self.as_text() => match String::from_utf8_lossy(f.payload) {
                Cow::Borrowed(s) => text(s),
                Cow::Owned(s) => owned(s),
            },
            "payload_hex" => hex(f.payload),
            "payload_base64" => base64(f.payload),
            "payload_incomplete" => FieldValue::Bool(!f.payload_complete),
            "close_code" => opt(f.close_code, int),
            "close_reason" => opt(f.close_reason, |r| match String::from_utf8_lossy(r) {
                Cow::Borrowed(s) => text(s),
                Cow::Owned(s) => owned(s),
            }),
            "first_packet" => int(f.first_packet),
            "segments" => int(f.segments),
            "findings" => codes(f.findings),
            _ => return None,
        })
    }

    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        session_endpoint(&self.frame.session, which)
    }
}

/// A `message` record.
pub struct MessageView<'r, 'a> {
    pub message: &'r MessageRecord<'a>,
    pub capture: Option<&'r str>,
}

impl Record for MessageView<'_, '_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let m = self.message;
        if let Some(v) = head(name, "message", self.capture) {
            return Some(v);
        }
        if let Some(v) = session_field(&m.session, name) {
            return Some(v);
        }
        Some(match name {
            "from" => text(m.from.as_str()),
            "opcode" => int(m.opcode.as_u8()),
            "opcode_name" => text(m.opcode.name()),
            "frames" => int(m.frames),
            "packets" => FieldValue::List(vec![int(m.first_packet), int(m.last_packet)]),
            "ts" => FieldValue::Float(m.last_ts),
            "compressed" => FieldValue::Bool(m.compressed),
            "wire_len" => int(m.wire_len),
            "len" => int(m.len),
            // As `--payload text` gives it: a text message that decoded.
            "text" if m.opcode == OpCode::Text && m.decodable => {
                text(simdutf8::basic::from_utf8(m.data).ok()?)
            }
            "data_hex" => hex(m.data),
            "data_base64" => base64(m.data),
            "data_incomplete" => FieldValue::Bool(!m.data_complete),
            "undecodable" => FieldValue::Bool(!m.decodable),
            "findings" => codes(m.findings),
            _ => return None,
        })
    }

    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        session_endpoint(&self.message.session, which)
    }
}

/// A `handshake` record.
pub struct HandshakeView<'r> {
    pub session: SessionRef,
    pub handshake: &'r Handshake,
    pub capture: Option<&'r str>,
}

impl Record for HandshakeView<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let h = self.handshake;
        if let Some(v) = head(name, "handshake", self.capture) {
            return Some(v);
        }
        if let Some(v) = session_field(&self.session, name) {
            return Some(v);
        }
        Some(match name {
            "packet" => int(h.packet),
            "response_packet" => opt(h.response_packet, int),
            "method" => text(&h.method),
            "path" => text(&h.path),
            "host" => opt_str(h.host.as_deref()),
            "key" => opt_str(h.key.as_deref()),
            "version" => opt_str(h.version.as_deref()),
            "status" => opt(h.status, int),
            "accept" => opt_str(h.accept.as_deref()),
            "accept_expected" => opt_str(h.accept_expected.as_deref()),
            "accept_ok" => opt(h.accept_ok, FieldValue::Bool),
            "subprotocol" => opt_str(h.subprotocol.as_deref()),
            "subprotocols_offered" => {
                FieldValue::List(h.offered_protocols.iter().map(|p| text(p)).collect())
            }
            "extensions" => opt_str(h.extensions.as_deref()),
            "extensions_offered" => opt_str(h.offered_extensions.as_deref()),
            "tls" => FieldValue::Null,
            "findings" => {
                FieldValue::List(h.findings.iter().map(|f| text(f.code.as_str())).collect())
            }
            _ => return None,
        })
    }

    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        session_endpoint(&self.session, which)
    }
}

/// A `conn` record.
pub struct ConnView<'r> {
    pub conn: &'r ConnSummary,
    pub capture: Option<&'r str>,
}

impl Record for ConnView<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let c = self.conn;
        if let Some(v) = head(name, "conn", self.capture) {
            return Some(v);
        }
        if let Some((outer, inner)) = name.split_once('.') {
            let d = match outer {
                "client_to_server" => &c.stats[0],
                "server_to_client" => &c.stats[1],
                "tls" => {
                    let t = c.tls.as_ref()?;
                    return Some(match inner {
                        "version" => opt_str(t.version.as_deref()),
                        "cipher" => opt_str(t.cipher.as_deref()),
                        "sni" => opt_str(t.sni.as_deref()),
                        "alpn" => opt_str(t.alpn.as_deref()),
                        "decrypted" => FieldValue::Bool(t.decrypted),
                        _ => return None,
                    });
                }
                _ => return None,
            };
            return Some(match inner {
                "frames" => int(d.frames),
                "messages" => int(d.messages),
                "payload_bytes" => int(d.payload_bytes),
                "close_code" => opt(d.close_code, int),
                "close_reason" => opt_str(d.close_reason.as_deref()),
                _ => return None,
            });
        }
        Some(match name {
            "conn" => int(c.session.conn),
            "client" => addr(c.session.client),
            "server" => addr(c.session.server),
            "packets" => FieldValue::List(vec![int(c.first_packet), int(c.last_packet)]),
            "first_ts" => FieldValue::Float(c.first_ts),
            "last_ts" => FieldValue::Float(c.last_ts),
            // Rounded as the JSON record rounds it.
            "duration" => FieldValue::Float(((c.last_ts - c.first_ts) * 1e6).round() / 1e6),
            "handshake" => FieldValue::Bool(c.handshake_seen),
            "path" => opt_str(c.path.as_deref()),
            "status" => opt(c.status, int),
            "accept_ok" => opt(c.accept_ok, FieldValue::Bool),
            "subprotocol" => opt_str(c.subprotocol.as_deref()),
            "extensions" => opt_str(c.extensions.as_deref()),
            "tls" => opt(c.tls.as_ref(), |_| FieldValue::Object { empty: false }),
            "client_to_server" | "server_to_client" => FieldValue::Object { empty: false },
            "findings" => codes(&c.findings),
            _ => return None,
        })
    }

    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        session_endpoint(&self.conn.session, which)
    }
}

/// A `finding` record. Like its JSON record it names no endpoints (`ip`
/// and `port` do not apply; `conn` does).
pub struct FindingView<'r> {
    pub finding: &'r Finding,
    pub capture: Option<&'r str>,
}

impl Record for FindingView<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let f = self.finding;
        if let Some(v) = head(name, "finding", self.capture) {
            return Some(v);
        }
        Some(match name {
            "code" => text(f.code.as_str()),
            "severity" => text(f.severity().as_str()),
            "conn" => opt(f.conn(), int),
            "stream" => int(f.stream()?),
            "from" => opt(f.from(), |d| text(d.as_str())),
            "packet" => opt(f.packet(), int),
            "offset" => int(f.offset()?),
            "message" => text(&f.message),
            _ => return None,
        })
    }
}

/// An `sse-event` record.
pub struct SseView<'r> {
    pub event: &'r SseRecord,
    pub capture: Option<&'r str>,
}

impl Record for SseView<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let e = self.event;
        if let Some(v) = head(name, "sse-event", self.capture) {
            return Some(v);
        }
        Some(match name {
            "conn" => int(e.conn),
            "packet" => int(e.packet),
            "ts" => FieldValue::Float(e.ts),
            "id" => opt_str(e.id.as_deref()),
            "event" => text(&e.event),
            "data" => text(&e.data),
            "retry" => opt(e.retry, int),
            _ => return None,
        })
    }
}

/// A `push` record (one channel).
pub struct PushView<'r> {
    pub channel: &'r PushRecord,
    pub capture: Option<&'r str>,
}

impl Record for PushView<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let p = self.channel;
        if let Some(v) = head(name, "push", self.capture) {
            return Some(v);
        }
        let float = |v: Option<f64>| opt(v, FieldValue::Float);
        Some(match name {
            "technique" => text(p.technique),
            "client" => text(&p.client),
            "server" => text(&p.server),
            "method" => text(&p.method),
            "host" => opt_str(p.host.as_deref()),
            "path" => text(&p.path),
            "conns" => FieldValue::List(p.conns.iter().map(|&c| int(c)).collect()),
            "requests" => int(p.requests),
            "events" => int(p.events),
            "first_ts" => FieldValue::Float(p.first_ts),
            "last_ts" => FieldValue::Float(p.last_ts),
            "mean_interval" => float(p.mean_interval),
            "mean_hold" => float(p.mean_hold),
            "events_per_request" => FieldValue::Float(p.events_per_request),
            "reconnects" => int(p.reconnects),
            "last_event_ids" => {
                FieldValue::List(p.last_event_ids.iter().map(|s| text(s)).collect())
            }
            "open" => int(p.open),
            "rtt" => float(p.rtt),
            "hold_threshold" => FieldValue::Float(p.hold_threshold),
            "reason" => text(&p.reason),
            _ => return None,
        })
    }
}

/// Whether the record an event carries passes `filter`; `kind` is the type
/// of the frame's message (see [`FrameView`]). Events that carry no record
/// (TCP segments, HTTP heads and bodies, the start) pass.
pub fn event_matches(
    filter: &Filter,
    ev: &Event<'_>,
    kind: PayloadKind,
    capture: Option<&str>,
) -> bool {
    match *ev {
        Event::Frame(frame) => filter.matches(&FrameView {
            frame,
            kind,
            capture,
        }),
        Event::Message(message) => filter.matches(&MessageView { message, capture }),
        Event::Handshake(session, handshake) => filter.matches(&HandshakeView {
            session,
            handshake,
            capture,
        }),
        Event::Finding(finding) => filter.matches(&FindingView { finding, capture }),
        Event::Sse(event) => filter.matches(&SseView { event, capture }),
        Event::ConnEnd(conn) => filter.matches(&ConnView { conn, capture }),
        // Subprotocol records are few and their fields open-ended: matched
        // over their JSON form.
        Event::App(app) => match serde_json::to_value(app) {
            Ok(serde_json::Value::Object(mut m)) => {
                if let Some(c) = capture {
                    m.insert("capture".into(), c.into());
                }
                filter.matches(&m)
            }
            _ => false,
        },
        Event::Start(_)
        | Event::Tcp(_)
        | Event::Segment(_)
        | Event::HttpHead(_)
        | Event::HttpBody(_)
        | Event::HttpEnd(_)
        | Event::Layer(_) => true,
    }
}

/// Passes a command's records (the event kinds in `records`, bits of
/// [`kinds`]) on to `inner` only when they match the filter; every other
/// event passes, so the consumer keeps its context (`check` its
/// connections, a table its capture start). A withheld event is handed to
/// [`Sink::withheld`], so a consumer that follows messages across frames
/// stays in step. Without a filter everything passes.
pub struct Filtered<S> {
    pub inner: S,
    filter: Option<Filter>,
    records: u32,
    capture: Option<String>,
    /// The type of each open message, when the filter reads frame payloads.
    types: Option<MessageTypes>,
}

/// Filter fields whose value depends on a frame's message type.
const KIND_FIELDS: &[&str] = &["text", "payload_text"];

impl<S: Sink> Filtered<S> {
    pub fn new(inner: S, filter: Option<Filter>, records: u32) -> Self {
        let types = filter
            .as_ref()
            .filter(|f| f.fields().iter().any(|n| KIND_FIELDS.contains(n)))
            .map(|_| MessageTypes::default());
        Filtered {
            inner,
            filter,
            records,
            capture: None,
            types,
        }
    }

    /// The capture the records come from (their `capture` field).
    pub fn set_capture(&mut self, name: Option<String>) {
        self.capture = name;
    }

    fn passes(&mut self, ev: &Event<'_>) -> bool {
        let Some(filter) = &self.filter else {
            return true;
        };
        let kind = match (&mut self.types, ev) {
            (Some(t), Event::Frame(f)) => t.kind(f),
            (Some(t), Event::ConnEnd(c)) => {
                t.end(c.session.conn);
                PayloadKind::Unknown
            }
            _ => PayloadKind::Unknown,
        };
        if crate::stage::kind(ev) & self.records == 0 {
            return true;
        }
        event_matches(filter, ev, kind, self.capture.as_deref())
    }
}

impl<S: Sink> Sink for Filtered<S> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if self.passes(&ev) {
            self.inner.event(ev)
        } else {
            self.inner.withheld(ev);
            ControlFlow::Continue(())
        }
    }

    fn withheld(&mut self, ev: Event<'_>) {
        self.inner.withheld(ev);
    }

    /// The inner sink's, and the frames and connection ends that tell the
    /// type of each open message when the filter reads it.
    fn wants(&self) -> u32 {
        match self.types {
            Some(_) => self.inner.wants() | kinds::FRAME | kinds::CONN_END,
            None => self.inner.wants(),
        }
    }
}

/// The records each command filters, as [`kinds`] bits.
pub mod records {
    use super::kinds;
    pub const FRAMES: u32 = kinds::FRAME;
    pub const MESSAGES: u32 = kinds::MESSAGE;
    pub const CONNS: u32 = kinds::HANDSHAKE | kinds::CONN_END;
    pub const FINDINGS: u32 = kinds::FINDING;
    pub const APPS: u32 = kinds::APP;
    /// Every record type (for choosing `explain`'s connection).
    pub const ALL: u32 = kinds::FRAME
        | kinds::MESSAGE
        | kinds::HANDSHAKE
        | kinds::FINDING
        | kinds::SSE
        | kinds::APP
        | kinds::CONN_END;
}

/// The first connection with a record that passes `filter` (among the
/// connection `only`, when given): `explain --filter` walks through it.
pub fn first_matching_conn<R: std::io::Read + Send>(
    input: R,
    cfg: &crate::Config,
    filter: &Filter,
    only: Option<u64>,
    capture: &str,
) -> Result<Option<u64>, crate::capture::NotACapture> {
    struct Find<'f> {
        filter: &'f Filter,
        only: Option<u64>,
        capture: &'f str,
        types: MessageTypes,
        found: Option<u64>,
    }
    impl Sink for Find<'_> {
        fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
            let conn = match ev {
                Event::Frame(f) => Some(f.session.conn),
                Event::Message(m) => Some(m.session.conn),
                Event::Handshake(s, _) => Some(s.conn),
                Event::Finding(f) => f.conn(),
                Event::Sse(e) => Some(e.conn),
                Event::ConnEnd(c) => Some(c.session.conn),
                _ => None,
            };
            let kind = match ev {
                Event::Frame(f) => self.types.kind(f),
                Event::ConnEnd(c) => {
                    self.types.end(c.session.conn);
                    PayloadKind::Unknown
                }
                _ => PayloadKind::Unknown,
            };
            let Some(conn) = conn else {
                return ControlFlow::Continue(());
            };
            if self.only.is_some_and(|o| o != conn) {
                return ControlFlow::Continue(());
            }
            if event_matches(self.filter, &ev, kind, Some(self.capture)) {
                self.found = Some(conn);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find {
        filter,
        only,
        capture,
        types: MessageTypes::default(),
        found: None,
    };
    crate::run(input, cfg, &mut find)?;
    Ok(find.found)
}
