//! The walkthrough as text for a terminal: 100 columns, colour optional.

use std::fmt::Write as _;

use std::borrow::Cow;

use super::{FrameEx, Walkthrough, arrow};

/// Output width the text is laid out for.
pub const WIDTH: usize = 100;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, style: anstyle::Style, s: &str) -> String {
        if self.color {
            crate::render::color::paint(style, s)
        } else {
            s.to_string()
        }
    }
    fn fg(self, c: anstyle::AnsiColor, s: &str) -> String {
        self.paint(anstyle::Style::new().fg_color(Some(c.into())), s)
    }
    fn bold(self, s: &str) -> String {
        self.paint(anstyle::Style::new().bold(), s)
    }
    fn dim(self, s: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), s)
    }
    fn field(self, name: &str, s: &str) -> String {
        use anstyle::AnsiColor::*;
        let c = match name {
            "FIN" => Red,
            "RSV1" | "RSV2" | "RSV3" => Magenta,
            "opcode" => Blue,
            "MASK" => Yellow,
            "masking key" => Cyan,
            _ => Green,
        };
        self.fg(c, s)
    }
    fn good(self, s: &str) -> String {
        self.fg(anstyle::AnsiColor::Green, s)
    }
    fn bad(self, s: &str) -> String {
        self.paint(
            anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Red.into())),
            s,
        )
    }
}

/// Text from the capture made safe for a terminal: control characters
/// (ESC, CR, backspace, the other C0 and C1 codes, DEL) are written as
/// `\x1b`-style escapes, so capture bytes never drive the terminal. Every
/// capture-derived string of the text walkthrough goes through here.
pub fn term(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\t';
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\t' {
            o.push(c);
        } else {
            crate::render::escape::push_escaped(&mut o, c);
        }
    }
    Cow::Owned(o)
}

/// Appends `text` wrapped to WIDTH, the first line after `lead` (already
/// `indent` columns wide), the others indented by `indent`.
pub(super) fn wrapped(out: &mut String, lead: &str, indent: usize, text: &str) {
    let mut col = lead.chars().count().max(indent);
    out.push_str(lead);
    // Words longer than a line are cut into line-sized pieces.
    let room = WIDTH.saturating_sub(indent).max(8);
    let words = text.split(' ').flat_map(|w| {
        let cs: Vec<char> = w.chars().collect();
        if cs.len() <= room {
            vec![w.to_string()]
        } else {
            cs.chunks(room).map(|c| c.iter().collect()).collect()
        }
    });
    for (i, word) in words.enumerate() {
        let word = word.as_str();
        let w = word.chars().count();
        if i > 0 && col + 1 + w > WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if i > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
    }
    out.push('\n');
}

fn pad(s: &str, n: usize) -> String {
    let w = s.chars().count();
    if w >= n {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(n - w))
    }
}

fn heading(out: &mut String, st: Style, n: usize, title: &str) {
    let _ = writeln!(out, "\n{}", st.bold(&format!("{n}. {title}")));
}

