//! Tables for people. Rows are printed in batches with fixed column widths,
//! so a long capture streams out in constant memory and the columns line up.

use std::fmt::Write as _;
use std::io::Write;

use super::escape;
use super::width::{FitTable, cols, truncate};
use super::{MessageTypes, Out, PayloadKind, PayloadMode, preview_as};
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
    payload: PayloadMode,
    width: Option<usize>,
    types: MessageTypes,
    pub count: u64,
    /// An HTTP/2 record was seen: frames and messages have a `stream`
    /// column from then on (a table of HTTP/1.1 only has none).
    stream_col: bool,
    /// Colour the opcode column (`--color`).
    color: bool,
    /// The opcode of the row being pushed, for its colour.
    row_opcode: Option<OpCode>,
    /// The cells of the frame or message row being made, kept from row
    /// to row with their buffers (a row allocates nothing once they have
    /// grown).
    cells: Vec<String>,
    /// The line being written, kept likewise.
    line: String,
}

/// The opcode's column in frame and message rows.
const OPCODE_COLUMN: usize = 4;

fn arrow(d: Dir) -> &'static str {
    match d {
        Dir::Client => "C>S",
        Dir::Server => "S>C",
    }
}

/// One line of left-aligned columns, the last one free; with a width, the
/// last column is cut to fit it. Each fixed cell is padded to its column's
/// width in characters, as `{:<w$}` pads, and followed by a space.
fn fixed_row(cells: &[String], widths: &[u16], fit: Option<usize>) -> String {
    let mut line = String::with_capacity(96);
    fixed_row_into(&mut line, cells, widths, fit);
    line
}

/// [`fixed_row`] into `line` (emptied first).
fn fixed_row_into(line: &mut String, cells: &[String], widths: &[u16], fit: Option<usize>) {
    line.clear();
    for (i, c) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            match fit {
                Some(max) if cols(line) + cols(c) > max => {
                    let room = max.saturating_sub(cols(line));
                    if room >= 2 {
                        line.push_str(&truncate(c, room));
                    } else {
                        *line = truncate(line.trim_end(), max);
                    }
                }
                _ => line.push_str(c),
            }
        } else {
            let w = usize::from(widths.get(i).copied().unwrap_or(8));
            line.push_str(c);
            let n = if c.is_ascii() {
                c.len()
            } else {
                c.chars().count()
            };
            line.extend(std::iter::repeat_n(' ', w.saturating_sub(n) + 1));
        }
    }
    line.truncate(line.trim_end().len());
    if let Some(max) = fit
        && cols(line) > max
    {
        *line = truncate(line, max);
    }
}

/// Cell `i` of a row, emptied (the row has at least `i + 1` cells from
/// then on).
fn cell(cells: &mut Vec<String>, i: usize) -> &mut String {
    if cells.len() <= i {
        cells.resize_with(i + 1, String::new);
    }
    let c = &mut cells[i];
    c.clear();
    c
}

