//! The walkthrough as one self-contained HTML page for a classroom
//! projector: nothing fetched, well-formed XML (so tests can parse it), a
//! small inline script for stepping with the keyboard (the page reads fully
//! without it), a print stylesheet. A table of contents and a sequence
//! diagram drawn to a time axis (TCP handshake, HTTP upgrade, one arrow per
//! frame coloured by opcode and linked to its card, FIN/RST) come first,
//! then the handshake, the accept computation and every frame's card: its
//! header as the RFC 6455 section 5.2 diagram, 32 bits a row, and its
//! unmasking table.

use std::fmt::Write as _;

use super::{FrameEx, Walkthrough};
use crate::findings::Dir;

use crate::render::xml_escape as esc;

const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0 auto 3em; max-width: 1200px; padding: 0 1em; color: #111; background: #fff; font-size: 20px; line-height: 1.4; }
h1 { font-size: 1.7em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; scroll-margin-top: 4em; }
code, pre, td.mono, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { padding: .2em .6em; border: 1px solid #ddd; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
.meaning { color: #444; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #cf222e; font-weight: bold; }
nav { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 2px solid #ccc; padding: .3em 0; font-size: .85em; }
nav a { margin-right: .8em; } nav details { display: inline-block; }
nav ol { columns: 10em; max-height: 40vh; overflow: auto; margin: .3em 0; font-size: .85em; }
nav .keys { color: #555; }
.frame { border: 2px solid #ccc; border-radius: 6px; padding: .5em 1em; margin: 1em 0; scroll-margin-top: 4em; }
.frame:focus, .frame:target { outline: 4px solid #f0b400; border-color: #f0b400; }
.frame h3 { margin: .3em 0; } .frame h3 a.back { font-size: .7em; font-weight: normal; margin-left: .5em; }
.frame-tcp { border-left: 6px solid #999; padding-left: .6em; } .ack-piggy { border-color: #1a7f37; } .ack-delayed { border-color: #cf222e; } .ack-pure { border-color: #0969da; }
.answer { background: #f6f8fa; border-left: 6px solid #0969da; padding: .4em .8em; }
table.bits { table-layout: fixed; font-size: clamp(11px, 1.45vw, 18px); }
table.bits td, table.bits th { width: 1.65em; padding: .1em 0; text-align: center; font-family: ui-monospace, monospace; border: 1px solid #999; }
table.bits th { background: #fff; border: none; font-weight: normal; color: #555; font-size: .8em; }
table.bits td.lbl { font-size: .7em; color: #222; overflow: hidden; white-space: nowrap; }
table.bits td.hex { width: auto; border: none; padding-left: .8em; color: #444; text-align: left; white-space: nowrap; }
table.bits td.f-payload { color: #666; }
.f-FIN { background: #ffd8d8; } .f-RSV { background: #f0d8ff; } .f-opcode { background: #d8e6ff; }
.f-MASK { background: #fff2c2; } .f-len { background: #d8f5dd; } .f-ext { background: #c9efd0; }
.f-key { background: #d2f4f4; } .f-payload { background: #f4f4f4; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; white-space: pre; }
td pre { margin: 0; padding: .2em; background: none; }
svg.sequence { width: 100%; height: auto; }
svg text { font-family: ui-monospace, monospace; font-size: 15px; }
svg .tick { font-size: 13px; fill: #444; }
svg a.arrow:hover line.shaft, svg a.arrow.current line.shaft { stroke-width: 5; }
svg a.arrow.current text { font-weight: bold; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3em 1.2em; font-size: .85em; }
ul.legend span.sw { display: inline-block; width: 1.6em; height: .35em; vertical-align: middle; margin-right: .3em; }
.finding { border-left: 4px solid #cf222e; padding-left: .6em; margin: .5em 0; }
@media print {
  body { font-size: 11pt; max-width: none; color: #000; background: #fff; }
  * { color: #000 !important; }
  nav { position: static; border: none; }
  nav details, nav .keys { display: none; }
  .frame { break-inside: avoid; page-break-inside: avoid; border-color: #000; }
  table.bits { font-size: 8.5pt; }
  .frame:focus, .frame:target { outline: none; }
  h2, h3 { break-after: avoid; }
  pre { background: #fff; border: 1px solid #000; white-space: pre-wrap; }
  a { text-decoration: none; }
}
"#;

/// Steps from frame card to frame card: j or the right arrow to the next,
/// k or the left arrow to the previous (the up and down arrows too once a
/// card has focus). No `<` or `&` inside, so the page stays well-formed XML.
const SCRIPT: &str = r#"
(function () {
  var cards = Array.prototype.slice.call(document.querySelectorAll('div.frame'));
  var current = null;
  function mark(card) {
    if (current) { current.classList.remove('current'); }
    current = document.getElementById('arrow-' + card.getAttribute('data-n'));
    if (current) { current.classList.add('current'); }
  }
  function step(d) {
    var i = cards.indexOf(document.activeElement);
    if (i === -1) {
      // From the first card below the top of the window.
      i = cards.length;
      for (var c = 0; c !== cards.length; c++) {
        if (cards[c].getBoundingClientRect().top >= 0) { i = c; break; }
      }
      i = d > 0 ? i - 1 : i;
    }
    var next = cards[i + d];
    if (next) { next.focus(); mark(next); }
  }
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var onCard = cards.indexOf(document.activeElement) !== -1;
    var k = e.key;
    if (k === 'j' || k === 'ArrowRight' || (k === 'ArrowDown' ? onCard : false)) { step(1); e.preventDefault(); }
    else if (k === 'k' || k === 'ArrowLeft' || (k === 'ArrowUp' ? onCard : false)) { step(-1); e.preventDefault(); }
  });
  cards.forEach(function (c) { c.addEventListener('focus', function () { mark(c); }); });
})();
"#;

fn field_class(name: &str) -> &'static str {
    match name {
        "FIN" => "f-FIN",
        "RSV1" | "RSV2" | "RSV3" => "f-RSV",
        "opcode" => "f-opcode",
        "MASK" => "f-MASK",
        "payload len" => "f-len",
        "masking key" => "f-key",
        "payload data" => "f-payload",
        _ => "f-ext",
    }
}

/// An opcode's colour on the diagram and in the legend.
fn opcode_color(name: &str) -> &'static str {
    match name {
        "text" => "#0b5cd5",
        "binary" => "#7a3fc4",
        "cont" | "continuation" => "#0a7b83",
        "close" => "#b35900",
        "ping" => "#1a7f37",
        "pong" => "#6b7a00",
        _ => "#cf222e",
    }
}

const LEGEND: [(&str, &str); 7] = [
    ("text", "text"),
    ("binary", "binary"),
    ("cont", "continuation"),
    ("close", "close"),
    ("ping", "ping"),
    ("pong", "pong"),
    ("reserved", "reserved opcode"),
];
const TCP_COLOR: &str = "#8c959f";
const HTTP_COLOR: &str = "#24292f";
const BAD_COLOR: &str = "#cf222e";

/// One row of the sequence diagram.
struct Row {
    ts: f64,
    packet: u64,
    from: Option<Dir>,
    label: String,
    color: &'static str,
    /// Frame rows: the frame's number in the page.
    frame: Option<usize>,
    opcode: &'static str,
    kind: &'static str,
    bad: bool,
}

/// Tick spacing: 1, 2 or 5 times a power of ten, about `n` ticks over `span`.
fn tick_step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// Where time `t` lies on the axis: through the rows' (time, y) points,
/// linear between them (monotone, so ticks stay true where the rows were
/// spread apart).
fn y_at(points: &[(f64, f64)], t: f64) -> f64 {
    let mut prev = points.first().copied().unwrap_or((t, 0.0));
    for &(pt, py) in points {
        if pt >= t {
            if pt > prev.0 {
                return prev.1 + (py - prev.1) * (t - prev.0) / (pt - prev.0);
            }
            return py;
        }
        prev = (pt, py);
    }
    prev.1
}

/// The sequence diagram: client and server lanes, time running down to
/// scale (seconds since the capture's first packet), the TCP handshake,
/// the HTTP upgrade, one arrow per frame (of the first frames, when more
/// follow: a note says so), FIN and RST.
fn sequence(out: &mut String, w: &Walkthrough) {
    let (axis, cx, sx, top) = (86.0, 210.0, 930.0, 70.0);
    let mid = (cx + sx) / 2.0;
    let mut rows: Vec<Row> = Vec::new();
    for m in &w.tcp {
        let bad = m.kind == "RST";
        rows.push(Row {
            ts: m.ts,
            packet: m.packet,
            from: m.from,
            label: format!("#{} TCP {}", m.packet, m.kind),
            color: if bad { BAD_COLOR } else { TCP_COLOR },
            frame: None,
            opcode: "",
            kind: m.kind,
            bad,
        });
    }
    if let Some(hs) = &w.handshake {
        if let Some(ts) = hs.request_ts {
            rows.push(Row {
                ts,
                packet: hs.request_packet,
                from: Some(Dir::Client),
                label: format!("#{} {}", hs.request_packet, hs.request_line),
                color: HTTP_COLOR,
                frame: None,
                opcode: "",
                kind: "http",
                bad: false,
            });
        }
        if let (Some(line), Some(p), Some(ts)) =
            (&hs.response_line, hs.response_packet, hs.response_ts)
        {
            let bad = hs.accept.as_ref().is_some_and(|a| a.ok != Some(true));
            rows.push(Row {
                ts,
                packet: p,
                from: Some(Dir::Server),
                label: format!("#{p} {line}"),
                color: if bad { BAD_COLOR } else { HTTP_COLOR },
                frame: None,
                opcode: "",
                kind: "http",
                bad,
            });
        }
    }
    for (i, f) in w.frames.iter().enumerate() {
        let mut label = format!(
            "#{} {}{}{} len {}",
            f.packet,
            f.opcode_name,
            if f.fin { "" } else { " (more)" },
            if f.masked { " masked" } else { "" },
            f.payload_len
        );
        if let Some(c) = f.close_code {
            let _ = write!(label, " code {c}");
        }
        if !f.findings.is_empty() {
            let _ = write!(label, " \u{26a0} {}", f.findings.join(", "));
        }
        rows.push(Row {
            ts: f.ts,
            packet: f.packet,
            from: Some(f.from),
            label,
            color: opcode_color(f.opcode_name),
            frame: Some(i + 1),
            opcode: f.opcode_name,
            kind: "frame",
            bad: !f.findings.is_empty(),
        });
    }
    // Placed in time order (at one time, in packet order); written in the
    // page's order, so arrow N is the N-th frame even where the capture
    // reported frames out of time order (a stream hunted mid-connection).
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&rows[a], &rows[b]);
        a.ts.total_cmp(&b.ts).then(a.packet.cmp(&b.packet))
    });
    let first = order.first().map(|&i| rows[i].ts);
    let last = order.last().map(|&i| rows[i].ts);
    let conn_span = w
        .conn
        .as_ref()
        .and_then(|c| Some((c.first_ts? - w.t0, c.last_ts? - w.t0)));
    let (t0, t1) = match (conn_span, first, last) {
        (Some((a, b)), Some(f), Some(l)) => (a.min(f), b.max(l)),
        (Some(s), _, _) => s,
        (None, Some(f), Some(l)) => (f, l),
        _ => (0.0, 0.0),
    };
    // Time to scale: the span over 480 px; each gap between rows keeps its
    // length at that scale, and rows closer than `step` are spread apart
    // (the axis stretches with them, so its ticks stay true).
    let step = 26.0;
    let span = (t1 - t0).max(0.0);
    let scale = if span > 0.0 { 480.0 / span } else { 0.0 };
    let mut points: Vec<(f64, f64)> = vec![(t0, top)];
    let (mut y, mut prev_t) = (top - step, t0);
    let mut ys = vec![0.0; rows.len()];
    for (k, &i) in order.iter().enumerate() {
        let r = &rows[i];
        y = (y + (r.ts - prev_t).max(0.0) * scale).max(y + step);
        if k == 0 {
            y = y.max(top + (r.ts - t0).max(0.0) * scale);
        }
        prev_t = r.ts;
        ys[i] = y;
        points.push((r.ts, y));
    }
    let end_y = y + ((t1 - prev_t).max(0.0) * scale).max(step);
    points.push((t1, end_y));
    let h = end_y + if w.more_frames { 50.0 } else { 24.0 };
    let (client, server) = w
        .conn
        .as_ref()
        .map(|c| (c.client.clone(), c.server.clone()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r##"<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="1040" height="{h:.0}" viewBox="0 0 1040 {h:.0}" role="img" aria-label="sequence diagram">
<text x="{cx}" y="20" text-anchor="middle" font-weight="bold">client</text><text x="{cx}" y="40" text-anchor="middle">{}</text>
<text x="{sx}" y="20" text-anchor="middle" font-weight="bold">server</text><text x="{sx}" y="40" text-anchor="middle">{}</text>
<text class="tick" x="{axis}" y="40" text-anchor="end">seconds</text>
<line x1="{cx}" y1="50" x2="{cx}" y2="{h:.0}" stroke="#999" stroke-dasharray="4 4"/>
<line x1="{sx}" y1="50" x2="{sx}" y2="{h:.0}" stroke="#999" stroke-dasharray="4 4"/>
<line class="axis" x1="{:.0}" y1="{top}" x2="{:.0}" y2="{end_y:.0}" stroke="#555"/>"##,
        esc(&client),
        esc(&server),
        axis + 8.0,
        axis + 8.0,
    );
    // Ticks: round times, placed through the rows' points, none closer than 18 px.
    let dt = tick_step(span, 8.0);
    let decimals = (-dt.log10().floor()).clamp(0.0, 6.0) as usize;
    let mut last_y = f64::NEG_INFINITY;
    let mut k = (t0 / dt).ceil();
    let mut n = 0;
    while k * dt <= t1 + dt * 1e-9 && n < 200 {
        let t = k * dt;
        let ty = y_at(&points, t);
        if ty - last_y >= 18.0 {
            let _ = writeln!(
                out,
                r##"<g class="tick"><line x1="{:.0}" y1="{ty:.1}" x2="{:.0}" y2="{ty:.1}" stroke="#555"/><text class="tick" x="{axis}" y="{:.1}" text-anchor="end">{t:.decimals$}</text></g>"##,
                axis + 3.0,
                axis + 13.0,
                ty + 4.0
            );
            last_y = ty;
        }
        k += 1.0;
        n += 1;
    }
    for (r, &y) in rows.iter().zip(&ys) {
        let (x1, x2) = match r.from {
            Some(Dir::Client) => (cx, sx),
            Some(Dir::Server) => (sx, cx),
            None => (cx, sx),
        };
        let head = if x2 > x1 { x2 - 12.0 } else { x2 + 12.0 };
        let dash = if r.kind == "frame" || r.kind == "http" {
            ""
        } else {
            r#" stroke-dasharray="6 3""#
        };
        let width = if r.kind == "frame" { 3 } else { 2 };
        let shapes = format!(
            r##"<line class="shaft" x1="{x1}" y1="{y:.1}" x2="{head}" y2="{y:.1}" stroke="{c}" stroke-width="{width}"{dash}/><path d="M{x2},{y:.1} L{head},{:.1} L{head},{:.1} z" fill="{c}"/><text x="{mid}" y="{:.1}" text-anchor="middle" fill="{c}">{}</text><text class="tick" x="{:.0}" y="{:.1}" text-anchor="{}" fill="#555">+{:.6}</text>"##,
            y - 6.0,
            y + 6.0,
            y - 6.0,
            esc(&r.label),
            if x1 < x2 { x1 - 6.0 } else { x1 + 6.0 },
            y + 4.0,
            if x1 < x2 { "end" } else { "start" },
            r.ts,
            c = r.color,
        );
        match r.frame {
            Some(n) => {
                let _ = writeln!(
                    out,
                    r##"<a class="arrow" href="#frame-{n}" id="arrow-{n}" data-frame="{n}" data-opcode="{}" data-packet="{}" data-ts="{:.6}"><title>frame {n}: see its card</title><line x1="{x1}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="transparent" stroke-width="16"/>{shapes}</a>"##,
                    r.opcode, r.packet, r.ts
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    r##"<g class="{}" data-kind="{}" data-packet="{}" data-ts="{:.6}">{shapes}</g>"##,
                    if r.kind == "http" { "http" } else { "tcp" },
                    r.kind,
                    r.packet,
                    r.ts
                );
            }
        }
        let _ = r.bad;
    }
    if w.more_frames {
        let _ = writeln!(
            out,
            r##"<text class="more" x="{mid}" y="{:.0}" text-anchor="middle">… more frames follow: their cards are below</text>"##,
            end_y + 30.0
        );
    }
    out.push_str("</svg>\n");
    out.push_str("<ul class=\"legend\">");
    for (op, name) in LEGEND {
        let _ = write!(
            out,
            "<li><span class=\"sw\" style=\"background:{}\"></span>{name}</li>",
            opcode_color(op)
        );
    }
    let _ = writeln!(
        out,
        "<li><span class=\"sw\" style=\"background:{HTTP_COLOR}\"></span>HTTP upgrade</li><li><span class=\"sw\" style=\"background:{TCP_COLOR}\"></span>TCP SYN, SYN/ACK, ACK, FIN (dashed)</li><li><span class=\"sw\" style=\"background:{BAD_COLOR}\"></span>RST, or a frame with findings (\u{26a0})</li></ul>"
    );
    let _ = writeln!(
        out,
        "<p class=\"meaning\">Time runs down, to scale, in seconds since the capture's first packet (each arrow's time beside it); where packets come closer than the arrows can be drawn, the axis stretches and its ticks stay true. Each arrow leads to its frame's card.</p>"
    );
}

/// Labels of the header's bit cells, from the first bit on (one per bit).
fn bit_fields(f: &FrameEx) -> Vec<&'static str> {
    let mut v = vec!["FIN", "RSV1", "RSV2", "RSV3"];
    v.extend(["opcode"; 4]);
    v.push("MASK");
    v.extend(["payload len"; 7]);
    let ext = match f.length_form {
        "16-bit" => 16,
        "64-bit" => 64,
        _ => 0,
    };
    let ext_name = if ext == 16 {
        "extended payload length (16 bits)"
    } else {
        "extended payload length (64 bits)"
    };
    v.extend(std::iter::repeat_n(ext_name, ext));
    if f.mask_key.is_some() {
        v.extend(["masking key"; 32]);
    }
    v
}

/// The RFC 6455 section 5.2 diagram filled with the frame's bits: 32 a row,
/// the header's fields where the frame has them, then payload data (its
/// first bits as on the wire). Each bit cell carries `data-bit`, its column.
fn bit_table(out: &mut String, f: &FrameEx) {
    let fields = bit_fields(f);
    let header_bits = fields.len().min(f.header_bytes.len() * 8);
    let rows = header_bits / 32 + 1;
    let bit = |i: usize| -> Option<char> {
        let byte = if i < header_bits {
            f.header_bytes.get(i / 8)
        } else {
            f.wire_prefix.get((i - header_bits) / 8)
        }?;
        let within = if i < header_bits {
            i % 8
        } else {
            (i - header_bits) % 8
        };
        Some(if byte >> (7 - within) & 1 == 1 {
            '1'
        } else {
            '0'
        })
    };
    let name = |i: usize| -> &'static str {
        if i < header_bits {
            fields[i]
        } else {
            "payload data"
        }
    };
    out.push_str("<table class=\"bits\"><tr>");
    for c in 0..32 {
        let _ = write!(
            out,
            "<th>{}</th>",
            if c % 10 == 0 {
                (c / 10).to_string()
            } else {
                String::new()
            }
        );
    }
    out.push_str("<th></th></tr><tr>");
    for c in 0..32 {
        let _ = write!(out, "<th>{}</th>", c % 10);
    }
    out.push_str("<th></th></tr>\n");
    for r in 0..rows {
        let base = r * 32;
        // The row's field labels, one cell per run of a field.
        out.push_str("<tr class=\"labels\">");
        let mut c = 0;
        while c < 32 {
            let n = name(base + c);
            let mut e = c + 1;
            while e < 32 && name(base + e) == n {
                e += 1;
            }
            let cont = base + c > 0 && name(base + c - 1) == n && n != "payload data";
            let _ = write!(
                out,
                "<td class=\"lbl {}\" colspan=\"{}\" title=\"{}\">{}{}</td>",
                field_class(n),
                e - c,
                esc(n),
                esc(n),
                if cont { " (cont.)" } else { "" }
            );
            c = e;
        }
        out.push_str("<td class=\"hex\"></td></tr>\n<tr class=\"row\">");
        let mut hex = Vec::new();
        for c in 0..32 {
            let i = base + c;
            let b = bit(i);
            let _ = write!(
                out,
                "<td class=\"{}\" data-bit=\"{c}\" data-field=\"{}\">{}</td>",
                field_class(name(i)),
                name(i),
                b.unwrap_or('\u{b7}')
            );
            if c % 8 == 0 {
                let byte = if i < header_bits {
                    f.header_bytes.get(i / 8)
                } else {
                    f.wire_prefix.get((i - header_bits) / 8)
                };
                if let Some(x) = byte {
                    hex.push(format!("{x:02x}"));
                }
            }
        }
        let _ = writeln!(out, "<td class=\"hex\">{}</td></tr>", hex.join(" "));
    }
    let in_rows = ((rows * 32 - header_bits) / 8).min(f.wire_prefix.len());
    let more = f.payload_len.saturating_sub(in_rows as u64);
    let _ = writeln!(
        out,
        "<tr><td class=\"lbl f-payload\" colspan=\"32\">payload data{}</td><td class=\"hex\"></td></tr></table>",
        if f.payload_len == 0 {
            " (none: the payload is empty)".to_string()
        } else if more > 0 {
            format!(
                " continued: {more} more byte{}",
                if more == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
}

/// One frame's card; `n` is its number in the page, `drawn` whether the
/// diagram has its arrow (the first frames only, when there are many).
pub fn frame(out: &mut String, f: &FrameEx, n: usize, drawn: bool) {
    let dir = super::arrow(f.from);
    let segs = f.carried_by();
    let _ = writeln!(
        out,
        "<div class=\"frame\" id=\"frame-{n}\" data-n=\"{n}\" tabindex=\"0\"><h3>Frame {} \u{b7} {dir} \u{b7} {} \u{b7} {segs} \u{b7} +{:.6} s{}</h3>",
        f.index,
        esc(f.opcode_name),
        f.ts,
        if drawn {
            format!(" <a class=\"back\" href=\"#arrow-{n}\">\u{2191} its arrow</a>")
        } else {
            String::new()
        }
    );
    if let Some(c) = &f.h2 {
        let _ = writeln!(
            out,
            "<p class=\"meaning\">{}</p>",
            esc(&super::h2::carry_text(c))
        );
    }
    let _ = writeln!(
        out,
        "<p>Header bytes: <code>{}</code></p>",
        esc(&f.header_hex)
    );
    bit_table(out, f);
    out.push_str("<table><tr><th>field</th><th>value</th><th>meaning</th></tr>");
    for fld in &f.fields {
        let _ = write!(
            out,
            "<tr><td class=\"{}\">{}</td><td class=\"mono\">{}</td><td class=\"meaning\">{}</td></tr>",
            field_class(fld.name),
            esc(fld.name),
            esc(&fld.value),
            esc(&fld.meaning)
        );
    }
    out.push_str("</table>\n");
    if !f.unmask.is_empty() {
        out.push_str("<p>Unmasking (section 5.3): <code>clear[i] = masked[i] XOR key[i % 4]</code></p><table class=\"unmask\"><tr><th>i</th><th>masked</th><th>key[i % 4]</th><th>clear</th><th>char</th></tr>");
        for r in &f.unmask {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{:02x}</td><td class=\"mono f-key\">{:02x}</td><td class=\"mono\">{:02x}</td><td class=\"mono\">{}</td></tr>",
                r.i,
                r.masked,
                r.key,
                r.clear,
                r.ch.map(|c| esc(&c.to_string()))
                    .unwrap_or_else(|| "\u{b7}".into())
            );
        }
        out.push_str("</table>\n");
    }
    if let Some(code) = f.close_code {
        let _ = writeln!(
            out,
            "<p>Close code <b>{code}</b>: {}{}</p>",
            esc(f.close_meaning.unwrap_or("")),
            f.close_reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!("; reason \u{201c}{}\u{201d}", esc(r)))
                .unwrap_or_default()
        );
    }
    if !f.payload_shown.is_empty() {
        let shown = if f.payload_shown_bytes < f.payload_len {
            format!(", the first {} shown", f.payload_shown_bytes)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<p>Payload ({}): {} bytes{shown}</p><pre>{}</pre>",
            f.payload_kind,
            f.payload_len,
            esc(&f.payload_shown)
        );
    }
    if let Some(t) = &f.tcp {
        super::tcp::html_frame(out, t);
    }
    if !f.findings.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"bad\">Findings: {}</p>",
            esc(&f.findings.join(", "))
        );
    }
    out.push_str("</div>\n");
}

/// An HTTP head as a table: its first line, then each header with its meaning.
fn head_table(out: &mut String, title: &str, first: &str, headers: &[super::HeaderEx]) {
    let _ = writeln!(
        out,
        "<p>{}:</p><table><tr><td colspan=\"2\"><b class=\"mono\">{}</b></td></tr>",
        esc(title),
        esc(first)
    );
    for hd in headers {
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}: {}</td><td class=\"meaning\">{}</td></tr>",
            esc(&hd.name),
            esc(&hd.value),
            esc(&hd.meaning)
        );
    }
    out.push_str("</table>\n");
}

/// The page up to the frame cards: title, connection, sequence diagram,
/// handshake, accept computation.
pub fn head(w: &Walkthrough, out: &mut String) {
    let title = match &w.conn {
        Some(c) => format!("WebSocket walkthrough: {}, connection {}", w.capture, c.id),
        None => format!("WebSocket walkthrough: {}", w.capture),
    };
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>",
        esc(&title),
        esc(&title)
    );
    if let Some(nf) = &w.not_found {
        let _ = writeln!(out, "<p class=\"bad\">{}</p>", esc(nf));
    }
    nav(out, w);
    if let Some(c) = &w.conn {
        let _ = writeln!(
            out,
            "<p>Client <code>{}</code> ({}), server <code>{}</code>.</p>",
            esc(&c.client),
            esc(c.client_by),
            esc(&c.server)
        );
    }
    out.push_str("<h2 id=\"glance\">The connection at a glance</h2>\n");
    sequence(out, w);
    if let Some(t) = &w.tls {
        super::tls::html(out, t);
    }
    if let Some(h) = &w.h2 {
        super::h2::html(out, h);
    }
    if let Some(h) = &w.handshake {
        out.push_str("<h2 id=\"handshake\">The opening handshake</h2>\n");
        head_table(
            out,
            &format!("Request, packet #{}", h.request_packet),
            &h.request_line,
            &h.request_headers,
        );
        if let (Some(line), Some(p)) = (&h.response_line, h.response_packet) {
            head_table(
                out,
                &format!("Response, packet #{p}"),
                line,
                &h.response_headers,
            );
        }
        if let Some(a) = &h.accept {
            out.push_str("<h2 id=\"accept\">Sec-WebSocket-Accept, step by step</h2>\n<table class=\"accept\">");
            for (k, v) in [
                ("the client's key", a.key.as_str()),
                ("append the GUID", a.guid),
                ("key + GUID", a.concatenated.as_str()),
                ("SHA-1 (hex)", a.sha1_hex.as_str()),
                ("base64 of the digest", a.base64.as_str()),
                ("the server sent", a.sent.as_deref().unwrap_or("(nothing)")),
            ] {
                let _ = write!(
                    out,
                    "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                    esc(k),
                    esc(v)
                );
            }
            let class = if a.ok == Some(true) { "ok" } else { "bad" };
            let _ = writeln!(out, "</table><p class=\"{class}\">{}</p>", esc(&a.verdict));
        }
        out.push_str("<ul>");
        for n in &h.negotiated {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2 id=\"frames\">Frames</h2>\n");
}

/// The table of contents: the page's sections, then every frame in view
/// (the first ones, when more follow).
fn nav(out: &mut String, w: &Walkthrough) {
    out.push_str("<nav id=\"contents\"><b>Contents:</b> <a href=\"#glance\">at a glance</a>");
    if let Some(h) = &w.handshake {
        out.push_str("<a href=\"#handshake\">handshake</a>");
        if h.accept.is_some() {
            out.push_str("<a href=\"#accept\">accept key</a>");
        }
    }
    if w.tls.is_some() {
        out.push_str("<a href=\"#tls\">TLS</a>");
    }
    if w.h2.is_some() {
        out.push_str("<a href=\"#h2\">HTTP/2</a>");
    }
    out.push_str("<a href=\"#frames\">frames</a><a href=\"#messages\">messages</a><a href=\"#pings\">ping and pong</a><a href=\"#tcp\">TCP</a><a href=\"#findings\">findings</a><a href=\"#push\">server push</a>");
    if !w.frames.is_empty() {
        let _ = write!(
            out,
            "<details><summary>{} frame{}{}</summary><ol>",
            w.frames.len(),
            if w.frames.len() == 1 { "" } else { "s" },
            if w.more_frames { " (more follow)" } else { "" }
        );
        for (i, f) in w.frames.iter().enumerate() {
            let _ = write!(
                out,
                "<li><a href=\"#frame-{}\">{} {}</a></li>",
                i + 1,
                match f.from {
                    Dir::Client => "C\u{2192}S",
                    Dir::Server => "S\u{2192}C",
                },
                esc(f.opcode_name)
            );
        }
        out.push_str("</ol></details>");
    }
    out.push_str(
        " <span class=\"keys\">keys: j / \u{2192} next frame, k / \u{2190} previous</span></nav>\n",
    );
}

/// The page after the frame cards.
pub fn tail(w: &Walkthrough, out: &mut String) {
    if w.frames_not_shown > 0 {
        let _ = writeln!(
            out,
            "<p>{} more frames are not shown.</p>",
            w.frames_not_shown
        );
    }
    out.push_str("<h2 id=\"messages\">Messages</h2>\n");
    if w.messages.is_empty() {
        out.push_str("<p>No data message in what was shown.</p>\n");
    } else {
        if let Some(p) = w.app_protocol {
            let _ = writeln!(
                out,
                "<p class=\"meaning\">Subprotocol <b>{}</b>: {}. Each unit is listed under the message that completed it, as <code>wsdissect app</code> shows it.</p>",
                esc(p),
                esc(super::app::protocol_meaning(p))
            );
        }
        out.push_str("<table><tr><th>#</th><th>from</th><th>type</th><th>frames</th><th>bytes</th><th>content</th></tr>");
        for m in &w.messages {
            let frames = m
                .frames
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            // A hex dump or pretty JSON keeps its lines; text is cut to fit.
            let content = if m.kind == "hex" || m.kind == "json" {
                format!("<pre>{}</pre>", esc(&m.shown))
            } else {
                esc(&m.shown.chars().take(200).collect::<String>())
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                m.index,
                m.from.as_str(),
                m.opcode_name,
                if m.compressed { " (compressed)" } else { "" },
                frames,
                m.len,
                content + &super::app::html_units(m, w.app_protocol)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2 id=\"pings\">Ping and pong</h2>\n");
    if w.pings.is_empty() {
        out.push_str("<p>No ping in what was shown.</p>\n");
    } else {
        out.push_str("<ul>");
        for p in &w.pings {
            let _ = write!(
                out,
                "<li>ping frame {} ({}): {}</li>",
                p.ping_frame,
                p.from.as_str(),
                match (p.pong_frame, p.rtt_ms) {
                    (Some(q), Some(r)) => format!("pong frame {q}, round trip {r:.3} ms"),
                    _ => "no pong in the capture".into(),
                }
            );
        }
        out.push_str("</ul>\n");
    }
    if let Some(d) = &w.deflate_story {
        super::deflate::html_section(out, d);
    }
    super::tcp::html_section(out, w.tcp_story.as_ref(), w.frames_shown);
    out.push_str("<h2 id=\"findings\">Findings</h2>\n");
    if w.findings.is_empty() {
        out.push_str("<p class=\"ok\">None: every rule checked holds on this connection.</p>\n");
    }
    for f in &w.findings {
        let _ = writeln!(
            out,
            "<div class=\"finding\"><b>{} {}</b> ({}): {}</div>",
            f.severity,
            esc(f.code),
            f.at(),
            esc(&f.message)
        );
    }
    out.push_str("<h2 id=\"push\">Server push in this capture</h2>\n");
    if w.push.is_empty() {
        out.push_str("<p>No HTTP exchange in this capture.</p>\n");
    } else {
        for p in &w.push {
            let _ = writeln!(
                out,
                "<h3>{} {} \u{b7} {} \u{b7} {} request(s), {} event(s)</h3><p class=\"meaning\">{}</p><table><tr><th>time</th><th>conn</th><th>what</th><th>detail</th></tr>",
                esc(&p.method),
                esc(&p.path),
                esc(p.technique),
                p.requests,
                p.events,
                esc(&p.reason)
            );
            for t in &p.timeline {
                let _ = write!(
                    out,
                    "<tr><td class=\"mono\">+{:.3} s</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    t.ts - p.first_ts,
                    t.conn,
                    t.what,
                    esc(&t.detail)
                );
            }
            out.push_str("</table>\n");
        }
    }
    let _ = writeln!(
        out,
        "<script>//<![CDATA[{SCRIPT}//]]></script>\n</body></html>"
    );
}