/// Writes everything before the frames (title, connection, handshake, the
/// accept computation, the frames' heading); returns the sections used.
pub fn head(w: &Walkthrough, st: Style, out: &mut String) -> usize {
    let title = match &w.conn {
        Some(c) => format!("wsdissect explain: {}, connection {}", w.capture, c.id),
        None => format!("wsdissect explain: {}", w.capture),
    };
    let title = term(&title);
    let _ = writeln!(
        out,
        "{}\n{}",
        st.bold(&title),
        "=".repeat(title.chars().count().min(WIDTH))
    );
    if let Some(nf) = &w.not_found {
        let _ = writeln!(out, "\n{}.", term(nf));
    }
    let Some(c) = &w.conn else {
        return 0;
    };
    let mut sec = 0;
    let mut next = || {
        sec += 1;
        sec
    };
    heading(out, st, next(), "The TCP connection");
    let _ = writeln!(out, "   client  {}   ({})", c.client, c.client_by);
    let _ = writeln!(out, "   server  {}", c.server);
    span(out, w, "   packets");
    if let Some(t) = &w.tls {
        heading(
            out,
            st,
            next(),
            "The TLS layer, decrypted step by step (RFC 8446, RFC 5246)",
        );
        super::tls::text(out, t);
    }
    if let Some(h) = &w.h2 {
        heading(
            out,
            st,
            next(),
            "HTTP/2 beneath the WebSocket (RFC 9113, RFC 8441)",
        );
        super::h2::text(out, h);
    }
    if let (Some(h), Some(_)) = (&w.handshake, &w.h2) {
        // Over HTTP/2 the HEADERS above were the handshake: what it settled.
        let _ = writeln!(out);
        for n in &h.negotiated {
            wrapped(out, "   • ", 5, &term(n));
        }
    }
    if let Some(h) = w.handshake.as_ref().filter(|_| w.h2.is_none()) {
        heading(
            out,
            st,
            next(),
            "The opening handshake (RFC 6455 section 4)",
        );
        let _ = writeln!(
            out,
            "   The client asks to upgrade, packet #{} (client → server):",
            h.request_packet
        );
        let req_meaning = "the method must be GET and the version HTTP/1.1 or later (section 4.1)";
        let _ = writeln!(out, "     {}", st.bold(&term(&h.request_line)));
        wrapped(out, "       ", 7, &st.dim(req_meaning));
        for hd in &h.request_headers {
            header_line(out, st, &hd.name, &hd.value, &hd.meaning);
        }
        match (&h.response_line, h.response_packet) {
            (Some(line), Some(p)) => {
                let _ = writeln!(
                    out,
                    "\n   The server answers, packet #{p} (server → client):"
                );
                let _ = writeln!(out, "     {}", st.bold(&term(line)));
                for hd in &h.response_headers {
                    header_line(out, st, &hd.name, &hd.value, &hd.meaning);
                }
            }
            _ => {
                let _ = writeln!(out, "\n   The server's answer is not in the capture.");
            }
        }
        if let Some(a) = &h.accept {
            heading(
                out,
                st,
                next(),
                "Sec-WebSocket-Accept, step by step (section 4.2.2)",
            );
            let kb = a.key_bytes.map_or("not valid base64".to_string(), |n| {
                format!("{n} bytes once decoded")
            });
            let rows = [
                ("the client's key", format!("{}   ({kb})", term(&a.key))),
                ("append the GUID", a.guid.to_string()),
                ("key + GUID", term(&a.concatenated).into_owned()),
                ("SHA-1 of that (hex)", a.sha1_hex.clone()),
                ("base64 of the digest", st.bold(&a.base64)),
                (
                    "the server sent",
                    a.sent
                        .as_deref()
                        .map_or("(nothing)".into(), |s| term(s).into_owned()),
                ),
            ];
            for (k, v) in rows {
                let _ = writeln!(out, "   {}{v}", pad(k, 24));
            }
            let verdict = if a.ok == Some(true) {
                st.good(&format!("✓ {}", term(&a.verdict)))
            } else {
                st.bad(&format!("✗ {}", term(&a.verdict)))
            };
            wrapped(out, &format!("   {}", pad("", 24)), 27, &verdict);
        }
        let _ = writeln!(out);
        for n in &h.negotiated {
            wrapped(out, "   • ", 5, &term(n));
        }
    }
    heading(
        out,
        st,
        next(),
        "Frames (the header is RFC 6455 section 5.2's diagram, bit by bit)",
    );
    if w.frames.is_empty() && !w.more_frames {
        let _ = writeln!(out, "   No frame to show.");
    }
    sec
}

