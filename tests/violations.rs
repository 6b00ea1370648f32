//! Every violation recorded against a real peer is named, with nothing else;
//! `check` exits 1 on each error capture and 0 on the valid-but-unusual ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use wsdissect::event::Event;
use wsdissect::findings::Severity;
use wsdissect::{Config, run as analyze};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/violations")
}

fn manifest() -> BTreeMap<String, BTreeMap<String, usize>> {
    serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn each_capture_raises_exactly_its_findings() {
    let m = manifest();
    assert!(m.len() >= 30);
    for (file, want) in &m {
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        let mut frame_codes: Vec<String> = Vec::new();
        let f = std::fs::File::open(dir().join(file)).unwrap();
        analyze(f, &Config::default(), &mut |ev: Event<'_>| match ev {
            Event::Finding(f) => {
                assert!(
                    f.packet().is_some_and(|p| p > 0) && f.conn() == Some(0),
                    "{file}: located {f:?}"
                );
                assert!(
                    f.message.len() > 20,
                    "{file}: a sentence, not a code: {}",
                    f.message
                );
                *got.entry(f.code.as_str().to_string()).or_default() += 1;
            }
            Event::Frame(fr) => {
                frame_codes.extend(fr.findings.iter().map(|c| c.as_str().to_string()))
            }
            _ => {}
        })
        .unwrap();
        assert_eq!(&got, want, "{file}");
        // Frame-level codes also ride on the frame records.
        for code in want
            .keys()
            .filter(|c| c.starts_with("frame.") && *c != "frame.length-msb-set")
        {
            assert!(
                frame_codes.contains(code),
                "{file}: {code} not on its frame record"
            );
        }
    }
}

#[test]
fn check_exit_status_per_capture() {
    for (file, want) in manifest() {
        let errors = want.keys().any(|c| {
            wsdissect::findings::Code::parse(c).is_some_and(|c| c.severity() == Severity::Error)
        });
        let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .arg("check")
            .arg(dir().join(&file))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(if errors { 1 } else { 0 }),
            "{file}"
        );
    }
}
