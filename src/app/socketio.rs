//! Engine.IO v4 and Socket.IO v5 (the protocols of socket.io 3 and 4).
//!
//! Engine.IO packets: `0` open, `1` close, `2` ping, `3` pong, `4` message,
//! `5` upgrade, `6` noop; a WebSocket binary message is a binary Engine.IO
//! message; on HTTP long-polling a body holds packets joined by the record
//! separator `\x1e`, binary ones as `b` + base64. An Engine.IO message
//! carries a Socket.IO packet: type digit (`0` CONNECT ... `6`
//! BINARY_ACK), for the binary types the attachment count and `-`, the
//! namespace up to `,` when it starts with `/`, the ack id digits, then JSON.
//! Binary attachments follow as the next binary messages and replace the
//! `{"_placeholder":true,"num":N}` objects; the packet's record is emitted
//! once they are all there. At most [`MAX_ATTACHMENTS`] are awaited.

use super::{AppCode, AppFinding, Msg, Unit, esc, hex};
use base64::Engine as _;
use serde_json::{Map, Value};

/// Binary attachments one Socket.IO packet may announce.
pub const MAX_ATTACHMENTS: u64 = 1024;
/// Bytes of one attachment kept (as hex) in the record.
pub const MAX_ATTACHMENT_KEPT: usize = 64 << 10;

const EIO_NAMES: [&str; 7] = [
    "open", "close", "ping", "pong", "message", "upgrade", "noop",
];
const SIO_NAMES: [&str; 7] = [
    "CONNECT",
    "DISCONNECT",
    "EVENT",
    "ACK",
    "CONNECT_ERROR",
    "BINARY_EVENT",
    "BINARY_ACK",
];

struct Pending {
    unit: Unit,
    want: usize,
    got: Vec<Value>,
}

/// The Engine.IO / Socket.IO decoder state of one session (its WebSocket
/// and, when fed, its polling requests).
#[derive(Default)]
pub struct SocketIo {
    /// A binary packet waiting for its attachments, per direction
    /// (client, server).
    pending: [Option<Pending>; 2],
}

fn di(d: crate::findings::Dir) -> usize {
    match d {
        crate::findings::Dir::Client => 0,
        crate::findings::Dir::Server => 1,
    }
}

impl SocketIo {
    pub(crate) fn message(&mut self, m: &Msg, units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        if m.binary {
            self.binary(m, m.payload, units);
        } else {
            self.text_packet(m, m.payload, units, f);
        }
    }

    pub(crate) fn polling_body(&mut self, m: &Msg, units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        for part in m.payload.split(|&c| c == 0x1e) {
            if let Some(b64) = part.strip_prefix(b"b") {
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => self.binary(m, &bytes, units),
                    Err(_) => f.push(finding(m, "Engine.IO binary packet: bad base64".into())),
                }
            } else {
                self.text_packet(m, part, units, f);
            }
        }
    }

    fn binary(&mut self, m: &Msg, bytes: &[u8], units: &mut Vec<Unit>) {
        let slot = &mut self.pending[di(m.from)];
        let Some(p) = slot else {
            let mut fields = Map::new();
            fields.insert("data_hex".into(), Value::from(hex_kept(bytes)));
            units.push(unit(m, "message", fields));
            return;
        };
        let mut a = Map::new();
        a.insert("_binary_hex".into(), Value::from(hex_kept(bytes)));
        p.got.push(Value::Object(a));
        if p.got.len() >= p.want
            && let Some(mut p) = slot.take()
        {
            p.unit.packet = m.packet;
            p.unit.ts = m.ts;
            let got = std::mem::take(&mut p.got);
            for key in ["args", "payload"] {
                if let Some(v) = p.unit.fields.get_mut(key) {
                    fill(v, &got, 0);
                }
            }
            units.push(p.unit);
        }
    }

    fn text_packet(&mut self, m: &Msg, b: &[u8], units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        if let Some(p) = self.pending[di(m.from)].take() {
            f.push(finding(
                m,
                format!(
                    "Socket.IO {}: {} of {} binary attachments before the next packet",
                    p.unit.kind,
                    p.got.len(),
                    p.want
                ),
            ));
            units.push(p.unit);
        }
        let Ok(s) = std::str::from_utf8(b) else {
            f.push(finding(m, "Engine.IO text packet is not UTF-8".into()));
            return;
        };
        let Some(t) = s.chars().next() else {
            f.push(finding(m, "empty Engine.IO packet".into()));
            return;
        };
        let data = &s[t.len_utf8()..];
        let Some(ty) = t.to_digit(10).filter(|&d| d <= 6) else {
            f.push(finding(
                m,
                format!("unknown Engine.IO packet type {:?}", esc(&t.to_string(), 4)),
            ));
            return;
        };
        if ty != 4 {
            let mut fields = Map::new();
            if !data.is_empty() {
                match serde_json::from_str::<Value>(data) {
                    Ok(v) if ty == 0 => {
                        if let Some(sid) = v.get("sid") {
                            fields.insert("sid".into(), sid.clone());
                        }
                        fields.insert("payload".into(), v);
                    }
                    _ if ty == 0 => {
                        f.push(finding(
                            m,
                            "Engine.IO open packet without a JSON object".into(),
                        ));
                        return;
                    }
                    _ => {
                        fields.insert("data".into(), Value::from(data));
                    }
                }
            }
            units.push(unit(m, EIO_NAMES[ty as usize], fields));
            return;
        }
        match sio(data) {
            Ok((kind, fields, attachments)) => {
                let u = unit(m, kind, fields);
                if attachments > 0 {
                    self.pending[di(m.from)] = Some(Pending {
                        unit: u,
                        want: attachments,
                        got: Vec::new(),
                    });
                } else {
                    units.push(u);
                }
            }
            Err(e) => f.push(finding(m, format!("Socket.IO {e}"))),
        }
    }
}

