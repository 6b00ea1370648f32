//! The report page: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched), well-formed XML so tests can parse it. Every
//! text from a capture goes through [`text`]: control characters made
//! visible (`\x1b`), then markup escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts;
use super::{CaptureReport, FindingRow};
use crate::findings::Severity;
use crate::render::xml_escape as esc;

const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0 auto 3em; max-width: 1280px; padding: 0 1em; color: #111; background: #fff; font-size: 16px; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #ccc; margin-top: 1.6em; } h3 { margin-top: 1.6em; scroll-margin-top: 3em; }
code, .mono, td.num { font-family: ui-monospace, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
td, th { padding: .2em .55em; border: 1px solid #ddd; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
table.conns td { white-space: nowrap; }
table.summary th { width: 14em; }
tr:target { background: #fff3bf; }
nav { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 2px solid #ccc; padding: .3em 0; font-size: .9em; }
nav a { margin-right: .8em; }
.sev-error { color: #cf222e; font-weight: bold; } .sev-warning { color: #9a6700; font-weight: bold; } .sev-info { color: #555; }
.c { color: #1f77b4; } .s { color: #e06c00; }
svg.chart { display: block; width: 100%; max-width: 960px; height: auto; margin: .5em 0 1em; border: 1px solid #eee; }
.note { color: #555; font-size: .9em; }
.scroll { overflow-x: auto; }
@media print { nav { position: static; } svg.chart { break-inside: avoid; } }
"#;

/// Capture text for the page: controls shown as `\x1b`, markup escaped.
fn text(s: &str) -> String {
    esc(&crate::render::escape::terminal(s))
}

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Info => "sev-info",
        Severity::Warning => "sev-warning",
        Severity::Error => "sev-error",
    }
}

/// Seconds as the tables show them.
fn secs(v: f64) -> String {
    format!("{v:.6}")
}

/// Writes the page for `reports` (one section per capture).
pub fn page(reports: &[CaptureReport]) -> String {
    let mut o = String::with_capacity(64 << 10);
    let names: Vec<String> = reports.iter().map(|r| text(&r.name)).collect();
    let title = format!("WebSocket report: {}", names.join(", "));
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>{title}</title><style>{CSS}</style></head><body>\n<h1>{title}</h1>\n<p class=\"note\">Made by wsdissect {} (<code>wsdissect report</code>). Times are seconds since each capture's first packet; <span class=\"c\">client</span> and <span class=\"s\">server</span> as in <code>c/s</code> columns.</p>",
        env!("CARGO_PKG_VERSION")
    );
    o.push_str("<nav>");
    for (i, r) in reports.iter().enumerate() {
        let n = i + 1;
        if reports.len() > 1 {
            let _ = write!(o, "<strong>{}</strong>: ", text(&r.name));
        }
        for (id, what) in [
            ("summary", "Summary"),
            ("charts", "Charts"),
            ("conns", "Connections"),
            ("findings", "Findings"),
            ("packets", "Packets"),
        ] {
            let _ = write!(o, "<a href=\"#{id}-{n}\">{what}</a>");
        }
    }
    o.push_str("</nav>\n");
    for (i, r) in reports.iter().enumerate() {
        capture(&mut o, r, i + 1);
    }
    o.push_str("</body></html>\n");
    o
}

fn capture(o: &mut String, r: &CaptureReport, n: usize) {
    let _ = writeln!(
        o,
        "<section class=\"capture\" id=\"capture-{n}\"><h2>{}</h2>",
        text(&r.name)
    );
    if let Some(p) = &r.problem {
        let _ = writeln!(o, "<p class=\"sev-error\">{}</p>", text(p));
    }
    summary(o, r, n);
    let _ = writeln!(o, "<h3 id=\"charts-{n}\">Charts</h3>");
    chart_set(o, r, n);
    conns(o, r, n);
    // Connections with a row (findings link to them).
    let rows: std::collections::BTreeSet<u64> = r
        .stats
        .per_conn
        .iter()
        .take(super::MAX_CONNS)
        .filter_map(|c| c.conn)
        .collect();
    let conn_link = |c: u64| {
        if rows.contains(&c) {
            format!("<a href=\"#conn-{n}-{c}\">{c}</a>")
        } else {
            c.to_string()
        }
    };
    findings(o, r, n, &conn_link);
    packets(o, r, n, &conn_link);
    o.push_str("</section>\n");
}

/// `v` with `unit`, or `-`.
fn opt<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
    v.map_or("-".to_string(), |v| format!("{v}{unit}"))
}

/// Seconds as milliseconds, 3 decimals, or `-`.
fn ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |s| format!("{:.3} ms", s * 1000.0))
}

fn summary(o: &mut String, r: &CaptureReport, n: usize) {
    let t = &r.stats.total;
    let _ = writeln!(
        o,
        "<h3 id=\"summary-{n}\">Summary</h3>\n<table class=\"summary\">"
    );
    let row = |o: &mut String, key: &str, label: &str, v: String| {
        let _ = writeln!(
            o,
            "<tr><th>{label}</th><td class=\"num\" data-key=\"{key}\">{v}</td></tr>"
        );
    };
    row(o, "capture", "capture", text(&r.name));
    row(o, "duration", "duration (s)", secs(t.duration));
    row(
        o,
        "connections",
        "WebSocket connections",
        t.connections.to_string(),
    );
    row(o, "sessions", "WebSocket sessions", t.sessions.to_string());
    let (c, s) = (&t.client_to_server, &t.server_to_client);
    for (key, label, all, vc, vs) in [
        ("frames", "frames", t.frames, c.frames, s.frames),
        ("messages", "messages", t.messages, c.messages, s.messages),
        (
            "bytes",
            "payload bytes",
            t.payload_bytes,
            c.payload_bytes,
            s.payload_bytes,
        ),
    ] {
        let _ = writeln!(
            o,
            "<tr><th>{label}</th><td class=\"num\"><span data-key=\"{key}\">{all}</span> (<span class=\"c\" data-key=\"{key}-client\">{vc}</span> / <span class=\"s\" data-key=\"{key}-server\">{vs}</span>)</td></tr>"
        );
    }
    row(
        o,
        "inflated",
        "message bytes as sent / inflated",
        format!(
            "{} / {}{}",
            t.message_wire_bytes,
            t.inflated_bytes,
            t.compression_ratio
                .map_or(String::new(), |x| format!(" (× {x:.2})"))
        ),
    );
    let z = &t.message_size;
    row(
        o,
        "sizes",
        "message size p50 / p90 / p99 / max",
        format!(
            "{} / {} / {} / {}",
            opt(z.p50, " B"),
            opt(z.p90, " B"),
            opt(z.p99, " B"),
            opt(z.max, " B")
        ),
    );
    row(
        o,
        "rate",
        "messages per second, mean / peak (1 s)",
        format!(
            "{} / {}",
            t.rate.mean.map_or("-".to_string(), |m| format!("{m:.1}")),
            t.rate.peak_1s
        ),
    );
    row(
        o,
        "ping-rtt",
        "ping → pong, min / median / max",
        format!(
            "{} / {} / {} ({} pongs)",
            ms(t.ping_rtt.min),
            ms(t.ping_rtt.median),
            ms(t.ping_rtt.max),
            t.ping_rtt.count
        ),
    );
    row(
        o,
        "tcp-rtt",
        "TCP handshake, min / median / max",
        format!(
            "{} / {} / {}",
            ms(t.tcp_rtt.min),
            ms(t.tcp_rtt.median),
            ms(t.tcp_rtt.max)
        ),
    );
    let cf = &t.close.closed_first;
    row(
        o,
        "closed-first",
        "closed first by client / server",
        format!("{} / {}", cf.client, cf.server),
    );
    let [info, warning, error] = r.by_severity;
    let _ = writeln!(
        o,
        "<tr><th>findings</th><td class=\"num\"><span class=\"sev-error\" data-key=\"findings-error\">{error}</span> errors, <span class=\"sev-warning\" data-key=\"findings-warning\">{warning}</span> warnings, <span class=\"sev-info\" data-key=\"findings-info\">{info}</span> info</td></tr>"
    );
    o.push_str("</table>\n");
}

fn conns(o: &mut String, r: &CaptureReport, n: usize) {
    let s = &r.stats;
    let _ = writeln!(
        o,
        "<h3 id=\"conns-{n}\">Connections</h3>\n<div class=\"scroll\"><table class=\"conns\">\n<thead><tr><th>conn</th><th>client</th><th>server</th><th>carrier</th><th>TLS</th><th>path</th><th>start (s)</th><th>duration (s)</th><th>frames c/s</th><th>messages c/s</th><th>bytes c/s</th><th>ping median</th><th>close c/s</th><th>closed first</th><th>findings</th></tr></thead><tbody>"
    );
    let t0 = s.total.first_ts.unwrap_or(0.0);
    let none = super::ConnInfo::default();
    for c in s.per_conn.iter().take(super::MAX_CONNS) {
        let id = c.conn.unwrap_or_default();
        let info = r.info.get(&id).unwrap_or(&none);
        let close = |code: Option<u16>, reason: &Option<String>| match (code, reason.as_deref()) {
            (None, _) => "-".to_string(),
            (Some(c), Some(r)) if !r.is_empty() => format!("{c} <q>{}</q>", text(r)),
            (Some(c), _) => c.to_string(),
        };
        let (cs, sc) = (&c.client_to_server, &c.server_to_client);
        let findings: u64 = c.findings.values().sum();
        let _ = writeln!(
            o,
            "<tr class=\"conn\" id=\"conn-{n}-{id}\" data-conn=\"{id}\"><td class=\"num\">{id}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td>{} / {}</td><td>{}</td><td class=\"num\">{findings}</td></tr>",
            text(c.client.as_deref().unwrap_or("-")),
            text(c.server.as_deref().unwrap_or("-")),
            c.carrier.unwrap_or("-"),
            info.tls.as_deref().map_or("-".to_string(), text),
            info.path.as_deref().map_or("-".to_string(), text),
            c.first_ts.map_or("-".to_string(), |f| secs(f - t0)),
            secs(c.duration),
            cs.frames,
            sc.frames,
            cs.messages,
            sc.messages,
            cs.payload_bytes,
            sc.payload_bytes,
            ms(c.ping_rtt.median),
            close(c.close.client_code, &info.close_reason[0]),
            close(c.close.server_code, &info.close_reason[1]),
            c.close.first.unwrap_or("-"),
        );
    }
    o.push_str("</tbody></table></div>\n");
    if s.per_conn.len() > super::MAX_CONNS {
        let _ = writeln!(
            o,
            "<p class=\"note\">{} more connections not listed (the totals count them).</p>",
            s.per_conn.len() - super::MAX_CONNS
        );
    }
}

/// Connections drawn on the timeline and the round-trip chart at most.
const CHART_CONNS: usize = 200;

/// Bytes of a power-of-two bucket: `k` significant bits.
fn size_label(k: u32) -> String {
    fn short(v: u64) -> String {
        match v {
            v if v >= 1 << 30 && v % (1 << 30) == 0 => format!("{}G", v >> 30),
            v if v >= 1 << 20 && v % (1 << 20) == 0 => format!("{}M", v >> 20),
            v if v >= 1 << 10 && v % (1 << 10) == 0 => format!("{}k", v >> 10),
            v => v.to_string(),
        }
    }
    match k {
        0 => "0".into(),
        1 => "1".into(),
        k if k >= 64 => format!("≥{}", short(1 << 63)),
        k => format!("{}-{}", short(1 << (k - 1)), short((1u64 << k) - 1)),
    }
}

fn chart_set(o: &mut String, r: &CaptureReport, n: usize) {
    let s = &r.stats;
    let t0 = s.total.first_ts.unwrap_or(0.0);
    let span = s.total.duration;
    let shown = &s.per_conn[..s.per_conn.len().min(CHART_CONNS)];
    let label = |c: &crate::stats::ConnStats| c.conn.map_or("-".to_string(), |c| c.to_string());
    let bars: Vec<charts::Bar> = shown
        .iter()
        .map(|c| charts::Bar {
            label: label(c),
            start: c.first_ts.map_or(0.0, |f| f - t0),
            end: c.last_ts.map_or(0.0, |l| l - t0),
            closed_by_client: c.close.first.map(|f| f == "client"),
        })
        .collect();
    o.push_str(&charts::timeline(&format!("timeline-{n}"), &bars, span));
    o.push('\n');
    if s.per_conn.len() > CHART_CONNS {
        let _ = writeln!(
            o,
            "<p class=\"note\">The first {CHART_CONNS} connections drawn, of {}.</p>",
            s.per_conn.len()
        );
    }
    // The capture's series: counts per bucket, drawn as messages per second.
    let series = &s.total.rate.series;
    let points: Vec<(f64, f64)> = match series.start {
        Some(start) if series.width > 0.0 => series
            .counts
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                (
                    start - t0 + i as f64 * series.width,
                    k as f64 / series.width,
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let legend = if series.width > 1.0 {
        format!("data messages, mean over {} s", series.width)
    } else {
        "data messages".to_string()
    };
    let rate = [charts::Series {
        label: legend,
        points,
        width: series.width,
        colour: charts::CLIENT,
    }];
    o.push_str(&charts::rate(&format!("rate-{n}"), &rate, span));
    o.push('\n');
    let buckets: Vec<charts::Bucket> = match (r.sizes.first(), r.sizes.last()) {
        (Some(&(lo, _)), Some(&(hi, _))) => (lo..=hi)
            .map(|k| charts::Bucket {
                label: size_label(k),
                count: r.sizes.iter().find(|b| b.0 == k).map_or(0, |b| b.1),
            })
            .collect(),
        _ => Vec::new(),
    };
    o.push_str(&charts::sizes(&format!("sizes-{n}"), &buckets));
    o.push('\n');
    let rtts: Vec<charts::Rtt> = shown
        .iter()
        .map(|c| charts::Rtt {
            label: label(c),
            ping: match (c.ping_rtt.min, c.ping_rtt.median, c.ping_rtt.max) {
                (Some(a), Some(m), Some(b)) => Some((a, m, b)),
                _ => None,
            },
            tcp: c.tcp_rtt.median,
        })
        .collect();
    o.push_str(&charts::rtt(&format!("rtt-{n}"), &rtts));
    o.push('\n');
    // The first close of each connection: its code, by who sent it.
    let mut by_code: BTreeMap<(u8, u16), charts::Close> = BTreeMap::new();
    for c in &s.per_conn {
        let (key, label) = match c.close.first {
            None => ((2, 0), "none".to_string()),
            Some(side) => {
                let code = if side == "client" {
                    c.close.client_code
                } else {
                    c.close.server_code
                };
                match code {
                    Some(code) => ((0, code), code.to_string()),
                    None => ((1, 0), "no code".to_string()),
                }
            }
        };
        let e = by_code.entry(key).or_insert_with(|| charts::Close {
            label,
            client: 0,
            server: 0,
            unclosed: 0,
        });
        match c.close.first {
            Some("client") => e.client += 1,
            Some(_) => e.server += 1,
            None => e.unclosed += 1,
        }
    }
    let closes: Vec<charts::Close> = by_code.into_values().collect();
    o.push_str(&charts::closes(&format!("closes-{n}"), &closes));
    o.push('\n');
}

/// The packet anchor of capture `n`.
fn packet_id(n: usize, p: u64) -> String {
    format!("pkt-{n}-{p}")
}

fn findings(o: &mut String, r: &CaptureReport, n: usize, conn_link: &dyn Fn(u64) -> String) {
    let _ = writeln!(o, "<h3 id=\"findings-{n}\">Findings</h3>");
    if r.findings.is_empty() {
        o.push_str("<p>No findings.</p>\n");
        return;
    }
    o.push_str("<div class=\"scroll\"><table class=\"findings\"><thead><tr><th>severity</th><th>code</th><th>conn</th><th>from</th><th>packet</th><th>what</th></tr></thead><tbody>\n");
    for (k, f) in r.findings.iter().enumerate() {
        let sev = f.code.severity();
        let conn = match (f.conn, f.stream) {
            (Some(c), Some(s)) => format!("{} stream {s}", conn_link(c)),
            (Some(c), None) => conn_link(c),
            _ => "-".into(),
        };
        let packet = f.packet.map_or("-".to_string(), |p| {
            format!("<a href=\"#{}\">#{p}</a>", packet_id(n, p))
        });
        let _ = writeln!(
            o,
            "<tr class=\"finding\" id=\"finding-{n}-{}\" data-packet=\"{}\"><td class=\"{}\">{}</td><td><code>{}</code></td><td>{conn}</td><td>{}</td><td class=\"num\">{packet}</td><td>{}</td></tr>",
            k + 1,
            f.packet.map_or(String::new(), |p| p.to_string()),
            sev_class(sev),
            sev.as_str(),
            f.code.as_str(),
            f.from.map_or("-", |d| d.as_str()),
            text(&f.message),
        );
    }
    o.push_str("</tbody></table></div>\n");
    if r.findings_not_listed > 0 {
        let _ = writeln!(
            o,
            "<p class=\"note\">{} more findings not listed (<code>wsdissect check</code> lists them all).</p>",
            r.findings_not_listed
        );
    }
}

/// The packets the findings name, each an anchor the findings link to,
/// listing the findings raised at it.
fn packets(o: &mut String, r: &CaptureReport, n: usize, conn_link: &dyn Fn(u64) -> String) {
    let _ = writeln!(o, "<h3 id=\"packets-{n}\">Packets with findings</h3>");
    let mut at: std::collections::BTreeMap<u64, Vec<(usize, &FindingRow)>> = Default::default();
    for (k, f) in r.findings.iter().enumerate() {
        if let Some(p) = f.packet {
            at.entry(p).or_default().push((k + 1, f));
        }
    }
    if at.is_empty() {
        o.push_str("<p>No finding names a packet.</p>\n");
        return;
    }
    o.push_str("<table class=\"packets\"><thead><tr><th>packet</th><th>conn</th><th>findings</th></tr></thead><tbody>\n");
    for (p, fs) in &at {
        let conns: std::collections::BTreeSet<u64> =
            fs.iter().filter_map(|(_, f)| f.conn).collect();
        let conns: Vec<String> = conns.iter().map(|&c| conn_link(c)).collect();
        let list: Vec<String> = fs
            .iter()
            .map(|(k, f)| {
                format!(
                    "<a href=\"#finding-{n}-{k}\" class=\"{}\"><code>{}</code></a>",
                    sev_class(f.code.severity()),
                    f.code.as_str()
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "<tr class=\"packet\" id=\"{}\"><td class=\"num\">#{p}</td><td>{}</td><td>{}</td></tr>",
            packet_id(n, *p),
            if conns.is_empty() {
                "-".to_string()
            } else {
                conns.join(", ")
            },
            list.join(" ")
        );
    }
    o.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Code;
    use crate::stats::{CaptureStats, ConnStats};

    /// Markup in every capture text the page shows comes out as text.
    #[test]
    fn markup_from_the_capture_stays_text() {
        let evil = "</td><script>alert(\"x\")</script>&amp;'";
        let conn = ConnStats {
            conn: Some(7),
            client: Some(format!("{evil}:1")),
            server: Some(format!("{evil}:2")),
            ..ConnStats::default()
        };
        let info = super::super::ConnInfo {
            tls: Some(evil.into()),
            path: Some(evil.into()),
            close_reason: [Some(evil.into()), Some(format!("\u{1b}[2J{evil}"))],
        };
        let mut c = conn.clone();
        c.close.client_code = Some(1000);
        c.close.server_code = Some(1000);
        let report = CaptureReport {
            name: format!("{evil}.pcap"),
            stats: CaptureStats {
                per_conn: vec![c],
                total: ConnStats::default(),
            },
            sizes: Vec::new(),
            info: [(7, info)].into_iter().collect(),
            findings: vec![FindingRow {
                code: Code::HandshakeRejected,
                conn: Some(7),
                stream: None,
                from: None,
                packet: Some(3),
                message: evil.into(),
            }],
            by_severity: [1, 0, 0],
            findings_not_listed: 0,
            problem: Some(evil.into()),
        };
        let html = page(&[report]);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains('\u{1b}'));
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap();
        // No element came from the capture, and its text reads as sent.
        assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        let all = texts.concat();
        assert!(all.matches(evil).count() >= 7, "{all}");
        assert!(all.contains("\\x1b[2J"));
    }
}