/// The packets and seconds the connection spanned, when known.
fn span(out: &mut String, w: &Walkthrough, lead: &str) {
    let Some(c) = &w.conn else { return };
    if let (Some(a), Some(b), Some(t0), Some(t1)) =
        (c.first_packet, c.last_packet, c.first_ts, c.last_ts)
    {
        let _ = writeln!(
            out,
            "{lead} #{a} to #{b} of the capture, over {:.3} s",
            t1 - t0
        );
    }
}

/// Writes everything after the frames (`sections` were used before them).
pub fn tail(w: &Walkthrough, st: Style, sections: usize, out: &mut String) {
    if w.conn.is_none() {
        push_section(out, st, 1, w);
        return;
    }
    let mut sec = sections;
    let mut next = || {
        sec += 1;
        sec
    };
    if w.frames_not_shown > 0 {
        let _ = writeln!(
            out,
            "\n   … {} more frames of this connection are not shown (see --max-frames, --frame, --packet).",
            w.frames_not_shown
        );
    }
    if !w.span_at_start {
        // Written as the frames came: the connection's span is known only now.
        let _ = writeln!(out);
        span(out, w, "   The connection spanned packets");
    }
    if !w.messages.is_empty() {
        heading(out, st, next(), "From frames to messages (section 5.4)");
        if let Some(p) = w.app_protocol {
            wrapped(
                out,
                "   ",
                3,
                &format!(
                    "Subprotocol {p}: {}. Each unit is shown under the message that completed it (⤷), as `wsdissect app` lists it.",
                    super::app::protocol_meaning(p)
                ),
            );
        }
        for m in &w.messages {
            let frames = super::ranges(&m.frames);
            let how = if m.frames.len() == 1 {
                format!("frame {frames}")
            } else {
                format!("{} fragments: frames {frames}", m.frames.len())
            };
            let mut line = format!(
                "   Message {} · {} · {} · {how} · {} bytes",
                m.index,
                arrow(m.from),
                m.opcode_name,
                m.len
            );
            if m.compressed {
                let _ = write!(line, " (inflated from {} on the wire)", m.wire_len);
            }
            // A short one-line text goes on the same line.
            let inline = m.kind == "text"
                && !m.shown.contains('\n')
                && line.chars().count() + 2 + term(&m.shown).chars().count() <= WIDTH;
            if inline {
                let _ = write!(line, ": {}", term(&m.shown));
            }
            wrapped(out, "   ", 5, line.trim_start());
            if !m.interleaved.is_empty() {
                let ids = super::ranges(&m.interleaved);
                let _ = writeln!(
                    out,
                    "     control frame(s) {ids} arrived between its fragments: allowed (section 5.4)"
                );
            }
            if !inline {
                payload_block(out, st, m.kind, &m.shown, 5, 6, false);
            }
            super::app::text_units(out, m, w.app_protocol);
            if !m.findings.is_empty() {
                let _ = writeln!(
                    out,
                    "     {}",
                    st.bad(&format!("findings: {}", m.findings.join(", ")))
                );
            }
        }
    }
    if w.messages_not_listed > 0 {
        let _ = writeln!(
            out,
            "   … and {} more messages: `wsdissect messages` lists every one.",
            w.messages_not_listed
        );
    }
    if !w.shared_packets.is_empty() || !w.split_frames.is_empty() {
        heading(out, st, next(), "Frames and TCP segments");
        let _ = writeln!(
            out,
            "   TCP carries a byte stream: frame boundaries need not match segment boundaries."
        );
        for p in &w.shared_packets {
            let ids = super::ranges(&p.frames);
            wrapped(
                out,
                "   ",
                5,
                &format!(
                    "packet #{} carried {} whole frames: {ids}",
                    p.packet,
                    p.frames.len()
                ),
            );
        }
        for f in &w.split_frames {
            let _ = writeln!(
                out,
                "   frame {} ({} bytes) was split over {} segments, packets #{} to #{}",
                f.frame, f.payload_len, f.segments, f.first_packet, f.packet
            );
        }
    }
    if !w.pings.is_empty() {
        heading(out, st, next(), "Ping and pong (section 5.5.2, 5.5.3)");
        for p in &w.pings {
            match (p.pong_frame, p.rtt_ms) {
                (Some(q), Some(rtt)) => {
                    let _ = writeln!(
                        out,
                        "   ping frame {} ({}) answered by pong frame {}: round trip {rtt:.3} ms",
                        p.ping_frame,
                        p.from.as_str(),
                        q
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "   ping frame {} ({}) got no pong in the capture",
                        p.ping_frame,
                        p.from.as_str()
                    );
                }
            }
        }
    }
    if let Some(d) = &w.deflate_story {
        heading(
            out,
            st,
            next(),
            "permessage-deflate, explained (RFC 7692, RFC 1951)",
        );
        for (indent, line) in super::deflate::text_lines(d) {
            wrapped(out, &" ".repeat(indent), indent, &line);
        }
    }
    if let Some(t) = &w.tcp_story {
        heading(
            out,
            st,
            next(),
            "TCP: who acknowledges what, and what keeps a connection open",
        );
        for (indent, line) in super::tcp::text_lines(t) {
            let lead = " ".repeat(indent);
            wrapped(out, &lead, indent, &line);
        }
    }
    heading(out, st, next(), "Findings (what `wsdissect check` reports)");
    if w.findings.is_empty() {
        let _ = writeln!(
            out,
            "   {}",
            st.good("None: every rule checked holds on this connection.")
        );
    }
    for f in &w.findings {
        let at = f.at();
        let from = f
            .from
            .map_or(String::new(), |d| format!(", {}", d.as_str()));
        let head = format!("   {} {} ({at}{from}): ", f.severity, f.code);
        let painted = if f.severity == "error" {
            st.bad(&head)
        } else {
            st.bold(&head)
        };
        let _ = writeln!(out, "{painted}");
        wrapped(out, "     ", 5, &term(&f.message));
    }
    if w.findings_not_listed > 0 {
        let _ = writeln!(
            out,
            "   … and {} more findings: `wsdissect check` lists every one.",
            w.findings_not_listed
        );
    }
    push_section(out, st, next(), w);
}

