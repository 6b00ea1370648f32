//! The HTTP/2 layer of the walkthrough (issue 15): the connection preface,
//! the SETTINGS (SETTINGS_ENABLE_CONNECT_PROTOCOL), the extended CONNECT
//! of RFC 8441 and its 200 with each field's HPACK representation, beside
//! the HTTP/1.1 upgrade it replaces; then, per WebSocket frame, the stream
//! and the DATA frame(s) that carried it. The facts come from the HTTP/2
//! carrier as layer records ([`crate::layer::Layer`]); nothing is parsed
//! here.

use std::collections::VecDeque;

use serde::Serialize;

use crate::findings::Dir;
use crate::h2::hpack::{Rep, STATIC_TABLE};
use crate::layer::Layer;

/// Header blocks kept per connection (before and after it is chosen).
const MAX_BLOCKS: usize = 64;
/// SETTINGS frames kept per connection.
const MAX_SETTINGS: usize = 8;
/// DATA frames remembered per direction of the walked-through stream,
/// waiting for the WebSocket frames they carry.
const MAX_DATA: usize = 1024;
/// Fields listed per header block.
const MAX_FIELDS: usize = 64;
/// DATA frames named per WebSocket frame.
const MAX_CARRY: usize = 16;
/// WebSocket streams listed.
const MAX_STREAMS: usize = 64;

/// An HTTP/2 frame header, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct FrameHdrEx {
    pub kind: &'static str,
    pub length: u32,
    pub flags: String,
    pub stream: u32,
    pub packet: u64,
}

/// One field of a header block and how it was sent.
#[derive(Debug, Clone, Serialize)]
pub struct FieldEx {
    pub name: String,
    pub value: String,
    /// `indexed`, `literal` (with incremental indexing), `literal, not
    /// indexed`, `literal, never indexed`.
    pub representation: String,
    /// What the representation means here (which table entry...).
    pub how: String,
}

/// A header block: the frames that carried it and its fields.
#[derive(Debug, Clone, Serialize)]
pub struct HeadersEx {
    pub from: Dir,
    pub stream: u32,
    pub packet: u64,
    pub frames: Vec<FrameHdrEx>,
    pub fields: Vec<FieldEx>,
    pub end_stream: bool,
    /// Dynamic table size updates at the block's start.
    pub size_updates: Vec<usize>,
}

/// One SETTINGS frame.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsEx {
    pub from: Dir,
    pub packet: u64,
    pub ack: bool,
    /// (name, value, meaning).
    pub values: Vec<(String, u32, String)>,
}

/// The HTTP/2 layer of the walked-through session.
#[derive(Debug, Clone, Serialize)]
pub struct H2Ex {
    pub stream: u32,
    pub preface_packet: Option<u64>,
    pub settings: Vec<SettingsEx>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL as the server sent it.
    pub enable_connect_protocol: Option<u32>,
    pub request: Option<HeadersEx>,
    pub response: Option<HeadersEx>,
    /// The other WebSocket streams of the connection.
    pub other_streams: Vec<u32>,
}

/// The DATA frames that carried one WebSocket frame.
#[derive(Debug, Clone, Serialize)]
pub struct CarryEx {
    pub stream: u32,
    /// (packet, DATA frame length on the wire, payload bytes): all of them
    /// up to [`MAX_CARRY`], else the first and the last half of that.
    pub data: Vec<(u64, u32, usize)>,
    /// How many DATA frames carried it (more than `data` lists when cut).
    pub data_total: usize,
}

/// A DATA frame of the walked-through stream.
#[derive(Debug, Clone, Copy)]
struct DataAt {
    ws_offset: u64,
    len: usize,
    frame_len: u32,
    packet: u64,
}

/// A header block kept with its frames.
#[derive(Debug, Clone)]
struct Block {
    ex: HeadersEx,
    websocket: bool,
}

