//! Subprotocol decoders (issue 16, first part): MQTT 3.1.1/5.0, STOMP
//! 1.0-1.2, Engine.IO v4 / Socket.IO v5 and GraphQL over WebSocket
//! (graphql-transport-ws and the legacy graphql-ws).
//!
//! Self-contained and not yet wired into the analyzer: a caller picks a
//! decoder with [`dispatch`], builds it with [`Decoder::new`] for one
//! WebSocket session, feeds it each complete WebSocket data message in
//! capture order ([`Decoder::message`], both directions interleaved), and
//! collects [`AppRecord`]s (serialisable to DESIGN.md's `app` record) and
//! [`AppFinding`]s (codes `mqtt.malformed`, `mqtt.protocol-violation`,
//! `stomp.malformed`, `socketio.malformed`, `graphql.protocol-violation`).
//!
//! Memory is bounded everywhere: per-direction reassembly buffers are capped
//! at [`MAX_UNIT`] bytes, decoded collections (properties, headers,
//! attachments) have fixed caps, and no length field is used to reserve
//! memory.

pub mod graphql;
pub mod mqtt;
pub mod socketio;
pub mod stomp;

use crate::findings::Dir;
use serde::Serialize;
use serde_json::{Map, Value};

/// Largest protocol unit (MQTT packet, STOMP frame) buffered across
/// WebSocket messages; a larger one is reported malformed and dropped.
pub const MAX_UNIT: usize = 16 << 20;

/// The subprotocols this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mqtt,
    Stomp,
    SocketIo,
    GraphqlWs,
    GraphqlTransportWs,
}

impl Protocol {
    /// The `protocol` field of the `app` record (also the `--decode-as` name).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Mqtt => "mqtt",
            Protocol::Stomp => "stomp",
            Protocol::SocketIo => "socketio",
            Protocol::GraphqlWs => "graphql-ws",
            Protocol::GraphqlTransportWs => "graphql-transport-ws",
        }
    }

    /// A `--decode-as` name (the `protocol` names, case-insensitive).
    pub fn from_name(name: &str) -> Option<Protocol> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "mqtt" => Protocol::Mqtt,
            "stomp" => Protocol::Stomp,
            "socketio" | "socket.io" | "engineio" | "engine.io" => Protocol::SocketIo,
            "graphql-ws" => Protocol::GraphqlWs,
            "graphql-transport-ws" => Protocol::GraphqlTransportWs,
            _ => return None,
        })
    }
}

/// Picks the decoder for a WebSocket session: `decode_as` (a `--decode-as`
/// name) wins, then the negotiated `Sec-WebSocket-Protocol` (`mqtt`,
/// `mqttv3.1`, `v10.stomp`/`v11.stomp`/`v12.stomp`, `graphql-transport-ws`,
/// `graphql-ws`), then the request path (`/socket.io/...EIO=4`).
pub fn dispatch(
    subprotocol: Option<&str>,
    path: Option<&str>,
    decode_as: Option<&str>,
) -> Option<Protocol> {
    if let Some(p) = decode_as.and_then(Protocol::from_name) {
        return Some(p);
    }
    if let Some(sp) = subprotocol {
        let sp = sp.trim().to_ascii_lowercase();
        let p = match sp.as_str() {
            "mqtt" | "mqttv3.1" | "mqttv3.1.1" | "mqttv5" => Some(Protocol::Mqtt),
            "v10.stomp" | "v11.stomp" | "v12.stomp" | "stomp" => Some(Protocol::Stomp),
            "graphql-transport-ws" => Some(Protocol::GraphqlTransportWs),
            "graphql-ws" => Some(Protocol::GraphqlWs),
            _ => None,
        };
        if p.is_some() {
            return p;
        }
    }
    let path = path?;
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    if p.contains("/socket.io") && q.split('&').any(|kv| kv == "EIO=4") {
        return Some(Protocol::SocketIo);
    }
    None
}

/// The session a decoder works for; copied into every record.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub conn: u64,
    pub client: String,
    pub server: String,
    /// HTTP/2 stream id, `None` for an HTTP/1.1 session.
    pub stream: Option<u64>,
}

