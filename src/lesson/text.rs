//! The lesson as text for a terminal: the chapter list, then each chapter's
//! teaching text and figures above `explain`'s text walkthrough of its
//! capture. Nothing from a capture or a log reaches the terminal unescaped
//! (`explain` escapes its own; the log's strings go through
//! `render::escape::terminal`).

use std::fmt::Write as _;

use super::{CHAPTERS, Chapter, Figures, capture_path, walk};
use crate::explain::Format;
use crate::explain::text::Style;
use crate::findings::Dir;
use crate::render::escape::terminal;

/// Lines of about this width for the teaching text.
const WIDTH: usize = 92;

/// `s` wrapped at word boundaries to `WIDTH`, each line indented.
fn wrap(out: &mut String, s: &str, indent: &str) {
    let mut line = String::new();
    for w in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > WIDTH {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// The heading of chapter `i`, as the index and the chapter both show it.
pub fn heading(i: usize, ch: &Chapter) -> String {
    format!("Chapter {}: {}", i + 1, ch.title)
}

fn figures(out: &mut String, f: &Figures) {
    out.push_str("This capture in figures\n");
    if let Some(e) = &f.error {
        let _ = writeln!(out, "  could not be read: {}", terminal(e));
    }
    let _ = writeln!(
        out,
        "  WebSocket frames     {} ({} client → server, {} server → client)",
        f.frames, f.client_frames, f.server_frames
    );
    let _ = writeln!(out, "  WebSocket messages   {}", f.messages);
    if !f.frame_list.is_empty() {
        let lens = f
            .frame_list
            .iter()
            .map(|x| {
                format!(
                    "{} {} {}",
                    match x.from {
                        Dir::Client => "C→S",
                        Dir::Server => "S→C",
                    },
                    x.opcode,
                    x.payload_len
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        out.push_str("  payload lengths, frame by frame:\n");
        wrap(out, &lens, "    ");
    }
    if let Some(k) = &f.key {
        let _ = writeln!(out, "  Sec-WebSocket-Key    {}", terminal(k));
    }
    if let Some(a) = &f.accept {
        let _ = writeln!(out, "  Sec-WebSocket-Accept {}", terminal(a));
    }
    for c in &f.channels {
        let _ = writeln!(
            out,
            "  channel {} {}: {}, {} request(s), {} event(s)",
            terminal(&c.method),
            terminal(&c.path),
            c.technique,
            c.requests,
            c.events
        );
    }
    let _ = writeln!(
        out,
        "  findings             {}",
        if f.findings.is_empty() {
            "none".to_string()
        } else {
            f.findings.join(", ")
        }
    );
}

fn close_codes(out: &mut String) {
    out.push_str("\nThe close codes (RFC 6455 section 7.4)\n");
    for &c in super::CLOSE_CODES {
        let _ = writeln!(
            out,
            "  {c}  {:<44} {}",
            crate::ws::close::meaning(c),
            if super::may_send(c) {
                "may be sent"
            } else {
                "never sent"
            }
        );
    }
    out.push_str("  0-999 and 5000 and above are not close codes; 3000-3999 are for libraries and\n  frameworks, 4000-4999 for private use.\n");
}

fn server_log(out: &mut String, f: &Figures) {
    out.push_str("\nWhat the server read (its log, captures/handwritten-server.log), and what was on the wire\n");
    let client: Vec<_> = f
        .frame_list
        .iter()
        .filter(|x| x.from == Dir::Client)
        .collect();
    for (i, r) in super::server_reads().iter().enumerate() {
        let _ = writeln!(
            out,
            "  recv {}: the server read opcode {}, length {}, key {} ({} bytes received, {} left unread)",
            i + 1,
            r.opcode,
            r.length_read,
            terminal(&r.mask_read),
            r.recv_bytes,
            r.unread_bytes
        );
        let _ = writeln!(
            out,
            "          it unmasked: {}",
            terminal(&super::server_saw(r, 24))
        );
        if let Some(x) = client.get(i) {
            let _ = writeln!(
                out,
                "          on the wire: {}, {} bytes, key {}",
                x.opcode,
                x.payload_len,
                x.mask_key.as_deref().unwrap_or("(none)")
            );
        }
        if let Some(ext) = super::misread_extended_length(r) {
            let _ = writeln!(
                out,
                "          the \"key\" begins with the 16-bit extended length: {} = {ext}",
                terminal(r.mask_read.get(..4).unwrap_or(""))
            );
        }
    }
    for h in super::server_sends() {
        if h.ends_with("7e") {
            let _ = writeln!(
                out,
                "  its echo began {}: 126 in the 7-bit field and no extended length after it",
                terminal(&h)
            );
        }
    }
}

fn chapter(out: &mut String, i: usize, ch: &Chapter) {
    let h = heading(i, ch);
    let _ = writeln!(out, "\n{h}\n{}", "#".repeat(h.chars().count()));
    let _ = writeln!(out, "about {} minutes\n", ch.minutes);
    wrap(out, ch.intro, "");
    out.push_str("\nWhat to look for\n");
    for l in ch.look_for {
        let mut item = String::new();
        wrap(&mut item, l, "    ");
        out.push_str("  - ");
        out.push_str(item.trim_start());
    }
    out.push_str("\nA question for the class\n");
    wrap(out, ch.question, "  ");
    out.push('\n');
    let w = walk(ch, Format::Text(Style { color: false }));
    figures(out, &w.figures);
    let _ = writeln!(
        out,
        "  the capture          {} ({}; {} in the repository)",
        capture_path(ch.capture),
        ch.capture.made,
        ch.capture.source
    );
    if ch.slug == "close-codes" {
        close_codes(out);
    }
    if ch.slug == "handwritten-server" {
        server_log(out, &w.figures);
    }
    let _ = writeln!(
        out,
        "\nThe capture, walked through by `{}` (in the lesson's folder):\n",
        super::explain_command(ch)
    );
    out.push_str(&w.body);
    match CHAPTERS.get(i + 1) {
        Some(n) => {
            let _ = writeln!(out, "\nnext: {}", heading(i + 1, n));
        }
        None => out.push_str("\nend of the course\n"),
    }
}

/// The whole course.
pub fn course() -> String {
    let mut out = String::new();
    let total: u32 = CHAPTERS.iter().map(|c| c.minutes).sum();
    out.push_str("WebSocket and server push, from real packets\n");
    out.push_str("============================================\n");
    let _ = writeln!(
        out,
        "{} chapters, about {total} minutes. `wsdissect lesson -o DIR` writes the same as linked HTML pages.\n",
        CHAPTERS.len()
    );
    for (i, ch) in CHAPTERS.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>2}. {:<36} {:>3} min   {}",
            i + 1,
            ch.title,
            ch.minutes,
            ch.capture.name
        );
    }
    for (i, ch) in CHAPTERS.iter().enumerate() {
        chapter(&mut out, i, ch);
    }
    out
}
