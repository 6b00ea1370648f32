//! `wsdissect stats` output: the [`CaptureStats`] of a capture as JSON
//! lines (`stats` records, one per WebSocket connection and one for the
//! capture without `conn`), as CSV (the same records, nested objects
//! flattened with dotted names), or as a table for people (a row per
//! connection, then the capture's summary), fitted to 80 columns.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::escape;
use super::json::{JsonRecord, write_record};
use crate::stats::{CaptureStats, ConnStats, Rtt};

impl JsonRecord for ConnStats {
    const TYPE: &'static str = "stats";
}

/// The `stats` records of one capture, as JSON lines appended to `out`.
pub fn json_lines(stats: &CaptureStats, capture: Option<&str>, out: &mut Vec<u8>) {
    for c in stats.per_conn.iter().chain(std::iter::once(&stats.total)) {
        // A record that cannot be written (it cannot: plain numbers and
        // strings) is left out rather than cut.
        let _ = write_record(out, capture, c);
    }
}

/// One JSON value as a CSV cell: strings as they are, numbers and booleans
/// as in the JSON, null empty, lists joined with `;` (objects in a list as
/// JSON text).
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::Object(_) => x.to_string(),
                _ => cell(x),
            })
            .collect::<Vec<_>>()
            .join(";"),
        Value::Object(_) | Value::Bool(_) | Value::Number(_) => v.to_string(),
    }
}

/// The record's fields flattened: nested objects with dotted names.
fn flatten(prefix: &str, rec: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in rec {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) => flatten(&name, inner, out),
            _ => out.push((name, cell(v))),
        }
    }
}

/// `stats` JSON lines as CSV (RFC 4180, CRLF): a header row of the
/// (flattened) field names, in the order they first appear, and a row per
/// record; a field a record lacks is an empty cell. With `escape_cells`,
/// control characters are escaped (for a terminal).
pub fn csv_of(json: &[u8], escape_cells: bool) -> Result<Vec<u8>, csv::Error> {
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    for line in json.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(Value::Object(rec)) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let mut cells = Vec::new();
        flatten("", &rec, &mut cells);
        for (name, _) in &cells {
            if !index.contains_key(name) {
                index.insert(name.clone(), columns.len());
                columns.push(name.clone());
            }
        }
        rows.push(cells);
    }
    if columns.is_empty() {
        columns = ["type", "capture", "connections", "frames", "messages"]
            .map(String::from)
            .to_vec();
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(&columns)?;
    for r in rows {
        let mut line = vec![String::new(); columns.len()];
        for (name, v) in r {
            if let Some(slot) = index.get(&name).and_then(|&i| line.get_mut(i)) {
                *slot = if escape_cells {
                    escape::terminal(&v).into_owned()
                } else {
                    v
                };
            }
        }
        w.write_record(&line)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Bytes for people: `999`, `1.5k`, `12M` (powers of 1024).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["k", "M", "G", "T", "P"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64;
    let mut unit = "";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.0}{unit}")
    }
}

