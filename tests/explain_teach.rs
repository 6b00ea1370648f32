//! `explain`'s second edition: the TCP section (per-frame segments and
//! ACKs, keepalives, heartbeats) checked against tshark's own analysis of
//! the same packets (NAME.tshark-tcp.tsv, made by
//! samples/record/tcp_tshark_expect.sh) and against `frames --format json`;
//! the permessage-deflate walkthrough checked against `messages --format
//! json` and, on random and real data, against flate2.

mod common;

use common::{json_lines as jsonl, stdout_ok as run};

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use common::sample;
use proptest::prelude::*;
use serde_json::Value;
use wsdissect::explain::deflate::{self, Token};

fn records(cmd: &str, name: &str, extra: &[&str]) -> Vec<Value> {
    let p = sample(name);
    let mut args = vec![cmd, "--format", "json"];
    args.extend_from_slice(extra);
    args.push(p.to_str().unwrap());
    jsonl(&run(&args))
}

/// One packet as tshark analysed it.
#[derive(Debug, Clone)]
struct Pkt {
    number: u64,
    time: f64,
    port: u16,
    syn: bool,
    fin: bool,
    seq: i64,
    nxtseq: i64,
    ack: i64,
    len: i64,
    keep_alive: bool,
    keep_alive_ack: bool,
    stream: u64,
}

fn tshark(name: &str) -> Vec<Pkt> {
    let base = name.rsplit_once('.').unwrap().0;
    let text = std::fs::read_to_string(sample(&format!("{base}.tshark-tcp.tsv"))).unwrap();
    let num = |s: &str| s.parse::<i64>().unwrap_or(0);
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Pkt {
                number: c[0].parse().unwrap(),
                time: c[1].parse().unwrap(),
                port: c[2].parse().unwrap(),
                syn: c[3] == "1",
                fin: c[4] == "1",
                seq: num(c[5]),
                nxtseq: num(c[6]),
                ack: num(c[7]),
                len: num(c[8]),
                keep_alive: c[9] == "1",
                keep_alive_ack: c[10] == "1",
                stream: c[11].parse().unwrap(),
            }
        })
        .collect()
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// The header length of a frame from its `frames` record.
fn frame_len(f: &Value) -> i64 {
    let n = f["payload_len"].as_i64().unwrap();
    let ext = if n < 126 {
        0
    } else if n < 65536 {
        2
    } else {
        8
    };
    let mask = if f["masked"].as_bool().unwrap() { 4 } else { 0 };
    2 + ext + mask + n
}

