//! MQTT 3.1 / 3.1.1 / 5.0 over WebSocket (OASIS MQTT 3.1.1 and 5.0).
//!
//! Hand-written over a small bounds-checked cursor rather than a crate:
//! `mqttbytes` (and rumqttc's copy of it) and `mqtt-protocol` parse from
//! `bytes::Buf` and reject malformed input with one opaque error (no
//! offset, no field), and the MQTT 5 crates either need an async runtime or
//! are unmaintained; here every malformed case names the field and nothing
//! allocates from a length field (collections are capped, lengths are only
//! compared against the bytes present). The wire format is small enough
//! that a cursor is clearer than nom combinators.
//!
//! A packet may span several WebSocket messages and a message may hold
//! several packets: each direction has a reassembly buffer capped at
//! [`super::MAX_UNIT`]. The protocol level comes from CONNECT and applies to
//! both directions.

use super::{AppCode, AppFinding, Msg, Unit, esc, hex, put_bytes};
use crate::findings::Dir;
use serde_json::{Map, Value, json};

/// Properties kept per packet; the rest are counted, not stored.
pub const MAX_PROPERTIES: usize = 256;
/// Subscriptions / reason codes kept per packet.
pub const MAX_ITEMS: usize = 1024;

const NAMES: [&str; 16] = [
    "RESERVED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// Set after an unrecoverable framing error until the next message.
    skip: bool,
    /// The packet of this side's last message (where a unit left
    /// incomplete at the end is reported).
    last_packet: u64,
}

/// The MQTT decoder state of one connection.
#[derive(Default)]
pub struct Mqtt {
    client: Side,
    server: Side,
    /// Protocol level from CONNECT (3, 4 or 5); 4 until seen.
    level: Option<u8>,
    connects: u32,
    client_packets: u64,
}

struct Bad(String);

type R<T> = Result<T, Bad>;

struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, pos: 0 }
    }
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &str) -> R<&'a [u8]> {
        if n > self.left() {
            return Err(Bad(format!(
                "{what} truncated ({n} bytes needed, {} left)",
                self.left()
            )));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> R<u16> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> R<u32> {
        let s = self.take(4, what)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn bin(&mut self, what: &str) -> R<&'a [u8]> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }
    fn str(&mut self, what: &str) -> R<String> {
        let b = self.bin(what)?;
        match std::str::from_utf8(b) {
            Ok(s) if !s.contains('\0') => Ok(s.to_string()),
            Ok(_) => Err(Bad(format!("{what} contains U+0000"))),
            Err(_) => Err(Bad(format!("{what} is not valid UTF-8 ({})", hex_short(b)))),
        }
    }
    fn varint(&mut self, what: &str) -> R<u32> {
        let mut v: u32 = 0;
        for i in 0..4 {
            let b = self.u8(what)?;
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Bad(format!(
            "{what}: variable byte integer longer than 4 bytes"
        )))
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.pos..];
        self.pos = self.b.len();
        s
    }
}

fn hex_short(b: &[u8]) -> String {
    let mut s = hex(&b[..b.len().min(16)]);
    if b.len() > 16 {
        s.push_str("...");
    }
    s
}

/// Decodes the fixed header at the start of `b`: `Ok(None)` when more bytes
/// are needed, else (type/flags byte, header length, remaining length).
fn fixed_header(b: &[u8]) -> R<Option<(u8, usize, usize)>> {
    let Some(&first) = b.first() else {
        return Ok(None);
    };
    let mut rl: usize = 0;
    for i in 0..4 {
        let Some(&x) = b.get(1 + i) else {
            return Ok(None);
        };
        rl |= usize::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Ok(Some((first, 2 + i, rl)));
        }
    }
    Err(Bad(
        "remaining length takes 5 bytes or more (more than 268,435,455)".to_string(),
    ))
}

impl Mqtt {
    pub(crate) fn lost(&mut self, from: Dir) {
        let side = match from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.buf.clear();
        side.skip = false;
    }