/// The push techniques of the course, as the capture shows them.
fn push_section(out: &mut String, st: Style, n: usize, w: &Walkthrough) {
    if w.push.is_empty() {
        return;
    }
    heading(out, st, n, "Server push in this capture");
    wrapped(
        out,
        "   ",
        3,
        "Each client's requests to one resource form a channel; its timing says which technique of the course's progression it uses (polling, long polling, iframe streaming, Server-Sent Events, WebSocket). Thresholds scale with the connection's round-trip time.",
    );
    for p in &w.push {
        let _ = writeln!(
            out,
            "\n   {}",
            st.bold(&format!(
                "{} {} · {} · {} → {} · {} request(s), {} event(s)",
                term(&p.method),
                term(&p.path),
                p.technique,
                p.client,
                p.server,
                p.requests,
                p.events
            ))
        );
        wrapped(out, "     why: ", 10, &term(&p.reason));
        for t in &p.timeline {
            let line = format!(
                "     +{:>8.3} s  conn {:<3} {:<9} {}",
                t.ts - p.first_ts,
                t.conn,
                t.what,
                term(&t.detail)
            );
            let line: String = line.chars().take(WIDTH).collect();
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if p.timeline.len() >= 24 {
            let _ = writeln!(out, "     … (the rest of this channel is not listed)");
        }
    }
    if w.push_not_shown > 0 {
        let _ = writeln!(
            out,
            "\n   … and {} more channels: `wsdissect push` lists every one.",
            w.push_not_shown
        );
    }
}

fn header_line(out: &mut String, st: Style, name: &str, value: &str, meaning: &str) {
    let (name, value, meaning) = (term(name), term(value), term(meaning));
    let hv = format!("{name}: {value}");
    if st.color {
        let _ = writeln!(out, "     {}", st.bold(&hv));
    } else {
        wrapped(out, "     ", 7, &hv);
    }
    if !meaning.is_empty() {
        wrapped(out, "       ", 7, &st.dim(&meaning));
    }
}

/// The lines a payload block shows (at most `max_lines`, each at most
/// `width` characters: with `wrap` text is wrapped, else cut), whether some
/// were left out, and for wrapped text how many bytes of `shown` the lines
/// cover.
fn block_lines(
    kind: &str,
    shown: &str,
    width: usize,
    max_lines: usize,
    wrap: bool,
) -> (Vec<String>, bool, usize) {
    let mut lines = Vec::new();
    if kind == "text" && wrap {
        // Bytes of `shown` the lines cover.
        let mut used = 0;
        for line in shown.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let mut chars = body.chars().peekable();
            loop {
                let piece: String = chars.by_ref().take(width).collect();
                if lines.len() == max_lines {
                    return (lines, true, used);
                }
                used += piece.len();
                lines.push(piece);
                if chars.peek().is_none() {
                    break;
                }
            }
            used += line.len() - body.len();
        }
        return (lines, false, shown.len());
    }
    let total = shown.lines().count();
    for line in shown.lines().take(max_lines) {
        lines.push(line.chars().take(width).collect());
    }
    (lines, total > max_lines, shown.len())
}