/// What the HTTP/2 layer of one connection showed so far.
#[derive(Debug, Default)]
pub struct H2Log {
    pub seen: bool,
    preface: Option<u64>,
    settings: Vec<SettingsEx>,
    blocks: Vec<Block>,
    /// HEADERS/CONTINUATION frames not yet tied to their block, per direction.
    open_frames: [Vec<FrameHdrEx>; 2],
    /// The last frame header per direction (a DATA frame's, for its length).
    last: [Option<(u8, u32)>; 2],
    /// The walked-through stream, once chosen, and its DATA per direction.
    stream: Option<u32>,
    data: [VecDeque<DataAt>; 2],
}

pub fn kind_name(k: u8) -> &'static str {
    match k {
        0 => "DATA",
        1 => "HEADERS",
        2 => "PRIORITY",
        3 => "RST_STREAM",
        4 => "SETTINGS",
        5 => "PUSH_PROMISE",
        6 => "PING",
        7 => "GOAWAY",
        8 => "WINDOW_UPDATE",
        9 => "CONTINUATION",
        _ => "unknown",
    }
}

fn flags_text(kind: u8, f: u8) -> String {
    let mut v = Vec::new();
    if f & 0x1 != 0 {
        v.push(if matches!(kind, 4 | 6) {
            "ACK"
        } else {
            "END_STREAM"
        });
    }
    if f & 0x4 != 0 && matches!(kind, 1 | 5 | 9) {
        v.push("END_HEADERS");
    }
    if f & 0x8 != 0 && matches!(kind, 0 | 1 | 5) {
        v.push("PADDED");
    }
    if f & 0x20 != 0 && kind == 1 {
        v.push("PRIORITY");
    }
    if v.is_empty() {
        format!("0x{f:02x}")
    } else {
        format!("0x{f:02x} {}", v.join("|"))
    }
}

fn setting(id: u16) -> (&'static str, &'static str) {
    match id {
        1 => (
            "SETTINGS_HEADER_TABLE_SIZE",
            "the HPACK dynamic table size the sender's decoder allows",
        ),
        2 => (
            "SETTINGS_ENABLE_PUSH",
            "whether the server may push (PUSH_PROMISE)",
        ),
        3 => (
            "SETTINGS_MAX_CONCURRENT_STREAMS",
            "streams the peer may open at once",
        ),
        4 => (
            "SETTINGS_INITIAL_WINDOW_SIZE",
            "each stream's initial flow-control window",
        ),
        5 => (
            "SETTINGS_MAX_FRAME_SIZE",
            "the largest frame payload the sender accepts",
        ),
        6 => (
            "SETTINGS_MAX_HEADER_LIST_SIZE",
            "the largest header list the sender accepts",
        ),
        8 => (
            "SETTINGS_ENABLE_CONNECT_PROTOCOL",
            "RFC 8441 section 3: 1 lets the client open WebSockets (and other protocols) with an extended CONNECT carrying :protocol",
        ),
        _ => (
            "unknown setting",
            "ignored by peers that do not know it (RFC 9113 section 6.5.2)",
        ),
    }
}

fn field_meaning(name: &str) -> &'static str {
    match name {
        ":method" => {
            "CONNECT: open a tunnel on this stream (RFC 9113 section 8.5), not GET + Upgrade"
        }
        ":protocol" => {
            "RFC 8441 section 4: the protocol the tunnel will speak; only allowed once the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1"
        }
        ":scheme" => {
            "with :protocol, CONNECT carries :scheme and :path like a request (RFC 8441 section 4)"
        }
        ":path" => "the WebSocket's resource, as the GET line's path in HTTP/1.1",
        ":authority" => "the Host header of HTTP/1.1",
        ":status" => {
            "200 accepts the tunnel: HTTP/2 has no 101 Switching Protocols (RFC 8441 section 5)"
        }
        "sec-websocket-version" => "13, as in HTTP/1.1",
        "sec-websocket-protocol" => "the subprotocol offered or chosen, as in HTTP/1.1",
        "sec-websocket-extensions" => "the extensions offered or accepted, as in HTTP/1.1",
        _ => "",
    }
}

