//! `push` output: JSON lines per DESIGN.md, or a table per channel.

use super::{PushRecord, PushSink, SseRecord};
use crate::findings::Finding;
use crate::render::escape;
use crate::render::json::{FindingJson, JsonRecord, write_record};
use crate::render::width::{FitTable, cols, truncate, wrap};

fn line<T: JsonRecord>(out: &mut String, capture: Option<&str>, v: &T) {
    let mut buf = Vec::new();
    if write_record(&mut buf, capture, v).is_ok() {
        out.push_str(&String::from_utf8_lossy(&buf));
    }
}

impl JsonRecord for PushRecord {
    const TYPE: &'static str = "push";
}

/// One `sse-event` record (written as the events are decoded).
pub fn sse_line(e: &SseRecord, capture: Option<&str>) -> String {
    let mut out = String::new();
    line(&mut out, capture, e);
    out
}

/// One `push` record per channel, then the findings (after the run).
pub fn json_lines(s: &PushSink<'_>, capture: Option<&str>) -> String {
    json_lines_of(&s.finish(), &s.findings, capture)
}

/// [`json_lines`] of chosen channels and findings (`push --filter`).
pub fn json_lines_of(recs: &[PushRecord], findings: &[Finding], capture: Option<&str>) -> String {
    let mut out = String::new();
    for p in recs {
        line(&mut out, capture, p);
    }
    for f in findings {
        line(&mut out, capture, &FindingJson::from(f));
    }
    out
}

fn secs(v: Option<f64>) -> String {
    match v {
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1000.0),
        Some(s) => format!("{s:.2} s"),
        None => "-".into(),
    }
}

/// One row per channel, then why each technique was chosen; fitted to
/// `width` columns when one is given (the resource is cut, the counts and
/// times move under the row, the reasons wrap).
pub fn table(s: &PushSink<'_>, capture: Option<&str>, width: Option<usize>) -> String {
    table_of(&s.finish(), &s.findings, capture, width)
}

/// [`table`] of chosen channels and findings (`push --filter`).
pub fn table_of(
    recs: &[PushRecord],
    findings: &[Finding],
    capture: Option<&str>,
    width: Option<usize>,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, l: String| {
        match width {
            Some(w) if cols(&l) > w => out.push_str(&truncate(&l, w)),
            _ => out.push_str(&l),
        }
        out.push('\n');
    };
    if let Some(c) = capture {
        line(&mut out, escape::terminal(c).into_owned());
    }
    if recs.is_empty() {
        out.push_str("no HTTP or WebSocket traffic in this capture\n");
        return out;
    }
    let header = [
        "#",
        "technique",
        "client",
        "server",
        "resource",
        "reqs",
        "events",
        "interval",
        "hold",
        "reconn",
    ];
    let rows: Vec<Vec<String>> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut path = escape::terminal(&format!("{} {}", r.method, r.path)).into_owned();
            if path.chars().count() > 28 {
                path = path.chars().take(27).collect::<String>() + "…";
            }
            vec![
                i.to_string(),
                r.technique.to_string(),
                escape::terminal(&r.client).into_owned(),
                escape::terminal(&r.server).into_owned(),
                path,
                r.requests.to_string(),
                r.events.to_string(),
                secs(r.mean_interval),
                secs(r.mean_hold),
                if r.technique == "sse" {
                    r.reconnects.to_string()
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    let t = FitTable {
        header: &header,
        flex: Some(4),
        first_line: &[0, 1, 2, 3, 4],
        detail_names: &[],
        detail_label: "",
    };
    for l in t.render(&rows, width, true) {
        line(&mut out, l);
    }
    // A paragraph wider than the terminal wraps, its later lines indented.
    let para = |out: &mut String, text: String| match width {
        Some(w) if cols(&text) > w => {
            for (k, l) in wrap(&text, w.saturating_sub(4), "").iter().enumerate() {
                if k > 0 {
                    out.push_str("    ");
                }
                out.push_str(l);
                out.push('\n');
            }
        }
        _ => {
            out.push_str(&text);
            out.push('\n');
        }
    };
    for (i, r) in recs.iter().enumerate() {
        para(
            &mut out,
            format!("{i}  {}: {}", r.technique, escape::terminal(&r.reason)),
        );
    }
    for f in findings {
        para(
            &mut out,
            format!(
                "{} {} (conn {}, packet {}): {}",
                f.code.severity().as_str(),
                f.code.as_str(),
                f.conn().map_or("-".into(), |c| c.to_string()),
                f.packet().map_or("-".into(), |p| p.to_string()),
                escape::terminal(&f.message)
            ),
        );
    }
    out
}
