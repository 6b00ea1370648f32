//! A sharded `check` interrupted (Ctrl-C, `capture::STOP`) part-way: what
//! was read is decoded as one thread decodes it; and where a limit shared
//! by all connections was reached, the sharded result is given (marked not
//! exact) rather than refused, since decoding the capture again would read
//! nothing while the stop is still asked for. One test in its own binary:
//! `STOP` is global.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use common::synth::{Flow, Pcap, frame};
use wsdissect::Config;
use wsdissect::capture::{CaptureSummary, STOP};
use wsdissect::render::Out;
use wsdissect::render::check::CheckSink;

fn cfg(max_connections: Option<usize>) -> Config {
    let base = Config {
        keep_frame_payload: false,
        keep_message_data: false,
        ..Config::default()
    };
    Config {
        max_connections: max_connections.unwrap_or(base.max_connections),
        ..base
    }
}

fn rendered(sink: &CheckSink) -> String {
    let mut json = Out::new(Vec::new());
    sink.render_json(&mut json);
    String::from_utf8_lossy(&json.w).into_owned()
}

fn capture() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-intr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.pcap");
    let mut cap = Pcap::new();
    let mut flows = Flow::upgraded(&mut cap, 64);
    for r in 0..100u32 {
        for (i, f) in flows.iter_mut().enumerate() {
            // Every third frame breaks a rule (a masked server frame).
            let bad = (r + i as u32).is_multiple_of(3);
            f.send(&mut cap, r % 2 == 0, &frame(bad, 0x81, &vec![b'q'; 3000]));
        }
    }
    std::fs::write(&path, &cap.bytes).expect("write");
    path
}

/// The file, asking for a stop once 5 MiB were read (as Ctrl-C would).
struct StopAt<R> {
    inner: R,
    read: usize,
}

impl<R: std::io::Read> std::io::Read for StopAt<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        if self.read >= 5 << 20 {
            STOP.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

fn input(path: &Path) -> StopAt<File> {
    STOP.store(false, Ordering::Relaxed);
    StopAt {
        inner: File::open(path).expect("open"),
        read: 0,
    }
}

fn single(path: &Path, cfg: &Config) -> (String, CaptureSummary) {
    let mut sink = CheckSink::new(Vec::new());
    sink.begin_capture("c");
    let s = wsdissect::run(input(path), cfg, &mut sink).expect("a capture");
    (rendered(&sink), s)
}

#[test]
fn an_interrupted_sharded_run_decodes_what_was_read() {
    let path = capture();
    assert!(std::fs::metadata(&path).expect("size").len() > 12 << 20);
    for limit in [None, Some(10)] {
        let cfg = cfg(limit);
        let (one, s1) = single(&path, &cfg);
        assert!(s1.interrupted && s1.packets > 100, "{s1:?}");
        let code = match limit {
            None => "frame.server-masked",
            Some(_) => "limit.reached",
        };
        assert!(one.contains(code), "{one}");
        for n in [2, 3, 4] {
            let got = wsdissect::shard::run(n, input(&path), false, &cfg, |_| {
                let mut s = CheckSink::new(Vec::new());
                s.begin_capture("c");
                s
            })
            .expect("a capture")
            .unwrap_or_else(|| panic!("{n} workers, limit {limit:?}: refused"));
            assert!(got.summary.interrupted, "{:?}", got.summary);
            assert_eq!(got.summary.packets, s1.packets);
            // 64 connections: a limit of 10 is reached.
            assert_eq!(got.exact, limit.is_none(), "{n} workers, limit {limit:?}");
            let mut merged = CheckSink::new(Vec::new());
            merged.begin_capture("c");
            assert!(merged.merge_shards(got.sinks, &got.ids));
            let merged = rendered(&merged);
            if got.exact {
                assert_eq!(merged, one, "{n} workers");
            } else {
                assert!(merged.contains(code), "{merged}");
            }
        }
    }
    STOP.store(false, Ordering::Relaxed);
}