impl H2Log {
    /// Takes in one layer record (`stream`: its session's stream).
    pub fn add(&mut self, packet: u64, l: &Layer) {
        self.seen = true;
        match l {
            Layer::H2Preface => {
                self.preface.get_or_insert(packet);
            }
            Layer::H2Frame {
                from,
                kind,
                flags,
                stream,
                length,
                ..
            } => {
                let i = from.index();
                if let Some(x) = self.last.get_mut(i) {
                    *x = Some((*kind, *length));
                }
                if matches!(kind, 1 | 9)
                    && let Some(v) = self.open_frames.get_mut(i)
                    && v.len() < MAX_CARRY
                {
                    v.push(FrameHdrEx {
                        kind: kind_name(*kind),
                        length: *length,
                        flags: flags_text(*kind, *flags),
                        stream: *stream,
                        packet,
                    });
                }
            }
            Layer::H2Settings { from, ack, values } => {
                if self.settings.len() < MAX_SETTINGS {
                    self.settings.push(SettingsEx {
                        from: *from,
                        packet,
                        ack: *ack,
                        values: values
                            .iter()
                            .take(MAX_FIELDS)
                            .map(|(id, v)| {
                                let (n, m) = setting(*id);
                                let n = if n == "unknown setting" {
                                    format!("0x{id:04x}")
                                } else {
                                    n.to_string()
                                };
                                (n, *v, m.to_string())
                            })
                            .collect(),
                    });
                }
            }
            Layer::H2Headers {
                from,
                stream,
                fields,
                reps,
                end_stream,
            } => {
                let frames = self
                    .open_frames
                    .get_mut(from.index())
                    .map(std::mem::take)
                    .unwrap_or_default();
                if self.blocks.len() >= MAX_BLOCKS {
                    return;
                }
                let websocket = fields.iter().any(|(n, v)| {
                    n.as_deref() == Some(":protocol")
                        && v.as_deref()
                            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
                });
                self.blocks.push(Block {
                    ex: headers_ex(*from, *stream, packet, frames, fields, reps, *end_stream),
                    websocket,
                });
            }
            Layer::H2Data {
                from,
                stream,
                len,
                ws_offset,
                ..
            } => {
                let i = from.index();
                let frame_len = match self.last.get(i).copied().flatten() {
                    Some((0, l)) => l,
                    _ => *len as u32,
                };
                if let (Some(s), Some(o)) = (self.stream, ws_offset)
                    && s == *stream
                    && let Some(q) = self.data.get_mut(i)
                {
                    if q.len() >= MAX_DATA {
                        q.pop_front();
                    }
                    q.push_back(DataAt {
                        ws_offset: *o,
                        len: *len,
                        frame_len,
                        packet,
                    });
                }
            }
            Layer::Tls(_) => {}
        }
    }

    /// The walkthrough follows `stream` from now on.
    pub fn follow(&mut self, stream: u32) {
        self.stream = Some(stream);
    }

    /// The DATA frames that carried the WebSocket bytes `[start, end)` of
    /// `from`'s direction; those wholly before are forgotten.
    pub fn carry(&mut self, from: Dir, start: u64, end: u64) -> Option<CarryEx> {
        let stream = self.stream?;
        let q = self.data.get_mut(from.index())?;
        while q
            .front()
            .is_some_and(|d| d.ws_offset + d.len as u64 <= start)
        {
            q.pop_front();
        }
        let carried = || {
            q.iter()
                .filter(|d| d.ws_offset < end && d.ws_offset + d.len as u64 > start)
                .map(|d| (d.packet, d.frame_len, d.len))
        };
        let data_total = carried().count();
        let data: Vec<(u64, u32, usize)> = if data_total <= MAX_CARRY {
            carried().collect()
        } else {
            let half = MAX_CARRY / 2;
            carried()
                .take(half)
                .chain(carried().skip(data_total - half))
                .collect()
        };
        Some(CarryEx {
            stream,
            data,
            data_total,
        })
    }

