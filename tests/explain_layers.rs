//! `explain` through every layer: the subprotocol beside each message
//! (issue 16), the TLS layer (issue 14) and the HTTP/2 layer (issue 15).
//! Every value the walkthrough prints is checked against another output
//! (`app`, `frames`, `messages` in JSON), tshark, or an independent
//! computation here with the RustCrypto crates.

mod common;

use common::{json_lines as lines, stdout_ok as run};

use std::collections::BTreeSet;
use std::process::Command;

use common::sample;
use serde_json::Value;

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

// ---------------------------------------------------------------------
// Subprotocols (issue 16)
// ---------------------------------------------------------------------

/// For every connection of every app sample: the units explain lists
/// beside its messages are, in order, the `app` records of that connection
/// (protocol, kind, direction, packet), and each sits beside a message of
/// its direction completed by the unit's packet.
#[test]
fn subprotocol_units_beside_messages_equal_app_records() {
    let mut checked = 0;
    for name in [
        "app/mqtt311.pcap",
        "app/mqtt5.pcap",
        "app/stomp.pcap",
        "app/socketio-app.pcap",
        "app/graphql-ws.pcap",
    ] {
        let p = sample(name);
        let p = p.to_str().unwrap();
        let app = lines(&run(&["app", "--format", "json", p]));
        assert!(!app.is_empty(), "{name}: no app records");
        let conns: BTreeSet<u64> = app.iter().map(|r| r["conn"].as_u64().unwrap()).collect();
        for conn in conns {
            let want: Vec<(String, String, String, u64)> = app
                .iter()
                .filter(|r| r["conn"] == conn)
                .map(|r| {
                    (
                        r["protocol"].as_str().unwrap().to_string(),
                        r["kind"].as_str().unwrap().to_string(),
                        r["from"].as_str().unwrap().to_string(),
                        r["packet"].as_u64().unwrap(),
                    )
                })
                .collect();
            let c = conn.to_string();
            let ex = lines(&run(&["explain", "--format", "json", "--conn", &c, p]));
            let frames = lines(&run(&["frames", "--format", "json", p]));
            let mut got = Vec::new();
            let mut cut = BTreeSet::new();
            for m in of_type(&ex, "explain-message") {
                let from = m["from"].as_str().unwrap();
                if m["app_cut"] == true {
                    // Longer than explain keeps (64 KiB): flagged, not decoded.
                    assert!(m["len"].as_u64().unwrap() > 64 << 10, "{m}");
                    let last = m["frames"].as_array().unwrap().last().unwrap();
                    let fr: Vec<&Value> = frames.iter().filter(|f| f["conn"] == conn).collect();
                    let p = fr[last.as_u64().unwrap() as usize - 1]["packet"]
                        .as_u64()
                        .unwrap();
                    cut.insert((from.to_string(), p));
                }
                for u in m["app"].as_array().into_iter().flatten() {
                    let packet = u["packet"].as_u64().unwrap();
                    // The message's last frame came in the unit's packet.
                    let last = m["frames"].as_array().unwrap().last().unwrap();
                    let last = last.as_u64().unwrap() as usize;
                    let fr: Vec<&Value> = frames.iter().filter(|f| f["conn"] == conn).collect();
                    assert_eq!(
                        fr[last - 1]["packet"].as_u64(),
                        Some(packet),
                        "{name} conn {conn}: unit {u} beside message {}",
                        m["index"]
                    );
                    got.push((
                        u["protocol"].as_str().unwrap().to_string(),
                        u["kind"].as_str().unwrap().to_string(),
                        from.to_string(),
                        packet,
                    ));
                }
            }
            let want: Vec<_> = want
                .into_iter()
                .filter(|w| !cut.contains(&(w.2.clone(), w.3)))
                .collect();
            assert_eq!(got, want, "{name} conn {conn}");
            checked += got.len();
        }
    }
    assert!(checked > 50, "only {checked} units checked");
}