    pub(crate) fn message(&mut self, m: &Msg, units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        let side = match m.from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.last_packet = m.packet;
        if side.skip {
            // A framing error lost the packet boundaries; the next message
            // starts afresh (clients send one packet per message).
            side.skip = false;
            side.buf.clear();
        }
        if side.buf.len() + m.payload.len() > super::MAX_UNIT {
            f.push(finding(
                AppCode::MqttMalformed,
                m,
                format!(
                    "MQTT packet buffered past {} bytes; dropped",
                    super::MAX_UNIT
                ),
            ));
            side.buf.clear();
            side.skip = true;
            return;
        }
        side.buf.extend_from_slice(m.payload);
        let buf = std::mem::take(&mut side.buf);
        let mut at = 0;
        let mut skip = false;
        while at < buf.len() {
            match fixed_header(&buf[at..]) {
                Ok(None) => break,
                Err(Bad(e)) => {
                    f.push(finding(AppCode::MqttMalformed, m, format!("MQTT {e}")));
                    skip = true;
                    at = buf.len();
                    break;
                }
                Ok(Some((first, hl, rl))) => {
                    if rl > super::MAX_UNIT {
                        f.push(finding(
                            AppCode::MqttMalformed,
                            m,
                            format!(
                                "MQTT remaining length {rl} is larger than this decoder buffers"
                            ),
                        ));
                        skip = true;
                        at = buf.len();
                        break;
                    }
                    if buf.len() - at < hl + rl {
                        break;
                    }
                    let body = &buf[at + hl..at + hl + rl];
                    self.packet(m, first, body, units, f);
                    at += hl + rl;
                }
            }
        }
        let side = match m.from {
            Dir::Client => &mut self.client,
            Dir::Server => &mut self.server,
        };
        side.skip = skip;
        let mut buf = buf;
        buf.drain(..at);
        side.buf = buf;
    }

    pub(crate) fn finish(&mut self, f: &mut Vec<AppFinding>) {
        for (dir, side) in [(Dir::Client, &self.client), (Dir::Server, &self.server)] {
            if !side.buf.is_empty() && !side.skip {
                f.push(AppFinding {
                    code: AppCode::MqttMalformed,
                    from: dir,
                    packet: side.last_packet,
                    message: format!(
                        "MQTT packet truncated: {} bytes left at the end of the session",
                        side.buf.len()
                    ),
                });
            }
        }
    }

    fn packet(
        &mut self,
        m: &Msg,
        first: u8,
        body: &[u8],
        units: &mut Vec<Unit>,
        f: &mut Vec<AppFinding>,
    ) {
        let ty = first >> 4;
        let flags = first & 0x0f;
        let kind = NAMES[usize::from(ty)];
        if m.from == Dir::Client {
            self.client_packets += 1;
            if ty == 1 {
                self.connects += 1;
                if self.connects == 2 {
                    f.push(finding(
                        AppCode::MqttProtocolViolation,
                        m,
                        "second MQTT CONNECT on the connection".into(),
                    ));
                }
            } else if self.client_packets == 1 && self.connects == 0 {
                f.push(finding(
                    AppCode::MqttProtocolViolation,
                    m,
                    format!("MQTT {kind} before CONNECT: CONNECT must be the first packet"),
                ));
            }
        }
        let mut fields = Map::new();
        let mut violations = Vec::new();
        match self.decode(ty, flags, body, &mut fields, &mut violations) {
            Ok(()) => {
                for v in violations {
                    f.push(finding(
                        AppCode::MqttProtocolViolation,
                        m,
                        format!("MQTT {kind}: {v}"),
                    ));
                }
                units.push(Unit {
                    from: m.from,
                    packet: m.packet,
                    ts: m.ts,
                    kind: kind.to_string(),
                    fields,
                });
            }
            Err(Bad(e)) => f.push(finding(
                AppCode::MqttMalformed,
                m,
                format!("MQTT {kind}: {e}"),
            )),
        }
    }

    fn v5(&self) -> bool {
        self.level == Some(5)
    }