/// Every statement of the TCP section on `name`'s first WebSocket
/// connection, checked against tshark and the frames records.
fn check_tcp(name: &str) {
    let ex = records("explain", name, &["--max-frames", "100000"]);
    let conn = ex[0]["conn"]["id"].as_u64().unwrap();
    let client_port = port_of(ex[0]["conn"]["client"].as_str().unwrap());
    let frames: Vec<Value> = records("frames", name, &[])
        .into_iter()
        .filter(|f| f["conn"].as_u64() == Some(conn))
        .collect();
    let efr: Vec<&Value> = ex.iter().filter(|r| r["type"] == "explain-frame").collect();
    assert_eq!(efr.len(), frames.len(), "{name}: every frame is explained");
    let pk = tshark(name);
    let by_no: HashMap<u64, &Pkt> = pk.iter().map(|p| (p.number, p)).collect();
    // tshark's stream of the connection: the one its first frame's packet is in.
    let stream = by_no[&frames[0]["packet"].as_u64().unwrap()].stream;
    let pk: Vec<&Pkt> = pk.iter().filter(|p| p.stream == stream).collect();
    let mut last_end: HashMap<bool, i64> = HashMap::new();
    let mut counts: HashMap<(bool, &str), u32> = HashMap::new();
    for (e, f) in efr.iter().zip(&frames) {
        assert_eq!(e["packet"], f["packet"]);
        let t = &e["tcp"];
        assert!(t.is_object(), "{name}: frame {} has its TCP", e["index"]);
        let from_client = f["from"] == "client";
        let (seq, end) = (t["seq"].as_i64().unwrap(), t["end"].as_i64().unwrap());
        // Its bytes: as long as the frame, right after the previous frame
        // of its side, ending inside the packet that completed it.
        assert_eq!(
            end - seq,
            frame_len(f),
            "{name}: frame {} length",
            e["index"]
        );
        if let Some(prev) = last_end.insert(from_client, end) {
            assert_eq!(
                seq, prev,
                "{name}: frame {} follows the previous",
                e["index"]
            );
        }
        // Its last byte came in a packet of its side no later than the one
        // that completed it (with reordering, that one may fill a hole).
        let done = f["packet"].as_u64().unwrap();
        let _carrier = *pk
            .iter()
            .find(|p| {
                p.number <= done
                    && (p.port == client_port) == from_client
                    && p.seq < end
                    && end <= p.nxtseq
            })
            .unwrap_or_else(|| panic!("{name}: frame {} ends in no packet", e["index"]));
        // The segments listed are tshark's packets with tshark's numbers.
        for s in t["segments"].as_array().unwrap() {
            let p = by_no[&s["packet"].as_u64().unwrap()];
            assert_eq!(s["seq"].as_i64().unwrap(), p.seq);
            assert_eq!(s["len"].as_i64().unwrap(), p.len);
            assert_eq!(p.port == client_port, from_client);
            assert!(p.seq < end && p.nxtseq > seq);
        }
        // The ACK: the first packet of the other side whose tcp.ack covers
        // the frame's last byte.
        let want = pk
            .iter()
            .find(|p| (p.port == client_port) != from_client && p.ack >= end && !p.syn);
        match (want, t["ack"].as_object()) {
            (Some(p), Some(a)) => {
                assert_eq!(
                    a["packet"].as_u64(),
                    Some(p.number),
                    "{name}: frame {} ACK",
                    e["index"]
                );
                let piggy = p.len > 0;
                assert_eq!(
                    a["how"] == "piggybacked",
                    piggy,
                    "{name}: frame {}",
                    e["index"]
                );
                let completed = by_no[&done];
                let ms = ((p.time - completed.time) * 1000.0).max(0.0);
                assert!(
                    (a["after_ms"].as_f64().unwrap() - ms).abs() < 0.01,
                    "{ms} vs {a:?}"
                );
                // The delayed rule, on tshark's times: the round trip to the
                // receiver is read off the handshake.
                if !piggy {
                    let hs: Vec<&&Pkt> = pk.iter().take(3).collect();
                    let rtt = if hs.len() == 3 && hs[0].syn && hs[1].syn {
                        if from_client {
                            hs[1].time - hs[0].time
                        } else {
                            hs[2].time - hs[1].time
                        }
                    } else {
                        0.0
                    } * 1000.0;
                    let covers = a["covers"].as_u64().unwrap();
                    // The newest data segment it covers: the frame's own
                    // (covers 1) or a later one of the same side.
                    if covers <= 1 {
                        assert_eq!(
                            a["delayed"].as_bool().unwrap(),
                            ms - rtt > 10.0,
                            "{name}: frame {} {ms} ms",
                            e["index"]
                        );
                    } else {
                        assert!(a["delayed"].as_bool().unwrap());
                    }
                    *counts
                        .entry((
                            from_client,
                            if a["delayed"].as_bool().unwrap() {
                                "delayed"
                            } else {
                                "pure"
                            },
                        ))
                        .or_default() += 1;
                }
                *counts
                    .entry((from_client, if piggy { "piggy" } else { "pure-all" }))
                    .or_default() += 1;
            }
            (None, None) => {
                *counts.entry((from_client, "unacked")).or_default() += 1;
            }
            (w, a) => panic!("{name}: frame {}: tshark {w:?}, explain {a:?}", e["index"]),
        }
    }
    let story = ex.iter().find(|r| r["type"] == "explain-tcp").unwrap();
    for (client, key) in [(true, "client_frames"), (false, "server_frames")] {
        let c = &story[key];
        let get = |k: &str| u64::from(counts.get(&(client, k)).copied().unwrap_or(0));
        assert_eq!(
            c["piggybacked"].as_u64().unwrap(),
            get("piggy"),
            "{name} {key}"
        );
        assert_eq!(c["pure"].as_u64().unwrap(), get("pure-all"), "{name} {key}");
        assert_eq!(
            c["delayed"].as_u64().unwrap(),
            get("delayed"),
            "{name} {key}"
        );
        assert_eq!(
            c["unacked"].as_u64().unwrap(),
            get("unacked"),
            "{name} {key}"
        );
        let n = frames
            .iter()
            .filter(|f| (f["from"] == "client") == client)
            .count() as u64;
        assert_eq!(c["frames"].as_u64().unwrap(), n, "{name} {key}");
    }
    // Keepalives and their answers: exactly tshark's.
    let ka: BTreeSet<u64> = pk
        .iter()
        .filter(|p| p.keep_alive)
        .map(|p| p.number)
        .collect();
    let kack: BTreeSet<u64> = pk
        .iter()
        .filter(|p| p.keep_alive_ack)
        .map(|p| p.number)
        .collect();
    let list = story["keepalive_list"].as_array().unwrap();
    let ours: BTreeSet<u64> = list.iter().map(|k| k["packet"].as_u64().unwrap()).collect();
    let answers: BTreeSet<u64> = list.iter().filter_map(|k| k["answer"].as_u64()).collect();
    assert_eq!(ours, ka, "{name}: keepalive probes");
    assert_eq!(answers, kack, "{name}: keepalive ACKs");
    assert_eq!(story["keepalives"].as_u64().unwrap(), ka.len() as u64);
    assert_eq!(story["keepalive_acks"].as_u64().unwrap(), kack.len() as u64);
    for k in list {
        let p = by_no[&k["packet"].as_u64().unwrap()];
        if let Some(a) = k["answer"].as_u64() {
            let q = by_no[&a];
            assert_ne!(p.port, q.port);
            assert!((k["answer_ms"].as_f64().unwrap() - (q.time - p.time) * 1000.0).abs() < 0.01);
        }
        // Idle since the previous segment that was no keepalive business.
        let before = pk
            .iter()
            .rev()
            .find(|q| q.number < p.number && !q.keep_alive && !q.keep_alive_ack)
            .unwrap();
        assert!((k["idle_s"].as_f64().unwrap() - (p.time - before.time)).abs() < 1e-4);
    }
    // Segment counts by kind, as tshark sees them.
    let data = pk.iter().filter(|p| p.len > 0 && !p.keep_alive).count() as u64;
    assert_eq!(
        story["data_segments"].as_u64().unwrap() + story["retransmissions"].as_u64().unwrap(),
        data
    );
    assert_eq!(
        story["segments"].as_u64().unwrap(),
        pk.len() as u64,
        "{name}: segments"
    );
    let pure = pk
        .iter()
        .filter(|p| p.len == 0 && !p.syn && !p.fin && !p.keep_alive && !p.keep_alive_ack)
        .count() as u64;
    assert_eq!(
        story["pure_acks"].as_u64().unwrap(),
        pure,
        "{name}: pure ACKs"
    );
    // Heartbeats: the ping frames, their intervals and pongs.
    let pings: Vec<&Value> = frames.iter().filter(|f| f["opcode"] == 9).collect();
    let hb = story["heartbeats"].as_array().unwrap();
    assert_eq!(hb.len(), pings.len());
    for (i, (h, p)) in hb.iter().zip(&pings).enumerate() {
        assert_eq!(h["packet"], p["packet"]);
        if i > 0 {
            let d = p["ts"].as_f64().unwrap() - pings[i - 1]["ts"].as_f64().unwrap();
            assert!((h["since_previous_s"].as_f64().unwrap() - d).abs() < 1e-4);
        }
    }
}

