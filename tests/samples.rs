//! Golden tests over the real captures in `samples/`.
//!
//! For each capture in `samples/manifest.json`:
//! - every frame tshark decodes (`NAME.tshark.jsonl`, made by
//!   `samples/record/tshark-expect.sh`) is reported by us with the same
//!   packet number and the same header fields, mask key, payload and close
//!   code; where tshark sees the whole capture we report no more and no less;
//! - every data message the applications logged as sent (`NAME.sent.jsonl`)
//!   comes out of `messages` byte-exact (all of them, or the ones the
//!   capture holds, as the manifest says);
//! - `check` raises no error, and exactly the warnings the manifest lists.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde::Deserialize;
use wsdissect::event::Event;
use wsdissect::findings::Severity;
use wsdissect::{Config, run as analyze};

#[derive(Deserialize)]
struct Sample {
    file: String,
    tshark: String,
    sent: String,
    #[serde(default)]
    lost: Vec<String>,
    check: BTreeMap<String, usize>,
}

/// The fields of a frame both we and tshark report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Frame {
    conn: u64,
    client: String,
    server: String,
    from: String,
    packet: u64,
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    masked: bool,
    mask_key: Option<String>,
    payload_len: u64,
    payload_hex: String,
    close_code: Option<u16>,
}

#[derive(Debug, Default)]
struct Run {
    frames: Vec<Frame>,
    /// Every decodable data message.
    messages: Vec<common::MsgKey>,
    findings: Vec<(Severity, String)>,
}

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn run(path: &PathBuf) -> Run {
    let mut out = Run::default();
    let cfg = Config::default();
    let file = fs::File::open(path).unwrap();
    analyze(file, &cfg, &mut |ev: Event<'_>| match ev {
        Event::Frame(f) => out.frames.push(Frame {
            conn: f.session.conn,
            client: f.session.client.to_string(),
            server: f.session.server.to_string(),
            from: f.from.as_str().into(),
            packet: f.packet,
            fin: f.header.fin,
            rsv1: f.header.rsv1,
            rsv2: f.header.rsv2,
            rsv3: f.header.rsv3,
            opcode: f.header.opcode.as_u8(),
            masked: f.header.masked(),
            mask_key: f.header.mask_key.map(|k| common::hex(&k)),
            payload_len: f.header.payload_len,
            payload_hex: common::hex(f.payload),
            close_code: f.close_code,
        }),
        Event::Message(m) => {
            assert!(
                m.data_complete || !m.decodable,
                "message data not kept in full"
            );
            if m.decodable {
                out.messages
                    .push(common::key(m.from.as_str(), m.opcode.as_u8(), m.data));
            }
        }
        Event::Finding(f) => out
            .findings
            .push((f.severity(), f.code.as_str().to_string())),
        _ => {}
    })
    .unwrap();
    out
}

fn manifest() -> Vec<Sample> {
    let text = fs::read_to_string(samples_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn name_of(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(n, _)| n)
}

#[test]
fn frames_agree_with_tshark() {
    for s in manifest().iter().filter(|s| s.tshark != "none") {
        let ours = run(&samples_dir().join(&s.file)).frames;
        let text =
            fs::read_to_string(samples_dir().join(format!("{}.tshark.jsonl", name_of(&s.file))))
                .unwrap();
        let theirs: Vec<Frame> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!theirs.is_empty(), "{}: tshark reference is empty", s.file);
        if s.tshark == "full" {
            assert_eq!(ours.len(), theirs.len(), "{}: frame count", s.file);
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(a, b, "{}: frame {i}", s.file);
            }
        } else {
            // tshark loses the thread after the gap: each frame it does see must be ours too.
            let mut at = 0;
            for t in &theirs {
                let pos = ours[at..].iter().position(|o| o == t);
                assert!(
                    pos.is_some(),
                    "{}: tshark frame at packet {} not reported",
                    s.file,
                    t.packet
                );
                at += pos.unwrap_or(0) + 1;
            }
            assert!(
                ours.len() > theirs.len(),
                "{}: expected more frames than tshark",
                s.file
            );
        }
    }
}

#[test]
fn messages_match_what_the_applications_sent() {
    for s in manifest() {
        let ours = run(&samples_dir().join(&s.file)).messages;
        let sent =
            common::load_sent(&samples_dir().join(format!("{}.sent.jsonl", name_of(&s.file))));
        assert!(!sent.is_empty(), "{}: empty log", s.file);
        let lost: Vec<(usize, String)> = s
            .lost
            .iter()
            .map(|h| {
                let k = common::key("", 0, &common::unhex(h));
                (k.2, k.3)
            })
            .collect();
        let mut want: Vec<common::MsgKey> = sent
            .into_iter()
            .filter(|m| !lost.contains(&(m.2, m.3.clone())))
            .collect();
        let mut got = ours.clone();
        match s.sent.as_str() {
            "all" | "all-but" => {
                want.sort();
                got.sort();
                assert_eq!(got.len(), want.len(), "{}: message count", s.file);
                assert!(got == want, "{}: messages differ from the log", s.file);
            }
            "suffix" => {
                // A capture that starts late holds the last messages of each side, in order.
                for side in ["client", "server"] {
                    let w: Vec<_> = want.iter().filter(|m| m.0 == side).collect();
                    let g: Vec<_> = got.iter().filter(|m| m.0 == side).collect();
                    assert!(
                        !g.is_empty() && g.len() < w.len(),
                        "{}: {side} count {}",
                        s.file,
                        g.len()
                    );
                    assert_eq!(
                        g,
                        w[w.len() - g.len()..].to_vec(),
                        "{}: {side} messages",
                        s.file
                    );
                }
            }
            other => panic!("unknown sent mode {other}"),
        }
    }
}

#[test]
fn check_is_clean_on_real_traffic_but_for_capture_problems() {
    for s in manifest() {
        let findings = run(&samples_dir().join(&s.file)).findings;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (sev, code) in &findings {
            assert_ne!(
                *sev,
                Severity::Error,
                "{}: error {code} on clean traffic",
                s.file
            );
            *counts.entry(code.clone()).or_default() += 1;
        }
        assert_eq!(counts, s.check, "{}: findings", s.file);
    }
}
