//! Tables for people. Rows are printed in batches with fixed column widths,
//! so a long capture streams out in constant memory and the columns line up.

use std::io::Write;

use comfy_table::{Cell, ContentArrangement, Table, presets};

use super::{Out, preview};
use crate::event::{ConnSummary, Event, FrameRecord, MessageRecord, Sink};
use crate::findings::Dir;
use crate::ws::frame::OpCode;

/// Rows per printed batch.
const BATCH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Frames,
    Messages,
    Conns,
}

pub struct TableSink<W: Write> {
    pub out: Out<W>,
    kind: TableKind,
    rows: Vec<Vec<String>>,
    header_done: bool,
    t0: Option<f64>,
    capture: Option<String>,
    pub count: u64,
}

fn arrow(d: Dir) -> &'static str {
    match d {
        Dir::Client => "C>S",
        Dir::Server => "S>C",
    }
}

/// One line of left-aligned columns, the last one free.
fn fixed_row(cells: &[String], widths: &[u16]) -> String {
    let mut line = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            line.push_str(c);
        } else {
            let w = usize::from(widths.get(i).copied().unwrap_or(8));
            line.push_str(&format!("{c:<w$} "));
        }
    }
    line.trim_end().to_string()
}

/// Opcode names that fit a 6-character column.
fn short_name(op: OpCode) -> String {
    match op {
        OpCode::Continuation => "cont".into(),
        OpCode::Reserved(v) => format!("op 0x{v:X}"),
        other => other.name().into(),
    }
}

fn flags(h: &crate::ws::frame::FrameHeader) -> String {
    let mut s = String::with_capacity(5);
    s.push(if h.fin { 'F' } else { '-' });
    s.push(if h.rsv1 { '1' } else { '-' });
    s.push(if h.rsv2 { '2' } else { '-' });
    s.push(if h.rsv3 { '3' } else { '-' });
    s.push(if h.masked() { 'M' } else { '-' });
    s
}

impl<W: Write> TableSink<W> {
    pub fn new(w: W, kind: TableKind) -> Self {
        TableSink {
            out: Out::new(w),
            kind,
            rows: Vec::new(),
            header_done: false,
            t0: None,
            capture: None,
            count: 0,
        }
    }

    pub fn set_capture(&mut self, name: Option<String>) {
        self.flush();
        if let Some(n) = &name {
            self.out.write_all(format!("== {n}\n").as_bytes());
            self.header_done = false;
        }
        self.t0 = None;
        self.capture = name;
    }