/// One complete WebSocket data message, as the decoders take it.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    pub from: Dir,
    /// Opcode 2 (binary) rather than 1 (text).
    pub binary: bool,
    pub payload: &'a [u8],
    /// 1-based capture packet number that completed the message.
    pub packet: u64,
    pub ts: f64,
}

/// The finding codes this module raises (DESIGN.md "Subprotocols"; all
/// errors). The wiring session maps them onto `findings::Code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppCode {
    MqttMalformed,
    MqttProtocolViolation,
    StompMalformed,
    SocketioMalformed,
    GraphqlProtocolViolation,
}

impl AppCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AppCode::MqttMalformed => "mqtt.malformed",
            AppCode::MqttProtocolViolation => "mqtt.protocol-violation",
            AppCode::StompMalformed => "stomp.malformed",
            AppCode::SocketioMalformed => "socketio.malformed",
            AppCode::GraphqlProtocolViolation => "graphql.protocol-violation",
        }
    }
}

/// A finding as data: the caller adds `conn` and turns it into a
/// `findings::Finding`.
#[derive(Debug, Clone, PartialEq)]
pub struct AppFinding {
    pub code: AppCode,
    pub from: Dir,
    pub packet: u64,
    /// One human sentence; capture text in it is already escaped.
    pub message: String,
}

/// DESIGN.md's `app` record. Absent protocol fields are left out of the
/// JSON; `fields` holds the protocol's fields in a fixed order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppRecord {
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub protocol: &'static str,
    pub conn: u64,
    pub client: String,
    pub server: String,
    pub stream: Option<u64>,
    pub from: &'static str,
    pub packet: u64,
    pub ts: f64,
    pub kind: String,
    /// Protocol fields: MQTT `client_id`, `topic`, `qos`, `retain`, `dup`,
    /// `packet_id`, `reason_code`, `payload_text`/`payload_hex`,
    /// `properties`...; STOMP `headers`, `body_text`/`body_hex`; Socket.IO
    /// `namespace`, `event`, `args`, `ack_id`; GraphQL `id`,
    /// `operation_name`, `payload`.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl AppRecord {
    /// A field of the record (`kind` and the protocol fields).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

/// What one call to a decoder produced.
#[derive(Debug, Default)]
pub struct Output {
    pub records: Vec<AppRecord>,
    pub findings: Vec<AppFinding>,
}

enum Inner {
    Mqtt(mqtt::Mqtt),
    Stomp(stomp::Stomp),
    SocketIo(Box<socketio::SocketIo>),
    Graphql(graphql::Graphql),
}

/// A decoder for one WebSocket session (or one Socket.IO session).
pub struct Decoder {
    protocol: Protocol,
    session: Session,
    inner: Inner,
}