    /// The walkthrough's HTTP/2 section for `stream`.
    pub fn ex(&self, stream: u32) -> H2Ex {
        let request = self
            .blocks
            .iter()
            .find(|b| b.ex.stream == stream && b.ex.from == Dir::Client)
            .map(|b| b.ex.clone());
        let response = self
            .blocks
            .iter()
            .find(|b| b.ex.stream == stream && b.ex.from == Dir::Server)
            .map(|b| b.ex.clone());
        let mut other_streams: Vec<u32> = self
            .blocks
            .iter()
            .filter(|b| b.websocket && b.ex.stream != stream)
            .map(|b| b.ex.stream)
            .take(MAX_STREAMS)
            .collect();
        other_streams.dedup();
        let enable_connect_protocol = self
            .settings
            .iter()
            .filter(|s| s.from == Dir::Server && !s.ack)
            .flat_map(|s| s.values.iter())
            .find(|v| v.0 == "SETTINGS_ENABLE_CONNECT_PROTOCOL")
            .map(|v| v.1);
        H2Ex {
            stream,
            preface_packet: self.preface,
            settings: self.settings.clone(),
            enable_connect_protocol,
            request,
            response,
            other_streams,
        }
    }
}

fn static_entry(i: usize) -> Option<(&'static str, &'static str)> {
    i.checked_sub(1).and_then(|j| STATIC_TABLE.get(j)).copied()
}

fn headers_ex(
    from: Dir,
    stream: u32,
    packet: u64,
    frames: Vec<FrameHdrEx>,
    fields: &[(Option<String>, Option<String>)],
    reps: &[Rep],
    end_stream: bool,
) -> HeadersEx {
    let esc = |s: &Option<String>| {
        s.as_deref().map_or("(unknown)".to_string(), |v| {
            crate::render::escape::terminal(v).into_owned()
        })
    };
    let size_updates = reps
        .iter()
        .filter_map(|r| match r {
            Rep::SizeUpdate { size } => Some(*size),
            _ => None,
        })
        .collect();
    let mut reps = reps.iter().filter(|r| !matches!(r, Rep::SizeUpdate { .. }));
    let out = fields
        .iter()
        .take(MAX_FIELDS)
        .map(|(n, v)| {
            let name = esc(n);
            let (representation, how) = match reps.next() {
                Some(Rep::Indexed { index }) => (
                    "indexed".to_string(),
                    match static_entry(*index) {
                        Some(_) => format!("one byte or so: entry {index} of the static table (RFC 7541 Appendix A) holds this name and value"),
                        None => format!("entry {index}: the dynamic table ({} back), filled by an earlier literal of this direction", index - STATIC_TABLE.len()),
                    },
                ),
                Some(Rep::Literal {
                    indexing,
                    name_index,
                    name_huffman,
                    value_huffman,
                    value_len,
                    wire_len,
                }) => {
                    let rep = match *indexing {
                        "incremental" => "literal, incremental indexing",
                        "never" => "literal, never indexed",
                        _ => "literal, not indexed",
                    };
                    let name_how = if *name_index == 0 {
                        format!("the name as a literal{}", if *name_huffman { " (Huffman-coded)" } else { "" })
                    } else if static_entry(*name_index).is_some() {
                        format!("the name from static entry {name_index}")
                    } else {
                        format!("the name from dynamic entry {name_index}")
                    };
                    let value_how = format!(
                        "the value as {value_len} bytes{}",
                        if *value_huffman { " of Huffman code" } else { " of plain text" }
                    );
                    let after = match *indexing {
                        "incremental" => "; then added to the dynamic table, so a later block can send it as one index",
                        "never" => "; never to be indexed by any intermediary (a sensitive value)",
                        _ => "; not added to the dynamic table",
                    };
                    (rep.to_string(), format!("{name_how}, {value_how}: {wire_len} bytes on the wire{after}"))
                }
                _ => ("?".to_string(), String::new()),
            };
            FieldEx {
                value: esc(v),
                representation,
                how,
                name,
            }
        })
        .collect();
    HeadersEx {
        from,
        stream,
        packet,
        frames,
        fields: out,
        end_stream,
        size_updates,
    }
}