#[test]
fn tcp_section_matches_tshark_on_the_keepalive_sample() {
    check_tcp("tcp/keepalive.pcap");
    // The sample holds what the section is for.
    let ex = records("explain", "tcp/keepalive.pcap", &[]);
    let story = ex.iter().find(|r| r["type"] == "explain-tcp").unwrap();
    assert!(story["keepalives"].as_u64().unwrap() >= 3);
    assert!(story["heartbeats"].as_array().unwrap().len() >= 2);
    assert!(story["client_frames"]["piggybacked"].as_u64().unwrap() >= 1);
    assert!(story["server_frames"]["pure"].as_u64().unwrap() >= 1);
    assert!(story["server_frames"]["delayed"].as_u64().unwrap() >= 1);
}

#[test]
fn tcp_section_matches_tshark_on_other_samples() {
    for name in [
        "python-echo.pcap",
        "lossy.pcap",
        "deflate/websockets-default.pcap",
        "deflate/node-deflate.pcap",
    ] {
        check_tcp(name);
    }
}

#[test]
fn tcp_section_is_in_text_and_html() {
    let p = sample("tcp/keepalive.pcap");
    let text = run(&["explain", "--color", "never", p.to_str().unwrap()]);
    let story = records("explain", "tcp/keepalive.pcap", &[]);
    let story = story.iter().find(|r| r["type"] == "explain-tcp").unwrap();
    let n = story["keepalives"].as_u64().unwrap();
    assert!(
        text.contains(&format!("sent {n} TCP keepalive probes")),
        "{text}"
    );
    assert!(text.contains("piggybacked on packet #"));
    let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
    assert!(html.contains("<h2 id=\"tcp\">"));
    assert!(html.contains("href=\"#tcp\""));
    assert_eq!(
        html.matches("<p class=\"frame-tcp ").count(),
        records("frames", "tcp/keepalive.pcap", &[]).len()
    );
}

