//! permessage-deflate on real captures from five implementations: every
//! message inflates byte-exact, compression really was in play, and no
//! finding is raised on clean compressed traffic.

mod common;

use std::path::PathBuf;

use wsdissect::event::Event;
use wsdissect::{Config, analyze};

#[test]
fn compressed_messages_inflate_byte_exact() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/deflate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "deflate samples missing");
    for path in files {
        let name = path.display().to_string();
        let mut got = Vec::new();
        let mut compressed = 0;
        let (mut wire, mut inflated) = (0u64, 0u64);
        let mut fragmented_compressed = 0;
        let mut findings = Vec::new();
        let mut negotiated = None;
        analyze(
            std::fs::File::open(&path).unwrap(),
            &Config::default(),
            &mut |ev: Event<'_>| match ev {
                Event::Message(m) => {
                    assert!(
                        m.decodable && m.data_complete,
                        "{name}: message at packet {}",
                        m.first_packet
                    );
                    if m.compressed {
                        compressed += 1;
                        wire += m.wire_len;
                        inflated += m.len;
                        if m.frames > 1 {
                            fragmented_compressed += 1;
                        }
                    }
                    got.push(common::key(m.from.as_str(), m.opcode.as_u8(), m.data));
                }
                Event::Finding(f) => findings.push(f.code.as_str()),
                Event::Handshake(_, h) => negotiated = h.deflate.clone(),
                _ => {}
            },
        )
        .unwrap();
        assert!(findings.is_empty(), "{name}: {findings:?}");
        assert!(
            negotiated.is_some(),
            "{name}: permessage-deflate not negotiated"
        );
        assert!(
            compressed >= got.len() / 2,
            "{name}: only {compressed} compressed"
        );
        assert!(
            wire * 4 < inflated,
            "{name}: {wire} wire bytes inflated to only {inflated}"
        );
        if name.contains("websockets") || name.contains("node") {
            assert!(
                fragmented_compressed > 0,
                "{name}: no fragmented compressed message"
            );
        }
        let mut want = common::load_sent(&path.with_extension("sent.jsonl"));
        want.sort();
        got.sort();
        assert_eq!(got.len(), want.len(), "{name}: message count");
        assert!(got == want, "{name}: messages differ from the log");
    }
}
