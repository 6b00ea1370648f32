//! `check`: findings grouped by connection, a verdict and an exit status.

use std::collections::BTreeMap;
use std::io::Write;

use super::json::{FindingJson, JsonRecord, write_record};
use super::width::{cols, truncate, wrap};
use super::{Out, escape};
use crate::event::{Event, SessionRef, Sink};
use crate::findings::{Code, Finding, Severity};

/// Findings of one code kept per connection for listing; past it they are
/// counted (the verdict and the summary count every one), so memory
/// follows the connections and codes, not a hostile capture's size.
pub const MAX_LISTED_PER_CODE: usize = 1000;

/// Collects the findings of one or more captures.
#[derive(Default)]
pub struct CheckSink {
    pub allow: Vec<Code>,
    captures: Vec<CaptureFindings>,
    /// Every finding counted by severity: (errors, warnings, infos).
    counts: (usize, usize, usize),
    /// The most severe finding seen.
    worst: Option<Severity>,
    /// Colour the severities of the table (`--color`).
    pub color: bool,
}

#[derive(Default)]
struct CaptureFindings {
    name: String,
    /// Connections seen (WebSocket ones), with their endpoints.
    conns: BTreeMap<u64, Option<SessionRef>>,
    /// Findings by connection (`None`: capture-level).
    findings: BTreeMap<Option<u64>, Vec<Finding>>,
    error: Option<String>,
    /// Connections among `conns` that are TLS, not WebSocket.
    tls: usize,
    /// Findings listed per connection and code.
    listed: std::collections::HashMap<(Option<u64>, Code), usize>,
    /// Findings past MAX_LISTED_PER_CODE, by connection and code.
    not_listed: BTreeMap<Option<u64>, BTreeMap<Code, usize>>,
}

impl CheckSink {
    pub fn new(allow: Vec<Code>) -> Self {
        CheckSink {
            allow,
            ..Default::default()
        }
    }

    pub fn begin_capture(&mut self, name: &str) {
        self.captures.push(CaptureFindings {
            name: name.to_string(),
            ..Default::default()
        });
    }

    /// A capture that could not be read at all.
    pub fn capture_error(&mut self, msg: String) {
        if let Some(c) = self.captures.last_mut() {
            c.error = Some(msg);
        }
    }

    /// Takes in the captures of `other` (decoded apart, e.g. in another
    /// thread), after those of `self`: as if they had come to `self`.
    pub fn append(&mut self, other: CheckSink) {
        self.captures.extend(other.captures);
        self.counts.0 += other.counts.0;
        self.counts.1 += other.counts.1;
        self.counts.2 += other.counts.2;
        self.worst = self.worst.max(other.worst);
    }

    /// Takes in the sinks of a sharded run of the capture begun last
    /// (`crate::shard`), each having begun that capture itself: their
    /// connections renumbered by `ids[w][local]`, their findings merged as
    /// one sink would have kept them (a connection's all come from one
    /// worker, in its order; the capture's from worker 0). False, with
    /// nothing taken, when they cannot be merged exactly (a worker other
    /// than 0 has findings of the capture, an id is out of range).
    pub fn merge_shards(&mut self, parts: Vec<CheckSink>, ids: &[Vec<u64>]) -> bool {
        let renumber = |w: usize, id: u64| {
            ids.get(w)
                .and_then(|v| v.get(usize::try_from(id).ok()?))
                .copied()
        };
        let mergeable = parts.iter().enumerate().all(|(w, p)| {
            p.captures.len() == 1
                && p.captures.iter().all(|c| {
                    c.error.is_none()
                        && (w == 0 || !c.findings.contains_key(&None))
                        && c.conns.keys().all(|&id| renumber(w, id).is_some())
                        && c.findings
                            .keys()
                            .flatten()
                            .all(|&id| renumber(w, id).is_some())
                })
        });
        let Some(cap) = self.captures.last_mut() else {
            return false;
        };
        if !mergeable {
            return false;
        }
        let session = |w: usize, s: SessionRef| SessionRef {
            conn: renumber(w, s.conn).unwrap_or(s.conn),
            ..s
        };
        let conn = |w: usize, c: Option<u64>| c.map(|id| renumber(w, id).unwrap_or(id));
        for (w, part) in parts.into_iter().enumerate() {
            let (e, wa, i) = part.counts;
            self.counts.0 += e;
            self.counts.1 += wa;
            self.counts.2 += i;
            self.worst = self.worst.max(part.worst);
            for c in part.captures {
                cap.tls += c.tls;
                for (id, s) in c.conns {
                    cap.conns
                        .insert(conn(w, Some(id)).unwrap_or(id), s.map(|s| session(w, s)));
                }
                for (id, list) in c.findings {
                    let list = list.into_iter().map(|mut f| {
                        f.at.session = f.at.session.map(|s| session(w, s));
                        f
                    });
                    cap.findings.entry(conn(w, id)).or_default().extend(list);
                }
                for ((id, code), n) in c.listed {
                    *cap.listed.entry((conn(w, id), code)).or_default() += n;
                }
                for (id, m) in c.not_listed {
                    let into = cap.not_listed.entry(conn(w, id)).or_default();
                    for (code, n) in m {
                        *into.entry(code).or_default() += n;
                    }
                }
            }
        }
        true
    }