/// A raw DEFLATE stream inflated by flate2 (zlib): its output, or `None`
/// when zlib rejects it.
fn zlib_inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(1 << 16);
    match d.decompress_vec(data, &mut out, flate2::FlushDecompress::Sync) {
        Ok(_) => Some(out),
        Err(_) => None,
    }
}

/// Replays tokens over a window: the bytes they stand for.
fn replay(window: &[u8], w: &Value) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for b in w["blocks"].as_array().unwrap() {
        for t in b["tokens"].as_array().unwrap() {
            match t["token"].as_str().unwrap() {
                "literal" => out.push(t["byte"].as_u64().unwrap() as u8),
                "match" => {
                    let (len, dist) = (
                        t["length"].as_u64().unwrap() as usize,
                        t["distance"].as_u64().unwrap() as usize,
                    );
                    for _ in 0..len {
                        let byte = if dist <= out.len() {
                            out[out.len() - dist]
                        } else {
                            window[window.len() + out.len() - dist]
                        };
                        out.push(byte);
                    }
                }
                "stored" => assert_eq!(t["len"], 0, "stored bytes: none in these samples"),
                "end-of-block" => {}
                x => panic!("{x}"),
            }
        }
    }
    out
}

#[test]
fn deflate_tokens_reproduce_the_inflated_messages() {
    let dir = sample("deflate");
    let mut walked = 0;
    let mut into_window = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("pcap") {
            continue;
        }
        let name = format!("deflate/{}", path.file_name().unwrap().to_str().unwrap());
        let ex = records("explain", &name, &[]);
        let Some(d) = ex.iter().find(|r| r["type"] == "explain-deflate") else {
            continue;
        };
        let conn = ex[0]["conn"]["id"].as_u64().unwrap();
        let msgs: Vec<Value> = records("messages", &name, &["--payload", "hex"])
            .into_iter()
            .filter(|m| m["conn"].as_u64() == Some(conn))
            .collect();
        let bytes = |m: &Value| -> Vec<u8> {
            match m["text"].as_str() {
                Some(t) => t.as_bytes().to_vec(),
                None => hex(m["data_hex"].as_str().unwrap_or("")),
            }
        };
        let nct = |from: &str| {
            d["params"].as_array().unwrap().iter().any(|p| {
                p["name"] == format!("{from}_no_context_takeover") && p["value"].is_string()
            })
        };
        for m in d["messages"].as_array().unwrap() {
            let i = m["message"].as_u64().unwrap() as usize;
            let msg = &msgs[i - 1];
            assert_eq!(msg["from"], m["from"], "{name}: message {i}");
            let from = msg["from"].as_str().unwrap();
            // The window: the earlier messages of its side, unless reset.
            let window: Vec<u8> = if nct(from) {
                Vec::new()
            } else {
                msgs[..i - 1]
                    .iter()
                    .filter(|x| x["from"] == msg["from"])
                    .flat_map(bytes)
                    .collect()
            };
            let compressed = hex(&m["compressed_hex"].as_str().unwrap().replace(' ', ""));
            assert_eq!(compressed.len() as u64, msg["wire_len"].as_u64().unwrap());
            let Some(w) = m["walk"].as_object() else {
                panic!("{name}: message {i} not walked: {}", m["error"]);
            };
            let w = Value::Object(w.clone());
            assert_eq!(replay(&window, &w), bytes(msg), "{name}: message {i}");
            walked += 1;
            into_window += w["window_matches"].as_u64().unwrap();
            // The appended sync flush is the last block.
            let last = w["blocks"].as_array().unwrap().last().unwrap();
            assert_eq!(last["btype"], 0);
            assert_eq!(last["appended"], true);
        }
    }
    assert!(walked >= 10, "{walked}");
    assert!(into_window >= 2, "context takeover shows: {into_window}");
}

