//! A sink that declares it reads no data frames and no messages
//! (`Sink::wants`, as `check` does) gets every finding, handshake and
//! connection summary a sink reading everything gets, in the same order
//! and with the same content, over every bundled sample; the data frames
//! and messages it does not want are not built for it (messages still
//! are while the app stage decodes a subprotocol from them).

mod common;

use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use common::sample;
use wsdissect::config::Config;
use wsdissect::event::{Event, Sink};
use wsdissect::stage::kinds;

/// Records the events of the kinds `check` reads, and counts the rest.
struct Recorder {
    wants: u32,
    seen: Vec<String>,
    data_frames: usize,
    control_frames: usize,
    messages: usize,
}

impl Recorder {
    fn new(wants: u32) -> Self {
        Recorder {
            wants,
            seen: Vec::new(),
            data_frames: 0,
            control_frames: 0,
            messages: 0,
        }
    }
}

impl Sink for Recorder {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Finding(f) => self.seen.push(format!("{f:?}")),
            Event::Handshake(s, h) => self.seen.push(format!("{s:?} {h:?}")),
            Event::ConnEnd(c) => self.seen.push(format!("{c:?}")),
            Event::Frame(f) if f.header.opcode.is_control() => self.control_frames += 1,
            Event::Frame(_) => self.data_frames += 1,
            Event::Message(_) => self.messages += 1,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn wants(&self) -> u32 {
        self.wants
    }
}

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures_under(&p, out);
        } else {
            let name = p.to_string_lossy();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz") {
                out.push(p);
            }
        }
    }
}

fn bytes_of(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).expect("readable sample");
    if p.to_string_lossy().ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gzip");
        out
    } else {
        raw
    }
}

fn run(bytes: &[u8], wants: u32) -> Recorder {
    let cfg = Config {
        keep_frame_payload: false,
        keep_message_data: false,
        ..Config::default()
    };
    let mut r = Recorder::new(wants);
    let _ = wsdissect::pipeline::run(bytes, &cfg, &mut r);
    r
}

#[test]
fn a_sink_wanting_only_findings_gets_the_same_findings_without_data_frames() {
    let mut caps = Vec::new();
    captures_under(&sample(""), &mut caps);
    assert!(caps.len() > 50, "found only {} samples", caps.len());
    let (mut frames_all, mut findings_all) = (0, 0);
    let (mut messages_all, mut messages_few) = (0, 0);
    for p in &caps {
        let bytes = bytes_of(p);
        let all = run(&bytes, u32::MAX);
        let few = run(&bytes, kinds::FINDING | kinds::HANDSHAKE | kinds::CONN_END);
        assert_eq!(all.seen, few.seen, "{}", p.display());
        assert_eq!(few.data_frames, 0, "{}: data frames built", p.display());
        // Messages still come while a stage decodes a subprotocol from them.
        assert!(few.messages <= all.messages, "{}", p.display());
        messages_all += all.messages;
        messages_few += few.messages;
        // Control frames still go through (pongs are paired from them).
        assert_eq!(all.control_frames, few.control_frames, "{}", p.display());
        frames_all += all.data_frames;
        findings_all += all.seen.len();
    }
    // The comparison had something to compare.
    assert!(frames_all > 1000, "{frames_all} data frames");
    assert!(findings_all > 100, "{findings_all} findings");
    assert!(
        messages_few * 2 < messages_all,
        "{messages_few} of {messages_all} messages built"
    );
}