/// The text walkthrough names the subprotocol and shows each unit under
/// its message.
#[test]
fn subprotocol_in_the_text_walkthrough() {
    let p = sample("app/mqtt5.pcap");
    let t = run(&["explain", "--color", "never", p.to_str().unwrap()]);
    assert!(t.contains("Subprotocol mqtt"), "{t}");
    let app = lines(&run(&["app", "--format", "json", p.to_str().unwrap()]));
    let first = app.iter().find(|r| r["conn"] == 0).unwrap();
    let kind = first["kind"].as_str().unwrap();
    assert!(t.contains(&format!("⤷ mqtt {kind}")), "{t}");
}

// ---------------------------------------------------------------------
// TLS (issue 14)
// ---------------------------------------------------------------------

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key log's secret for (label, client random), read here line by line.
fn keylog_secret(keys: &str, label: &str, random: &str) -> Option<Vec<u8>> {
    keys.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == label && it.next()?.eq_ignore_ascii_case(random))
            .then(|| unhex(it.next().unwrap()))
    })
}

/// RFC 8446 section 7.1, written out here: HKDF-Expand(secret, HkdfLabel, len).
fn expand_label(sha384: bool, secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = (len as u16).to_be_bytes().to_vec();
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    let mut out = vec![0; len];
    if sha384 {
        Hkdf::<Sha384>::from_prk(secret)
            .unwrap()
            .expand(&info, &mut out)
            .unwrap();
    } else {
        Hkdf::<Sha256>::from_prk(secret)
            .unwrap()
            .expand(&info, &mut out)
            .unwrap();
    }
    out
}

/// RFC 5246 section 5, written out here: P_hash(secret, label + seed).
fn prf(sha384: bool, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    fn hm(sha384: bool, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        if sha384 {
            let mut m = <Hmac<Sha384> as KeyInit>::new_from_slice(key).unwrap();
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        } else {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        }
    }
    let mut a = hm(sha384, secret, &[seed]);
    let mut out = Vec::new();
    while out.len() < len {
        out.extend(hm(sha384, secret, &[&a, seed]));
        a = hm(sha384, secret, &[&a]);
    }
    out.truncate(len);
    out
}