    fn decode(
        &mut self,
        ty: u8,
        flags: u8,
        body: &[u8],
        out: &mut Map<String, Value>,
        violations: &mut Vec<String>,
    ) -> R<()> {
        let want_flags = match ty {
            3 => flags,
            6 | 8 | 10 => 2,
            _ => 0,
        };
        if flags != want_flags {
            return Err(Bad(format!(
                "reserved flag bits are {flags:04b}, must be {want_flags:04b}"
            )));
        }
        let mut c = Cur::new(body);
        match ty {
            0 => return Err(Bad("packet type 0 is reserved".into())),
            1 => self.connect(&mut c, out)?,
            2 => {
                let ack = c.u8("CONNACK flags")?;
                if ack & 0xfe != 0 {
                    return Err(Bad(format!("CONNACK reserved flag bits set ({ack:#04x})")));
                }
                out.insert("session_present".into(), Value::from(ack & 1 == 1));
                out.insert(
                    "reason_code".into(),
                    Value::from(c.u8("CONNACK reason code")?),
                );
                if self.v5() {
                    props(&mut c, out)?;
                }
            }
            3 => {
                let qos = (flags >> 1) & 3;
                if qos == 3 {
                    return Err(Bad("QoS 3 is not a valid QoS".into()));
                }
                let dup = flags & 8 != 0;
                if qos == 0 && dup {
                    return Err(Bad("DUP set on a QoS 0 PUBLISH".into()));
                }
                let topic = c.str("topic name")?;
                out.insert("topic".into(), Value::from(topic));
                out.insert("qos".into(), Value::from(qos));
                out.insert("retain".into(), Value::from(flags & 1 == 1));
                out.insert("dup".into(), Value::from(dup));
                if qos > 0 {
                    let id = c.u16("packet identifier")?;
                    if id == 0 {
                        violations.push(format!("QoS {qos} PUBLISH with packet identifier 0"));
                    }
                    out.insert("packet_id".into(), Value::from(id));
                }
                if self.v5() {
                    props(&mut c, out)?;
                }
                put_bytes(out, "payload", c.rest());
            }
            4..=7 => {
                let id = c.u16("packet identifier")?;
                out.insert("packet_id".into(), Value::from(id));
                if self.v5() && c.left() > 0 {
                    out.insert("reason_code".into(), Value::from(c.u8("reason code")?));
                    if c.left() > 0 {
                        props(&mut c, out)?;
                    }
                }
            }
            8 | 10 => {
                let id = c.u16("packet identifier")?;
                out.insert("packet_id".into(), Value::from(id));
                if self.v5() {
                    props(&mut c, out)?;
                }
                let mut subs = Vec::new();
                let mut n = 0usize;
                while c.left() > 0 {
                    let topic = c.str("topic filter")?;
                    n += 1;
                    let item = if ty == 8 {
                        let o = c.u8("subscription options")?;
                        if o & 3 == 3 {
                            return Err(Bad(format!(
                                "QoS 3 in the options of {:?}",
                                esc(&topic, 60)
                            )));
                        }
                        let reserved = if self.v5() { 0xc0 } else { 0xfc };
                        if o & reserved != 0 || (self.v5() && (o >> 4) & 3 == 3) {
                            return Err(Bad(format!(
                                "reserved subscription option bits set ({o:#04x})"
                            )));
                        }
                        let mut s = json!({"topic": topic, "qos": o & 3});
                        if self.v5()
                            && let Some(obj) = s.as_object_mut()
                        {
                            obj.insert("no_local".into(), Value::from(o & 4 != 0));
                            obj.insert("retain_as_published".into(), Value::from(o & 8 != 0));
                            obj.insert("retain_handling".into(), Value::from((o >> 4) & 3));
                        }
                        s
                    } else {
                        Value::from(topic)
                    };
                    if subs.len() < MAX_ITEMS {
                        subs.push(item);
                    }
                }
                if n == 0 {
                    return Err(Bad("no topic filter".into()));
                }
                if ty == 8 {
                    out.insert("subscriptions".into(), Value::from(subs));
                } else {
                    out.insert("topics".into(), Value::from(subs));
                }
                if let Some(first) = out.get("subscriptions").and_then(|s| s.get(0)).cloned() {
                    if let Some(t) = first.get("topic") {
                        out.insert("topic".into(), t.clone());
                    }
                    if let Some(q) = first.get("qos") {
                        out.insert("qos".into(), q.clone());
                    }
                } else if let Some(t) = out.get("topics").and_then(|s| s.get(0)).cloned() {
                    out.insert("topic".into(), t);
                }
            }
            9 | 11 => {
                let id = c.u16("packet identifier")?;
                out.insert("packet_id".into(), Value::from(id));
                if self.v5() {
                    props(&mut c, out)?;
                }
                let codes = c.rest();
                if ty == 9 || self.v5() {
                    let v: Vec<Value> = codes
                        .iter()
                        .take(MAX_ITEMS)
                        .map(|&x| Value::from(x))
                        .collect();
                    if let Some(&x) = codes.first() {
                        out.insert("reason_code".into(), Value::from(x));
                    }
                    out.insert("reason_codes".into(), Value::from(v));
                } else if !codes.is_empty() {
                    return Err(Bad(format!(
                        "{} unexpected bytes after the packet identifier",
                        codes.len()
                    )));
                }
            }
            12 | 13 if !body.is_empty() => {
                return Err(Bad(format!("remaining length {} must be 0", body.len())));
            }
            14 | 15 => {
                if ty == 15 && !self.v5() {
                    return Err(Bad("AUTH exists only in MQTT 5".into()));
                }
                if self.v5() && c.left() > 0 {
                    out.insert("reason_code".into(), Value::from(c.u8("reason code")?));
                    if c.left() > 0 {
                        props(&mut c, out)?;
                    }
                } else if !self.v5() && c.left() > 0 {
                    return Err(Bad(format!("remaining length {} must be 0", body.len())));
                }
            }
            _ => {}
        }
        if c.left() > 0 {
            return Err(Bad(format!(
                "{} bytes past the end of the packet's fields",
                c.left()
            )));
        }
        Ok(())
    }

