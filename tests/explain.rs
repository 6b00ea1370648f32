//! `explain`: its numbers are checked against the RFC's worked examples and
//! against what `frames --format json` reports for the same bytes.

mod common;

use std::process::Command;

use base64::Engine;
use common::{json_lines as lines, sample, stdout_ok as run};
use serde_json::Value;
use sha1::{Digest, Sha1};

fn explain_text(name: &str, extra: &[&str]) -> String {
    let p = sample(name);
    let mut args = vec!["explain", "--color", "never"];
    args.extend_from_slice(extra);
    args.push(p.to_str().unwrap());
    run(&args)
}

/// Exit status, standard output and standard error of `explain`.
fn explain_status(name: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let p = sample(name);
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["explain", "--color", "never"])
        .args(extra)
        .arg(&p)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rfc_examples_accept_key_unmasking_and_length_forms() {
    let t = explain_text("rfc-examples.pcap", &[]);
    // RFC 6455 section 1.3: the sample key, its SHA-1 and the accept value.
    let sha1 = "b3 7a 4f 2c c0 62 4f 16 90 f6 46 06 cf 38 59 45 b2 be c4 ea";
    for want in [
        "the client's key        dGhlIHNhbXBsZSBub25jZQ==   (16 bytes once decoded)",
        "key + GUID              dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
        &format!("SHA-1 of that (hex)     {sha1}"),
        "base64 of the digest    s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "the server sent         s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "✓ matches",
        // Section 5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58.
        "header bytes: 81 85 37 fa 21 3d",
        "0   7f  XOR  key[0]=37  =  48      'H'",
        "1   9f  XOR  key[1]=fa  =  65      'e'",
        "2   4d  XOR  key[2]=21  =  6c      'l'",
        "3   51  XOR  key[3]=3d  =  6c      'l'",
        "4   58  XOR  key[0]=37  =  6f      'o'",
        "|1|0|0|0|0 0 0 1|1|0 0 0 0 1 0 1|",
        // The 256-byte and 64 KiB echoes from the server, as in section 5.7.
        "header bytes: 82 7e 01 00",
        "ext len 16   256            256 bytes, big-endian: this form is for lengths 126 to 65535",
        "header bytes: 82 7f 00 00 00 00 00 01 00 00",
        "ext len 64   65536          65536 bytes, big-endian: this form is for lengths 65536 to 2^63 - 1",
        "the payload is 65536 bytes, declared in the 64-bit form",
        "Close code 1000: normal closure (section 7.4); reason \"lesson over\"",
        "Message 3 · client → server · text · 2 fragments: frames 3, 4 · 5 bytes: Hello",
        "packet #11 carried 2 whole frames: 3, 4",
        "ping frame 6 (client) answered by pong frame 7: round trip",
        "None: every rule checked holds on this connection.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // The test's own computation agrees with the RFC's figure.
    let d = Sha1::digest(b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    assert_eq!(common::hex(&d), sha1.replace(' ', ""));
}

#[test]
fn text_fits_100_columns_without_colour_codes() {
    for name in [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "violations/s-accept-mismatch.pcap",
        "deflate/websockets-default.pcap",
        "lossy.pcap",
    ] {
        let t = explain_text(name, &[]);
        assert!(
            !t.contains('\x1b'),
            "{name}: colour codes with --color never"
        );
        for l in t.lines() {
            assert!(
                l.chars().count() <= 100,
                "{name}: {} columns: {l}",
                l.chars().count()
            );
        }
    }
    let p = sample("rfc-examples.pcap");
    let c = run(&["explain", "--color", "always", p.to_str().unwrap()]);
    assert!(
        c.contains("\x1b[31m1\x1b[0m"),
        "FIN bits painted red with --color always"
    );
}

#[test]
fn fragments_interleaved_pings_and_round_trips() {
    let t = explain_text("node-fragments.pcap", &[]);
    assert!(
        t.contains(
            "Message 1 · client → server · text · 4 fragments: frames 1, 4, 7, 10 · 54 bytes"
        ),
        "{t}"
    );
    assert!(
        t.contains("control frame(s) 2, 5, 8 arrived between its fragments"),
        "{t}"
    );
    assert!(
        t.contains("Fragmented héllo — with pings between fragments ✓"),
        "{t}"
    );
    assert!(t.contains("answered by pong frame"), "{t}");
}

#[test]
fn wrong_accept_key_is_shown_step_by_step() {
    let t = explain_text("violations/s-accept-mismatch.pcap", &[]);
    let j = lines(&run(&[
        "explain",
        "--format",
        "json",
        sample("violations/s-accept-mismatch.pcap")
            .to_str()
            .unwrap(),
    ]));
    let hs = j.iter().find(|r| r["type"] == "explain-handshake").unwrap();
    let a = &hs["accept"];
    let key = a["key"].as_str().unwrap();
    let expect = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    assert_eq!(a["base64"], expect.as_str());
    assert_ne!(a["sent"], expect.as_str());
    assert_eq!(a["ok"], false);
    let flat = t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "✗ does not match: the server sent {},",
            a["sent"].as_str().unwrap()
        )),
        "{t}"
    );
    assert!(t.contains("error handshake.accept-mismatch"), "{t}");
}