fn xor_seq(iv: &[u8], seq: u64) -> Vec<u8> {
    let mut n = iv.to_vec();
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

/// Every TLS sample with a WebSocket: each value explain prints (secret,
/// key, IV or salt, MAC key, nonce) equals a computation here from the key
/// log line; the tag verified; the plaintext that came out is the HTTP
/// upgrade that `conns --format json` reports (its path, key and accept).
#[test]
fn tls_walkthrough_values_equal_an_independent_derivation() {
    let dir = common::sample("tls");
    let mut walked = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if ext != "pcap" && ext != "pcapng" {
            continue;
        }
        let keys_path = p.with_extension("keys");
        let mut args = vec!["explain", "--format", "json"];
        let ks = keys_path.to_str().unwrap().to_string();
        let keys = if keys_path.exists() {
            args.extend(["--keylog", &ks]);
            std::fs::read_to_string(&keys_path).unwrap()
        } else if ext == "pcapng" {
            // Keys inside the capture (a Decryption Secrets Block holds
            // key log text): its lines, from the label on.
            let dsb = std::fs::read(&p).unwrap();
            String::from_utf8_lossy(&dsb)
                .lines()
                .filter_map(|l| {
                    let at = ["CLIENT_", "SERVER_"]
                        .iter()
                        .filter_map(|k| l.find(k))
                        .min()?;
                    Some(l[at..].to_string())
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            continue;
        };
        let ps = p.to_str().unwrap().to_string();
        args.push(&ps);
        let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(&args)
            .output()
            .unwrap();
        let recs = lines(&String::from_utf8(out.stdout).unwrap());
        let Some(t) = recs.iter().find(|r| r["type"] == "explain-tls") else {
            continue;
        };
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let mut margs: Vec<&str> = vec!["conns", "--format", "json"];
        margs.extend(args[3..].iter().copied());
        let msgs = lines(&run(&margs));
        let hs = msgs
            .iter()
            .find(|r| r["type"] == "handshake")
            .unwrap_or_else(|| panic!("{name}: no handshake"));
        let cipher = t["cipher"].as_str().unwrap();
        let sha384 = cipher.ends_with("SHA384");
        let random = t["client_random"].as_str().unwrap();
        assert_eq!(t["version"], hs["tls"]["version"], "{name}");
        assert_eq!(t["cipher"], hs["tls"]["cipher"], "{name}");
        let records = t["records"].as_array().unwrap();
        assert_eq!(records.len(), 2, "{name}: {t}");
        for r in records {
            let client = r["from"] == "client";
            let label = r["keylog_label"].as_str().unwrap();
            let secret = keylog_secret(&keys, label, random)
                .unwrap_or_else(|| panic!("{name}: no {label} line for {random}"));
            assert_eq!(r["secret"].as_str().unwrap(), hexs(&secret), "{name}");
            let seq = r["seq"].as_u64().unwrap();
            let key_len = if cipher.contains("AES_128") { 16 } else { 32 };
            if t["version"] == "1.3" {
                let key = expand_label(sha384, &secret, "key", key_len);
                let iv = expand_label(sha384, &secret, "iv", 12);
                assert_eq!(r["key"].as_str().unwrap(), hexs(&key), "{name}");
                assert_eq!(r["iv"].as_str().unwrap(), hexs(&iv), "{name}");
                assert_eq!(
                    r["nonce"].as_str().unwrap(),
                    hexs(&xor_seq(&iv, seq)),
                    "{name}"
                );
                assert_eq!(r["aad"], r["header"], "{name}");
            } else {
                let mut seed = b"key expansion".to_vec();
                seed.extend(unhex(t["server_random"].as_str().unwrap()));
                seed.extend(unhex(random));
                let cbc = cipher.contains("_CBC_");
                if cbc {
                    let ml = if cipher.ends_with("SHA384") {
                        48
                    } else if cipher.ends_with("SHA256") {
                        32
                    } else {
                        20
                    };
                    let kb = prf(sha384, &secret, &seed, 2 * ml + 2 * key_len);
                    let (mo, ko) = if client {
                        (0, 2 * ml)
                    } else {
                        (ml, 2 * ml + key_len)
                    };
                    assert_eq!(
                        r["mac_key"].as_str().unwrap(),
                        hexs(&kb[mo..mo + ml]),
                        "{name}"
                    );
                    assert_eq!(
                        r["key"].as_str().unwrap(),
                        hexs(&kb[ko..ko + key_len]),
                        "{name}"
                    );
                } else {
                    let ivl = if cipher.contains("CHACHA") { 12 } else { 4 };
                    let kb = prf(sha384, &secret, &seed, 2 * key_len + 2 * ivl);
                    let (ko, io) = if client {
                        (0, 2 * key_len)
                    } else {
                        (key_len, 2 * key_len + ivl)
                    };
                    let iv = &kb[io..io + ivl];
                    assert_eq!(
                        r["key"].as_str().unwrap(),
                        hexs(&kb[ko..ko + key_len]),
                        "{name}"
                    );
                    assert_eq!(r["iv"].as_str().unwrap(), hexs(iv), "{name}");
                    let nonce = if ivl == 12 {
                        hexs(&xor_seq(iv, seq))
                    } else {
                        format!("{}{}", hexs(iv), r["explicit_nonce"].as_str().unwrap())
                    };
                    assert_eq!(r["nonce"].as_str().unwrap(), nonce, "{name}");
                }
            }
            assert_eq!(r["tag_ok"], true, "{name}");
            let plain = String::from_utf8(unhex(r["plaintext_hex"].as_str().unwrap())).unwrap();
            assert!(plain.starts_with(r["plaintext_text"].as_str().unwrap().get(..10).unwrap()));
            if client {
                let line = format!("GET {} HTTP/1.1\r\n", hs["path"].as_str().unwrap());
                assert!(plain.starts_with(&line), "{name}: {plain:?}");
                let key = hs["key"].as_str().unwrap();
                assert!(
                    plain
                        .to_ascii_lowercase()
                        .contains(&format!("sec-websocket-key: {}", key.to_ascii_lowercase())),
                    "{name}"
                );
            } else {
                assert!(plain.starts_with("HTTP/1.1 101"), "{name}: {plain:?}");
                let acc = hs["accept"].as_str().unwrap();
                assert!(plain.contains(acc), "{name}");
            }
        }
        walked.insert(name);
    }
    for must in [
        "py-tls13.pcap",
        "node-tls12-aes128gcm.pcap",
        "node-tls12-chacha.pcap",
        "node-tls12-cbc-sha384.pcap",
        "node-tls13-chacha.pcap",
        "py-tls13-dsb.pcapng",
    ] {
        assert!(
            walked.contains(must),
            "{must} not walked through: {walked:?}"
        );
    }
}

/// Without keys there is no TLS walkthrough (nothing decrypted), and the
/// text says what the key log line and the AEAD tag were.
#[test]
fn tls_text_walkthrough_names_its_steps() {
    let p = sample("tls/node-tls13-aes256.pcap");
    let k = sample("tls/node-tls13-aes256.keys");
    let t = run(&[
        "explain",
        "--color",
        "never",
        "--keylog",
        k.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    for want in [
        "The TLS layer",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "HKDF-Expand-Label(secret, \"key\"",
        "nonce",
        "AEAD tag",
        "✓ decrypted and authenticated again here",
        "GET ",
    ] {
        assert!(t.contains(want), "{want} missing:\n{t}");
    }
    let n = sample("tls/py-tls13-nokeys.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["explain", "--format", "json", n.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("explain-tls"));
}

// ---------------------------------------------------------------------
// HTTP/2 (issue 15)
// ---------------------------------------------------------------------

/// tshark's HTTP/2 frames: (packet, stream, length, type) for each.
fn tshark_h2(p: &str) -> Vec<(u64, u64, u64, u64)> {
    let out = Command::new("tshark")
        .args([
            "-r",
            p,
            "-o",
            "http2.tcp.port:0",
            "-d",
            "tcp.port==9201,http2",
            "-Y",
            "http2",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "http2.streamid",
            "-e",
            "http2.length",
            "-e",
            "http2.type",
        ])
        .output()
        .expect("tshark");
    let mut v = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = l.split('\t').collect();
        if c.len() < 4 || c[1].is_empty() {
            continue;
        }
        let pk: u64 = c[0].parse().unwrap();
        let s: Vec<&str> = c[1].split(',').collect();
        let len: Vec<&str> = c[2].split(',').collect();
        let ty: Vec<&str> = c[3].split(',').collect();
        for i in 0..s.len().min(len.len()).min(ty.len()) {
            v.push((
                pk,
                s[i].parse().unwrap(),
                len[i].parse().unwrap(),
                ty[i].parse().unwrap(),
            ));
        }
    }
    v
}

/// Each WebSocket stream of h2-ws.pcap walked through with --stream: the
/// extended CONNECT and its 200 (their HEADERS frames as tshark sees
/// them), the other streams listed, and the WebSocket frames of that
/// stream only, equal to `frames --format json` of that stream, each with
/// DATA frames of that stream that tshark sees in those packets and whose
/// payloads cover the frame.
#[test]
fn h2_walkthrough_per_stream_matches_frames_and_tshark() {
    let p = sample("h2/h2-ws.pcap");
    let p = p.to_str().unwrap();
    let frames = lines(&run(&["frames", "--format", "json", p]));
    let streams: BTreeSet<u64> = frames.iter().filter_map(|f| f["stream"].as_u64()).collect();
    assert!(streams.len() >= 2, "{streams:?}");
    let ts = tshark_h2(p);
    assert!(!ts.is_empty(), "tshark saw no HTTP/2");
    for (i, &s) in streams.iter().enumerate() {
        let ss = s.to_string();
        let mut args = vec!["explain", "--format", "json", p];
        if i > 0 {
            args.extend(["--stream", &ss]);
        }
        let ex = lines(&run(&args));
        let h = of_type(&ex, "explain-h2");
        assert_eq!(h.len(), 1, "stream {s}");
        let h = h[0];
        assert_eq!(h["stream"], s);
        assert_eq!(h["enable_connect_protocol"], 1);
        let others: BTreeSet<u64> = h["other_streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let mut want_others = streams.clone();
        want_others.remove(&s);
        assert_eq!(others, want_others);
        let field = |b: &Value, n: &str| {
            b["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == n)
                .map(|f| f["value"].as_str().unwrap().to_string())
        };
        let req = &h["request"];
        assert_eq!(field(req, ":method").as_deref(), Some("CONNECT"));
        assert_eq!(field(req, ":protocol").as_deref(), Some("websocket"));
        assert!(field(req, ":path").is_some() && field(req, ":authority").is_some());
        assert_eq!(field(&h["response"], ":status").as_deref(), Some("200"));
        for b in [req, &h["response"]] {
            for f in b["fields"].as_array().unwrap() {
                let r = f["representation"].as_str().unwrap();
                assert!(r == "indexed" || r.starts_with("literal"), "{f}");
            }
            for fr in b["frames"].as_array().unwrap() {
                let t = (
                    fr["packet"].as_u64().unwrap(),
                    fr["stream"].as_u64().unwrap(),
                    fr["length"].as_u64().unwrap(),
                    1,
                );
                assert!(ts.contains(&t), "HEADERS {fr} not in tshark's frames");
            }
            assert!(!b["frames"].as_array().unwrap().is_empty());
        }
        // The WebSocket frames: those of this stream only, as `frames` has them.
        let want: Vec<&Value> = frames.iter().filter(|f| f["stream"] == s).collect();
        let got = of_type(&ex, "explain-frame");
        assert_eq!(got.len(), want.len(), "stream {s}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g["packet"], w["packet"]);
            assert_eq!(g["opcode"], w["opcode"]);
            assert_eq!(g["payload_len"], w["payload_len"]);
            assert_eq!(g["from"], w["from"]);
            assert_eq!(g["h2"]["stream"], s);
            let data = g["h2"]["data"].as_array().unwrap();
            assert!(!data.is_empty(), "{g}");
            let mut payload = 0;
            for d in data {
                let (pk, len, n) = (
                    d[0].as_u64().unwrap(),
                    d[1].as_u64().unwrap(),
                    d[2].as_u64().unwrap(),
                );
                assert!(
                    ts.contains(&(pk, s, len, 0)),
                    "DATA ({pk}, {len}) on stream {s} not in tshark"
                );
                payload += n;
            }
            let header = g["header_hex"].as_str().unwrap().split_whitespace().count() as u64;
            assert!(
                payload >= header + w["payload_len"].as_u64().unwrap() || data.len() > 1,
                "{g}"
            );
            // The frame's last DATA frame came in the frame's packet.
            assert_eq!(data.last().unwrap()[0], w["packet"]);
        }
    }
}

/// The text walkthrough of an h2 session explains SETTINGS, the extended
/// CONNECT beside the HTTP/1.1 upgrade, HPACK, and does not call the 200 a
/// refusal.
#[test]
fn h2_text_walkthrough() {
    let p = sample("h2/h2-ws.pcap");
    let t = run(&["explain", "--color", "never", p.to_str().unwrap()]);
    for want in [
        "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1",
        ":protocol: websocket",
        "HPACK: indexed",
        "HPACK: literal",
        "Sec-WebSocket-Accept",
        "HTTP/2 stream 1, carried by DATA frame",
        "stream(s) 3",
    ] {
        assert!(t.contains(want), "{want} missing:\n{t}");
    }
    assert!(!t.contains("refused the upgrade"), "{t}");
    let s3 = run(&[
        "explain",
        "--color",
        "never",
        "--stream",
        "3",
        p.to_str().unwrap(),
    ]);
    assert!(s3.contains("HTTP/2 stream 3, carried by"), "{s3}");
    assert!(!s3.contains("HTTP/2 stream 1, carried by"), "{s3}");
}

/// A `--stream` that names no WebSocket session exits 2 with one line
/// naming it, as `--conn`, `--frame` and `--packet` do.
#[test]
fn a_stream_that_is_not_there_exits_2() {
    let p = sample("h2/h2-ws.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["explain", "--stream", "5", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("stream 5"), "{err}");
}