#[test]
fn second_hello_is_smaller_because_of_the_window() {
    let ex = records("explain", "deflate/websockets-default.pcap", &[]);
    let d = ex.iter().find(|r| r["type"] == "explain-deflate").unwrap();
    let m = d["messages"].as_array().unwrap();
    // Messages 1 and 3 are the client's two "Hello"s: 7 then 5 bytes.
    let msgs = records("messages", "deflate/websockets-default.pcap", &[]);
    assert_eq!(msgs[0]["text"], "Hello");
    assert_eq!(msgs[2]["text"], "Hello");
    assert!(msgs[2]["wire_len"].as_u64() < msgs[0]["wire_len"].as_u64());
    assert_eq!(m[0]["walk"]["window_matches"], 0);
    assert_eq!(m[2]["walk"]["window_matches"], 1);
    let p = sample("deflate/websockets-default.pcap");
    let text = run(&["explain", "--color", "never", p.to_str().unwrap()]);
    assert!(text.contains("reaches into the previous message"));
    assert!(text.contains("server_max_window_bits = 12"));
    let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
    assert!(html.contains("<h2 id=\"deflate\">"));
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// flate2-compressed messages of one stream with sync flushes, the tail
/// stripped: each walked with the earlier ones as its window.
fn compressed_stream(msgs: &[Vec<u8>], level: u32) -> Vec<Vec<u8>> {
    let mut c = flate2::Compress::new(flate2::Compression::new(level), false);
    msgs.iter()
        .map(|m| {
            let mut out = Vec::with_capacity(m.len() * 2 + 64);
            c.compress_vec(m, &mut out, flate2::FlushCompress::Sync)
                .unwrap();
            assert!(out.ends_with(&deflate::TAIL));
            out.truncate(out.len() - 4);
            out
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Garbage: never a panic, and never an output zlib would not give.
    #[test]
    fn walk_agrees_with_zlib_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..260)) {
        if let Ok(w) = deflate::walk_raw(&[], &data, data.len()) {
            let z = zlib_inflate(&data);
            prop_assert!(z.is_some(), "walked what zlib rejects");
            prop_assert_eq!(z.unwrap(), w.output);
        }
    }

    /// Random bytes behind a valid block header (fixed or dynamic): deeper
    /// into the Huffman decoding.
    #[test]
    fn walk_agrees_with_zlib_behind_block_headers(bt in 1u8..3, data in proptest::collection::vec(any::<u8>(), 1..200)) {
        let mut d = data.clone();
        d[0] = (d[0] & !0b111) | (bt << 1);
        if let Ok(w) = deflate::walk_raw(&[], &d, d.len()) {
            let z = zlib_inflate(&d);
            prop_assert!(z.is_some(), "walked what zlib rejects");
            prop_assert_eq!(z.unwrap(), w.output);
        }
    }

    /// Real compressed messages (text-like, repetitive): walked exactly,
    /// back-references into the earlier messages included.
    #[test]
    fn walk_inflates_real_streams(words in proptest::collection::vec(proptest::sample::select(vec!["Hello", " ", "world", "{\"a\":1}", "ping", "\n", "xyz", "Hello world"]), 1..40), level in 0u32..10, split in 1usize..4) {
        let text: Vec<u8> = words.concat().into_bytes();
        let n = text.len().div_ceil(split).max(1);
        let msgs: Vec<Vec<u8>> = text.chunks(n).map(<[u8]>::to_vec).collect();
        let comp = compressed_stream(&msgs, level);
        let mut window: Vec<u8> = Vec::new();
        for (m, c) in msgs.iter().zip(&comp) {
            if c.len() <= deflate::MAX_INPUT {
                let w = deflate::walk(&window, c).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&w.output, m);
            } else {
                prop_assert!(deflate::walk(&window, c).is_err());
            }
            window.extend_from_slice(m);
        }
    }
}