    fn connect(&mut self, c: &mut Cur, out: &mut Map<String, Value>) -> R<()> {
        let name = c.str("protocol name")?;
        let level = c.u8("protocol level")?;
        match (name.as_str(), level) {
            ("MQTT", 4) | ("MQTT", 5) | ("MQIsdp", 3) => {}
            _ => {
                return Err(Bad(format!(
                    "unknown protocol name/level {:?}/{level}",
                    esc(&name, 40)
                )));
            }
        }
        if self.level.is_none() {
            self.level = Some(level);
        }
        let flags = c.u8("connect flags")?;
        if flags & 1 != 0 {
            return Err(Bad("reserved connect flag bit 0 set".into()));
        }
        let will = flags & 4 != 0;
        let will_qos = (flags >> 3) & 3;
        if will_qos == 3 {
            return Err(Bad("will QoS 3".into()));
        }
        if !will && (will_qos != 0 || flags & 0x20 != 0) {
            return Err(Bad("will QoS/retain set without the will flag".into()));
        }
        out.insert("protocol_name".into(), Value::from(name));
        out.insert("protocol_level".into(), Value::from(level));
        out.insert("clean_start".into(), Value::from(flags & 2 != 0));
        out.insert("keep_alive".into(), Value::from(c.u16("keep alive")?));
        if level == 5 {
            props(c, out)?;
        }
        out.insert("client_id".into(), Value::from(c.str("client identifier")?));
        if will {
            if level == 5 {
                let mut wp = Map::new();
                props(c, &mut wp)?;
                if let Some(p) = wp.remove("properties") {
                    out.insert("will_properties".into(), p);
                }
            }
            out.insert("will_topic".into(), Value::from(c.str("will topic")?));
            let wpay = c.bin("will payload")?;
            put_bytes(out, "will_payload", wpay);
            out.insert("will_qos".into(), Value::from(will_qos));
            out.insert("will_retain".into(), Value::from(flags & 0x20 != 0));
        }
        let user = flags & 0x80 != 0;
        let pass = flags & 0x40 != 0;
        if user {
            out.insert("username".into(), Value::from(c.str("user name")?));
        }
        if pass {
            c.bin("password")?;
        }
        out.insert("username_present".into(), Value::from(user));
        out.insert("password_present".into(), Value::from(pass));
        Ok(())
    }
}