fn payload_block(
    out: &mut String,
    st: Style,
    kind: &str,
    shown: &str,
    indent: usize,
    max_lines: usize,
    wrap: bool,
) {
    let pre = " ".repeat(indent);
    match kind {
        "empty" | "close" => {}
        "undecodable" => {
            let _ = writeln!(out, "{pre}(its bytes cannot be decoded: see the findings)");
        }
        _ => {
            let label = match kind {
                "json" => "JSON, pretty-printed:",
                "text" => "text:",
                "compressed" => "compressed bytes (the message section shows them inflated):",
                _ => "hex dump:",
            };
            let _ = writeln!(out, "{pre}{}", st.dim(label));
            let (lines, cut, _) = block_lines(kind, shown, WIDTH - indent - 2, max_lines, wrap);
            for line in lines {
                let _ = writeln!(out, "{pre}  {}", term(&line));
            }
            if cut {
                let _ = writeln!(out, "{pre}  …");
            }
        }
    }
}

/// The first two header bytes drawn like the RFC's diagram, with this frame's bits.
fn diagram(out: &mut String, st: Style, f: &FrameEx, full: bool) {
    let get = |n: &str| {
        f.fields
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.bits.clone())
            .unwrap_or_default()
    };
    let spaced = |s: String| {
        s.chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cells = [
        ("FIN", spaced(get("FIN"))),
        ("RSV1", spaced(get("RSV1"))),
        ("RSV2", spaced(get("RSV2"))),
        ("RSV3", spaced(get("RSV3"))),
        ("opcode", spaced(get("opcode"))),
        ("MASK", spaced(get("MASK"))),
        ("payload len", spaced(get("payload len"))),
    ];
    let rule = "     +-+-+-+-+-------+-+-------------+";
    if full {
        let _ = writeln!(out, "      0                   1");
        let _ = writeln!(out, "      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5");
        let _ = writeln!(out, "{rule}");
        let _ = writeln!(out, "     |F|R|R|R| opcode|M| payload len |");
        let _ = writeln!(out, "     |I|S|S|S|  (4)  |A|     (7)     |");
        let _ = writeln!(out, "     |N|V|V|V|       |S|             |");
        let _ = writeln!(out, "     | |1|2|3|       |K|             |");
    } else {
        let _ = writeln!(out, "     |F|R|R|R| opcode|M| payload len |");
    }
    let _ = writeln!(out, "{rule}");
    let mut row = String::from("     |");
    for (name, bits) in cells {
        row.push_str(&st.field(name, &bits));
        row.push('|');
    }
    let _ = writeln!(out, "{row}");
    let _ = writeln!(out, "{rule}");
}

