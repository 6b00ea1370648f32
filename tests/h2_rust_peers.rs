//! WebSockets over HTTP/2 (RFC 8441) between two Rust programs built on the
//! `h2` crate, h2c and TLS 1.3 by rustls (samples/h2/h2rs-*, recorded by
//! samples/record/h2rs_record.sh): every frame and message against what the
//! peers logged sending (stream, opcode, FIN, length, SHA-256 of the
//! payload), a stream reset inside a frame named as one, and a capture that
//! lost one of the client's segments: a gap inside an HTTP/2 connection
//! hides whose stream the bytes were, and no stream may be read blindly
//! across it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{bin, hex, json_lines, sample, unhex};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn h2(name: &str) -> PathBuf {
    sample("h2").join(name)
}

fn run(args: &[&str], cap: &str) -> Vec<Value> {
    let pcap = h2(&format!("{cap}.pcap"));
    let keys = h2(&format!("{cap}.keys"));
    let mut cmd = bin();
    cmd.args(args);
    if keys.exists() {
        cmd.arg("--keylog").arg(&keys);
    }
    let out = cmd.arg(&pcap).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&String::from_utf8(out.stdout).unwrap())
}

fn log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (stream, direction) -> what was sent there, in order.
type Sent = BTreeMap<(u64, String), Vec<(u64, bool, u64, String)>>;

/// What the peers logged sending: `kind` "frame" (every frame) or "msg"
/// (data messages; fin is true).
fn sent(cap: &str, kind: &str) -> Sent {
    let mut out = Sent::new();
    for side in ["client", "server"] {
        for l in log(&h2(&format!("{cap}.{side}.log"))) {
            if l["dir"] != "sent" || l["kind"] != kind {
                continue;
            }
            let op = l["opcode"].as_u64().unwrap();
            if kind == "msg" && !(op == 1 || op == 2) {
                continue;
            }
            out.entry((l["stream"].as_u64().unwrap(), side.to_string()))
                .or_default()
                .push((
                    op,
                    l["fin"].as_bool().unwrap(),
                    l["len"].as_u64().unwrap(),
                    l["sha256"].as_str().unwrap().to_string(),
                ));
        }
    }
    out
}

/// The SHA-256 of the bytes `payload_hex` spells, as the peers log it.
fn sha(payload_hex: &str) -> String {
    hex(&Sha256::digest(unhex(payload_hex)))
}

/// The frames wsdissect reports, as the peers would log them.
fn frames(cap: &str) -> Sent {
    let mut out = Sent::new();
    for f in run(&["frames", "--format", "json", "--payload", "hex"], cap) {
        if f["type"] != "frame" {
            continue;
        }
        assert_eq!(f["carrier"], "h2", "{f}");
        let hex = f["payload_hex"].as_str().unwrap_or("");
        out.entry((
            f["stream"].as_u64().unwrap(),
            f["from"].as_str().unwrap().to_string(),
        ))
        .or_default()
        .push((
            f["opcode"].as_u64().unwrap(),
            f["fin"].as_bool().unwrap(),
            f["payload_len"].as_u64().unwrap(),
            sha(hex),
        ));
    }
    out
}

/// The data messages wsdissect reports.
fn messages(cap: &str) -> Sent {
    let mut out = Sent::new();
    for m in run(&["messages", "--format", "json", "--payload", "hex"], cap) {
        if m["type"] != "message" {
            continue;
        }
        let hex = match (m["data_hex"].as_str(), m["text"].as_str()) {
            (Some(h), _) => h.to_string(),
            (None, Some(t)) => hex(t.as_bytes()),
            _ => panic!("no data in {m}"),
        };
        out.entry((
            m["stream"].as_u64().unwrap(),
            m["from"].as_str().unwrap().to_string(),
        ))
        .or_default()
        .push((
            m["opcode"].as_u64().unwrap(),
            true,
            hex.len() as u64 / 2,
            sha(&hex),
        ));
    }
    out
}