/// MQTT 5 properties: a variable byte integer length, then the properties,
/// all within that length; stored as `properties` (an object; repeatable
/// ones as arrays), at most [`MAX_PROPERTIES`] of them.
fn props(c: &mut Cur, out: &mut Map<String, Value>) -> R<()> {
    let len = c.varint("properties length")? as usize;
    if len > c.left() {
        return Err(Bad(format!(
            "properties length {len} runs past the packet ({} bytes left)",
            c.left()
        )));
    }
    let mut p = Cur::new(c.take(len, "properties")?);
    let mut map = Map::new();
    let mut n = 0usize;
    while p.left() > 0 {
        let id = p.varint("property identifier")?;
        let (name, v): (&str, Value) = match id {
            0x01 => ("payload_format_indicator", p.u8("property")?.into()),
            0x02 => ("message_expiry_interval", p.u32("property")?.into()),
            0x03 => ("content_type", p.str("content type")?.into()),
            0x08 => ("response_topic", p.str("response topic")?.into()),
            0x09 => ("correlation_data", hex(p.bin("correlation data")?).into()),
            0x0B => ("subscription_identifier", p.varint("property")?.into()),
            0x11 => ("session_expiry_interval", p.u32("property")?.into()),
            0x12 => ("assigned_client_identifier", p.str("property")?.into()),
            0x13 => ("server_keep_alive", p.u16("property")?.into()),
            0x15 => ("authentication_method", p.str("property")?.into()),
            0x16 => ("authentication_data", hex(p.bin("property")?).into()),
            0x17 => ("request_problem_information", p.u8("property")?.into()),
            0x18 => ("will_delay_interval", p.u32("property")?.into()),
            0x19 => ("request_response_information", p.u8("property")?.into()),
            0x1A => ("response_information", p.str("property")?.into()),
            0x1C => ("server_reference", p.str("property")?.into()),
            0x1F => ("reason_string", p.str("reason string")?.into()),
            0x21 => ("receive_maximum", p.u16("property")?.into()),
            0x22 => ("topic_alias_maximum", p.u16("property")?.into()),
            0x23 => ("topic_alias", p.u16("property")?.into()),
            0x24 => ("maximum_qos", p.u8("property")?.into()),
            0x25 => ("retain_available", p.u8("property")?.into()),
            0x26 => {
                let k = p.str("user property name")?;
                let v = p.str("user property value")?;
                ("user_properties", json!([k, v]))
            }
            0x27 => ("maximum_packet_size", p.u32("property")?.into()),
            0x28 => ("wildcard_subscription_available", p.u8("property")?.into()),
            0x29 => (
                "subscription_identifier_available",
                p.u8("property")?.into(),
            ),
            0x2A => ("shared_subscription_available", p.u8("property")?.into()),
            _ => return Err(Bad(format!("unknown property identifier {id:#04x}"))),
        };
        n += 1;
        if n > MAX_PROPERTIES {
            continue;
        }
        if name == "user_properties" || name == "subscription_identifier" {
            if let Value::Array(a) = map
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                a.push(v);
            }
        } else {
            map.insert(name.to_string(), v);
        }
    }
    if n > MAX_PROPERTIES {
        map.insert("properties_dropped".into(), Value::from(n - MAX_PROPERTIES));
    }
    if !map.is_empty() {
        out.insert("properties".into(), Value::Object(map));
    }
    Ok(())
}

fn finding(code: AppCode, m: &Msg, message: String) -> AppFinding {
    AppFinding {
        code,
        from: m.from,
        packet: m.packet,
        message,
    }
}