#[test]
fn compressed_connection_shows_rsv1_and_the_inflated_text() {
    let t = explain_text("deflate/websockets-default.pcap", &[]);
    assert!(t.contains("permessage-deflate (RFC 7692)"), "{t}");
    assert!(
        t.contains("set: this message is compressed (permessage-deflate claims RSV1)"),
        "{t}"
    );
    assert!(t.contains("Message 1 · client → server · text · frame 1 · 5 bytes (inflated from 7 on the wire): Hello"), "{t}");
    assert!(
        t.contains("compressed bytes (the message section shows them inflated):"),
        "{t}"
    );
}

/// Every frame `explain --format json` shows agrees with `frames --format json`.
#[test]
fn explain_agrees_with_frames_on_every_sample() {
    let mut names: Vec<String> = Vec::new();
    for dir in ["", "violations/", "deflate/"] {
        for e in std::fs::read_dir(sample(dir)).unwrap() {
            let n = e.unwrap().file_name().into_string().unwrap();
            if n.ends_with(".pcap") || n.ends_with(".pcapng") {
                names.push(format!("{dir}{n}"));
            }
        }
    }
    let mut checked = 0;
    for name in &names {
        let p = sample(name);
        let p = p.to_str().unwrap();
        let frames = lines(&run(&["frames", "--format", "json", "--payload", "hex", p]));
        let conns: std::collections::BTreeSet<u64> =
            frames.iter().map(|f| f["conn"].as_u64().unwrap()).collect();
        for conn in conns {
            let c = conn.to_string();
            let ex = lines(&run(&[
                "explain",
                "--format",
                "json",
                "--max-frames",
                "100000",
                "--conn",
                &c,
                p,
            ]));
            let ef: Vec<&Value> = ex.iter().filter(|r| r["type"] == "explain-frame").collect();
            let ff: Vec<&Value> = frames.iter().filter(|f| f["conn"] == conn).collect();
            assert_eq!(ef.len(), ff.len(), "{name} conn {conn}: frame count");
            for (e, f) in ef.iter().zip(&ff) {
                for k in [
                    "packet",
                    "fin",
                    "rsv1",
                    "rsv2",
                    "rsv3",
                    "opcode",
                    "masked",
                    "mask_key",
                    "payload_len",
                    "close_code",
                ] {
                    assert_eq!(e[k], f[k], "{name} conn {conn} frame {}: {k}", e["index"]);
                }
                // The header bits are the header's.
                let bits: String = e["fields"].as_array().unwrap()[..7]
                    .iter()
                    .map(|x| x["bits"].as_str().unwrap())
                    .collect();
                let head = common::unhex(&e["header_hex"].as_str().unwrap().replace(' ', ""));
                assert_eq!(bits, format!("{:08b}{:08b}", head[0], head[1]), "{name}");
                let form = e["length_form"].as_str().unwrap();
                let len7 = head[1] & 0x7f;
                assert_eq!(
                    form,
                    match len7 {
                        126 => "16-bit",
                        127 => "64-bit",
                        _ => "7-bit",
                    }
                );
                // The unmasking table: clear bytes are the payload's, masked = clear ^ key.
                let payload = common::unhex(f["payload_hex"].as_str().unwrap_or(""));
                for r in e["unmask"].as_array().unwrap() {
                    let i = r["i"].as_u64().unwrap() as usize;
                    let key = common::unhex(f["mask_key"].as_str().unwrap());
                    assert_eq!(r["clear"].as_u64().unwrap() as u8, payload[i], "{name}");
                    assert_eq!(r["key"].as_u64().unwrap() as u8, key[i % 4]);
                    assert_eq!(r["masked"].as_u64().unwrap() as u8, payload[i] ^ key[i % 4]);
                }
                if f["masked"] == true && !payload.is_empty() {
                    assert_eq!(
                        e["unmask"].as_array().unwrap().len(),
                        payload.len().min(8),
                        "{name}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 700, "{checked} frames checked");
}

#[test]
fn html_has_one_arrow_per_frame_and_parses() {
    for name in [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "violations/c-invalid-utf8.pcap",
    ] {
        let p = sample(name);
        let p = p.to_str().unwrap();
        let html = run(&["explain", "--format", "html", "--max-frames", "100000", p]);
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let arrows: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("arrow"))
            .collect();
        let frames = lines(&run(&["frames", "--format", "json", p]));
        let conn0 = frames.iter().filter(|f| f["conn"] == 0).count();
        assert_eq!(arrows.len(), conn0, "{name}: one arrow per frame");
        // Arrows are numbered 1..n in order, and each frame has its section.
        for (i, a) in arrows.iter().enumerate() {
            assert_eq!(
                a.attribute("data-frame"),
                Some((i + 1).to_string().as_str())
            );
            let id = format!("frame-{}", i + 1);
            assert!(
                doc.descendants()
                    .any(|n| n.attribute("id") == Some(id.as_str())),
                "{name}: {id}"
            );
        }
        // Self-contained: nothing fetched (the one script is inline).
        assert!(
            !html.contains("src=\"http")
                && !html.contains("href=\"http")
                && !html.contains("<script src")
        );
    }
}

#[test]
fn frame_and_packet_selection() {
    let one = explain_text("rfc-examples.pcap", &["--frame", "10"]);
    assert!(one.contains("Frame 10 · client → server · binary"), "{one}");
    assert!(
        !one.contains("Frame 9 ·") && !one.contains("Sec-WebSocket-Accept, step by step"),
        "{one}"
    );
    assert!(
        one.contains("12 more frames of this connection are not shown"),
        "{one}"
    );
    let pkt = explain_text("rfc-examples.pcap", &["--packet", "11"]);
    assert!(
        pkt.contains("Frame 3 ·") && pkt.contains("Frame 4 ·") && !pkt.contains("Frame 5 ·"),
        "{pkt}"
    );
    let hs = explain_text("rfc-examples.pcap", &["--packet", "4"]);
    assert!(hs.contains("Sec-WebSocket-Accept, step by step"), "{hs}");
    let none = explain_status("rfc-examples.pcap", &["--conn", "7"]).1;
    assert!(
        none.contains("connection 7 is not a WebSocket connection in this capture"),
        "{none}"
    );
    let capped = explain_text("node-fragments.pcap", &["--max-frames", "3"]);
    assert!(
        capped.contains("Frame 3 ·") && !capped.contains("Frame 4 ·"),
        "{capped}"
    );
}

#[test]
fn push_techniques_are_explained_with_a_timeline() {
    let t = explain_text("push/chromium-sse.pcap", &[]);
    assert!(
        t.contains("no WebSocket connection in this capture."),
        "{t}"
    );
    assert!(
        t.contains("GET /events · sse · 127.0.0.1 → 127.0.0.1:9025 · 3 request(s), 7 event(s)"),
        "{t}"
    );
    assert!(
        t.contains("request   GET /events (Last-Event-ID: 3)"),
        "{t}"
    );
    assert!(t.contains("event     tick: \"line one\\nline two\""), "{t}");
    let s = explain_text("push/socketio.pcap", &[]);
    assert!(s.contains("GET /socket.io/ · long-polling"), "{s}");
    assert!(s.contains("GET /socket.io/ · websocket"), "{s}");
    // The WebSocket part of the Socket.IO capture is walked through as well.
    assert!(s.contains("Sec-WebSocket-Accept, step by step"), "{s}");
    for l in s.lines().chain(t.lines()) {
        assert!(l.chars().count() <= 100, "{l}");
    }
}

/// The numbers in "… (N more bytes)" lines of a block of text.
fn more_bytes(block: &str) -> Vec<u64> {
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("…  ("))
        .filter_map(|r| r.strip_suffix(" more bytes)"))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn stated_payload_sizes_are_the_frames_and_messages_sizes() {
    // rfc-examples holds 256- and 65,536-byte frames, deflate/ and
    // violations/ the others; every size and "shown" count is checked
    // against `frames` and `messages` JSON.
    let mut checked = 0;
    for name in [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "deflate/node-deflate.pcap",
        "violations/c-unusual-valid.pcap",
    ] {
        let p = sample(name);
        let p = p.to_str().unwrap();
        let frames = lines(&run(&["frames", "--format", "json", p]));
        let frames: Vec<&Value> = frames.iter().filter(|f| f["conn"] == 0).collect();
        let messages = lines(&run(&["messages", "--format", "json", p]));
        let messages: Vec<&Value> = messages.iter().filter(|m| m["conn"] == 0).collect();
        let text = run(&["explain", "--color", "never", "--max-frames", "100000", p]);
        // Frame sections: "   Frame N · ..." up to the next one.
        let mut n = 0;
        for part in text.split("\n   Frame ").skip(1) {
            let part = part.split("\n4. ").next().unwrap();
            let part = part.split("\n5. ").next().unwrap();
            n += 1;
            let f = frames[n - 1];
            let len = f["payload_len"].as_u64().unwrap();
            if let Some(l) = part.lines().find(|l| l.starts_with("   Payload: ")) {
                let rest = l.trim_start_matches("   Payload: ");
                let (stated, shown) = rest.split_once(" bytes").unwrap();
                assert_eq!(stated.parse::<u64>().unwrap(), len, "{name} frame {n}: {l}");
                let shown: u64 = shown
                    .strip_prefix(", the first ")
                    .map_or(len, |s| s.trim_end_matches(" shown").parse().unwrap());
                assert!(shown <= len, "{name} frame {n}: {l}");
                for more in more_bytes(part) {
                    assert_eq!(shown + more, len, "{name} frame {n}: {l}");
                }
                checked += 1;
            }
        }
        assert_eq!(n, frames.len(), "{name}");
        // Messages: "Message N · ... · L bytes" and its "more bytes".
        let msgs = text
            .split("From frames to messages")
            .nth(1)
            .map(|s| s.split("\n\n").next().unwrap_or(s).to_string())
            .unwrap_or_default();
        let mut blocks = msgs.split("   Message ").skip(1);
        for m in &messages {
            let b = blocks.next().unwrap_or_else(|| panic!("{name}: {msgs}"));
            let len = m["len"].as_u64().unwrap();
            assert!(
                b.lines()
                    .next()
                    .unwrap()
                    .contains(&format!(" · {len} bytes")),
                "{name}: {b}"
            );
            for more in more_bytes(b) {
                assert!(more < len && len - more <= 32, "{name}: {b}");
            }
            checked += 1;
        }
        let html = run(&["explain", "--format", "html", "--max-frames", "100000", p]);
        for (i, part) in html.split("<div class=\"frame\"").skip(1).enumerate() {
            let len = frames[i]["payload_len"].as_u64().unwrap();
            if let Some(at) = part.find("<p>Payload (") {
                let l = &part[at..part[at..].find("</p>").unwrap() + at];
                let rest = l.split("): ").nth(1).unwrap();
                let (stated, shown) = rest.split_once(" bytes").unwrap();
                assert_eq!(stated.parse::<u64>().unwrap(), len, "{name}: {l}");
                let shown: u64 = shown
                    .strip_prefix(", the first ")
                    .map_or(len, |s| s.trim_end_matches(" shown").parse().unwrap());
                for more in more_bytes(part.split("</pre>").next().unwrap()) {
                    assert_eq!(shown + more, len, "{name}: {l}");
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn asking_for_what_is_not_there_exits_2_with_one_line() {
    let conns = lines(&run(&[
        "conns",
        "--format",
        "json",
        sample("rfc-examples.pcap").to_str().unwrap(),
    ]));
    let frames = lines(&run(&[
        "frames",
        "--format",
        "json",
        sample("rfc-examples.pcap").to_str().unwrap(),
    ]));
    let absent_conn = (conns.len() + 5).to_string();
    let past_end = (frames.len() + 1).to_string();
    for (args, says) in [
        (
            vec!["--conn", absent_conn.as_str()],
            "is not a WebSocket connection",
        ),
        (vec!["--frame", past_end.as_str()], "there is no frame"),
        (vec!["--packet", "99999"], "carries no WebSocket frame"),
        (vec!["--conn", "0", "--frame", "99999"], "there is no frame"),
    ] {
        for format in ["text", "html", "json"] {
            let mut a = args.clone();
            a.extend(["--format", format]);
            let (code, out, err) = explain_status("rfc-examples.pcap", &a);
            assert_eq!(code, Some(2), "{a:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{a:?}: {err}");
            assert!(err.contains(says), "{a:?}: {err}");
            // The walkthrough still says it where it is read.
            assert!(out.contains(says), "{a:?}: {out}");
        }
    }
    // What exists, and no selection at all, exit 0.
    let last = frames.len().to_string();
    assert_eq!(
        explain_status("rfc-examples.pcap", &["--frame", &last]).0,
        Some(0)
    );
    assert_eq!(explain_status("push/chromium-sse.pcap", &[]).0, Some(0));
}

#[test]
fn capture_control_bytes_never_reach_the_terminal() {
    // Recorded against Node ws: ESC sequences in a text message and a close
    // reason, an 8-bit CSI in a header value (samples/violations/README.md).
    let name = "violations/c-escape-bytes.pcap";
    let t = explain_text(name, &[]);
    let raw = |c: char| c.is_control() && c != '\n' && c != '\t';
    assert!(!t.chars().any(raw), "raw control character in:\n{t:?}");
    // Shown, escaped: the close reason, the header value, the message.
    for want in [
        r#"reason "\x1b[2Jbye\x1b[0m""#,
        r"X-Note: \u{9b}31m eight-bit CSI \u{9b}0m",
        r"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // In colour, the only escape sequences are the walkthrough's own SGR codes.
    let p = sample(name);
    let c = run(&["explain", "--color", "always", p.to_str().unwrap()]);
    for (i, _) in c.match_indices('\x1b') {
        let rest = &c[i + 1..];
        let sgr = rest.strip_prefix('[').is_some_and(|r| {
            let n = r.find(|ch: char| !ch.is_ascii_digit() && ch != ';');
            n.is_some_and(|n| r[n..].starts_with('m'))
        });
        assert!(sgr, "not an SGR code: {:?}", &rest[..rest.len().min(12)]);
    }
    assert!(!c.contains('\u{9b}') && !c.contains('\u{7}'));
    // HTML escapes markup and stays well-formed; JSON escapes controls.
    let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
    roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!html.contains('\x1b'));
    let json = run(&["explain", "--format", "json", p.to_str().unwrap()]);
    assert!(!json.contains('\x1b'));
}

// ---- The HTML page (issue 19): contents, time axis, links, 32-bit diagram.

fn html_doc(html: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn has_class(n: &roxmltree::Node, c: &str) -> bool {
    n.attribute("class")
        .is_some_and(|v| v.split_whitespace().any(|x| x == c))
}

/// The capture's first packet time and its TCP control segments (packet,
/// time since the first packet, flags "S", "SA", "F", "R"), read with
/// etherparse straight from the file, not through the analyzer.
fn tcp_controls(path: &std::path::Path) -> Vec<(u64, f64, String)> {
    let mut t0 = None;
    let mut out = Vec::new();
    let file = std::fs::File::open(path).unwrap();
    wsdissect::capture::read_capture(file, |rec| {
        let t = rec.ts.as_f64();
        let t0 = *t0.get_or_insert(t);
        let Ok(p) = etherparse::SlicedPacket::from_ethernet(rec.data) else {
            return;
        };
        let Some(etherparse::TransportSlice::Tcp(tcp)) = p.transport else {
            return;
        };
        let mut f = String::new();
        for (on, c) in [
            (tcp.syn(), 'S'),
            (tcp.syn() && tcp.ack(), 'A'),
            (tcp.fin(), 'F'),
            (tcp.rst(), 'R'),
        ] {
            if on {
                f.push(c);
            }
        }
        if !f.is_empty() {
            out.push((rec.number, t - t0, f));
        }
    })
    .unwrap();
    out
}

fn capture_t0(path: &std::path::Path) -> f64 {
    let mut t0 = None;
    wsdissect::capture::read_capture(std::fs::File::open(path).unwrap(), |rec| {
        t0.get_or_insert(rec.ts.as_f64());
    })
    .unwrap();
    t0.unwrap()
}

#[test]
fn html_contents_and_arrows_link_to_cards_and_back() {
    for name in ["rfc-examples.pcap", "python-echo.pcap"] {
        let p = sample(name);
        let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
        let doc = html_doc(&html);
        let ids: std::collections::HashSet<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        let nav = doc
            .descendants()
            .find(|n| n.has_tag_name("nav"))
            .unwrap_or_else(|| panic!("{name}: no <nav>"));
        let links: Vec<&str> = nav
            .descendants()
            .filter_map(|n| n.attribute("href"))
            .collect();
        for want in ["#glance", "#handshake", "#frames", "#messages", "#findings"] {
            assert!(links.contains(&want), "{name}: nav lacks {want}");
        }
        for l in &links {
            assert!(ids.contains(&l[1..]), "{name}: nav link {l} leads nowhere");
        }
        let arrows: Vec<_> = doc
            .descendants()
            .filter(|n| has_class(n, "arrow"))
            .collect();
        assert!(!arrows.is_empty());
        for (i, a) in arrows.iter().enumerate() {
            let n = i + 1;
            assert_eq!(a.attribute("href"), Some(format!("#frame-{n}").as_str()));
            assert!(
                links.contains(&format!("#frame-{n}").as_str()),
                "{name}: nav lacks frame {n}"
            );
            let card = doc
                .descendants()
                .find(|c| c.attribute("id") == Some(&format!("frame-{n}")))
                .unwrap();
            assert!(has_class(&card, "frame") && card.attribute("tabindex").is_some());
            let back = card
                .descendants()
                .find(|c| has_class(c, "back"))
                .and_then(|c| c.attribute("href"))
                .unwrap_or_else(|| panic!("{name}: card {n} has no link back"));
            assert_eq!(back[1..], *a.attribute("id").unwrap(), "{name}: card {n}");
        }
    }
}

#[test]
fn html_diagram_has_tcp_handshake_fin_and_a_time_axis() {
    for name in [
        "rfc-examples.pcap",
        "python-echo.pcap",
        "node-fragments.pcap",
    ] {
        let p = sample(name);
        let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
        let doc = html_doc(&html);
        let ctl = tcp_controls(&p);
        // The connection's SYN, SYN/ACK, the client's ACK after it, and the FINs.
        let syn = ctl.iter().find(|c| c.2 == "S").unwrap();
        let synack = ctl.iter().find(|c| c.2 == "SA").unwrap();
        let fins: Vec<_> = ctl.iter().filter(|c| c.2.contains('F')).collect();
        assert!(
            !fins.is_empty(),
            "{name}: the recording closes its connection"
        );
        let marks: Vec<(String, u64, f64, f64)> = doc
            .descendants()
            .filter(|n| has_class(n, "tcp"))
            .map(|g| {
                let y = g
                    .descendants()
                    .find(|l| l.has_tag_name("line"))
                    .and_then(|l| l.attribute("y1"))
                    .unwrap()
                    .parse()
                    .unwrap();
                (
                    g.attribute("data-kind").unwrap().to_string(),
                    g.attribute("data-packet").unwrap().parse().unwrap(),
                    g.attribute("data-ts").unwrap().parse().unwrap(),
                    y,
                )
            })
            .collect();
        for (kind, want) in [("SYN", syn), ("SYN/ACK", synack)] {
            let m = marks
                .iter()
                .find(|m| m.0 == kind)
                .unwrap_or_else(|| panic!("{name}: no {kind} on the diagram"));
            assert_eq!(m.1, want.0, "{name}: {kind} packet");
            assert!(
                (m.2 - want.1).abs() < 2e-6,
                "{name}: {kind} time {} vs {}",
                m.2,
                want.1
            );
        }
        assert!(marks.iter().any(|m| m.0 == "ACK" && m.1 > synack.0));
        for f in &fins {
            assert!(
                marks.iter().any(|m| m.0 == "FIN" && m.1 == f.0),
                "{name}: FIN of packet {} not drawn",
                f.0
            );
        }
        // Arrows carry the frames' times (seconds since the capture's first
        // packet), and everything on the diagram lies in time order.
        let t0 = capture_t0(&p);
        let frames = lines(&run(&["frames", "--format", "json", p.to_str().unwrap()]));
        let frames: Vec<&Value> = frames.iter().filter(|f| f["conn"] == 0).collect();
        let mut rows: Vec<(f64, f64)> = marks.iter().map(|m| (m.2, m.3)).collect();
        for (a, f) in doc
            .descendants()
            .filter(|n| has_class(n, "arrow"))
            .zip(&frames)
        {
            let ts: f64 = a.attribute("data-ts").unwrap().parse().unwrap();
            assert!(
                (ts - (f["ts"].as_f64().unwrap() - t0)).abs() < 2e-6,
                "{name}"
            );
            let y: f64 = a
                .descendants()
                .find(|l| l.has_tag_name("line"))
                .and_then(|l| l.attribute("y1"))
                .unwrap()
                .parse()
                .unwrap();
            rows.push((ts, y));
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for w in rows.windows(2) {
            assert!(w[1].1 >= w[0].1, "{name}: {w:?} out of time order");
        }
        // Tick labels: seconds, increasing down the axis.
        let ticks: Vec<(f64, f64)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("g") && has_class(n, "tick"))
            .map(|g| {
                let t = g.descendants().find(|x| x.has_tag_name("text")).unwrap();
                let y = g
                    .descendants()
                    .find(|x| x.has_tag_name("line"))
                    .and_then(|l| l.attribute("y1"))
                    .unwrap();
                (t.text().unwrap().parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert!(ticks.len() >= 2, "{name}: {ticks:?}");
        for w in ticks.windows(2) {
            assert!(w[1].0 > w[0].0 && w[1].1 > w[0].1, "{name}: {ticks:?}");
        }
        let last = rows.last().unwrap().0;
        assert!(ticks[0].0 <= rows[0].0 + 1e-9 && ticks.last().unwrap().0 <= last + 1e-9);
    }
}

/// The bits RFC 6455 section 5.2 lays out for a frame, from its JSON record.
fn header_bits(f: &Value) -> String {
    let b = |v: bool| if v { "1" } else { "0" };
    let len = f["payload_len"].as_u64().unwrap();
    let len7 = match len {
        0..=125 => len,
        126..=65535 => 126,
        _ => 127,
    };
    let mut s = format!(
        "{}{}{}{}{:04b}{}{:07b}",
        b(f["fin"] == true),
        b(f["rsv1"] == true),
        b(f["rsv2"] == true),
        b(f["rsv3"] == true),
        f["opcode"].as_u64().unwrap(),
        b(f["masked"] == true),
        len7
    );
    match len7 {
        126 => s.push_str(&format!("{len:016b}")),
        127 => s.push_str(&format!("{len:064b}")),
        _ => {}
    }
    if let Some(k) = f["mask_key"].as_str() {
        for byte in common::unhex(k) {
            s.push_str(&format!("{byte:08b}"));
        }
    }
    s
}

#[test]
fn html_bit_diagram_is_32_bits_a_row_with_the_frames_bits() {
    let mut forms = std::collections::BTreeSet::new();
    for name in [
        "rfc-examples.pcap",
        "node-fragments.pcap",
        "deflate/node-deflate.pcap",
    ] {
        let p = sample(name);
        let html = run(&[
            "explain",
            "--format",
            "html",
            "--max-frames",
            "1000",
            p.to_str().unwrap(),
        ]);
        let doc = html_doc(&html);
        let frames = lines(&run(&["frames", "--format", "json", p.to_str().unwrap()]));
        let frames: Vec<&Value> = frames.iter().filter(|f| f["conn"] == 0).collect();
        let cards: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("div") && has_class(n, "frame"))
            .collect();
        assert_eq!(cards.len(), frames.len(), "{name}");
        for (i, (card, f)) in cards.iter().zip(&frames).enumerate() {
            let table = card
                .descendants()
                .find(|n| n.has_tag_name("table") && has_class(n, "bits"))
                .unwrap_or_else(|| panic!("{name}: card {} has no bit diagram", i + 1));
            let rows: Vec<Vec<roxmltree::Node>> = table
                .descendants()
                .filter(|r| r.has_tag_name("tr"))
                .map(|r| {
                    r.children()
                        .filter(|c| c.attribute("data-bit").is_some())
                        .collect::<Vec<_>>()
                })
                .filter(|r| !r.is_empty())
                .collect();
            let want = header_bits(f);
            // Rows of 32 cells numbered 0..31, enough of them for the header.
            assert!(rows.len() * 32 > want.len(), "{name} card {}", i + 1);
            let mut got = String::new();
            for r in &rows {
                let cols: Vec<&str> = r.iter().map(|c| c.attribute("data-bit").unwrap()).collect();
                let want_cols: Vec<String> = (0..32).map(|c| c.to_string()).collect();
                assert_eq!(cols, want_cols, "{name} card {}", i + 1);
                got.extend(r.iter().map(|c| c.text().unwrap_or("")));
            }
            assert_eq!(
                &got[..want.len()],
                want,
                "{name} card {}: header bits",
                i + 1
            );
            forms.insert(want.len());
        }
    }
    // Every header size came up: 7-bit, 16-bit and 64-bit lengths, masked or not.
    for n in [16, 48, 32, 64, 80, 112] {
        assert!(forms.contains(&n), "no header of {n} bits among {forms:?}");
    }
}

#[test]
fn html_headings_hex_dumps_script_and_print_style() {
    let p = sample("node-fragments.pcap");
    let html = run(&["explain", "--format", "html", p.to_str().unwrap()]);
    let doc = html_doc(&html);
    let t0 = capture_t0(&p);
    let frames = lines(&run(&["frames", "--format", "json", p.to_str().unwrap()]));
    let frames: Vec<&Value> = frames.iter().filter(|f| f["conn"] == 0).collect();
    // Frame headings: the packet and the time since the capture's first packet.
    let heads: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("div") && has_class(n, "frame"))
        .map(|c| {
            c.descendants()
                .find(|h| h.has_tag_name("h3"))
                .unwrap()
                .descendants()
                .filter_map(|t| t.text())
                .collect()
        })
        .collect();
    assert_eq!(heads.len(), frames.len());
    for (h, f) in heads.iter().zip(&frames) {
        let pkt = f["packet"].as_u64().unwrap();
        assert!(h.contains(&format!("#{pkt}")), "{h}");
        let t: f64 = h
            .split(" \u{b7} +")
            .nth(1)
            .and_then(|r| r.split(" s").next())
            .unwrap_or_else(|| panic!("no time in {h}"))
            .parse()
            .unwrap();
        assert!((t - (f["ts"].as_f64().unwrap() - t0)).abs() < 2e-6, "{h}");
    }
    // Hex dumps (the binary message 00 01 02 03 fa fb ...) are preformatted
    // wherever they are, the messages table included.
    let dumps: Vec<_> = doc
        .descendants()
        .filter(|n| n.text().is_some_and(|t| t.starts_with("0000  00 01 02 03")))
        .collect();
    assert!(
        dumps.len() >= 2,
        "the binary message's dump, in its frame and in the messages table"
    );
    for d in dumps {
        assert!(
            d.ancestors().any(|a| a.has_tag_name("pre")),
            "a hex dump outside <pre>: {:?}",
            d.text()
        );
    }
    // The stepping script is inline and fetches nothing; the print style is there.
    let scripts: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("script"))
        .collect();
    assert_eq!(scripts.len(), 1);
    assert!(scripts[0].attribute("src").is_none());
    let code: String = scripts[0].descendants().filter_map(|t| t.text()).collect();
    assert!(code.contains("keydown") && code.contains("'j'") && !code.contains("http"));
    let css: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("style"))
        .flat_map(|s| s.descendants().filter_map(|t| t.text()))
        .collect();
    assert!(css.contains("@media print") && css.contains("break-inside: avoid"));
}

#[test]
fn html_long_connection_keeps_at_most_1000_arrows_and_streams_the_cards() {
    // Generated (robustness): one connection of 3,000 frames, its SYN,
    // SYN/ACK and upgrade included.
    use common::synth::{Flow, Pcap, frame};
    let mut cap = Pcap::new();
    let mut f = Flow::new(1);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    for i in 0..3000u32 {
        let from_client = i % 2 == 0;
        f.send(
            &mut cap,
            from_client,
            &frame(from_client, 0x81, format!("message {i}").as_bytes()),
        );
    }
    let path = std::env::temp_dir().join(format!("wsdissect-long-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap.bytes).unwrap();
    let html = run(&[
        "explain",
        "--format",
        "html",
        "--max-frames",
        "100000",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    let doc = html_doc(&html);
    let arrows = doc.descendants().filter(|n| has_class(n, "arrow")).count();
    let cards = doc
        .descendants()
        .filter(|n| n.has_tag_name("div") && has_class(n, "frame"))
        .count();
    assert_eq!((arrows, cards), (1000, 3000));
    assert!(html.contains("more frames follow"));
    assert!(
        doc.descendants()
            .any(|n| has_class(&n, "tcp") && n.attribute("data-kind") == Some("SYN"))
    );
    // The last card links back to the diagram only where it has an arrow.
    assert!(!html.contains("href=\"#arrow-1001\""));
}

#[test]
fn html_diagram_draws_a_reset() {
    // Generated (no bundled recording ends in an RST): the server resets
    // the connection after one frame each way.
    use common::synth::{Flow, Pcap, frame};
    let mut cap = Pcap::new();
    let mut f = Flow::new(7);
    f.open(&mut cap);
    f.upgrade(&mut cap, false);
    f.send(&mut cap, true, &frame(true, 0x81, b"hi"));
    f.send(&mut cap, false, &frame(false, 0x81, b"hi"));
    let rst = f.segment(false, f.seq[1], "R", &[]);
    cap.record(&rst, None);
    let path = std::env::temp_dir().join(format!("wsdissect-rst-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap.bytes).unwrap();
    let html = run(&["explain", "--format", "html", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    let doc = html_doc(&html);
    let marks: Vec<(&str, u64)> = doc
        .descendants()
        .filter(|n| has_class(n, "tcp"))
        .map(|g| {
            (
                g.attribute("data-kind").unwrap(),
                g.attribute("data-packet").unwrap().parse().unwrap(),
            )
        })
        .collect();
    // Packets: SYN 1, SYN/ACK 2, the request 3 (its ACK completes the
    // handshake), 101 4, frames 5 and 6, RST 7.
    assert_eq!(
        marks,
        [("SYN", 1), ("SYN/ACK", 2), ("ACK", 3), ("RST", 7)],
        "{marks:?}"
    );
}

#[test]
fn html_arrow_n_is_frame_n_on_every_sample() {
    // Frames may be reported out of time order (a stream hunted
    // mid-connection reports a direction's frames when it locks on): the
    // diagram places them by time, but arrow N still leads to card N.
    let mut checked = 0;
    for dir in ["", "deflate/", "violations/", "push/"] {
        for e in std::fs::read_dir(sample(dir)).unwrap() {
            let n = e.unwrap().file_name().into_string().unwrap();
            if !(n.ends_with(".pcap") || n.ends_with(".pcapng")) {
                continue;
            }
            let p = sample(&format!("{dir}{n}"));
            let p = p.to_str().unwrap();
            let frames = lines(&run(&["frames", "--format", "json", p]));
            let Some(conn) = frames.first().map(|f| f["conn"].to_string()) else {
                continue;
            };
            let html = run(&["explain", "--format", "html", "--conn", &conn, p]);
            let doc = html_doc(&html);
            for (i, a) in doc
                .descendants()
                .filter(|x| has_class(x, "arrow"))
                .enumerate()
            {
                assert_eq!(
                    a.attribute("href"),
                    Some(format!("#frame-{}", i + 1).as_str()),
                    "{dir}{n}"
                );
                assert_eq!(
                    a.attribute("data-frame"),
                    Some((i + 1).to_string().as_str()),
                    "{dir}{n}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
}

/// `frames --format json --payload text` of a capture.
fn frames_json(path: &std::path::Path) -> Vec<Value> {
    lines(&run(&[
        "frames",
        "--format",
        "json",
        "--payload",
        "text",
        "-q",
        path.to_str().unwrap(),
    ]))
}

#[test]
fn a_pong_is_paired_with_the_ping_whose_payload_it_carries() {
    // RFC 6455 section 5.5.3: a pong carries the application data of the
    // ping it answers. Checked against the frames' own payloads.
    for name in [
        "violations/s-pong-latest.pcap",
        "node-fragments.pcap",
        "violations/c-unusual-valid.pcap",
        "rfc-examples.pcap",
    ] {
        let p = sample(name);
        let ex = lines(&run(&[
            "explain",
            "--format",
            "json",
            "-q",
            p.to_str().unwrap(),
        ]));
        let conn = ex[0]["conn"]["id"].as_u64().unwrap();
        let frames: Vec<Value> = frames_json(&p)
            .into_iter()
            .filter(|f| f["type"] == "frame" && f["conn"] == conn)
            .collect();
        let pings: Vec<&Value> = ex.iter().filter(|r| r["type"] == "explain-ping").collect();
        assert!(!pings.is_empty(), "{name}: no ping");
        let mut answered = 0;
        for ping in &pings {
            let pf = &frames[ping["ping_frame"].as_u64().unwrap() as usize - 1];
            assert_eq!(pf["opcode"], 9, "{name}");
            let Some(q) = ping["pong_frame"].as_u64() else {
                continue;
            };
            answered += 1;
            let qf = &frames[q as usize - 1];
            assert_eq!(qf["opcode"], 10, "{name}");
            assert_ne!(
                qf["from"], pf["from"],
                "{name}: a pong answers the other side"
            );
            assert_eq!(
                qf["payload_text"], pf["payload_text"],
                "{name}: ping frame {} paired with pong frame {q} of another payload",
                ping["ping_frame"]
            );
            let rtt = (qf["ts"].as_f64().unwrap() - pf["ts"].as_f64().unwrap()) * 1000.0;
            assert!(
                (ping["rtt_ms"].as_f64().unwrap() - rtt).abs() < 1e-3,
                "{name}"
            );
        }
        assert!(answered > 0, "{name}: no pong paired");
    }
    // The server answered only the later of two pings whose payloads agree
    // in their first 45 bytes: the earlier one got no pong.
    let p = sample("violations/s-pong-latest.pcap");
    let ex = lines(&run(&[
        "explain",
        "--format",
        "json",
        "-q",
        p.to_str().unwrap(),
    ]));
    let pings: Vec<(u64, Option<u64>)> = ex
        .iter()
        .filter(|r| r["type"] == "explain-ping")
        .map(|r| (r["ping_frame"].as_u64().unwrap(), r["pong_frame"].as_u64()))
        .collect();
    assert_eq!(pings.len(), 2, "{pings:?}");
    assert_eq!(pings[0].1, None, "{pings:?}");
    assert!(pings[1].1.is_some(), "{pings:?}");
}

/// The indices (from 1, in the connection) of the frames that packet `n`
/// carried, counted from `frames --format json`.
fn frames_of_packet(path: &std::path::Path, n: u64) -> Vec<u64> {
    let frames: Vec<Value> = frames_json(path)
        .into_iter()
        .filter(|f| f["type"] == "frame")
        .collect();
    let covers =
        |f: &Value| f["first_packet"].as_u64().unwrap() <= n && n <= f["packet"].as_u64().unwrap();
    let conn = frames.iter().find(|f| covers(f)).unwrap()["conn"].clone();
    frames
        .iter()
        .filter(|f| f["conn"] == conn)
        .enumerate()
        .filter(|(_, f)| covers(f))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// `explain --packet N -` with the capture on standard input; the pipe is
/// left open after it (a live capture that goes on) when `keep_open`.
fn explain_stdin(path: &std::path::Path, args: &[&str], keep_open: bool) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .arg("explain")
        .args(args)
        .args(["-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(path).unwrap()).unwrap();
    // Closed at once (end of input), or held until explain has exited.
    let open = keep_open.then_some(stdin);
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("explain {args:?} still reading after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(open);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn packet_from_standard_input_numbers_frames_from_the_connection_start() {
    // One pass over the capture: standard input cannot be read twice, and
    // the frames must still be numbered from the connection's start.
    for (name, packet) in [("rfc-examples.pcap", 11), ("node-fragments.pcap", 20)] {
        let p = sample(name);
        let want = frames_of_packet(&p, packet);
        assert!(want[0] > 1, "{name}: {want:?}");
        let got: Vec<u64> = lines(&explain_stdin(
            &p,
            &["--format", "json", "--packet", &packet.to_string()],
            false,
        ))
        .iter()
        .filter(|r| r["type"] == "explain-frame")
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
        assert_eq!(got, want, "{name} packet {packet}");
    }
}

#[test]
fn packet_walkthrough_stops_reading_once_its_connection_has_ended() {
    // The capture goes on (the pipe stays open): the walkthrough of packet
    // 11's frames is complete once their connection has ended.
    let p = sample("rfc-examples.pcap");
    let out = explain_stdin(&p, &["--format", "json", "--packet", "11"], true);
    let frames = lines(&out)
        .iter()
        .filter(|r| r["type"] == "explain-frame")
        .count();
    assert_eq!(frames, frames_of_packet(&p, 11).len(), "{out}");
}