/// An empty fixed block ending inside a byte, the rest of which reads as a
/// block header of the reserved type 3: zlib refuses it (it reads the next
/// header from those bits), so the walk must too rather than call them
/// padding. Found by `walk_agrees_with_zlib_behind_block_headers`.
#[test]
fn reserved_block_type_in_the_last_bits_is_refused_as_zlib_does() {
    let d = [0x02, 0x98];
    assert!(zlib_inflate(&d).is_none(), "zlib accepts it");
    assert!(deflate::walk_raw(&[], &d, d.len()).is_err());
    // The same bits with the next header a stored block: zlib waits for
    // more, and the walk ends at the block boundary.
    let d = [0x02, 0x80];
    assert!(zlib_inflate(&d).is_some());
    assert!(deflate::walk_raw(&[], &d, d.len()).is_ok());
}

#[test]
fn walk_is_bounded() {
    // A stored block that claims 65535 bytes with 10 present: an error, not
    // an allocation or a read past the input.
    let mut d = vec![0x01, 0xff, 0xff, 0x00, 0x00];
    d.extend_from_slice(&[b'a'; 10]);
    assert!(deflate::walk_raw(&[], &d, d.len()).is_err());
    // Too long to walk through.
    assert!(deflate::walk(&[], &[0u8; deflate::MAX_INPUT + 1]).is_err());
    // A bomb: a few compressed bytes of back-references that inflate past the cap.
    let big = vec![0u8; 1 << 16];
    let mut c = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    c.write_all(&big).unwrap();
    let z = c.finish().unwrap();
    assert!(z.len() <= deflate::MAX_INPUT + 4, "{}", z.len());
    assert!(deflate::walk_raw(&[], &z, z.len()).is_err());
    // Tokens are what the output is made of.
    let w = deflate::walk_raw(&[], &[0x4b, 0x4c, 0x84, 0x00, 0x00], 5).unwrap();
    let n: usize = w
        .blocks
        .iter()
        .flat_map(|b| &b.tokens)
        .map(|t| match t {
            Token::Literal { .. } => 1,
            Token::Match { length, .. } => usize::from(*length),
            _ => 0,
        })
        .sum();
    assert_eq!(n, w.output.len());
    assert_eq!(
        zlib_inflate(&[0x4b, 0x4c, 0x84, 0x00, 0x00]).unwrap(),
        w.output
    );
}
