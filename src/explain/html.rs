//! The walkthrough as one self-contained HTML page for a classroom
//! projector: no scripts, no fonts or images fetched, well-formed XML (so
//! tests can parse it). A sequence diagram (SVG, one arrow per frame) comes
//! first, then the handshake, the accept computation and every frame's bit
//! diagram with coloured fields and its unmasking table.

use std::fmt::Write as _;

use super::{FrameEx, Walkthrough};
use crate::findings::Dir;

use crate::render::xml_escape as esc;

const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; font-size: 18px; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; }
code, pre, td.mono, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { padding: .2em .6em; border: 1px solid #ddd; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
.meaning { color: #555; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #cf222e; font-weight: bold; }
.frame { border: 1px solid #ccc; border-radius: 6px; padding: .5em 1em; margin: 1em 0; }
.frame h3 { margin: .3em 0; }
table.bits td { width: 1.6em; text-align: center; font-family: ui-monospace, monospace; border: 1px solid #999; }
table.bits td.lbl { font-size: .7em; color: #333; }
.f-FIN { background: #ffd8d8; } .f-RSV { background: #f0d8ff; } .f-opcode { background: #d8e6ff; }
.f-MASK { background: #fff2c2; } .f-len { background: #d8f5dd; } .f-ext { background: #c9efd0; }
.f-key { background: #d2f4f4; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; }
svg text { font-family: ui-monospace, monospace; font-size: 13px; }
.finding { border-left: 4px solid #cf222e; padding-left: .6em; margin: .5em 0; }
"#;

fn field_class(name: &str) -> &'static str {
    match name {
        "FIN" => "f-FIN",
        "RSV1" | "RSV2" | "RSV3" => "f-RSV",
        "opcode" => "f-opcode",
        "MASK" => "f-MASK",
        "payload len" => "f-len",
        "masking key" => "f-key",
        _ => "f-ext",
    }
}

/// The sequence diagram: client and server lanes, one arrow per frame (of
/// the first frames, when more follow: a note says so).
fn sequence(out: &mut String, w: &Walkthrough) {
    let (cx, sx, top, step) = (160.0, 760.0, 70.0, 34.0);
    let rows = w.frames.len() + usize::from(w.handshake.is_some()) * 2 + usize::from(w.more_frames);
    let h = top + step * rows as f64 + 30.0;
    let (client, server) = w
        .conn
        .as_ref()
        .map(|c| (c.client.clone(), c.server.clone()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r##"<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="920" height="{h:.0}" viewBox="0 0 920 {h:.0}">
<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker>
<marker id="headbad" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#cf222e"/></marker></defs>
<text x="{cx}" y="20" text-anchor="middle" font-weight="bold">client</text><text x="{cx}" y="38" text-anchor="middle">{}</text>
<text x="{sx}" y="20" text-anchor="middle" font-weight="bold">server</text><text x="{sx}" y="38" text-anchor="middle">{}</text>
<line x1="{cx}" y1="48" x2="{cx}" y2="{h:.0}" stroke="#999" stroke-dasharray="4 4"/>
<line x1="{sx}" y1="48" x2="{sx}" y2="{h:.0}" stroke="#999" stroke-dasharray="4 4"/>"##,
        esc(&client),
        esc(&server)
    );
    let mut y = top;
    let mut arrow = |out: &mut String, from: Dir, label: &str, class: &str, bad: bool, id: &str| {
        let (x1, x2) = match from {
            Dir::Client => (cx, sx),
            Dir::Server => (sx, cx),
        };
        let color = if bad { "#cf222e" } else { "#333" };
        let marker = if bad { "headbad" } else { "head" };
        let _ = writeln!(
            out,
            r##"<g class="{class}"{id}><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}" stroke-width="2" marker-end="url(#{marker})"/><text x="{:.0}" y="{:.0}" text-anchor="middle" fill="{color}">{}</text></g>"##,
            (cx + sx) / 2.0,
            y - 6.0,
            esc(label)
        );
        y += step;
    };
    if let Some(hs) = &w.handshake {
        arrow(
            out,
            Dir::Client,
            &format!("#{} {}", hs.request_packet, hs.request_line),
            "http",
            false,
            "",
        );
        if let (Some(line), Some(p)) = (&hs.response_line, hs.response_packet) {
            let bad = hs.accept.as_ref().is_some_and(|a| a.ok != Some(true));
            arrow(out, Dir::Server, &format!("#{p} {line}"), "http", bad, "");
        }
    }
    for f in &w.frames {
        let mut label = format!(
            "#{} {} {}{} len {}",
            f.packet,
            f.opcode_name,
            if f.fin { "" } else { "(more) " },
            if f.masked { "masked" } else { "" },
            f.payload_len
        );
        if !f.findings.is_empty() {
            let _ = write!(label, " \u{26a0} {}", f.findings.join(", "));
        }
        let id = format!(r#" data-frame="{}""#, f.index);
        arrow(out, f.from, &label, "arrow", !f.findings.is_empty(), &id);
    }
    if w.more_frames {
        let _ = writeln!(
            out,
            r##"<text class="more" x="{:.0}" y="{:.0}" text-anchor="middle">… more frames follow: their cards are below</text>"##,
            (cx + sx) / 2.0,
            y - 6.0
        );
    }
    out.push_str("</svg>\n");
}

fn bit_table(out: &mut String, f: &FrameEx) {
    // First row: bit numbers; second: field labels; third: this frame's bits.
    out.push_str("<table class=\"bits\"><tr>");
    for i in 0..16 {
        let _ = write!(out, "<th>{i}</th>");
    }
    out.push_str("</tr><tr>");
    let mut cells = String::new();
    for fld in f.fields.iter().take(7) {
        let n = fld.bits.len();
        let _ = write!(
            out,
            "<td class=\"lbl {}\" colspan=\"{n}\">{}</td>",
            field_class(fld.name),
            esc(fld.name)
        );
        for b in fld.bits.chars() {
            let _ = write!(cells, "<td class=\"{}\">{b}</td>", field_class(fld.name));
        }
    }
    let _ = write!(out, "</tr><tr>{cells}</tr></table>");
    for fld in f.fields.iter().skip(7) {
        let _ = write!(
            out,
            "<p class=\"mono\"><span class=\"{}\">{}</span>: {}</p>",
            field_class(fld.name),
            esc(fld.name),
            esc(&fld.bits)
        );
    }
}

/// One frame's card.
pub fn frame(out: &mut String, f: &FrameEx) {
    let dir = super::arrow(f.from);
    let segs = f.carried_by();
    let _ = writeln!(
        out,
        "<div class=\"frame\" id=\"frame-{}\"><h3>Frame {} \u{b7} {dir} \u{b7} {} \u{b7} {segs}</h3>",
        f.index,
        f.index,
        esc(f.opcode_name)
    );
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
    if let Some(c) = &w.conn {
        let _ = writeln!(
            out,
            "<p>Client <code>{}</code> ({}), server <code>{}</code>.</p>",
            esc(&c.client),
            esc(c.client_by),
            esc(&c.server)
        );
    }
    out.push_str("<h2>The connection at a glance</h2>\n");
    sequence(out, w);
    if let Some(h) = &w.handshake {
        out.push_str("<h2>The opening handshake</h2>\n");
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
            out.push_str("<h2>Sec-WebSocket-Accept, step by step</h2>\n<table class=\"accept\">");
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
    out.push_str("<h2>Frames</h2>\n");
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
    if !w.messages.is_empty() {
        out.push_str("<h2>Messages</h2>\n<table><tr><th>#</th><th>from</th><th>type</th><th>frames</th><th>bytes</th><th>content</th></tr>");
        for m in &w.messages {
            let frames = m
                .frames
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let shown: String = m.shown.chars().take(200).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                m.index,
                m.from.as_str(),
                m.opcode_name,
                if m.compressed { " (compressed)" } else { "" },
                frames,
                m.len,
                esc(&shown)
            );
        }
        out.push_str("</table>\n");
    }
    if !w.pings.is_empty() {
        out.push_str("<h2>Ping and pong</h2>\n<ul>");
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
    out.push_str("<h2>Findings</h2>\n");
    if w.findings.is_empty() {
        out.push_str("<p class=\"ok\">None: every rule checked holds on this connection.</p>\n");
    }
    for f in &w.findings {
        let _ = writeln!(
            out,
            "<div class=\"finding\"><b>{} {}</b> (packet #{}{}): {}</div>",
            f.severity,
            esc(f.code),
            f.packet,
            f.frame.map(|i| format!(", frame {i}")).unwrap_or_default(),
            esc(&f.message)
        );
    }
    if !w.push.is_empty() {
        out.push_str("<h2>Server push in this capture</h2>\n");
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
    out.push_str("</body></html>\n");
}