/// A duration for people: `850µs`, `12.3ms`, `4.20s`, `3m05s`, `2h07m`.
fn human_secs(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    if s < 1e-3 {
        format!("{:.0}µs", s * 1e6)
    } else if s < 1.0 {
        let ms = s * 1e3;
        if ms < 10.0 {
            format!("{ms:.1}ms")
        } else {
            format!("{ms:.0}ms")
        }
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else if s < 3600.0 {
        let m = (s / 60.0).floor();
        format!("{m:.0}m{:02.0}s", (s - m * 60.0).floor())
    } else {
        let h = (s / 3600.0).floor();
        format!("{h:.0}h{:02.0}m", ((s - h * 3600.0) / 60.0).floor())
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn rtt_line(r: &Rtt) -> String {
    match (r.min, r.median, r.max) {
        (Some(a), Some(m), Some(b)) => format!(
            "{} (min {}, median {}, max {})",
            r.count,
            human_secs(a),
            human_secs(m),
            human_secs(b)
        ),
        _ => "none".into(),
    }
}

/// Who closed first and with what code: `c1000` (the client, code 1000),
/// `s-` (the server, no code), `tcp:c` (no close frame; the client's FIN
/// or RST came first), `-` (neither).
fn close_cell(c: &ConnStats) -> String {
    let first = |who: &str| if who == "client" { "c" } else { "s" };
    match c.close.first {
        Some(who) => {
            let code = if who == "client" {
                c.close.client_code
            } else {
                c.close.server_code
            };
            format!("{}{}", first(who), opt(code))
        }
        None => match c.close.tcp_first {
            Some(who) => format!("tcp:{}", first(who)),
            None => "-".into(),
        },
    }
}

/// `text` wrapped to `width` under a 10-column `label`.
fn labelled(t: &mut String, label: &str, text: &str, width: usize) {
    let indent = " ".repeat(label.len());
    for (i, l) in super::width::wrap(text, width, &indent).iter().enumerate() {
        let l = if i == 0 {
            format!("{label}{}", l.get(indent.len()..).unwrap_or(""))
        } else {
            l.clone()
        };
        let _ = writeln!(t, "{l}");
    }
}

/// The table of one capture: a row per WebSocket connection (at most 80
/// columns with the server's address cut to fit), then the summary.
pub fn table(stats: &CaptureStats, capture: Option<&str>, width: Option<usize>) -> String {
    let mut t = String::new();
    if let Some(c) = capture {
        let _ = writeln!(t, "{}", escape::terminal(c));
    }
    let w = width.unwrap_or(80).max(60);
    let server_w = w.saturating_sub(64).clamp(10, 40);
    let head = format!(
        "{:>4} {:<sw$} {:>6} {:>6} {:>6} {:>6} {:>9} {:>5} {:>6} {:>7}",
        "conn",
        "server",
        "dur",
        "frames",
        "msgs",
        "bytes",
        "p50/p99",
        "pk/s",
        "ping",
        "close",
        sw = server_w
    );
    let _ = writeln!(t, "{}", head.trim_end());
    for c in &stats.per_conn {
        let server = escape::terminal(c.server.as_deref().unwrap_or("-")).into_owned();
        let sizes = format!(
            "{}/{}",
            c.message_size.p50.map_or("-".into(), human_bytes),
            c.message_size.p99.map_or("-".into(), human_bytes)
        );
        let row = format!(
            "{:>4} {:<sw$} {:>6} {:>6} {:>6} {:>6} {:>9} {:>5} {:>6} {:>7}",
            opt(c.conn),
            super::width::truncate(&server, server_w),
            human_secs(c.duration),
            c.frames,
            c.messages,
            human_bytes(c.wire_bytes),
            sizes,
            c.rate.peak_1s,
            c.ping_rtt.median.map_or("-".into(), human_secs),
            close_cell(c),
            sw = server_w
        );
        let _ = writeln!(t, "{}", row.trim_end());
    }
    if stats.per_conn.is_empty() {
        let _ = writeln!(t, "(no WebSocket connection)");
    }
    let s = &stats.total;
    let (c, v) = (&s.client_to_server, &s.server_to_client);
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "capture: {} WebSocket connection{} ({} session{}), {}",
        s.connections,
        if s.connections == 1 { "" } else { "s" },
        s.sessions,
        if s.sessions == 1 { "" } else { "s" },
        human_secs(s.duration)
    );
    let line = format!("{} (client {}, server {})", s.frames, c.frames, v.frames);
    labelled(&mut t, "frames:   ", &line, w);
    let line = format!(
        "{} (client {}, server {}; text {}, binary {})",
        s.messages,
        c.messages,
        v.messages,
        c.by_opcode.text.messages + v.by_opcode.text.messages,
        c.by_opcode.binary.messages + v.by_opcode.binary.messages
    );
    labelled(&mut t, "messages: ", &line, w);
    let line = format!(
        "wire {}, payload {}, messages {} -> inflated {}{}",
        s.wire_bytes,
        s.payload_bytes,
        s.message_wire_bytes,
        s.inflated_bytes,
        s.compression_ratio
            .map_or(String::new(), |r| format!(" (ratio {r:.2})"))
    );
    labelled(&mut t, "bytes:    ", &line, w);
    let m = &s.message_size;
    let line = format!(
        "p50 {}, p90 {}, p99 {}, max {} (mean {})",
        opt(m.p50),
        opt(m.p90),
        opt(m.p99),
        opt(m.max),
        m.mean.map_or("-".into(), |x| format!("{x:.1}"))
    );
    labelled(&mut t, "size:     ", &line, w);
    let line = format!(
        "mean {}/s, peak {} in 1 s",
        s.rate.mean.map_or("-".into(), |x| format!("{x:.1}")),
        s.rate.peak_1s
    );
    labelled(&mut t, "rate:     ", &line, w);
    labelled(&mut t, "ping rtt: ", &rtt_line(&s.ping_rtt), w);
    labelled(&mut t, "tcp rtt:  ", &rtt_line(&s.tcp_rtt), w);
    let codes: Vec<String> = s
        .close
        .codes
        .iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect();
    let line = format!(
        "{}; closed first: client {}, server {} (tcp: client {}, server {})",
        if codes.is_empty() {
            "no close frame".to_string()
        } else {
            codes.join(", ")
        },
        s.close.closed_first.client,
        s.close.closed_first.server,
        s.close.tcp_closed_first.client,
        s.close.tcp_closed_first.server
    );
    labelled(&mut t, "close:    ", &line, w);
    let findings: Vec<String> = s.findings.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let findings = if findings.is_empty() {
        "none".to_string()
    } else {
        findings.join(", ")
    };
    labelled(&mut t, "findings: ", &findings, w);
    if s.app.records > 0 {
        let kinds: Vec<String> = s
            .app
            .by_kind
            .iter()
            .map(|(k, n)| format!("{} {n}", escape::terminal(k)))
            .collect();
        let line = format!("{} records: {}", s.app.records, kinds.join(", "));
        labelled(&mut t, "app:      ", &line, w);
        if !s.app.top_topics.is_empty() {
            let top: Vec<String> = s
                .app
                .top_topics
                .iter()
                .map(|n| format!("{} {}", escape::terminal(&n.name), n.count))
                .collect();
            labelled(&mut t, "topics:   ", &top.join(", "), w);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms() {
        assert_eq!(human_bytes(999), "999");
        assert_eq!(human_bytes(1536), "1.5k");
        assert_eq!(human_bytes(20 << 20), "20M");
        assert_eq!(human_secs(0.000062), "62µs");
        assert_eq!(human_secs(0.0034), "3.4ms");
        assert_eq!(human_secs(185.0), "3m05s");
    }

    #[test]
    fn csv_flattens_with_dotted_names_and_fills_missing_cells() {
        let json = br#"{"type":"stats","conn":0,"close":{"codes":{"1000":2}},"rate":{"series":{"counts":[1,2]}}}
{"type":"stats","close":{"codes":{}},"findings":{"tcp.gap":1}}
"#;
        let out = String::from_utf8(csv_of(json, false).unwrap()).unwrap();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "type,conn,close.codes.1000,rate.series.counts,findings.tcp.gap"
        );
        assert_eq!(lines[1], "stats,0,2,1;2,");
        assert_eq!(lines[2], "stats,,,,1");
    }
}