/// One frame, in detail (`first`: with the diagram's full legend).
pub fn frame(out: &mut String, st: Style, f: &FrameEx, first: bool) {
    let segs = f.carried_by();
    let _ = writeln!(
        out,
        "\n   {}",
        st.bold(&format!(
            "Frame {} · {} · {} · {segs} · +{:.6} s",
            f.index,
            arrow(f.from),
            f.opcode_name,
            f.ts
        ))
    );
    if let Some(c) = &f.h2 {
        wrapped(out, "   ", 5, &super::h2::carry_text(c));
    }
    let _ = writeln!(out, "   header bytes: {}", f.header_hex);
    diagram(out, st, f, first);
    for x in &f.fields {
        let lead = format!(
            "     {}{}",
            pad(&st.field(x.name, x.name), if st.color { 22 } else { 13 }),
            pad(&x.value, 14)
        );
        wrapped(out, &format!("{lead} "), 33, &x.meaning);
    }
    let _ = writeln!(
        out,
        "     the payload is {} bytes, declared in the {} form",
        f.payload_len, f.length_form
    );
    if !f.unmask.is_empty() {
        let _ = writeln!(
            out,
            "   Unmasking (section 5.3): clear[i] = masked[i] XOR key[i % 4]"
        );
        let _ = writeln!(
            out,
            "     {}",
            st.dim("  i   masked       key      clear   char")
        );
        for r in &f.unmask {
            let ch = r.ch.map_or("·".to_string(), |c| format!("'{c}'"));
            let _ = writeln!(
                out,
                "     {:>3}   {:02x}  XOR  key[{}]={:02x}  =  {:02x}      {ch}",
                r.i,
                r.masked,
                r.i % 4,
                r.key,
                r.clear
            );
        }
        if f.payload_len > f.unmask.len() as u64 {
            let _ = writeln!(out, "     … and so on for all {} bytes", f.payload_len);
        }
    }
    if let Some(code) = f.close_code {
        let _ = writeln!(
            out,
            "   Close code {code}: {} (section 7.4){}",
            f.close_meaning.unwrap_or(""),
            f.close_reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map_or(String::new(), |r| format!("; reason \"{}\"", term(r)))
        );
    } else if f.opcode == 8 {
        let _ = writeln!(
            out,
            "   Close with no status code (allowed: the body is optional)"
        );
    }
    if f.payload_kind != "empty" && f.payload_kind != "close" {
        // What the block below shows of the payload, in bytes.
        let (_, cut, covered) = block_lines(f.payload_kind, &f.payload_shown, WIDTH - 7, 12, true);
        let shown = match f.payload_kind {
            "text" if cut => covered as u64,
            _ => f.payload_shown_bytes,
        };
        let _ = write!(out, "   Payload: {} bytes", f.payload_len);
        if f.payload_kind == "json" && cut {
            let _ = write!(out, " (the first 12 lines of it pretty-printed)");
        } else if shown < f.payload_len {
            let _ = write!(out, ", the first {shown} shown");
        }
        let _ = writeln!(out);
        payload_block(out, st, f.payload_kind, &f.payload_shown, 5, 12, true);
    }
    if let Some(t) = &f.tcp {
        wrapped(out, "   TCP: ", 8, &t.carried());
        wrapped(out, "        ", 8, &t.acked());
    }
    if let Some(m) = f.message {
        let _ = writeln!(out, "   {}", st.dim(&format!("part of message {m}")));
    }
    if !f.findings.is_empty() {
        let _ = writeln!(
            out,
            "   {}",
            st.bad(&format!("findings: {}", f.findings.join(", ")))
        );
    }
}