    fn columns(&self) -> (&'static [&'static str], &'static [u16]) {
        match self.kind {
            TableKind::Frames => (
                &[
                    "pkt", "time", "conn", "dir", "opcode", "flags", "len", "payload",
                ],
                &[7, 9, 4, 3, 8, 5, 8, 24],
            ),
            TableKind::Messages => (
                &[
                    "pkts",
                    "time",
                    "conn",
                    "dir",
                    "type",
                    "frm",
                    "len",
                    "text / data",
                ],
                &[13, 9, 4, 3, 6, 3, 8, 22],
            ),
            TableKind::Conns => (
                &[
                    "conn",
                    "client",
                    "server",
                    "path",
                    "status",
                    "frames c/s",
                    "msgs c/s",
                    "bytes c/s",
                    "close c/s",
                    "secs",
                    "findings",
                ],
                // comfy-table sizes these columns to their content.
                &[],
            ),
        }
    }

    fn rel(&mut self, ts: f64) -> String {
        let t0 = *self.t0.get_or_insert(ts);
        format!("{:.6}", ts - t0)
    }

    fn push(&mut self, row: Vec<String>) {
        self.count += 1;
        if self.kind == TableKind::Conns {
            self.rows.push(row);
            if self.rows.len() >= BATCH {
                self.flush();
            }
            return;
        }
        let (names, widths) = self.columns();
        let mut line = String::with_capacity(96);
        if !self.header_done {
            self.header_done = true;
            let header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            line.push_str(&fixed_row(&header, widths));
            line.push('\n');
        }
        line.push_str(&fixed_row(&row, widths));
        line.push('\n');
        self.out.write_all(line.as_bytes());
    }

    /// Prints the rows held so far.
    pub fn flush(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let (names, _) = self.columns();
        let mut t = Table::new();
        t.load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if !self.header_done {
            t.set_header(names.iter().map(Cell::new));
            self.header_done = true;
        }
        for row in self.rows.drain(..) {
            t.add_row(row);
        }
        for line in t.lines() {
            let line = line.trim_end().to_string();
            self.out.write_all(line.as_bytes());
            self.out.write_all(b"\n");
        }
    }

    fn frame(&mut self, f: &FrameRecord<'_>) {
        let time = self.rel(f.ts);
        let mut p = preview(
            f.payload,
            matches!(f.header.opcode, OpCode::Text | OpCode::Continuation),
            20,
        );
        if let Some(code) = f.close_code {
            p = format!(
                "{code} {}",
                preview(f.close_reason.unwrap_or_default(), true, 15)
            );
        }
        if !f.findings.is_empty() {
            p = format!("!{} {p}", f.findings.len());
        }
        self.push(vec![
            f.packet.to_string(),
            time,
            f.conn.id.to_string(),
            arrow(f.from).into(),
            short_name(f.header.opcode),
            flags(&f.header),
            f.header.payload_len.to_string(),
            p,
        ]);
    }

    fn message(&mut self, m: &MessageRecord<'_>) {
        let time = self.rel(m.last_ts);
        let pkts = if m.first_packet == m.last_packet {
            m.first_packet.to_string()
        } else {
            format!("{}-{}", m.first_packet, m.last_packet)
        };
        let mut p = if m.decodable {
            preview(m.data, m.opcode == OpCode::Text, 18)
        } else {
            "(undecodable)".into()
        };
        if m.compressed {
            p = format!("z {p}");
        }
        self.push(vec![
            pkts,
            time,
            m.conn.id.to_string(),
            arrow(m.from).into(),
            m.opcode.name().into(),
            m.frames.to_string(),
            m.len.to_string(),
            p,
        ]);
    }

    fn conn(&mut self, c: &ConnSummary) {
        let status = match (c.status, c.accept_ok) {
            (Some(101), Some(true)) => "101 ok".to_string(),
            (Some(101), _) => "101 bad".to_string(),
            (Some(s), _) => s.to_string(),
            (None, _) if c.handshake_seen => "no answer".into(),
            (None, _) if c.tls.is_some() => "tls".into(),
            (None, _) => "unseen".into(),
        };
        // A TLS connection shows what its hellos said where the path would be.
        let path = match &c.tls {
            Some(t) => format!(
                "tls {} {}",
                t.version.as_deref().unwrap_or("?"),
                t.sni.as_deref().unwrap_or("-")
            ),
            None => c.path.clone().unwrap_or_else(|| "-".into()),
        };
        let [cs, sc] = &c.stats;
        let close =
            |d: &crate::event::DirStats| d.close_code.map_or("-".to_string(), |x| x.to_string());
        self.push(vec![
            c.conn.id.to_string(),
            c.conn.client.to_string(),
            c.conn.server.to_string(),
            path,
            status,
            format!("{}/{}", cs.frames, sc.frames),
            format!("{}/{}", cs.messages, sc.messages),
            format!("{}/{}", cs.payload_bytes, sc.payload_bytes),
            format!("{}/{}", close(cs), close(sc)),
            format!("{:.3}", c.last_ts - c.first_ts),
            c.findings.len().to_string(),
        ]);
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn event(&mut self, ev: Event<'_>) {
        match (self.kind, ev) {
            (TableKind::Frames, Event::Frame(f)) => self.frame(f),
            (TableKind::Messages, Event::Message(m)) => self.message(m),
            (TableKind::Conns, Event::ConnEnd(c)) => self.conn(c),
            _ => {}
        }
    }
}