fn findings(cap: &str) -> Vec<Value> {
    run(&["check", "--format", "json"], cap)
        .into_iter()
        .filter(|r| r["type"] == "finding")
        .collect()
}

const CLEAN: &[&str] = &[
    "h2rs-multi",
    "h2rs-tls",
    "h2rs-hpack-rst",
    "h2rs-edges",
    "h2rs-refused",
];

#[test]
fn every_frame_and_message_is_the_one_the_peers_logged() {
    for cap in CLEAN {
        // A frame cut by a stream reset is logged as "partial-frame", not
        // among these: it is not a frame either side received.
        let want = sent(cap, "frame");
        let have = frames(cap);
        assert!(want.len() >= 4, "{cap}: {want:?}");
        assert_eq!(have, want, "{cap}: frames");
        let want = sent(cap, "msg");
        let have = messages(cap);
        assert_eq!(have, want, "{cap}: messages");
    }
}

/// The client's frame cut by its reset: stream, declared payload length,
/// and the bytes of it (header included) sent before the reset.
fn cut_frame(cap: &str) -> (u64, u64, u64) {
    let l = log(&h2(&format!("{cap}.client.log")))
        .into_iter()
        .find(|l| l["kind"] == "partial-frame")
        .unwrap();
    (
        l["stream"].as_u64().unwrap(),
        l["len"].as_u64().unwrap(),
        l["sent_bytes"].as_u64().unwrap(),
    )
}

#[test]
fn conforming_peers_give_no_error_and_a_reset_is_named_as_one() {
    for cap in CLEAN {
        let f = findings(cap);
        assert!(f.iter().all(|x| x["severity"] != "error"), "{cap}: {f:?}");
        if *cap == "h2rs-refused" {
            // The refused extended CONNECT is noted, nothing else.
            let codes: Vec<&Value> = f.iter().map(|x| &x["code"]).collect();
            assert_eq!(codes, ["handshake.rejected"], "{f:?}");
            continue;
        }
        if *cap != "h2rs-hpack-rst" {
            assert!(f.is_empty(), "{cap}: {f:?}");
            continue;
        }
        // RST_STREAM(CANCEL) inside a 10000-byte frame (RFC 9113 section
        // 6.4; RFC 8441 section 5 maps a TCP reset to CANCEL).
        let (stream, len, sent_bytes) = cut_frame(cap);
        let resets: Vec<Value> = log(&h2(&format!("{cap}.client.log")))
            .into_iter()
            .filter(|l| l["event"] == "sent-rst")
            .collect();
        assert_eq!(resets.len(), 1);
        assert_eq!(resets[0]["stream"], stream);
        // A masked client frame of 126..65535 bytes: 2 + 2 + 4 header bytes.
        assert!((126..65536).contains(&len));
        let payload_sent = sent_bytes - 8;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0]["code"], "stream.incomplete-frame");
        assert_eq!(f[0]["stream"], stream);
        assert_eq!(f[0]["from"], "client");
        let msg = f[0]["message"].as_str().unwrap();
        assert_eq!(
            msg,
            format!(
                "the stream is reset (RST_STREAM CANCEL) {payload_sent} bytes into a binary frame that declares {len} payload bytes"
            )
        );
    }
}

