//! `wsdissect report`: one self-contained HTML page for a whole capture (or
//! several): a summary, a row per WebSocket connection, charts (timeline,
//! message rate, sizes, round trips, close codes) and the findings, each
//! linked to its packet.
//!
//! The figures come from the stats collector ([`crate::stats`]); this
//! module only adds what the page needs besides them (every finding with its
//! packet, which statistics count by code only) and draws them:
//! [`ReportSink`] consumes the event stream, [`ReportSink::finish`] gives a
//! [`CaptureReport`], [`page`] writes the HTML.

pub mod charts;
mod html;

use std::ops::ControlFlow;

use crate::event::{Event, Sink};
use crate::findings::{Code, Dir, Severity};
use crate::stats::{CaptureStats, StatsCollector};
use std::collections::BTreeMap;

pub use html::page;

/// Findings listed one by one on the page per capture (the rest are counted).
pub const MAX_FINDINGS: usize = 2000;

/// Connection rows per capture (the rest are counted, and in the totals).
pub const MAX_CONNS: usize = 5000;

/// One finding as the page lists it.
#[derive(Debug, Clone)]
pub struct FindingRow {
    /// Its code (and so its severity).
    pub code: Code,
    /// The connection, when it concerns one.
    pub conn: Option<u64>,
    /// The HTTP/2 stream of the session.
    pub stream: Option<u32>,
    /// Which way the offending bytes went.
    pub from: Option<Dir>,
    /// The packet where it was seen.
    pub packet: Option<u64>,
    /// The finding's sentence (capture text in it is escaped on the page).
    pub message: String,
}

/// What the page shows of a connection besides its figures: from its
/// `ConnEnd` (capture text, escaped on the page).
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    /// TLS version and whether it was decrypted ("1.3 decrypted").
    pub tls: Option<String>,
    /// The upgrade's request target.
    pub path: Option<String>,
    /// Each side's first close reason (client, server).
    pub close_reason: [Option<String>; 2],
}

/// Everything the page shows of one capture.
#[derive(Debug)]
pub struct CaptureReport {
    /// The capture as named on the command line.
    pub name: String,
    /// The figures (those of `wsdissect stats`).
    pub stats: CaptureStats,
    /// The capture's data message sizes by powers of two
    /// ([`crate::stats::StatsCollector::size_histogram`]).
    pub sizes: Vec<(u32, u64)>,
    /// Per connection id: TLS, path, close reasons.
    pub info: BTreeMap<u64, ConnInfo>,
    /// Findings, in the order raised, at most [`MAX_FINDINGS`].
    pub findings: Vec<FindingRow>,
    /// Findings by severity: info, warning, error (all of them, listed or not).
    pub by_severity: [u64; 3],
    /// Findings raised but not listed (past [`MAX_FINDINGS`]).
    pub findings_not_listed: u64,
    /// Why the capture could not be read (to its end), when it could not.
    pub problem: Option<String>,
}

/// Collects one capture's report from the event stream: the stats
/// collector's figures, and the findings one by one.
pub struct ReportSink {
    name: String,
    stats: StatsCollector,
    info: BTreeMap<u64, ConnInfo>,
    findings: Vec<FindingRow>,
    by_severity: [u64; 3],
    findings_not_listed: u64,
    problem: Option<String>,
}

impl ReportSink {
    /// A report of the capture `name`; `filtered`: a filter chooses the
    /// records, and only the connections with one are listed (as `stats`).
    pub fn new(name: &str, filtered: bool) -> Self {
        ReportSink {
            name: name.to_string(),
            stats: StatsCollector::new().records_only(filtered),
            info: BTreeMap::new(),
            findings: Vec::new(),
            by_severity: [0; 3],
            findings_not_listed: 0,
            problem: None,
        }
    }

    /// Notes that the capture could not be read (to its end).
    pub fn problem(&mut self, why: String) {
        self.problem = Some(why);
    }

    /// The report, once the capture has been read.
    pub fn finish(self) -> CaptureReport {
        let sizes = self.stats.size_histogram();
        CaptureReport {
            name: self.name,
            stats: self.stats.finish(),
            sizes,
            info: self.info,
            findings: self.findings,
            by_severity: self.by_severity,
            findings_not_listed: self.findings_not_listed,
            problem: self.problem,
        }
    }
}

impl Sink for ReportSink {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Finding(f) => {
                let sev = match f.severity() {
                    Severity::Info => 0,
                    Severity::Warning => 1,
                    Severity::Error => 2,
                };
                self.by_severity[sev] += 1;
                if self.findings.len() < MAX_FINDINGS {
                    self.findings.push(FindingRow {
                        code: f.code,
                        conn: f.at.session.map(|s| s.conn),
                        stream: f.at.session.and_then(|s| s.stream),
                        from: f.at.from,
                        packet: f.at.packet,
                        message: f.message.clone(),
                    });
                } else {
                    self.findings_not_listed += 1;
                }
            }
            // Bounded as the collector is: one entry per WebSocket connection.
            Event::ConnEnd(c) if c.websocket => {
                let tls = c.tls.as_ref().map(|t| {
                    let v = t.version.as_deref().unwrap_or("?");
                    if t.decrypted {
                        format!("TLS {v}, decrypted")
                    } else {
                        format!("TLS {v}, not decrypted")
                    }
                });
                self.info.insert(
                    c.session.conn,
                    ConnInfo {
                        tls,
                        path: c.path.clone(),
                        close_reason: [
                            c.stats[0].close_reason.clone(),
                            c.stats[1].close_reason.clone(),
                        ],
                    },
                );
            }
            _ => {}
        }
        self.stats.event(ev)
    }

    fn withheld(&mut self, ev: Event<'_>) {
        self.stats.withheld(ev);
    }
}