/// What a field means in an extended CONNECT.
pub fn meaning(name: &str) -> &'static str {
    field_meaning(name)
}

fn dir_words(d: Dir) -> &'static str {
    match d {
        Dir::Client => "client → server",
        Dir::Server => "server → client",
    }
}

fn frames_line(h: &HeadersEx) -> String {
    h.frames
        .iter()
        .map(|f| {
            format!(
                "{} (length {}, flags {}, stream {}, packet #{})",
                f.kind, f.length, f.flags, f.stream, f.packet
            )
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The HTTP/2 section, as text.
pub fn text(out: &mut String, h: &H2Ex) {
    use super::text::{term, wrapped};
    use std::fmt::Write as _;
    match h.preface_packet {
        Some(p) => {
            let _ = writeln!(out, "   Connection preface, packet #{p} (client → server):");
            wrapped(
                out,
                "     ",
                5,
                "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n: 24 bytes no HTTP/1.1 server would accept, so both sides know HTTP/2 is spoken (RFC 9113 section 3.4); the client's SETTINGS follow.",
            );
        }
        None => {
            let _ = writeln!(out, "   The connection preface is not in the capture.");
        }
    }
    for s in &h.settings {
        if s.ack {
            let _ = writeln!(
                out,
                "   SETTINGS ACK, packet #{} ({}): the peer's settings are in force",
                s.packet,
                dir_words(s.from)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "   SETTINGS, packet #{} ({}):",
            s.packet,
            dir_words(s.from)
        );
        for (n, v, m) in &s.values {
            wrapped(out, &format!("     {n} = {v}   "), 9, &format!("({m})"));
        }
    }
    match h.enable_connect_protocol {
        Some(1) => wrapped(
            out,
            "   ✓ ",
            5,
            "The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: the client may open a WebSocket with an extended CONNECT (RFC 8441 section 3).",
        ),
        Some(v) => wrapped(
            out,
            "   ✗ ",
            5,
            &format!(
                "The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = {v}: an extended CONNECT is not allowed."
            ),
        ),
        None => wrapped(
            out,
            "   ",
            3,
            "SETTINGS_ENABLE_CONNECT_PROTOCOL was not seen from the server (without it, RFC 8441 forbids the extended CONNECT).",
        ),
    }
    for (title, b) in [
        (
            "The client opens the WebSocket with an extended CONNECT",
            &h.request,
        ),
        ("The server accepts", &h.response),
    ] {
        let Some(b) = b else { continue };
        let _ = writeln!(
            out,
            "\n   {title}, stream {}, packet #{} ({}):",
            b.stream,
            b.packet,
            dir_words(b.from)
        );
        if !b.frames.is_empty() {
            wrapped(out, "     carried by ", 7, &frames_line(b));
        }
        for u in &b.size_updates {
            let _ = writeln!(out, "     dynamic table size update to {u}");
        }
        for f in &b.fields {
            let _ = writeln!(out, "     {}: {}", term(&f.name), term(&f.value));
            wrapped(
                out,
                "       HPACK: ",
                9,
                &format!("{}: {}", f.representation, f.how),
            );
            let m = meaning(&f.name);
            if !m.is_empty() {
                wrapped(out, "       ", 7, m);
            }
        }
    }
    wrapped(
        out,
        "\n   ",
        3,
        "Beside the HTTP/1.1 upgrade it replaces: there, a GET with Upgrade: websocket and Connection: Upgrade takes over the whole TCP connection after a 101, and Sec-WebSocket-Key / Sec-WebSocket-Accept prove the server understood. Here one stream becomes the tunnel and the connection goes on carrying others; HTTP/2's own framing and SETTINGS already show both sides speak it, so RFC 8441 section 5 drops the key and the accept (their absence is no fault), and a 200 answers instead of a 101.",
    );
    let _ = writeln!(
        out,
        "   The WebSocket bytes travel in DATA frames of stream {}: each frame below names the DATA frame(s) that carried it.",
        h.stream
    );
    if !h.other_streams.is_empty() {
        let ids = h
            .other_streams
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        wrapped(
            out,
            "   ",
            3,
            &format!(
                "Other WebSocket sessions on this connection: stream(s) {ids} (see --stream ID)."
            ),
        );
    }
}

/// The HTTP/2 section, as HTML.
pub fn html(out: &mut String, h: &H2Ex) {
    use crate::render::xml_escape as esc;
    use std::fmt::Write as _;
    out.push_str("<h2 id=\"h2\">HTTP/2 beneath the WebSocket</h2>\n");
    if let Some(p) = h.preface_packet {
        let _ = writeln!(
            out,
            "<p>Connection preface <code>PRI * HTTP/2.0</code>, packet #{p}: no HTTP/1.1 server would accept it, so both sides know HTTP/2 is spoken.</p>"
        );
    }
    for s in &h.settings {
        let _ = write!(
            out,
            "<h3>SETTINGS{}, packet #{} ({})</h3>",
            if s.ack { " ACK" } else { "" },
            s.packet,
            dir_words(s.from)
        );
        if s.values.is_empty() {
            continue;
        }
        out.push_str("<table><tr><th>setting</th><th>value</th><th>meaning</th></tr>");
        for (n, v, m) in &s.values {
            let _ = write!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{v}</td><td>{}</td></tr>",
                esc(n),
                esc(m)
            );
        }
        out.push_str("</table>\n");
    }
    for (title, b) in [
        ("Extended CONNECT", &h.request),
        ("The answer", &h.response),
    ] {
        let Some(b) = b else { continue };
        let _ = writeln!(
            out,
            "<h3>{title}, stream {}, packet #{} ({})</h3><p class=\"meaning\">{}</p><table><tr><th>field</th><th>value</th><th>HPACK</th><th>meaning</th></tr>",
            b.stream,
            b.packet,
            dir_words(b.from),
            esc(&frames_line(b))
        );
        for f in &b.fields {
            let _ = write!(
                out,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}: {}</td><td>{}</td></tr>",
                esc(&f.name),
                esc(&f.value),
                esc(&f.representation),
                esc(&f.how),
                esc(meaning(&f.name))
            );
        }
        out.push_str("</table>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"meaning\">Beside the HTTP/1.1 upgrade it replaces: no Upgrade header, no 101, no Sec-WebSocket-Key or Accept (RFC 8441 section 5): HTTP/2's framing already shows both sides speak it, and only stream {} becomes the tunnel.</p>",
        h.stream
    );
    if !h.other_streams.is_empty() {
        let ids = h
            .other_streams
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "<p>Other WebSocket sessions on this connection: stream(s) {ids} (<code>--stream ID</code>).</p>"
        );
    }
}

/// The line under a frame: the stream and DATA frames that carried it.
pub fn carry_text(c: &CarryEx) -> String {
    let mut parts: Vec<String> = c
        .data
        .iter()
        .map(|(p, l, n)| {
            if *l as usize == *n {
                format!("DATA frame of {l} bytes in packet #{p}")
            } else {
                format!("DATA frame of {l} bytes ({n} of payload) in packet #{p}")
            }
        })
        .collect();
    let unlisted = c.data_total.saturating_sub(c.data.len());
    if unlisted > 0 {
        parts.insert(c.data.len() / 2, format!("{unlisted} more DATA frames"));
    }
    format!(
        "HTTP/2 stream {}, carried by {}",
        c.stream,
        if parts.is_empty() {
            "(DATA frames not seen)".to_string()
        } else {
            parts.join(", ")
        }
    )
}
