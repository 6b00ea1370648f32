//! `--filter` / `-Y` on the commands, over the real bundled captures: each
//! analyst question answered by the filter is compared with the same
//! selection done here, in plain Rust, over the unfiltered JSON records.

mod common;

use std::path::{Path, PathBuf};

use common::{bin, sample};
use serde_json::Value;
use wsdissect::filter::Filter;

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

/// Runs `wsdissect ARGS CAPTURE` and returns its JSON records.
fn records(args: &[&str], capture: &Path) -> Vec<Value> {
    let out = bin().args(args).arg(capture).output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{args:?} {capture:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// Every capture of samples/ (sub-folders too).
fn all_samples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
            {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&sample(""), &mut v);
    v
}

#[test]
fn close_frames_of_every_sample() {
    let mut seen = 0;
    for cap in all_samples() {
        let all = records(&["frames", "--format", "json"], &cap);
        let want: Vec<&Value> = all.iter().filter(|r| r["opcode_name"] == "close").collect();
        let got = records(
            &[
                "frames",
                "--format",
                "json",
                "-Y",
                "opcode_name == \"close\"",
            ],
            &cap,
        );
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{cap:?}");
        seen += want.len();
    }
    assert!(seen > 20, "only {seen} close frames in the samples");
}

#[test]
fn text_messages_containing_a_string_between_two_times() {
    let cap = sample("aiohttp-concurrent.pcap");
    let all = records(&["messages", "--format", "json"], &cap);
    assert!(all.len() > 20);
    let ts: Vec<f64> = all.iter().map(|r| r["ts"].as_f64().unwrap()).collect();
    let mut sorted = ts.clone();
    sorted.sort_by(f64::total_cmp);
    let (t1, t2) = (sorted[sorted.len() / 4], sorted[sorted.len() * 3 / 4]);
    let needle = "1";
    let want: Vec<&Value> = all
        .iter()
        .filter(|r| {
            let t = r["ts"].as_f64().unwrap();
            r["text"].as_str().is_some_and(|s| s.contains(needle)) && t >= t1 && t <= t2
        })
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    let expr = format!("text contains \"{needle}\" and ts >= {t1:?} and ts <= {t2:?}");
    let got = records(&["messages", "--format", "json", "--filter", &expr], &cap);
    assert_eq!(got.iter().collect::<Vec<_>>(), want, "{expr}");
}

#[test]
fn one_connection_from_the_server() {
    let cap = sample("aiohttp-concurrent.pcap");
    let all = records(&["messages", "--format", "json"], &cap);
    let conn = all[all.len() / 2]["conn"].as_u64().unwrap();
    let want: Vec<&Value> = all
        .iter()
        .filter(|r| r["conn"] == conn && r["from"] == "server")
        .collect();
    assert!(!want.is_empty());
    let expr = format!("conn == {conn} and from == \"server\"");
    let got = records(&["messages", "--format", "json", "-Y", &expr], &cap);
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
}

#[test]
fn check_reports_and_fails_on_the_findings_that_pass() {
    // This capture has an error and an info finding.
    let cap = sample("escapes/control-bytes.pcap");
    let all = records(&["check", "--format", "json"], &cap);
    let findings: Vec<&Value> = all.iter().filter(|r| r["type"] == "finding").collect();
    let errors: Vec<&Value> = findings
        .iter()
        .copied()
        .filter(|r| r["severity"] == "error")
        .collect();
    assert!(!errors.is_empty() && errors.len() < findings.len());
    let out = bin()
        .args(["check", "--format", "json", "-Y", "severity == \"error\""])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let got = json_lines(&out.stdout);
    let got_findings: Vec<&Value> = got.iter().filter(|r| r["type"] == "finding").collect();
    assert_eq!(got_findings, errors);
    let summary = got.iter().find(|r| r["type"] == "summary").unwrap();
    assert_eq!(summary["errors"], errors.len());
    assert_eq!(summary["info"], 0);
    // The errors filtered away: nothing left to fail on.
    let out = bin()
        .args(["check", "-Y", "severity != error"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The table too shows only what passed.
    let text = String::from_utf8_lossy(&out.stdout);
    for e in &errors {
        assert!(!text.contains(e["code"].as_str().unwrap()), "{text}");
    }
}

#[test]
fn a_bad_filter_exits_2_pointing_at_its_column_before_reading() {
    // The capture does not exist: the filter is judged first.
    for cmd in ["frames", "messages", "conns", "check", "explain", "push"] {
        let out = bin()
            .args([cmd, "-Y", "len > 10 and"])
            .arg("/nonexistent/capture.pcap")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{cmd}: {err}");
        assert!(
            lines[0].starts_with("wsdissect: bad filter: ") && lines[0].ends_with("at column 13"),
            "{cmd}: {err}"
        );
        assert_eq!(lines[1], "len > 10 and");
        assert_eq!(lines[2].find('^'), Some(12), "{err}");
        assert!(!err.contains("nonexistent"), "{err}");
    }
    let out = bin()
        .args(["frames", "--filter", "lenn > 1"])
        .arg(sample("python-echo.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'len'?"));
}

/// The typed records answer every field as their JSON records print it:
/// the filter keeps exactly what it keeps over the JSON.
#[test]
fn typed_records_filter_as_their_json_does() {
    let exprs = [
        "len > 100",
        "from == server and fin",
        "opcode >= 8 or masked",
        "close_code != null",
        "ip == 127.0.0.1 and port > 9000",
        "code == tcp.gap or findings",
        "packet > 20 and ts < 1795248950",
        "client contains \"::1\"",
        "carrier == h1 and stream == null",
        "type == frame or type == message",
        "mask_key matches \"^[0-7]\"",
        "status == 101 and accept_ok",
        "client_to_server.frames > 3",
        "duration > 0.5",
        "frames > 1 or compressed",
        "severity == warning",
    ];
    let cmds: [&[&str]; 4] = [
        &["frames", "--format", "json", "--payload", "text"],
        &["messages", "--format", "json"],
        &["conns", "--format", "json"],
        &["check", "--format", "json"],
    ];
    let mut kept = 0;
    for cap in all_samples() {
        for cmd in cmds {
            let all = records(cmd, &cap);
            for expr in exprs {
                let f = Filter::parse(expr).unwrap();
                let want: Vec<&Value> = all
                    .iter()
                    .filter(|r| r["type"] == "summary" || f.matches(*r))
                    .collect();
                let mut args = cmd.to_vec();
                args.extend(["--filter", expr]);
                let got = records(&args, &cap);
                let got: Vec<&Value> = got
                    .iter()
                    .filter(|r| r["type"] != "summary")
                    .collect::<Vec<_>>();
                let want: Vec<&Value> = want
                    .into_iter()
                    .filter(|r| r["type"] != "summary")
                    .collect();
                assert_eq!(got, want, "{cmd:?} --filter '{expr}' {cap:?}");
                kept += got.len();
            }
        }
    }
    assert!(kept > 1000, "{kept}");
}

/// A frame withheld by the filter still tells the output which message its
/// continuations belong to: a text message's continuation keeps its text.
#[test]
fn continuations_of_a_withheld_first_frame_keep_their_message_type() {
    let cap = sample("node-fragments.pcap");
    let args = ["frames", "--format", "json", "--payload", "text"];
    let all = records(&args, &cap);
    let want: Vec<&Value> = all
        .iter()
        .filter(|r| r["opcode_name"] == "continuation")
        .collect();
    assert!(want.iter().any(|r| r.get("payload_text").is_some()));
    assert!(want.iter().any(|r| r.get("payload_hex").is_some()));
    let mut a = args.to_vec();
    a.extend(["-Y", "opcode_name == continuation"]);
    let got = records(&a, &cap);
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    // And `text` reads a text message's continuation frames.
    a.truncate(args.len());
    a.extend(["-Y", "opcode == 0 and text"]);
    let got = records(&a, &cap);
    let texts: Vec<&Value> = want
        .iter()
        .copied()
        .filter(|r| r.get("payload_text").is_some_and(|t| t != ""))
        .collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), texts);
}

#[test]
fn message_text_is_filtered_whatever_payload_prints() {
    let cap = sample("python-echo.pcap");
    let all = records(&["messages", "--format", "json"], &cap);
    let want: Vec<u64> = all
        .iter()
        .filter(|r| r["text"].as_str().is_some_and(|t| t.contains('{')))
        .map(|r| r["packets"][1].as_u64().unwrap())
        .collect();
    assert!(!want.is_empty());
    let got = records(
        &[
            "messages",
            "--format",
            "json",
            "--payload",
            "none",
            "-Y",
            "text contains \"{\"",
        ],
        &cap,
    );
    let got: Vec<u64> = got
        .iter()
        .map(|r| {
            r["packet"]
                .as_u64()
                .unwrap_or_else(|| r["packets"][1].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
    // A table holds the same rows (the filter reads the whole text, not the preview).
    let out = bin()
        .args(["messages", "-Y", "text contains \"{\""])
        .arg(&cap)
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = text.lines().filter(|l| l.contains('{')).count();
    assert_eq!(rows, want.len(), "{text}");
}

#[test]
fn conns_and_push_filter_their_records() {
    let cap = sample("aiohttp-concurrent.pcap");
    let all = records(&["conns", "--format", "json"], &cap);
    let want: Vec<&Value> = all
        .iter()
        .filter(|r| r["type"] == "conn" && r["conn"].as_u64().unwrap() % 2 == 0)
        .collect();
    assert!(want.len() >= 5);
    let expr = want
        .iter()
        .map(|r| format!("conn == {}", r["conn"]))
        .collect::<Vec<_>>()
        .join(" or ");
    let got = records(
        &[
            "conns",
            "--format",
            "json",
            "-Y",
            &format!("type == conn and ({expr})"),
        ],
        &cap,
    );
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    for cap in [sample("push/sse.pcap"), sample("aiohttp-concurrent.pcap")] {
        if !cap.exists() {
            continue;
        }
        let all = records(&["push", "--format", "json"], &cap);
        let want: Vec<&Value> = all
            .iter()
            .filter(|r| r["type"] == "push" && r["technique"] == "websocket")
            .collect();
        let got = records(
            &[
                "push",
                "--format",
                "json",
                "-Y",
                "type == push and technique == websocket",
            ],
            &cap,
        );
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{cap:?}");
    }
}

#[test]
fn explain_walks_through_the_first_connection_that_matches() {
    let cap = sample("aiohttp-concurrent.pcap");
    let conns = records(&["conns", "--format", "json"], &cap);
    let target = conns
        .iter()
        .filter(|r| r["type"] == "conn")
        .map(|r| r["conn"].as_u64().unwrap())
        .max()
        .unwrap();
    let by_conn = bin()
        .args(["explain", "--format", "json", "--conn", &target.to_string()])
        .arg(&cap)
        .output()
        .unwrap();
    assert!(by_conn.status.success());
    let by_filter = bin()
        .args([
            "explain",
            "--format",
            "json",
            "-Y",
            &format!("conn == {target}"),
        ])
        .arg(&cap)
        .output()
        .unwrap();
    assert!(by_filter.status.success());
    assert_eq!(by_filter.stdout, by_conn.stdout);
    // Nothing matches: said, and no walkthrough of another connection.
    let out = bin()
        .args(["explain", "-Y", "conn == 999999"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no record matches the filter"));
}