    /// Counts by severity: (errors, warnings, infos), listed or not.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.counts
    }

    /// Findings counted but not listed (past MAX_LISTED_PER_CODE).
    pub fn not_listed(&self) -> usize {
        self.captures
            .iter()
            .flat_map(|c| c.not_listed.values().flat_map(|m| m.values()))
            .sum()
    }

    /// Whether any finding is at or above `fail_on`.
    pub fn fails(&self, fail_on: Severity) -> bool {
        self.worst.is_some_and(|w| w >= fail_on)
    }

    /// Findings grouped by connection. With a `width`, each line fits it:
    /// a message too long for the row goes under it, wrapped.
    pub fn render_table<W: Write>(&self, out: &mut Out<W>, width: Option<usize>) {
        let mut text = String::new();
        let fit = |line: String| match width {
            Some(w) if cols(&line) > w => truncate(&line, w),
            _ => line,
        };
        for cap in &self.captures {
            if self.captures.len() > 1 {
                text.push_str(&fit(format!("== {}", escape::terminal(&cap.name))));
                text.push('\n');
            }
            if let Some(e) = &cap.error {
                text.push_str(&fit(format!("  cannot read: {}", escape::terminal(e))));
                text.push('\n');
            }
            for (conn, list) in &cap.findings {
                let head = match conn {
                    None => "capture".to_string(),
                    Some(id) => match cap.conns.get(id).copied().flatten() {
                        Some(c) => format!("conn {id}  {} -> {}", c.client, c.server),
                        None => format!("conn {id}"),
                    },
                };
                text.push_str(&fit(head));
                text.push('\n');
                for f in list {
                    let paint = |line: String| match self.color {
                        true => super::color::paint_cell(
                            &line,
                            2,
                            f.severity().as_str(),
                            super::color::severity(f.severity()),
                        ),
                        false => line,
                    };
                    let row = format!(
                        "  {:<7} {:<32} pkt {:<7} {:<6} ",
                        f.severity().as_str(),
                        f.code.as_str(),
                        f.packet().map_or("-".into(), |p| p.to_string()),
                        f.from().map_or("-", |d| d.as_str()),
                    );
                    let message = escape::terminal(&f.message);
                    match width {
                        Some(w) if cols(&row) + cols(&message) > w => {
                            text.push_str(&paint(fit(row.trim_end().to_string())));
                            text.push('\n');
                            for l in wrap(&message, w, "      ") {
                                text.push_str(&l);
                                text.push('\n');
                            }
                        }
                        _ => {
                            text.push_str(&paint(row));
                            text.push_str(&message);
                            text.push('\n');
                        }
                    }
                }
                for (code, n) in cap.not_listed.get(conn).into_iter().flatten() {
                    text.push_str(&fit(format!(
                        "  ... and {n} more {} finding{} here, counted but not listed",
                        code.as_str(),
                        plural(*n)
                    )));
                    text.push('\n');
                }
            }
        }
        let (e, w, i) = self.counts();
        let tls: usize = self.captures.iter().map(|c| c.tls).sum();
        let conns: usize = self
            .captures
            .iter()
            .map(|c| c.conns.len())
            .sum::<usize>()
            .saturating_sub(tls);
        let tls_note = if tls > 0 {
            format!(", {tls} TLS")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{} error{}, {} warning{}, {} info in {} WebSocket connection{}{tls_note} ({} capture{})\n",
            e,
            plural(e),
            w,
            plural(w),
            i,
            conns,
            plural(conns),
            self.captures.len(),
            plural(self.captures.len())
        ));
        out.write_all(text.as_bytes());
    }

    pub fn render_json<W: Write>(&self, out: &mut Out<W>) {
        for cap in &self.captures {
            let name = Some(cap.name.as_str());
            for f in cap.findings.values().flatten() {
                let mut line = Vec::new();
                if write_record(&mut line, name, &FindingJson::from(f)).is_ok() {
                    out.write_all(&line);
                }
            }
        }
        let (e, w, i) = self.counts();
        let conns: usize = self.captures.iter().map(|c| c.conns.len()).sum();
        #[derive(serde::Serialize)]
        struct Summary {
            errors: usize,
            warnings: usize,
            info: usize,
            connections: usize,
            captures: usize,
            /// Findings counted but not listed (past MAX_LISTED_PER_CODE per
            /// connection and code).
            #[serde(skip_serializing_if = "is_zero")]
            not_listed: usize,
        }
        fn is_zero(n: &usize) -> bool {
            *n == 0
        }
        impl JsonRecord for Summary {
            const TYPE: &'static str = "summary";
        }
        let mut line = Vec::new();
        let rec = Summary {
            errors: e,
            warnings: w,
            info: i,
            connections: conns,
            captures: self.captures.len(),
            not_listed: self.not_listed(),
        };
        if write_record(&mut line, None, &rec).is_ok() {
            out.write_all(&line);
        }
    }

    /// JUnit XML: a test suite per capture, a test case per connection;
    /// findings at or above `fail_on` are failures.
    pub fn render_junit<W: Write>(&self, out: &mut Out<W>, fail_on: Severity) {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let total: usize = self.captures.iter().map(|c| c.conns.len().max(1)).sum();
        let failures = |cap: &CaptureFindings, conn: Option<u64>| {
            cap.findings.get(&conn).map_or(0, |l| {
                l.iter().filter(|f| f.severity() >= fail_on).count().min(1)
            })
        };
        let all_fail: usize = self
            .captures
            .iter()
            .map(|c| {
                c.conns.keys().map(|k| failures(c, Some(*k))).sum::<usize>() + failures(c, None)
            })
            .sum();
        x.push_str(&format!(
            "<testsuites name=\"wsdissect check\" tests=\"{total}\" failures=\"{all_fail}\">\n"
        ));
        for cap in &self.captures {
            let mut cases: Vec<Option<u64>> = cap.conns.keys().map(|k| Some(*k)).collect();
            if cap.findings.contains_key(&None) || cases.is_empty() {
                cases.insert(0, None);
            }
            let fails: usize = cases.iter().map(|c| failures(cap, *c)).sum();
            x.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n",
                esc(&cap.name),
                cases.len(),
                fails,
                usize::from(cap.error.is_some())
            ));
            for case in cases {
                let name = match case {
                    None => "capture".to_string(),
                    Some(id) => match cap.conns.get(&id).copied().flatten() {
                        Some(c) => format!("conn {id} {} -> {}", c.client, c.server),
                        None => format!("conn {id}"),
                    },
                };
                x.push_str(&format!(
                    "    <testcase classname=\"{}\" name=\"{}\">\n",
                    esc(&cap.name),
                    esc(&name)
                ));
                if case.is_none()
                    && let Some(e) = &cap.error
                {
                    x.push_str(&format!("      <error message=\"{}\"/>\n", esc(e)));
                }
                let list = cap
                    .findings
                    .get(&case)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let failing: Vec<&Finding> =
                    list.iter().filter(|f| f.severity() >= fail_on).collect();
                if let Some(first) = failing.first() {
                    let body: Vec<String> = failing
                        .iter()
                        .map(|f| {
                            format!(
                                "{} {} packet {}: {}",
                                f.severity().as_str(),
                                f.code.as_str(),
                                f.packet().map_or("-".into(), |p| p.to_string()),
                                f.message
                            )
                        })
                        .collect();
                    x.push_str(&format!(
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                        esc(&format!(
                            "{} finding(s), first: {}",
                            failing.len(),
                            first.code.as_str()
                        )),
                        esc(first.code.as_str()),
                        esc(&body.join("\n"))
                    ));
                }
                let other: Vec<String> = list
                    .iter()
                    .filter(|f| f.severity() < fail_on)
                    .map(|f| {
                        format!(
                            "{} {} packet {}: {}",
                            f.severity().as_str(),
                            f.code.as_str(),
                            f.packet().map_or("-".into(), |p| p.to_string()),
                            f.message
                        )
                    })
                    .collect();
                if !other.is_empty() {
                    x.push_str(&format!(
                        "      <system-out>{}</system-out>\n",
                        esc(&other.join("\n"))
                    ));
                }
                x.push_str("    </testcase>\n");
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        out.write_all(x.as_bytes());
    }
}