/// Decodes a Socket.IO packet: (kind, fields, attachments awaited).
fn sio(s: &str) -> Result<(&'static str, Map<String, Value>, usize), String> {
    let mut fields = Map::new();
    let Some(t) = s.chars().next() else {
        // An Engine.IO message with no Socket.IO packet.
        return Ok(("message", fields, 0));
    };
    let ty = t
        .to_digit(10)
        .filter(|&d| d <= 6)
        .ok_or_else(|| format!("unknown packet type {:?}", esc(&t.to_string(), 4)))?
        as usize;
    let kind = SIO_NAMES[ty];
    let mut rest = &s[1..];
    let mut attachments = 0usize;
    if ty == 5 || ty == 6 {
        let dash = rest
            .find('-')
            .ok_or_else(|| format!("{kind} without its attachment count"))?;
        let n: u64 = rest[..dash]
            .parse()
            .map_err(|_| format!("{kind}: bad attachment count {:?}", esc(&rest[..dash], 20)))?;
        if n > MAX_ATTACHMENTS {
            return Err(format!(
                "{kind} announces {n} binary attachments (more than {MAX_ATTACHMENTS})"
            ));
        }
        attachments = n as usize;
        fields.insert("attachments".into(), Value::from(n));
        rest = &rest[dash + 1..];
    }
    let mut namespace = "/";
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        namespace = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
    }
    fields.insert("namespace".into(), Value::from(namespace));
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let id: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{kind}: ack id out of range"))?;
        fields.insert("ack_id".into(), Value::from(id));
        rest = &rest[digits..];
    }
    if rest.is_empty() {
        if matches!(ty, 2..=6) {
            return Err(format!("{kind} without data"));
        }
        return Ok((kind, fields, attachments));
    }
    let v: Value =
        serde_json::from_str(rest).map_err(|e| format!("{kind}: data is not JSON ({e})"))?;
    match ty {
        2 | 5 => {
            let Value::Array(mut a) = v else {
                return Err(format!("{kind}: data is not an array"));
            };
            if a.is_empty() {
                return Err(format!("{kind}: empty event array"));
            }
            let name = a.remove(0);
            let Value::String(name) = name else {
                return Err(format!("{kind}: event name is not a string"));
            };
            fields.insert("event".into(), Value::from(name));
            fields.insert("args".into(), Value::Array(a));
        }
        3 | 6 => {
            if !v.is_array() {
                return Err(format!("{kind}: data is not an array"));
            }
            fields.insert("args".into(), v);
        }
        _ => {
            fields.insert("payload".into(), v);
        }
    }
    Ok((kind, fields, attachments))
}

/// Replaces placeholders with the attachments (depth-limited).
fn fill(v: &mut Value, got: &[Value], depth: usize) {
    if depth > 64 {
        return;
    }
    if let Value::Object(o) = v
        && o.get("_placeholder") == Some(&Value::Bool(true))
    {
        if let Some(a) = o
            .get("num")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| got.get(n))
        {
            *v = a.clone();
        }
        return;
    }
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| fill(x, got, depth + 1)),
        Value::Object(o) => o.values_mut().for_each(|x| fill(x, got, depth + 1)),
        _ => {}
    }
}

fn hex_kept(b: &[u8]) -> String {
    let mut s = hex(&b[..b.len().min(MAX_ATTACHMENT_KEPT)]);
    if b.len() > MAX_ATTACHMENT_KEPT {
        s.push_str("...");
    }
    s
}

fn unit(m: &Msg, kind: &str, fields: Map<String, Value>) -> Unit {
    Unit {
        from: m.from,
        packet: m.packet,
        ts: m.ts,
        kind: kind.to_string(),
        fields,
    }
}

fn finding(m: &Msg, message: String) -> AppFinding {
    AppFinding {
        code: AppCode::SocketioMalformed,
        from: m.from,
        packet: m.packet,
        message,
    }
}