/// What a protocol decoder emits before the session fields are added.
pub(crate) struct Unit {
    pub from: Dir,
    pub packet: u64,
    pub ts: f64,
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl Decoder {
    pub fn new(protocol: Protocol, session: Session) -> Decoder {
        let inner = match protocol {
            Protocol::Mqtt => Inner::Mqtt(mqtt::Mqtt::default()),
            Protocol::Stomp => Inner::Stomp(stomp::Stomp::default()),
            Protocol::SocketIo => Inner::SocketIo(Box::default()),
            Protocol::GraphqlWs => Inner::Graphql(graphql::Graphql::new(true)),
            Protocol::GraphqlTransportWs => Inner::Graphql(graphql::Graphql::new(false)),
        };
        Decoder {
            protocol,
            session,
            inner,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The session later records carry (an Engine.IO session moves between
    /// polling exchanges and its WebSocket transport).
    pub fn set_session(&mut self, session: Session) {
        if self.session.conn != session.conn || self.session.stream != session.stream {
            self.session = session;
        }
    }

    /// A message `from` that side was lost (bytes missing from the
    /// capture): a unit being reassembled in that direction is dropped,
    /// and the next message starts afresh.
    pub fn lost(&mut self, from: Dir) {
        match &mut self.inner {
            Inner::Mqtt(d) => d.lost(from),
            Inner::Stomp(d) => d.lost(from),
            Inner::SocketIo(_) | Inner::Graphql(_) => {}
        }
    }

    /// Decodes one WebSocket data message; appends to `out`.
    pub fn message(&mut self, msg: &Msg, out: &mut Output) {
        let mut units = Vec::new();
        match &mut self.inner {
            Inner::Mqtt(d) => d.message(msg, &mut units, &mut out.findings),
            Inner::Stomp(d) => d.message(msg, &mut units, &mut out.findings),
            Inner::SocketIo(d) => d.message(msg, &mut units, &mut out.findings),
            Inner::Graphql(d) => d.message(msg, &mut units, &mut out.findings),
        }
        self.push_units(units, out);
    }

    /// Decodes one HTTP long-polling body of Engine.IO (packets joined by
    /// `\x1e`); `from` is the side that sent the body. Other decoders treat
    /// it as one text message.
    pub fn polling_body(&mut self, msg: &Msg, out: &mut Output) {
        let mut units = Vec::new();
        match &mut self.inner {
            Inner::SocketIo(d) => d.polling_body(msg, &mut units, &mut out.findings),
            _ => return self.message(msg, out),
        }
        self.push_units(units, out);
    }

    /// The end of the session: reports units left incomplete.
    pub fn finish(&mut self, out: &mut Output) {
        match &mut self.inner {
            Inner::Mqtt(d) => d.finish(&mut out.findings),
            Inner::Stomp(d) => d.finish(&mut out.findings),
            Inner::SocketIo(_) | Inner::Graphql(_) => {}
        }
    }

    fn push_units(&self, units: Vec<Unit>, out: &mut Output) {
        for u in units {
            out.records.push(AppRecord {
                ty: "app",
                protocol: self.protocol.as_str(),
                conn: self.session.conn,
                client: self.session.client.clone(),
                server: self.session.server.clone(),
                stream: self.session.stream,
                from: u.from.as_str(),
                packet: u.packet,
                ts: u.ts,
                kind: u.kind,
                fields: u.fields,
            });
        }
    }
}

/// Payload as `{name}_text` when valid UTF-8, else `{name}_hex`.
pub(crate) fn put_bytes(fields: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => fields.insert(format!("{name}_text"), Value::from(s)),
        Err(_) => fields.insert(format!("{name}_hex"), Value::from(hex(bytes))),
    };
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Capture text for a finding sentence: control and non-ASCII characters
/// escaped, at most `max` characters.
pub(crate) fn esc(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i >= max {
            out.push_str("...");
            break;
        }
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_by_subprotocol_path_and_name() {
        assert_eq!(dispatch(Some("mqtt"), None, None), Some(Protocol::Mqtt));
        assert_eq!(dispatch(Some("mqttv3.1"), None, None), Some(Protocol::Mqtt));
        assert_eq!(
            dispatch(Some("v12.stomp"), None, None),
            Some(Protocol::Stomp)
        );
        assert_eq!(
            dispatch(Some("graphql-transport-ws"), None, None),
            Some(Protocol::GraphqlTransportWs)
        );
        assert_eq!(
            dispatch(Some("graphql-ws"), None, None),
            Some(Protocol::GraphqlWs)
        );
        assert_eq!(
            dispatch(
                None,
                Some("/socket.io/?EIO=4&transport=websocket&sid=x"),
                None
            ),
            Some(Protocol::SocketIo)
        );
        assert_eq!(dispatch(None, Some("/socket.io/?EIO=3"), None), None);
        assert_eq!(
            dispatch(Some("chat"), Some("/"), Some("stomp")),
            Some(Protocol::Stomp)
        );
        assert_eq!(dispatch(Some("chat"), Some("/"), None), None);
    }

    #[test]
    fn esc_escapes_controls() {
        assert_eq!(esc("a\x1b[2Jb", 10), "a\\u{1b}[2Jb");
    }
}

#[cfg(test)]
mod crafted;