#[test]
fn a_gap_in_the_connection_is_not_read_across_blindly() {
    // One of the client's segments (3,497 bytes) is missing from this
    // capture: it held DATA of one stream and a header block. Before, each
    // stream counted the lost bytes as its own frame's, and a stream whose
    // bytes they were not read the rest of its frames from the wrong place:
    // 156 errors (reserved opcodes, unmasked client frames) for conforming
    // peers.
    let cap = "h2rs-lossy";
    let f = findings(cap);
    assert!(f.iter().any(|x| x["code"] == "tcp.gap"), "{f:?}");
    let errors: Vec<&Value> = f.iter().filter(|x| x["severity"] == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Every frame reported is one the peers sent there, in order; nearly
    // all of them are recovered.
    let want = sent(cap, "frame");
    let have = frames(cap);
    let (mut total, mut found) = (0, 0);
    for (key, sent) in &want {
        total += sent.len();
        let got = have.get(key).map_or(&[][..], Vec::as_slice);
        let mut rest = sent.iter();
        for g in got {
            assert!(
                rest.any(|s| s == g),
                "{key:?}: {g:?} is not among the frames sent, in order"
            );
        }
        found += got.len();
    }
    assert!(have.keys().all(|k| want.contains_key(k)), "{have:?}");
    assert!(found * 10 >= total * 9, "{found} of {total} frames");
}

#[test]
fn a_rejected_certificate_leaves_no_warning_of_missing_keys() {
    // rustls's client refused the certificate (its log says so) after the
    // server's Finished arrived but before the application secrets were
    // derived: its key log holds only the handshake secrets, and no record
    // needs the others. Before, `tls.no-keys` said the key log lacked
    // SERVER_TRAFFIC_SECRET_0.
    let cap = "h2rs-cert-rejected";
    assert!(
        log(&h2(&format!("{cap}.client.log")))
            .iter()
            .any(|l| l["event"] == "cert-rejected")
    );
    let keys = std::fs::read_to_string(h2(&format!("{cap}.keys"))).unwrap();
    assert!(keys.contains("SERVER_HANDSHAKE_TRAFFIC_SECRET"));
    assert!(!keys.contains("SERVER_TRAFFIC_SECRET_0"));
    let f = findings(cap);
    assert!(f.iter().all(|x| x["code"] != "tls.no-keys"), "{f:?}");
    // The client's alert is decrypted with its handshake keys (RFC 8446
    // section 6.2: unknown_ca for a certificate whose CA is not trusted).
    assert!(
        f.iter().any(|x| x["code"] == "tls.alert"
            && x["from"] == "client"
            && x["message"].as_str().unwrap().contains("unknown_ca")),
        "{f:?}"
    );
    // A key log that lacks an application secret the records do need is
    // still reported, at the first record that needs it.
    let tls = h2("h2rs-tls.keys");
    let cut: String = std::fs::read_to_string(&tls)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("SERVER_TRAFFIC_SECRET_0"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("h2rs-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("cut.keys");
    std::fs::write(&keys, cut).unwrap();
    let out = bin()
        .args(["check", "--format", "json", "--keylog"])
        .arg(&keys)
        .arg(h2("h2rs-tls.pcap"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let recs = json_lines(&String::from_utf8(out.stdout).unwrap());
    let nk: Vec<&Value> = recs.iter().filter(|r| r["code"] == "tls.no-keys").collect();
    assert_eq!(nk.len(), 1, "{recs:?}");
    assert_eq!(nk[0]["from"], "server");
    assert!(
        nk[0]["message"]
            .as_str()
            .unwrap()
            .contains("SERVER_TRAFFIC_SECRET_0")
    );
}

#[test]
fn explain_says_how_many_data_frames_carried_a_frame_when_it_lists_some() {
    // The client sent one masked 100-byte text frame as one-byte DATA
    // frames (2 + 4 + 100 of them, its log says which stream); explain
    // lists the first and last 8 and the total.
    let cap = "h2rs-edges";
    let sent = sent(cap, "frame");
    let (stream, _) = sent
        .iter()
        .find(|((_, side), fs)| side == "client" && fs.iter().any(|f| f.0 == 1 && f.2 == 100))
        .map(|(k, _)| k.clone())
        .unwrap();
    let recs = run(
        &[
            "explain",
            "--format",
            "json",
            "--max-frames",
            "100000",
            "--stream",
            &stream.to_string(),
        ],
        cap,
    );
    let f = recs
        .iter()
        .find(|r| r["type"] == "explain-frame" && r["payload_len"] == 100 && r["from"] == "client")
        .unwrap();
    let h2 = &f["h2"];
    assert_eq!(h2["stream"], stream);
    assert_eq!(h2["data_total"], 106, "{h2}");
    let data = h2["data"].as_array().unwrap();
    assert_eq!(data.len(), 16);
    assert!(data.iter().all(|d| d[1] == 1 && d[2] == 1), "{h2}");
    // A frame carried by a few DATA frames lists them all.
    let small = recs
        .iter()
        .filter(|r| r["type"] == "explain-frame")
        .find(|r| {
            r["h2"]["data_total"]
                .as_u64()
                .is_some_and(|n| (2..=16).contains(&n))
        })
        .unwrap();
    assert_eq!(
        small["h2"]["data"].as_array().unwrap().len() as u64,
        small["h2"]["data_total"].as_u64().unwrap()
    );
}

#[test]
fn the_connection_row_shows_one_session_not_a_mix_of_them() {
    // Two WebSocket sessions share the connection (streams 1 and 5, each
    // closed with its own reason). The row shows the first session: its
    // path and, in both directions, its own close frames' code and reason
    // (before, each direction took whichever session's close ended first:
    // the client's from one stream, the server's from the other).
    let cap = "h2rs-multi";
    let first = log(&h2(&format!("{cap}.client.log")))
        .into_iter()
        .find(|l| l["event"] == "connect")
        .unwrap();
    let stream = first["stream"].as_u64().unwrap();
    let frames = run(&["frames", "--format", "json"], cap);
    let close_of = |from: &str| {
        frames
            .iter()
            .find(|f| {
                f["type"] == "frame"
                    && f["stream"] == stream
                    && f["from"] == from
                    && f["opcode"] == 8
            })
            .map(|f| (f["close_code"].clone(), f["close_reason"].clone()))
            .unwrap()
    };
    let others: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "frame" && f["opcode"] == 8 && f["stream"] != stream)
        .collect();
    assert!(
        !others.is_empty(),
        "another session closes on this connection"
    );
    assert!(
        others
            .iter()
            .all(|f| (f["close_code"].clone(), f["close_reason"].clone()) != close_of("client"))
    );
    let row = run(&["conns", "--format", "json"], cap)
        .into_iter()
        .find(|r| r["type"] == "conn")
        .unwrap();
    assert_eq!(row["path"], first["path"]);
    assert_eq!(row["status"], 200);
    for (dir, from) in [
        ("client_to_server", "client"),
        ("server_to_client", "server"),
    ] {
        let (code, reason) = close_of(from);
        assert_eq!(row[dir]["close_code"], code, "{dir}");
        assert_eq!(row[dir]["close_reason"], reason, "{dir}");
    }
}

#[test]
fn a_refused_connect_first_does_not_name_the_connections_sessions() {
    // Stream 1's extended CONNECT is refused (403, the client logs its
    // body); streams 7 and 11 open WebSockets. The row shows the first
    // session that opened (before: the refused one's path and 403, over
    // the other streams' frames).
    let cap = "h2rs-refused";
    let client = log(&h2(&format!("{cap}.client.log")));
    assert!(client.iter().any(|l| l["event"] == "reject-response"));
    let opened = client.iter().find(|l| l["event"] == "connect").unwrap();
    let row = run(&["conns", "--format", "json"], cap)
        .into_iter()
        .find(|r| r["type"] == "conn")
        .unwrap();
    assert_eq!(row["path"], opened["path"]);
    assert_eq!(row["status"], 200);
    let sent = sent(cap, "frame");
    let client_frames: usize = sent
        .iter()
        .filter(|((_, side), _)| side == "client")
        .map(|(_, v)| v.len())
        .sum();
    assert_eq!(row["client_to_server"]["frames"], client_frames as u64);
}
