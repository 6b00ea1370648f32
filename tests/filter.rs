//! The filter language over the real JSON records of the samples: each
//! filter must select exactly what plain Rust code selects from the same
//! records; and random expressions never make the parser or the evaluator
//! panic, and print back to themselves.

use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;
use serde_json::{Value, json};
use wsdissect::filter::{Filter, MAX_DEPTH};

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The JSON records `wsdissect CMD --format json ARGS... FILES...` prints.
fn records(cmd: &str, args: &[&str], files: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .arg(cmd)
        .args(["--format", "json", "-q"])
        .args(args)
        .args(files.iter().map(|f| sample(f)))
        .output()
        .expect("run wsdissect");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

/// The records `filter` keeps must be exactly those `want` keeps, and
/// neither none nor all of them (else the comparison shows nothing).
fn same_selection(recs: &[Value], filter: &str, want: impl Fn(&Value) -> bool) -> usize {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<&Value> = recs.iter().filter(|r| f.matches(*r)).collect();
    let expected: Vec<&Value> = recs.iter().filter(|r| want(r)).collect();
    assert_eq!(got, expected, "filter {filter}");
    assert!(!expected.is_empty(), "{filter} selects nothing here");
    assert!(
        expected.len() < recs.len(),
        "{filter} selects everything here"
    );
    expected.len()
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn n(r: &Value, k: &str) -> f64 {
    r[k].as_f64().unwrap_or(f64::NAN)
}

const SAMPLES: &[&str] = &[
    "python-echo.pcap",
    "node-fragments.pcap",
    "ipv6-echo.pcap",
    "aiohttp-concurrent.pcap",
    "multi-if.pcapng",
    "rfc-examples.pcap",
    "lossy.pcap",
    "deflate/node-deflate.pcap",
    "deflate/websockets-default.pcap",
];

fn port(addr: &str) -> Option<u64> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

#[test]
fn frames_by_direction_opcode_and_size() {
    let recs = records("frames", &["--payload", "text"], SAMPLES);
    same_selection(&recs, "from == server and opcode_name == text", |r| {
        s(r, "from") == "server" && s(r, "opcode_name") == "text"
    });
    same_selection(&recs, "len > 1k", |r| n(r, "payload_len") > 1024.0);
    same_selection(&recs, "payload_len >= 64k", |r| {
        n(r, "payload_len") >= 65536.0
    });
    same_selection(&recs, "not fin or opcode == 0", |r| {
        r["fin"] == false || r["opcode"] == 0
    });
    same_selection(&recs, "opcode_name in {ping pong}", |r| {
        matches!(s(r, "opcode_name"), "ping" | "pong")
    });
    same_selection(&recs, "rsv1 && from == client", |r| {
        r["rsv1"] == true && s(r, "from") == "client"
    });
    same_selection(&recs, "close_code != null", |r| r["close_code"].is_u64());
    same_selection(&recs, "close_code == 1000 or close_code > 1001", |r| {
        r["close_code"]
            .as_u64()
            .is_some_and(|c| c == 1000 || c > 1001)
    });
    same_selection(&recs, "masked == false", |r| r["masked"] == false);
    same_selection(&recs, "capture contains \"deflate/\"", |r| {
        s(r, "capture").contains("deflate/")
    });
}

#[test]
fn frames_by_endpoint() {
    let recs = records("frames", &[], SAMPLES);
    same_selection(&recs, "ip == ::1", |r| {
        s(r, "client").starts_with("[::1]:") || s(r, "server").starts_with("[::1]:")
    });
    same_selection(&recs, "ip == 127.0.0.0/8 and not port == 9001", |r| {
        let (c, v) = (s(r, "client"), s(r, "server"));
        (c.starts_with("127.") || v.starts_with("127."))
            && port(c) != Some(9001)
            && port(v) != Some(9001)
    });
    same_selection(&recs, "ip != ::1", |r| {
        !s(r, "client").starts_with("[::1]:") && !s(r, "server").starts_with("[::1]:")
    });
    let some_server = s(&recs[0], "server").to_string();
    let sp = port(&some_server).unwrap();
    same_selection(&recs, &format!("port == {sp}"), |r| {
        port(s(r, "client")) == Some(sp) || port(s(r, "server")) == Some(sp)
    });
    same_selection(&recs, &format!("server_port != {sp}"), |r| {
        port(s(r, "server")) != Some(sp)
    });
    same_selection(&recs, &format!("server == \"{some_server}\""), |r| {
        s(r, "server") == some_server
    });
}

#[test]
fn frames_between_two_times() {
    let recs = records("frames", &[], SAMPLES);
    let mut ts: Vec<f64> = recs.iter().map(|r| n(r, "ts")).collect();
    ts.sort_by(f64::total_cmp);
    let (t1, t2) = (ts[ts.len() / 4], ts[ts.len() / 2]);
    let k = same_selection(&recs, &format!("ts >= {t1} and ts < {t2}"), |r| {
        (t1..t2).contains(&n(r, "ts"))
    });
    assert!(k > 10);
    // The same by UTC date and time, as `date -u` spells the epoch second.
    let secs = t2.floor();
    let date = Command::new("date")
        .args(["-u", &format!("-d@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("run date");
    let date = String::from_utf8_lossy(&date.stdout).trim().to_string();
    same_selection(&recs, &format!("ts < {date}"), |r| n(r, "ts") < secs);
    // The same window by packet numbers of one capture.
    same_selection(&recs, "capture contains node-frag and packet <= 20", |r| {
        s(r, "capture").contains("node-frag") && n(r, "packet") <= 20.0
    });
}

#[test]
fn messages_by_text_and_size() {
    let recs = records("messages", &[], SAMPLES);
    same_selection(&recs, "text contains \"héllo\"", |r| {
        s(r, "text").contains("héllo")
    });
    same_selection(&recs, "text matches \"✓$\"", |r| {
        s(r, "text").ends_with('✓')
    });
    same_selection(&recs, "text matches \"^hel+o\"", |r| {
        let t = s(r, "text").to_lowercase();
        t.strip_prefix("he").is_some_and(|t| {
            let l = t.len() - t.trim_start_matches('l').len();
            l >= 1 && t[l..].starts_with('o')
        })
    });
    same_selection(&recs, "len >= 1k and from == server", |r| {
        n(r, "len") >= 1024.0 && s(r, "from") == "server"
    });
    same_selection(&recs, "compressed", |r| r["compressed"] == true);
    same_selection(&recs, "frames > 1", |r| n(r, "frames") > 1.0);
    same_selection(&recs, "packet > 20", |r| {
        r["packets"][1].as_u64() > Some(20)
    });
    same_selection(&recs, "opcode_name == binary or not text", |r| {
        s(r, "opcode_name") == "binary" || r.get("text").is_none_or(|t| t == "")
    });
}

#[test]
fn findings_of_the_violation_captures() {
    let files: Vec<String> = std::fs::read_dir(sample("violations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .map(|n| format!("violations/{n}"))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let recs = records("check", &[], &files);
    same_selection(
        &recs,
        "severity == error and code matches \"^close\\.\"",
        |r| s(r, "severity") == "error" && s(r, "code").starts_with("close."),
    );
    same_selection(
        &recs,
        "code in {frame.client-unmasked, frame.server-masked}",
        |r| {
            matches!(
                s(r, "code"),
                "frame.client-unmasked" | "frame.server-masked"
            )
        },
    );
    same_selection(&recs, "severity != error", |r| {
        r.get("severity").is_some_and(|v| v != "error")
    });
    same_selection(&recs, "type == finding and from == server", |r| {
        s(r, "type") == "finding" && s(r, "from") == "server"
    });
    same_selection(
        &recs,
        "code contains handshake. and not severity == info",
        |r| s(r, "code").contains("handshake.") && s(r, "severity") != "info",
    );

    // The frames that raised a finding, by the derived `code`.
    let frames = records("frames", &[], &files);
    same_selection(&frames, "code == frame.rsv-without-extension", |r| {
        r["findings"]
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c == "frame.rsv-without-extension"))
    });
    same_selection(&frames, "code != frame.rsv-without-extension", |r| {
        r["findings"]
            .as_array()
            .is_some_and(|l| !l.iter().any(|c| c == "frame.rsv-without-extension"))
    });
    same_selection(&frames, "findings", |r| {
        r["findings"].as_array().is_some_and(|l| !l.is_empty())
    });
}

#[test]
fn connections_and_push_channels() {
    let recs = records("conns", &[], SAMPLES);
    same_selection(&recs, "client_to_server.close_code == 1000", |r| {
        r["client_to_server"]["close_code"] == 1000
    });
    same_selection(&recs, "type == conn and duration < 10ms", |r| {
        s(r, "type") == "conn" && n(r, "duration") < 0.01
    });
    same_selection(&recs, "extensions contains permessage-deflate", |r| {
        s(r, "extensions").contains("permessage-deflate")
    });

    let files: Vec<String> = std::fs::read_dir(sample("push"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .map(|n| format!("push/{n}"))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let recs = records("push", &[], &files);
    same_selection(&recs, "technique in {sse, long-polling}", |r| {
        matches!(s(r, "technique"), "sse" | "long-polling")
    });
    same_selection(&recs, "events > 3 and ip == 127.0.0.1", |r| {
        n(r, "events") > 3.0
            && (s(r, "client") == "127.0.0.1" || s(r, "server").starts_with("127.0.0.1:"))
    });
    same_selection(&recs, "type == sse-event and data matches \"\\d\"", |r| {
        s(r, "type") == "sse-event" && s(r, "data").chars().any(|c| c.is_ascii_digit())
    });
}

// ---- random expressions ----

const FIELDS: &[&str] = &[
    "conn",
    "from",
    "opcode",
    "opcode_name",
    "fin",
    "rsv1",
    "masked",
    "len",
    "payload_len",
    "close_code",
    "text",
    "packet",
    "ts",
    "ip",
    "port",
    "code",
    "findings",
    "client",
    "client_to_server.close_code",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-5i64..70_000).prop_map(|n| n.to_string()),
        (
            0u32..100,
            prop::sample::select(vec!["k", "K", "M", "KiB", "ms", "s", "us"])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        (0u32..1000).prop_map(|n| format!("{}.{}", n, n % 7)),
        prop::sample::select(vec![
            "true",
            "false",
            "null",
            "client",
            "server",
            "text",
            "ping",
            "::1",
            "127.0.0.1",
            "127.0.0.0/8",
            "[::1]:80",
            "tcp.gap",
            "0x1f",
        ])
        .prop_map(str::to_string),
        "[ -~é✓\\n\\t\"\\\\]{0,8}".prop_map(|t| format!("{:?}", t)),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let f = prop::sample::select(FIELDS.to_vec());
    let op = prop::sample::select(vec![
        "==", "!=", "<", "<=", ">", ">=", "contains", "matches", "eq", "ne", "gt", "ge", "lt",
        "le", "~",
    ]);
    prop_oneof![
        f.clone().prop_map(str::to_string),
        (f.clone(), op, value()).prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        (f, prop::collection::vec(value(), 1..4))
            .prop_map(|(f, v)| format!("{f} in {{{}}}", v.join(" "))),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![" and ", " or ", "&&", "||"]),
                inner.clone()
            )
                .prop_map(|(a, o, b)| format!("{a}{o}{b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("!({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn probe_records() -> Vec<Value> {
    vec![
        json!({"type": "frame", "conn": 0, "client": "127.0.0.1:54456", "server": "127.0.0.1:9001",
               "from": "client", "packet": 8, "ts": 1.5, "fin": true, "rsv1": false, "opcode": 1,
               "opcode_name": "text", "masked": true, "payload_len": 5, "payload_text": "Hello",
               "close_code": null, "findings": ["tcp.gap"]}),
        json!({"type": "message", "conn": 1, "client": "[::1]:80", "server": "[::1]:9005",
               "from": "server", "packets": [3, 9], "len": 70000, "text": "é✓", "findings": []}),
        json!({"type": "conn", "client_to_server": {"close_code": 1000}, "first_ts": 2.0}),
        json!({"type": "finding", "code": "tcp.gap", "severity": "warning", "conn": 2}),
        json!({}),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Expressions of the grammar: a parse never panics; what parses prints
    /// to a text that parses to the same filter and prints the same again;
    /// evaluation never panics, and `not` and `and` mean what they say.
    #[test]
    fn grammar_expressions_round_trip(e in expr(), g in expr()) {
        let recs = probe_records();
        if let Ok(f) = Filter::parse(&e) {
            let printed = f.to_string();
            let again = Filter::parse(&printed);
            prop_assert!(again.is_ok(), "{} -> {}: {:?}", e, printed, again.err().map(|x| x.to_string()));
            let again = again.unwrap();
            prop_assert_eq!(&again, &f);
            prop_assert_eq!(again.to_string(), printed);
            for r in &recs {
                prop_assert_eq!(again.matches(r), f.matches(r));
                let not = Filter::parse(&format!("not ({e})")).unwrap();
                prop_assert_eq!(not.matches(r), !f.matches(r));
                if let Ok(g) = Filter::parse(&g) {
                    let and = Filter::parse(&format!("({e}) and ({g})")).unwrap();
                    prop_assert_eq!(and.matches(r), f.matches(r) && g.matches(r));
                    let or = Filter::parse(&format!("({e}) || ({g})")).unwrap();
                    prop_assert_eq!(or.matches(r), f.matches(r) || g.matches(r));
                }
            }
        }
    }

    /// Any text at all: an error, never a panic, and its column is inside
    /// the text, on a character boundary.
    #[test]
    fn any_text_is_an_answer(t in "[ -~é✓\\x00-\\x1f]{0,80}") {
        check_any(&t);
    }

    #[test]
    fn filter_shaped_text_is_an_answer(
        parts in prop::collection::vec(prop::sample::select(vec![
            "(", ")", "{", "}", ",", "not", "!", "and", "&&", "or", "||", "in", "==", "!=",
            "<", ">=", "contains", "matches", "~", "=", "&", "|", "\"", "'", "\\", "len",
            "from", "ip", "64k", "1.5", "-", "null", "true", "é", "\"a\\", "\\u{", " ",
        ]), 0..40)
    ) {
        check_any(&parts.concat());
        check_any(&parts.join(" "));
    }
}

fn check_any(t: &str) {
    match Filter::parse(t) {
        Ok(f) => {
            for r in probe_records() {
                f.matches(&r);
            }
            assert!(Filter::parse(&f.to_string()).is_ok(), "{t:?} -> {f}");
        }
        Err(e) => {
            assert!(e.offset() <= t.len(), "{t:?}: {e}");
            assert!(t.is_char_boundary(e.offset()), "{t:?}: {e}");
            let shown = e.to_string();
            assert_eq!(shown.lines().count(), 3, "{shown}");
            assert!(
                !shown.chars().any(|c| c.is_control() && c != '\n'),
                "{shown:?}"
            );
        }
    }
}

#[test]
fn nesting_past_the_bound_is_an_error_not_a_stack_overflow() {
    for depth in [MAX_DEPTH + 1, 10_000, 30_000] {
        let parens = format!("{}fin{}", "(".repeat(depth), ")".repeat(depth));
        let e = Filter::parse(&parens).map(|_| ()).unwrap_err();
        assert_eq!(e.column(), MAX_DEPTH + 1);
        let nots = format!("{}fin", "!".repeat(depth));
        assert!(Filter::parse(&nots).is_err());
    }
    let ok = format!("{}fin{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Filter::parse(&ok).unwrap().matches(&json!({"fin": 1})));
}

/// Speed, for the record (not a pass/fail test):
/// `cargo test --release --test filter -- --ignored --nocapture speed`
#[test]
#[ignore]
fn speed() {
    use std::time::Instant;
    let recs = records("frames", &["--payload", "text"], SAMPLES);
    let lines: Vec<String> = recs.iter().map(|r| r.to_string()).collect();
    let rounds = 2_000_000 / recs.len() + 1;
    let n = rounds * recs.len();
    let t = Instant::now();
    let mut parsed = 0usize;
    for _ in 0..rounds / 10 {
        for l in &lines {
            let v: Value = serde_json::from_str(l).unwrap();
            parsed += v.as_object().map_or(0, |o| o.len());
        }
    }
    let per_parse = t.elapsed().as_secs_f64() / (n / 10) as f64;
    eprintln!(
        "serde_json::from_str of one frame line: {:.0} ns ({parsed})",
        per_parse * 1e9
    );
    for expr in [
        "fin",
        "from == server and opcode_name == text",
        "len > 64k or close_code in {1000 1001}",
        "ip == 127.0.0.0/8 and port == 9001",
        "text matches \"^hel+o\" or text contains world",
        "ts >= 2026-11-29T14:02:00Z and not (opcode_name == ping or opcode_name == pong)",
    ] {
        let f = Filter::parse(expr).unwrap();
        let t = Instant::now();
        let mut kept = 0usize;
        for _ in 0..rounds {
            for r in &recs {
                kept += usize::from(f.matches(r));
            }
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        eprintln!(
            "{:>5.0} ns/record, {:>5.1} M records/s  {expr}  ({kept} kept of {n})",
            per * 1e9,
            1e-6 / per
        );
    }
    let t = Instant::now();
    for _ in 0..10_000 {
        Filter::parse("text matches \"^hel+o\" and ip == ::1 or len > 64k").unwrap();
    }
    eprintln!(
        "parse with one regex: {:.1} µs",
        t.elapsed().as_secs_f64() / 10_000.0 * 1e6
    );
}

/// Every filter docs/filter.md shows in its examples parses.
#[test]
fn the_documented_examples_parse() {
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/filter.md"))
            .unwrap();
    let mut seen = 0;
    let examples = doc.split("## Examples").nth(1).unwrap();
    let examples = examples.split("\n## ").next().unwrap();
    for row in examples
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| question"))
    {
        let Some(cell) = row.trim_end_matches('|').rsplit(" | ").next() else {
            continue;
        };
        for (i, code) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                Filter::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
                seen += 1;
            }
        }
    }
    for line in doc
        .lines()
        .filter(|l| l.trim_start().starts_with("wsdissect "))
    {
        let Some((_, rest)) = line.split_once(" -Y '").or(line.split_once(" --filter '")) else {
            continue;
        };
        let code = rest.rsplit_once('\'').unwrap().0;
        Filter::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        seen += 1;
    }
    assert!(seen >= 15, "{seen}");
}
