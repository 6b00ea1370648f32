//! permessage-deflate on real captures from five implementations: every
//! message inflates byte-exact, compression really was in play, and no
//! finding is raised on clean compressed traffic.

mod common;

use std::path::PathBuf;

use wsdissect::event::Event;
use wsdissect::{Config, run as analyze};

#[test]
fn compressed_messages_inflate_byte_exact() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/deflate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            // Those without a readable (or within-cap) handshake have their own tests.
            !n.starts_with("midconn") && !n.starts_with("snapped") && !n.starts_with("oversized")
        })
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

/// Compressed streams captured mid-connection: no handshake, no history.
/// With context takeover a message may need bytes the capture never saw:
/// it is marked undecodable (never printed as garbage); whatever does
/// inflate is exactly what was sent. Without context takeover, every
/// message inflates.
#[test]
fn mid_connection_compression_says_what_it_cannot_inflate() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/deflate");
    for (file, all_decodable) in [
        ("midconn-stream-deflate.pcap", false),
        ("midconn-stream-deflate-nct.pcap", true),
    ] {
        let path = dir.join(file);
        let sent = common::load_sent(&path.with_extension("sent.jsonl"));
        let (mut decoded, mut undecodable) = (Vec::new(), 0);
        let mut findings = Vec::new();
        analyze(
            std::fs::File::open(&path).unwrap(),
            &Config::default(),
            &mut |ev: Event<'_>| match ev {
                Event::Message(m) => {
                    assert!(m.compressed, "{file}");
                    if m.decodable {
                        decoded.push(common::key(m.from.as_str(), m.opcode.as_u8(), m.data));
                    } else {
                        assert!(
                            m.findings
                                .iter()
                                .any(|c| c.as_str() == "deflate.no-context"),
                            "{file}"
                        );
                        undecodable += 1;
                    }
                }
                Event::Finding(f) => findings.push(f.code.as_str()),
                _ => {}
            },
        )
        .unwrap();
        for d in &decoded {
            assert!(sent.contains(d), "{file}: inflated message not in the log");
        }
        if all_decodable {
            assert_eq!(undecodable, 0, "{file}");
            assert_eq!(findings, ["stream.no-handshake"], "{file}");
            // The capture holds the last messages of each side, in order.
            for side in ["client", "server"] {
                let w: Vec<_> = sent.iter().filter(|m| m.0 == side).collect();
                let g: Vec<_> = decoded.iter().filter(|m| m.0 == side).collect();
                assert!(g.len() > 10 && g.len() < w.len(), "{file}: {side}");
                assert_eq!(g, w[w.len() - g.len()..].to_vec(), "{file}: {side}");
            }
        } else {
            assert!(undecodable > 10, "{file}: {undecodable}");
            assert!(
                findings
                    .iter()
                    .all(|c| *c == "stream.no-handshake" || *c == "deflate.no-context"),
                "{file}: {findings:?}"
            );
            assert!(
                findings.len() <= 3,
                "{file}: reported once per direction: {findings:?}"
            );
        }
    }
}