/// Every finding code the tool can raise, from [`Code::ALL`]: a table
/// (code, severity, meaning; the meaning wraps under the row when `width`
/// is too narrow) or JSON lines (`{"type":"code","code","severity","meaning"}`).
pub fn list_codes(json: bool, width: Option<usize>) -> String {
    let mut out = String::new();
    let w = Code::ALL
        .iter()
        .map(|c| c.as_str().len())
        .max()
        .unwrap_or(0);
    for &c in Code::ALL {
        if json {
            let rec = serde_json::json!({
                "type": "code", "code": c.as_str(),
                "severity": c.severity().as_str(), "meaning": c.meaning(),
            });
            out.push_str(&format!("{rec}\n"));
            continue;
        }
        let row = format!("{:<w$}  {:<7}  ", c.as_str(), c.severity().as_str());
        match width {
            Some(max) if cols(&row) + cols(c.meaning()) > max => {
                out.push_str(row.trim_end());
                out.push('\n');
                for l in wrap(c.meaning(), max, "    ") {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
            _ => {
                out.push_str(&row);
                out.push_str(c.meaning());
                out.push('\n');
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

use super::xml_escape as esc;

impl Sink for CheckSink {
    /// Findings, and the connections they belong to; no frame or message.
    fn wants(&self) -> u32 {
        use crate::stage::kinds::{CONN_END, FINDING, HANDSHAKE};
        FINDING | HANDSHAKE | CONN_END
    }

    fn event(&mut self, ev: Event<'_>) -> std::ops::ControlFlow<()> {
        let Some(cap) = self.captures.last_mut() else {
            return std::ops::ControlFlow::Continue(());
        };
        match ev {
            Event::Finding(f) => {
                if self.allow.contains(&f.code) {
                    return std::ops::ControlFlow::Continue(());
                }
                if let Some(id) = f.conn() {
                    cap.conns.entry(id).or_insert(None);
                }
                let sev = f.severity();
                match sev {
                    Severity::Error => self.counts.0 += 1,
                    Severity::Warning => self.counts.1 += 1,
                    Severity::Info => self.counts.2 += 1,
                }
                self.worst = self.worst.max(Some(sev));
                let listed = cap.listed.entry((f.conn(), f.code)).or_default();
                if *listed < MAX_LISTED_PER_CODE {
                    *listed += 1;
                    cap.findings.entry(f.conn()).or_default().push(f.clone());
                } else {
                    *cap.not_listed
                        .entry(f.conn())
                        .or_default()
                        .entry(f.code)
                        .or_default() += 1;
                }
            }
            Event::Handshake(c, _) => {
                cap.conns.insert(c.conn, Some(c));
            }
            Event::ConnEnd(s) => {
                cap.conns.insert(s.session.conn, Some(s.session));
                if !s.websocket && s.tls.is_some() {
                    cap.tls += 1;
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping() {
        assert_eq!(esc("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}
