//! The lesson as linked HTML pages: the index, and per chapter the
//! teaching text and figures above `explain`'s own HTML page of the
//! chapter's capture (inserted into it, not redrawn).

use std::fmt::Write as _;

use super::{CHAPTERS, Chapter, Figures, capture_path, page_name, walk};
use crate::explain::Format;
use crate::findings::Dir;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
.lesson{font-size:1.15em;line-height:1.5;background:#f3f7fb;border-left:.4em solid #2b6cb0;padding:.6em 1.2em;margin:0 0 1.5em}
.lesson h1{margin-top:.2em}
.lesson .question{font-weight:bold;background:#fff8e1;border-left:.3em solid #d69e2e;padding:.4em .8em}
nav.lesson-nav{display:flex;gap:1.5em;flex-wrap:wrap;font-size:1.1em;padding:.5em 0}
table.lesson-figures td,table.lesson-figures th{text-align:left;padding:.15em .8em .15em 0;vertical-align:top}
.lesson .may{color:#276749}.lesson .never{color:#9b2c2c}
@media print{nav.lesson-nav{display:none}}
"#;

/// The links to the index and to the chapters before and after `i`.
fn nav(out: &mut String, i: usize, id: &str) {
    let _ = write!(
        out,
        "<nav class=\"lesson-nav\" id=\"{id}\" aria-label=\"course\"><a href=\"index.html\">Course index</a>"
    );
    if let Some(p) = i
        .checked_sub(1)
        .and_then(|p| CHAPTERS.get(p).map(|c| (p, c)))
    {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"prev\">\u{2190} {}. {}</a>",
            page_name(p.0),
            p.0 + 1,
            esc(p.1.title)
        );
    }
    if let Some(n) = CHAPTERS.get(i + 1) {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"next\">{}. {} \u{2192}</a>",
            page_name(i + 1),
            i + 2,
            esc(n.title)
        );
    }
    out.push_str("</nav>\n");
}

fn figure_row(out: &mut String, key: &str, value: &str, label: &str, shown: &str) {
    let _ = writeln!(
        out,
        "<tr data-figure=\"{key}\" data-value=\"{}\"><th>{}</th><td>{}</td></tr>",
        esc(value),
        esc(label),
        esc(shown)
    );
}

/// The figures of the chapter's capture, each with its value in
/// `data-value` (the tests read them back against `frames --format json`).
fn figures(out: &mut String, f: &Figures) {
    out.push_str("<h2>This capture in figures</h2>\n<table class=\"lesson-figures\" id=\"lesson-figures\">\n");
    if let Some(e) = &f.error {
        figure_row(out, "error", e, "could not be read", e);
    }
    figure_row(
        out,
        "frames",
        &f.frames.to_string(),
        "WebSocket frames",
        &format!(
            "{} ({} client \u{2192} server, {} server \u{2192} client)",
            f.frames, f.client_frames, f.server_frames
        ),
    );
    figure_row(
        out,
        "messages",
        &f.messages.to_string(),
        "WebSocket messages",
        &f.messages.to_string(),
    );
    if !f.frame_list.is_empty() {
        let lens = f
            .frame_list
            .iter()
            .map(|x| x.payload_len.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let shown = f
            .frame_list
            .iter()
            .map(|x| {
                format!(
                    "{} {} {}",
                    match x.from {
                        Dir::Client => "C\u{2192}S",
                        Dir::Server => "S\u{2192}C",
                    },
                    x.opcode,
                    x.payload_len
                )
            })
            .collect::<Vec<_>>()
            .join(" \u{b7} ");
        figure_row(
            out,
            "lengths",
            &lens,
            "payload lengths, frame by frame",
            &shown,
        );
    }
    if let Some(k) = &f.key {
        figure_row(out, "key", k, "Sec-WebSocket-Key", k);
    }
    if let Some(a) = &f.accept {
        figure_row(out, "accept", a, "Sec-WebSocket-Accept (as sent)", a);
    }
    if !f.channels.is_empty() {
        let v = f
            .channels
            .iter()
            .map(|c| format!("{}:{}", c.technique, c.requests))
            .collect::<Vec<_>>()
            .join(",");
        let shown = f
            .channels
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {}, {} request(s), {} event(s)",
                    c.method, c.path, c.technique, c.requests, c.events
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        figure_row(out, "channels", &v, "HTTP channels (push)", &shown);
    }
    let fv = f.findings.join(",");
    figure_row(
        out,
        "findings",
        &fv,
        "findings",
        if fv.is_empty() { "none" } else { &fv },
    );
    out.push_str("</table>\n");
}

/// The close codes, for the close chapter.
fn close_codes(out: &mut String) {
    out.push_str("<h2>The close codes (RFC 6455 section 7.4)</h2>\n<table class=\"lesson-figures\" id=\"lesson-close-codes\"><tr><th>code</th><th>meaning</th><th>in a close frame</th></tr>\n");
    for &c in super::CLOSE_CODES {
        let may = super::may_send(c);
        let _ = writeln!(
            out,
            "<tr data-close-code=\"{c}\"><td>{c}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(crate::ws::close::meaning(c)),
            if may { "may" } else { "never" },
            if may { "may be sent" } else { "never sent" }
        );
    }
    out.push_str("</table>\n<p>0-999 and 5000 and above are not close codes at all; 3000-3999 are registered for libraries and frameworks, 4000-4999 are for private use.</p>\n");
}

/// The hand-written server's log beside the frames on the wire.
fn server_log(out: &mut String, f: &Figures) {
    out.push_str("<h2>What the server read, and what was on the wire</h2>\n<p>Each row: one <code>recv()</code> of the hand-written server, as its log says (<a href=\"captures/handwritten-server.log\">captures/handwritten-server.log</a>), beside the client frame wsdissect decodes from the capture.</p>\n<table class=\"lesson-figures\" id=\"lesson-server-log\"><tr><th>#</th><th>the server read: opcode, length, masking key</th><th>it unmasked (first 24 bytes)</th><th>on the wire: opcode, length, masking key</th></tr>\n");
    let client: Vec<_> = f
        .frame_list
        .iter()
        .filter(|x| x.from == Dir::Client)
        .collect();
    for (i, r) in super::server_reads().iter().enumerate() {
        let wire = client.get(i).map_or_else(
            || "(no frame)".to_string(),
            |x| {
                format!(
                    "{}, {} bytes, key {}",
                    x.opcode,
                    x.payload_len,
                    x.mask_key.as_deref().unwrap_or("(none)")
                )
            },
        );
        let _ = writeln!(
            out,
            "<tr data-server-length=\"{}\" data-wire-length=\"{}\"><td>{}</td><td>opcode {}, length {}, key {} ({} bytes received, {} left unread)</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            r.length_read,
            client
                .get(i)
                .map_or(String::new(), |x| x.payload_len.to_string()),
            i + 1,
            r.opcode,
            r.length_read,
            esc(&r.mask_read),
            r.recv_bytes,
            r.unread_bytes,
            esc(&super::server_saw(r, 24)),
            esc(&wire)
        );
    }
    out.push_str("</table>\n");
    for r in super::server_reads() {
        if let Some(ext) = super::misread_extended_length(&r) {
            let _ = writeln!(
                out,
                "<p>The server's \"key\" <code>{}</code> begins with the 16-bit extended length: <code>{}</code> = {ext}. The real key is the 4 bytes after it; everything the server unmasked is wrong from the first byte.</p>",
                esc(&r.mask_read),
                esc(r.mask_read.get(..4).unwrap_or(""))
            );
        }
    }
    for h in super::server_sends() {
        if h.ends_with("7e") {
            let _ = writeln!(
                out,
                "<p>Its echo began <code>{}</code>: FIN and text, then 126 in the 7-bit field, and no extended length after it. The client reads the next two bytes as the length, waits for that many, and gives up; wsdissect reports the frame the capture ends inside.</p>",
                esc(&h)
            );
        }
    }
}

/// The lesson part of chapter `i`'s page, above the walkthrough.
fn lesson_section(out: &mut String, i: usize, ch: &Chapter, f: &Figures) {
    nav(out, i, "lesson-top");
    let _ = writeln!(
        out,
        "<section class=\"lesson\" id=\"lesson\"><p>Chapter {} of {} \u{b7} about {} minutes</p><h1>{}. {}</h1><p>{}</p>",
        i + 1,
        CHAPTERS.len(),
        ch.minutes,
        i + 1,
        esc(ch.title),
        esc(ch.intro)
    );
    out.push_str("<h2>What to look for</h2><ul>");
    for l in ch.look_for {
        let _ = write!(out, "<li>{}</li>", esc(l));
    }
    let _ = writeln!(
        out,
        "</ul><h2>A question for the class</h2><p class=\"question\">{}</p>",
        esc(ch.question)
    );
    figures(out, f);
    let _ = writeln!(
        out,
        "<p>The capture: <a href=\"{}\">{}</a> ({}; <code>{}</code> in the wsdissect repository). Open it in Wireshark too; in this folder, <code class=\"explain-command\">{}</code> writes the walkthrough below (add <code>--format html</code> for this page's).</p>",
        esc(&capture_path(ch.capture)),
        esc(ch.capture.name),
        esc(ch.capture.made),
        esc(ch.capture.source),
        esc(&super::explain_command(ch))
    );
    if ch.slug == "close-codes" {
        close_codes(out);
    }
    if ch.slug == "handwritten-server" {
        server_log(out, f);
    }
    out.push_str(
        "<p>Below: the capture, walked through by <code>wsdissect explain</code>.</p></section>\n",
    );
}

/// Chapter `i`'s page: `explain`'s page of its capture, with the lesson
/// inserted after `<body>` and the links again before `</body>`.
pub fn chapter(i: usize) -> String {
    let Some(ch) = CHAPTERS.get(i) else {
        return String::new();
    };
    let w = walk(ch, Format::Html);
    let mut top = String::new();
    lesson_section(&mut top, i, ch, &w.figures);
    let mut bottom = String::new();
    nav(&mut bottom, i, "lesson-bottom");
    let mut page = w.body;
    // The chapter's heading is the page's one <h1>; the walkthrough's own
    // title goes a level down.
    if let Some(a) = page.find("<h1>")
        && let Some(b) = page[a..].find("</h1>").map(|b| a + b)
    {
        page.replace_range(b..b + "</h1>".len(), "</h2>");
        page.replace_range(a..a + "<h1>".len(), "<h2>");
    }
    let title = format!("{}. {} \u{2014} wsdissect lesson", i + 1, ch.title);
    if let (Some(a), Some(b)) = (page.find("<title>"), page.find("</title>"))
        && a < b
    {
        page.replace_range(a + "<title>".len()..b, &esc(&title));
    }
    if let Some(h) = page.find("</head>") {
        page.insert_str(h, &format!("<style>{CSS}</style>"));
    }
    match page.find("<body>") {
        Some(b) => page.insert_str(b + "<body>".len(), &format!("\n{top}")),
        None => page.insert_str(0, &top),
    }
    match page.rfind("</body>") {
        Some(b) => page.insert_str(b, &bottom),
        None => page.push_str(&bottom),
    }
    page
}

/// The course's index page.
pub fn index() -> String {
    let mut out = String::new();
    let total: u32 = CHAPTERS.iter().map(|c| c.minutes).sum();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>WebSocket and server push, from real packets \u{2014} wsdissect lesson</title><style>body{{font:20px/1.5 system-ui,sans-serif;max-width:70em;margin:1em auto;padding:0 1em}}td,th{{text-align:left;vertical-align:top;padding:.3em .8em .3em 0}}{CSS}</style></head><body>\n<section class=\"lesson\" id=\"lesson\"><h1>WebSocket and server push, from real packets</h1><p>A course in {} chapters, about {total} minutes, in the order the course teaches: from plain HTTP request-response through the ways a server pushes (short polling, long polling, hidden-iframe streaming, Server-Sent Events) to WebSocket (the upgrade, frames, masking, permessage-deflate, close codes) and a hand-written server's mistakes. Every chapter walks through a real capture, recorded from real programs over the kernel's TCP; the captures are in the folder <code>captures/</code> beside this page.</p></section>",
        CHAPTERS.len()
    );
    out.push_str("<nav id=\"chapters\" aria-label=\"chapters\"><table><tr><th>#</th><th>chapter</th><th>minutes</th><th>what it shows</th><th>question for the class</th><th>capture</th></tr>\n");
    for (i, ch) in CHAPTERS.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">{}</a></td></tr>",
            i + 1,
            page_name(i),
            esc(ch.title),
            ch.minutes,
            esc(ch.look_for.first().copied().unwrap_or("")),
            esc(ch.question),
            esc(&capture_path(ch.capture)),
            esc(ch.capture.name)
        );
    }
    out.push_str("</table></nav>\n<p>Made by <code>wsdissect lesson -o DIR</code>; <code>wsdissect lesson --format text</code> prints the same course to a terminal.</p>\n</body></html>\n");
    out
}
