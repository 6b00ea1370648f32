//! wsdissect as a library: which close codes each server's connections
//! ended with, over one or more captures.
//!
//!     cargo run --release --example library -- samples/python-echo.pcap samples/aiohttp-concurrent.pcap
//!
//! prints one line per server, side and close code with the number of
//! connections (`-` for a side that sent no close frame):
//!
//! ```text
//! server                   side    code  conns
//! 127.0.0.1:9001           client  1000  1
//! 127.0.0.1:9001           server  1000  1
//! ```
//!
//! The public API in a few lines: [`wsdissect::run`] reads a capture and
//! sends its events to a [`wsdissect::Sink`]; this one keeps only the end of
//! each connection ([`wsdissect::Event::ConnEnd`]), whose summary holds each
//! side's close code. A sink answers every event with `ControlFlow`:
//! `Break` would end the run early.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::process::ExitCode;

use wsdissect::{Config, Event, Sink, run};

/// Connections by (server, side, close code).
#[derive(Default)]
struct CloseCodes {
    count: BTreeMap<(SocketAddr, &'static str, Option<u16>), u64>,
}

impl Sink for CloseCodes {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if let Event::ConnEnd(c) = ev
            && c.websocket
        {
            for (side, stats) in ["client", "server"].into_iter().zip(&c.stats) {
                *self
                    .count
                    .entry((c.session.server, side, stats.close_code))
                    .or_default() += 1;
            }
        }
        ControlFlow::Continue(())
    }
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: library CAPTURE...");
        return ExitCode::from(2);
    }
    // Only counts are wanted: keep no payloads.
    let cfg = Config {
        keep_frame_payload: false,
        keep_message_data: false,
        ..Config::default()
    };
    let mut sink = CloseCodes::default();
    let mut status = ExitCode::SUCCESS;
    for path in &paths {
        let result = std::fs::File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| run(f, &cfg, &mut sink).map_err(|e| e.to_string()));
        match result {
            Ok(summary) => {
                if let Some(p) = summary.problem {
                    eprintln!("{path}: cut short after packet {}", p.after_packet);
                }
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                status = ExitCode::from(2);
            }
        }
    }
    println!("{:<24} {:<7} {:<5} conns", "server", "side", "code");
    for ((server, side, code), n) in &sink.count {
        let code = code.map_or("-".to_string(), |c| c.to_string());
        println!("{:<24} {side:<7} {code:<5} {n}", server.to_string());
    }
    status
}
