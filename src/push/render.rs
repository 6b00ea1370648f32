//! `push` output: JSON lines per DESIGN.md, or a table per channel.

use comfy_table::{Table, presets};
use serde::Serialize;

use super::{PushRecord, PushSink, SseRecord};
use crate::findings::Finding;

fn line<T: Serialize>(out: &mut String, ty: &str, capture: Option<&str>, v: &T) {
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(v) {
        let mut o = serde_json::Map::new();
        o.insert("type".into(), ty.into());
        if let Some(c) = capture {
            o.insert("capture".into(), c.into());
        }
        o.extend(m);
        out.push_str(&serde_json::Value::Object(o).to_string());
        out.push('\n');
    }
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'static str,
    severity: &'static str,
    conn: Option<u64>,
    from: Option<&'static str>,
    packet: u64,
    message: &'a str,
}

fn finding_json(f: &Finding) -> FindingJson<'_> {
    FindingJson {
        code: f.code.as_str(),
        severity: f.code.severity().as_str(),
        conn: f.conn,
        from: f.from.map(|d| d.as_str()),
        packet: f.packet,
        message: &f.message,
    }
}

/// One `sse-event` record (written as the events are decoded).
pub fn sse_line(e: &SseRecord, capture: Option<&str>) -> String {
    let mut out = String::new();
    line(&mut out, "sse-event", capture, e);
    out
}

/// One `push` record per channel, then the findings (after the run).
pub fn json_lines(s: &PushSink<'_>, capture: Option<&str>) -> String {
    let mut out = String::new();
    for p in s.finish() {
        line(&mut out, "push", capture, &p);
    }
    for f in &s.findings {
        line(&mut out, "finding", capture, &finding_json(f));
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

/// One row per channel, then why each technique was chosen.
pub fn table(s: &PushSink<'_>, capture: Option<&str>) -> String {
    let recs: Vec<PushRecord> = s.finish();
    let mut out = String::new();
    if let Some(c) = capture {
        out.push_str(&format!("{c}\n"));
    }
    if recs.is_empty() {
        out.push_str("no HTTP or WebSocket traffic in this capture\n");
        return out;
    }
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(vec![
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
    ]);
    for (i, r) in recs.iter().enumerate() {
        let mut path = format!("{} {}", r.method, r.path);
        if path.chars().count() > 28 {
            path = path.chars().take(27).collect::<String>() + "…";
        }
        t.add_row(vec![
            i.to_string(),
            r.technique.to_string(),
            r.client.clone(),
            r.server.clone(),
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
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    for (i, r) in recs.iter().enumerate() {
        out.push_str(&format!("{i}  {}: {}\n", r.technique, r.reason));
    }
    for f in &s.findings {
        out.push_str(&format!(
            "{} {} (conn {}, packet {}): {}\n",
            f.code.severity().as_str(),
            f.code.as_str(),
            f.conn.map_or("-".into(), |c| c.to_string()),
            f.packet,
            f.message
        ));
    }
    out
}