/// `n` in decimal, as `to_string` writes it.
fn push_u64(s: &mut String, n: u64) {
    s.push_str(itoa::Buffer::new().format(n));
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
            payload: PayloadMode::Text,
            width: None,
            types: MessageTypes::default(),
            count: 0,
            stream_col: false,
            color: false,
            row_opcode: None,
            cells: Vec::new(),
            line: String::new(),
        }
    }

    /// Colours the opcodes (table output to a terminal, `--color`).
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    /// How payload previews show (`None`: no preview, only close codes and
    /// finding counts).
    pub fn payload(mut self, mode: PayloadMode) -> Self {
        self.payload = mode;
        self
    }

    /// Fits lines to `width` display columns (`None`: no limit).
    pub fn width(mut self, width: Option<usize>) -> Self {
        self.width = width;
        self
    }

    /// Whether frames and messages have the `stream` column (an HTTP/2
    /// record was seen): the state a table carries into the next capture.
    pub fn stream_column(&self) -> bool {
        self.stream_col
    }

    /// Starts with the `stream` column (the tables of the captures before
    /// had it).
    pub fn with_stream_column(mut self, on: bool) -> Self {
        self.stream_col = on;
        self
    }

    /// Display columns a preview may take in a row that starts with `fixed` columns.
    fn preview_room(&self, fixed: usize, default: usize) -> usize {
        self.width
            .map_or(default, |w| w.saturating_sub(fixed).max(4))
    }

    pub fn set_capture(&mut self, name: Option<String>) {
        self.flush();
        if let Some(n) = &name {
            let line = format!("== {}", escape::terminal(n));
            let line = self.width.map_or(line.clone(), |w| truncate(&line, w));
            self.out.write_all(format!("{line}\n").as_bytes());
            self.header_done = false;
        }
        self.t0 = None;
        self.capture = name;
    }

    fn columns(&self) -> (&'static [&'static str], &'static [u16]) {
        let hidden = self.payload == PayloadMode::None;
        match self.kind {
            TableKind::Frames if self.stream_col && hidden => (
                &[
                    "pkt", "time", "conn", "stream", "dir", "opcode", "flags", "len", "notes",
                ],
                &[7, 9, 4, 6, 3, 8, 5, 8, 24],
            ),
            TableKind::Frames if self.stream_col => (
                &[
                    "pkt", "time", "conn", "stream", "dir", "opcode", "flags", "len", "payload",
                ],
                &[7, 9, 4, 6, 3, 8, 5, 8, 24],
            ),
            TableKind::Messages if self.stream_col && hidden => (
                &[
                    "pkts", "time", "conn", "stream", "dir", "type", "frm", "len", "notes",
                ],
                &[13, 9, 4, 6, 3, 6, 3, 8, 22],
            ),
            TableKind::Messages if self.stream_col => (
                &[
                    "pkts",
                    "time",
                    "conn",
                    "stream",
                    "dir",
                    "type",
                    "frm",
                    "len",
                    "text / data",
                ],
                &[13, 9, 4, 6, 3, 6, 3, 8, 22],
            ),
            TableKind::Frames if hidden => (
                &[
                    "pkt", "time", "conn", "dir", "opcode", "flags", "len", "notes",
                ],
                &[7, 9, 4, 3, 8, 5, 8, 24],
            ),
            TableKind::Messages if hidden => (
                &["pkts", "time", "conn", "dir", "type", "frm", "len", "notes"],
                &[13, 9, 4, 3, 6, 3, 8, 22],
            ),
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

    /// A connections row (printed in batches, sized to their content).
    fn push(&mut self, row: Vec<String>) {
        self.count += 1;
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush();
        }
    }

    /// The frame or message row in the first `n` cells: printed at once,
    /// under the header line when it is the first.
    fn push_cells(&mut self, n: usize) {
        self.count += 1;
        let (names, widths) = self.columns();
        if !self.header_done {
            self.header_done = true;
            let header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut h = fixed_row(&header, widths, self.width);
            h.push('\n');
            self.out.write_all(h.as_bytes());
        }
        let row = self.cells.get(..n).unwrap_or_default();
        let mut line = std::mem::take(&mut self.line);
        fixed_row_into(&mut line, row, widths, self.width);
        if let (true, Some(op), Some(cell)) =
            (self.color, self.row_opcode.take(), row.get(OPCODE_COLUMN))
        {
            // Laid out plain, then painted: widths and cuts are the text's.
            let at: usize = row
                .iter()
                .zip(widths)
                .take(OPCODE_COLUMN)
                .map(|(c, w)| c.len() + usize::from(*w).saturating_sub(c.chars().count()) + 1)
                .sum();
            line = super::color::paint_cell(&line, at, cell, super::color::opcode(op));
        }
        line.push('\n');
        self.out.write_all(line.as_bytes());
        self.line = line;
    }

    /// Columns the first `n` cells of the row take, each at least its
    /// column's width, with a space after each.
    fn fixed_cols(&self, n: usize) -> usize {
        let (_, widths) = self.columns();
        self.cells
            .iter()
            .take(n)
            .zip(widths)
            .map(|(c, w)| cols(c).max(usize::from(*w)) + 1)
            .sum()
    }

    /// Prints the rows held so far.
    pub fn flush(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let (names, _) = self.columns();
        // Too wide for the terminal: the path is cut, then the counts move
        // under each row.
        let t = FitTable {
            header: names,
            flex: Some(3),
            first_line: &[0, 1, 2, 3, 4, 9, 10],
            detail_names: &[
                "", "", "", "", "", "frames", "msgs", "bytes", "close", "", "",
            ],
            detail_label: "c/s:",
        };
        let with_header = !self.header_done;
        self.header_done = true;
        for line in t.render(&self.rows, self.width, with_header) {
            self.out.write_all(line.as_bytes());
            self.out.write_all(b"\n");
        }
        self.rows.clear();
    }

    /// The row's last cell, after its `n` fixed cells (which take
    /// `fixed_cols` columns): `!N` when the frame or message has findings,
    /// then `pre` and the preview.
    fn last_cell(
        &mut self,
        n: usize,
        default: usize,
        findings: usize,
        pre: &str,
        payload: impl FnOnce(usize) -> String,
    ) {
        let room = self.preview_room(self.fixed_cols(n), default);
        let p = cell(&mut self.cells, n);
        if findings > 0 {
            let _ = write!(p, "!{findings} ");
        }
        p.push_str(pre);
        let room = room.saturating_sub(cols(p));
        p.push_str(&payload(room.max(2)));
        p.truncate(p.trim_end().len());
    }

    /// The first fixed cells of a frame or message row: `first`, the time
    /// since the capture's first packet, the connection, and the `stream`
    /// column once there is one (it appears with the first HTTP/2 record,
    /// under a fresh header line if rows without it were printed already).
    /// The number of cells written.
    fn lead_cells(&mut self, ts: f64, conn: u64, stream: Option<u32>) -> usize {
        let t0 = *self.t0.get_or_insert(ts);
        let _ = write!(cell(&mut self.cells, 1), "{:.6}", ts - t0);
        push_u64(cell(&mut self.cells, 2), conn);
        if stream.is_some() && !self.stream_col {
            self.stream_col = true;
            self.header_done = false;
        }
        if !self.stream_col {
            return 3;
        }
        let c = cell(&mut self.cells, 3);
        match stream {
            Some(s) => push_u64(c, u64::from(s)),
            None => c.push('-'),
        }
        4
    }

    fn frame(&mut self, f: &FrameRecord<'_>) {
        push_u64(cell(&mut self.cells, 0), f.packet);
        let mut n = self.lead_cells(f.ts, f.session.conn, f.session.stream);
        let kind = self.types.kind(f);
        let mode = self.payload;
        cell(&mut self.cells, n).push_str(arrow(f.from));
        let c = cell(&mut self.cells, n + 1);
        match f.header.opcode {
            OpCode::Continuation => c.push_str("cont"),
            OpCode::Reserved(v) => {
                let _ = write!(c, "op 0x{v:X}");
            }
            other => c.push_str(other.name()),
        }
        let h = &f.header;
        cell(&mut self.cells, n + 2).extend([
            if h.fin { 'F' } else { '-' },
            if h.rsv1 { '1' } else { '-' },
            if h.rsv2 { '2' } else { '-' },
            if h.rsv3 { '3' } else { '-' },
            if h.masked() { 'M' } else { '-' },
        ]);
        push_u64(cell(&mut self.cells, n + 3), h.payload_len);
        n += 4;
        match f.close_code {
            Some(code) => {
                let reason = f.close_reason.unwrap_or_default();
                let pre = format!("{code} ");
                self.last_cell(n, 20, f.findings.len(), &pre, |room| {
                    preview_as(reason, PayloadKind::Text, mode, room.min(15))
                })
            }
            None => self.last_cell(n, 20, f.findings.len(), "", |room| {
                preview_as(f.payload, kind, mode, room)
            }),
        }
        self.row_opcode = Some(f.header.opcode);
        self.push_cells(n + 1);
    }

    fn message(&mut self, m: &MessageRecord<'_>) {
        let c = cell(&mut self.cells, 0);
        push_u64(c, m.first_packet);
        if m.first_packet != m.last_packet {
            c.push('-');
            push_u64(c, m.last_packet);
        }
        let mut n = self.lead_cells(m.last_ts, m.session.conn, m.session.stream);
        cell(&mut self.cells, n).push_str(arrow(m.from));
        cell(&mut self.cells, n + 1).push_str(m.opcode.name());
        push_u64(cell(&mut self.cells, n + 2), m.frames as u64);
        push_u64(cell(&mut self.cells, n + 3), m.len);
        n += 4;
        let kind = if m.opcode == OpCode::Text {
            PayloadKind::Text
        } else {
            PayloadKind::Binary
        };
        let mode = self.payload;
        let pre = if m.compressed { "z " } else { "" };
        if m.decodable {
            self.last_cell(n, 18, 0, pre, |room| preview_as(m.data, kind, mode, room));
        } else {
            let c = cell(&mut self.cells, n);
            c.push_str(pre);
            c.push_str("(undecodable)");
        }
        self.row_opcode = Some(m.opcode);
        self.push_cells(n + 1);
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
            c.session.conn.to_string(),
            c.session.client.to_string(),
            c.session.server.to_string(),
            escape::terminal(&path).into_owned(),
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
    fn event(&mut self, ev: Event<'_>) -> std::ops::ControlFlow<()> {
        match (self.kind, ev) {
            (_, Event::Start(s)) => self.t0 = Some(s.ts),
            (TableKind::Frames, Event::Frame(f)) => self.frame(f),
            (TableKind::Messages, Event::Message(m)) => self.message(m),
            (TableKind::Conns, Event::ConnEnd(c)) => self.conn(c),
            (_, Event::ConnEnd(c)) => self.types.end(c.session.conn),
            _ => {}
        }
        if self.out.ok() {
            std::ops::ControlFlow::Continue(())
        } else {
            std::ops::ControlFlow::Break(())
        }
    }

    fn withheld(&mut self, ev: Event<'_>) {
        if let Event::Frame(f) = ev {
            self.types.kind(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `fixed_row` as it was written first, one `format!` a cell: the
    /// reference the allocation-free one is held to.
    fn fixed_row_reference(cells: &[String], widths: &[u16], fit: Option<usize>) -> String {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                match fit {
                    Some(max) if cols(&line) + cols(c) > max => {
                        let room = max.saturating_sub(cols(&line));
                        if room >= 2 {
                            line.push_str(&truncate(c, room));
                        } else {
                            line = truncate(line.trim_end(), max);
                        }
                    }
                    _ => line.push_str(c),
                }
            } else {
                let w = usize::from(widths.get(i).copied().unwrap_or(8));
                line.push_str(&format!("{c:<w$} "));
            }
        }
        let line = line.trim_end().to_string();
        match fit {
            Some(max) if cols(&line) > max => truncate(&line, max),
            _ => line,
        }
    }

    proptest! {
        /// Cells of ASCII, wide, combining and blank characters, longer
        /// and shorter than their columns, more cells than widths, with
        /// and without a width to fit.
        #[test]
        fn fixed_row_is_the_reference(
            cells in proptest::collection::vec("[ a-z0-9日本é\\u{301}…-]{0,14}", 0..10),
            widths in proptest::collection::vec(0u16..12, 0..10),
            fit in proptest::option::of(0usize..90),
        ) {
            prop_assert_eq!(
                fixed_row(&cells, &widths, fit),
                fixed_row_reference(&cells, &widths, fit)
            );
        }
    }
}
