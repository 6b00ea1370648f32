//! What users read: previews by message type, one time base, `--payload`
//! everywhere, `capture` in every record, tables that fit the terminal,
//! help with a legend, and no control byte from a capture on a terminal.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::sample;
use serde_json::Value;
/// Display columns of a line (unicode-width: wide characters count two,
/// combining marks none).
use wsdissect::render::width::cols;

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    c.args(args).env_remove("COLUMNS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = run(args, &[]);
    // 1: `check` found errors, which some samples hold on purpose.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Vec<Value> {
    stdout(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn all_captures(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(all_captures(&p));
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            v.push(p);
        }
    }
    v.sort();
    v
}

/// Hex as the tables print it: pairs of hex digits separated by spaces.
fn is_spaced_hex(s: &str) -> bool {
    let s = s.trim_end_matches('…');
    !s.is_empty()
        && s.split(' ')
            .all(|b| b.len() <= 2 && !b.is_empty() && b.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The last column of a frames/messages table row (after 7 fixed ones).
fn last_column(line: &str) -> String {
    line.split_whitespace()
        .skip(7)
        .collect::<Vec<_>>()
        .join(" ")
}

// Item 7: a binary message's continuation frames are binary.

#[test]
fn continuation_frames_follow_their_message_type() {
    // node-fragments: a text message in 4 fragments (split inside "é") and
    // a binary message 00 01 02 03 fa fb fc fd in 8 one-byte fragments.
    let recs = json(&[
        "frames",
        "--format",
        "json",
        "--payload",
        "text",
        sample("node-fragments.pcap").to_str().unwrap(),
    ]);
    let mut open: BTreeMap<String, &str> = BTreeMap::new();
    let (mut text_frags, mut bin_frags) = (0, 0);
    for r in &recs {
        let from = r["from"].as_str().unwrap().to_string();
        let kind = match r["opcode_name"].as_str().unwrap() {
            k @ ("text" | "binary") => {
                open.insert(from.clone(), k);
                k
            }
            "continuation" => open[&from],
            _ => continue,
        };
        let has_text = r.get("payload_text").is_some();
        let has_hex = r.get("payload_hex").is_some();
        match kind {
            "text" => {
                text_frags += 1;
                assert!(has_text && !has_hex, "a text message's frame: {r}");
            }
            _ => {
                bin_frags += 1;
                assert!(has_hex && !has_text, "a binary message's frame: {r}");
            }
        }
    }
    assert!(
        text_frags >= 4 && bin_frags >= 8,
        "{text_frags} {bin_frags}"
    );
    // The fragment that ends inside "é" says its text is lossy.
    assert!(recs.iter().any(|r| r["payload_lossy"] == true));

    // The table previews the binary message's continuations as hex: the
    // fragments fa..fd are not shown as text (they used to be "�").
    let table = stdout(&["frames", sample("node-fragments.pcap").to_str().unwrap()]);
    let mut in_binary = false;
    let mut checked = 0;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 || f[3] != "C>S" {
            continue;
        }
        match f[4] {
            "binary" => in_binary = true,
            "text" => in_binary = false,
            "cont" if in_binary => {
                let p = last_column(line);
                assert!(
                    is_spaced_hex(&p),
                    "binary continuation shown as {p:?}: {line}"
                );
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 7, "{checked} binary continuations\n{table}");
}

#[test]
fn compressed_frames_are_shown_as_bytes_not_as_text() {
    // A permessage-deflate frame carries deflate data, whatever its message's type.
    let p = sample("deflate/tornado.pcap");
    let path = p.to_str().unwrap();
    let recs = json(&["frames", "--format", "json", "--payload", "text", path]);
    let compressed: Vec<&Value> = recs.iter().filter(|r| r["rsv1"] == true).collect();
    assert!(!compressed.is_empty());
    for r in compressed {
        assert!(
            r["payload_hex"].is_string() && r.get("payload_text").is_none(),
            "{r}"
        );
    }
    let table = stdout(&["frames", path]);
    let mut n = 0;
    for line in table.lines().skip(1) {
        if line
            .split_whitespace()
            .nth(5)
            .is_some_and(|f| f.contains('1'))
        {
            assert!(is_spaced_hex(&last_column(line)), "{line}");
            n += 1;
        }
    }
    assert!(n > 0);
}

// Item 8: one time base, the capture's first packet.

/// Epoch seconds of the first packet of a little-endian microsecond pcap.
fn first_packet_ts(p: &Path) -> f64 {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a LE microsecond pcap");
    let sec = u32::from_le_bytes(b[24..28].try_into().unwrap()) as f64;
    let usec = u32::from_le_bytes(b[28..32].try_into().unwrap()) as f64;
    sec + usec / 1e6
}

#[test]
fn every_relative_time_counts_from_the_captures_first_packet() {
    for (name, conn) in [("python-echo.pcap", 0u64), ("port-reuse.pcap", 1)] {
        let p = sample(name);
        let path = p.to_str().unwrap();
        let t0 = first_packet_ts(&p);
        // frames: the table's time of each frame is its epoch ts minus t0.
        let frames = json(&["frames", "--format", "json", path]);
        let table = stdout(&["frames", path]);
        let rows: Vec<&str> = table.lines().skip(1).collect();
        assert_eq!(rows.len(), frames.len());
        for (row, f) in rows.iter().zip(&frames) {
            let shown: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
            let want = f["ts"].as_f64().unwrap() - t0;
            assert!((shown - want).abs() < 2e-6, "{name}: {row} vs {want}");
        }
        assert!(
            rows[0].split_whitespace().nth(1).unwrap() != "0.000000",
            "{name}: the first frame is not the first packet"
        );
        // messages: the same base.
        let msgs = json(&["messages", "--format", "json", path]);
        let table = stdout(&["messages", path]);
        for (row, m) in table.lines().skip(1).zip(&msgs) {
            let shown: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
            let want = m["ts"].as_f64().unwrap() - t0;
            assert!((shown - want).abs() < 2e-6, "{name}: {row} vs {want}");
        }
        // explain (JSON and text) of a connection: the same base.
        let c = conn.to_string();
        let ex = json(&["explain", "--format", "json", "--conn", &c, path]);
        let ex_frames: Vec<&Value> = ex.iter().filter(|r| r["type"] == "explain-frame").collect();
        let conn_frames: Vec<&Value> = frames.iter().filter(|f| f["conn"] == conn).collect();
        assert_eq!(ex_frames.len(), conn_frames.len());
        for (e, f) in ex_frames.iter().zip(&conn_frames) {
            let want = f["ts"].as_f64().unwrap() - t0;
            assert!(
                (e["ts"].as_f64().unwrap() - want).abs() < 2e-6,
                "{name}: {e}"
            );
        }
        let text = stdout(&["explain", "--color", "never", "--conn", &c, path]);
        let first = conn_frames[0]["ts"].as_f64().unwrap() - t0;
        assert!(
            text.contains(&format!("+{first:.6} s")),
            "{name}: +{first:.6} s"
        );
    }
    let help = stdout(&["frames", "--help"]);
    assert!(help.contains("first packet"), "--help says the time base");
}

// Item 14: --payload applies to tables, is rejected where it cannot apply,
// and messages --payload hex gives data_hex only.

#[test]
fn payload_mode_applies_to_tables_and_json() {
    let p = sample("python-echo.pcap");
    let path = p.to_str().unwrap();
    // The first frame is the text "Hello".
    let text = stdout(&["frames", path]);
    let hex = stdout(&["frames", "--payload", "hex", path]);
    let b64 = stdout(&["frames", "--payload", "base64", path]);
    let none = stdout(&["frames", "--payload", "none", path]);
    let first = |t: &str| last_column(t.lines().nth(1).unwrap());
    assert_eq!(first(&text), "Hello");
    assert_eq!(first(&hex), "48 65 6c 6c 6f");
    assert_eq!(first(&b64), "SGVsbG8=");
    assert_eq!(first(&none), "");
    assert!(!none.lines().next().unwrap().contains("payload"));
    let msgs_hex = stdout(&["messages", "--payload", "hex", path]);
    assert_eq!(first(&msgs_hex), "48 65 6c 6c 6f");

    for r in json(&["messages", "--format", "json", "--payload", "hex", path]) {
        assert!(r.get("text").is_none(), "--payload hex emits text: {r}");
        assert!(r["data_hex"].is_string(), "{r}");
    }
    for r in json(&["messages", "--format", "json", "--payload", "base64", path]) {
        assert!(
            r.get("text").is_none() && r.get("data_hex").is_none(),
            "{r}"
        );
        assert!(r["data_base64"].is_string(), "{r}");
    }

    for format in ["table", "json"] {
        let out = run(
            &["conns", "--format", format, "--payload", "hex", path],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "conns --payload must be refused"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--payload"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

// Item 15: `capture` in every JSON record, also with one file.

#[test]
fn every_json_record_names_its_capture() {
    for name in [
        "python-echo.pcap",
        "push/python-sse.pcap",
        "violations/c-client-unmasked.pcap",
    ] {
        let p = sample(name);
        let path = p.to_str().unwrap();
        for cmd in [
            &["frames", "--format", "json"][..],
            &["messages", "--format", "json"],
            &["conns", "--format", "json"],
            &["check", "--format", "json"],
            &["push", "--format", "json"],
        ] {
            let mut args = cmd.to_vec();
            args.push(path);
            for r in json(&args) {
                if r["type"] == "summary" {
                    continue;
                }
                assert_eq!(r["capture"], path, "{cmd:?} {r}");
            }
        }
    }
}

// Item 12: tables fit COLUMNS.

#[test]
fn tables_fit_80_columns_on_every_sample() {
    let caps = all_captures(&sample(""));
    assert!(caps.len() > 60);
    let mut wide_before = 0;
    for cap in &caps {
        let path = cap.to_str().unwrap();
        for cmd in ["conns", "push", "check", "frames", "messages"] {
            let out = run(&[cmd, path], &[("COLUMNS", "80")]);
            let text = String::from_utf8(out.stdout).unwrap();
            for line in text.lines() {
                assert!(
                    cols(line) <= 80,
                    "{cmd} {path}: {} columns:\n{line}",
                    cols(line)
                );
            }
            // Without COLUMNS, a pipe gets every column in full.
            let full = stdout(&[cmd, path]);
            if full.lines().any(|l| cols(l) > 80) {
                wide_before += 1;
            }
        }
    }
    assert!(
        wide_before > 50,
        "the samples do exercise fitting: {wide_before}"
    );
    // Narrower still: nothing past the width either.
    let out = run(
        &["conns", sample("aiohttp-concurrent.pcap").to_str().unwrap()],
        &[("COLUMNS", "60")],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| cols(l) <= 60), "{text}");
    assert!(
        text.contains("c/s"),
        "the counts moved under the rows:\n{text}"
    );
}

#[test]
fn check_wraps_a_long_message_under_its_row() {
    let p = sample("any-sll2.pcap");
    let full = stdout(&["check", p.to_str().unwrap()]);
    let out = run(&["check", p.to_str().unwrap()], &[("COLUMNS", "80")]);
    let fit = String::from_utf8(out.stdout).unwrap();
    // The same words, none lost: only the layout differs.
    let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(words(&full), words(&fit));
    assert!(fit.lines().count() > full.lines().count());
}

// Item 13: help with descriptions, order, examples, exit codes, legend.

#[test]
fn help_describes_every_option_with_examples_exit_codes_and_a_legend() {
    for cmd in ["frames", "messages", "conns", "check", "explain", "push"] {
        let help = stdout(&[cmd, "--help"]);
        // Every option line (before the long help) has a description after its name.
        let limits = help
            .find("Limits:")
            .unwrap_or_else(|| panic!("{cmd}: no Limits heading"));
        let end = limits + help[limits..].find("\n\n").unwrap_or(help.len() - limits);
        for line in help[..end]
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
        {
            let l = line.trim();
            let (name, rest) = l.split_once("  ").unwrap_or((l, ""));
            assert!(!rest.trim().is_empty(), "{cmd}: {name} has no description");
        }
        let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("{cmd}: no {s}"));
        assert!(
            at("--format") < at("--max-frame-bytes"),
            "{cmd}: format before caps"
        );
        if ["frames", "messages"].contains(&cmd) {
            assert!(at("--payload") < at("--max-frame-bytes"));
        }
        assert!(
            at("Limits:") < at("--max-frame-bytes"),
            "{cmd}: caps under a heading"
        );
        assert!(help.contains("Example"), "{cmd}: an example");
        assert!(
            help.contains(&format!("wsdissect {cmd} ")),
            "{cmd}: an example command"
        );
        assert!(help.contains("Exit status"), "{cmd}: exit codes");
        assert!(help.contains("  2  "), "{cmd}: exit 2");
    }
    let top = stdout(&["--help"]);
    assert!(
        top.contains("Exit status") && top.contains("Examples") && top.contains("--list-codes")
    );
    let legend = [
        ("frames", &["F123M", "!2", "C>S", "cont"][..]),
        ("messages", &["z "][..]),
        ("conns", &["c/s"][..]),
        ("push", &["reconn"][..]),
        ("check", &["  1  "][..]),
    ];
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for (cmd, marks) in legend {
        let help = stdout(&[cmd, "--help"]);
        for m in marks {
            assert!(help.contains(m), "{cmd} --help explains {m:?}");
        }
    }
    for m in ["F123M", "`!2`", "`z`", "`c/s`", "`reconn`"] {
        assert!(readme.contains(m), "README legend explains {m}");
    }
    // conns takes no --payload, so its help does not offer it.
    let conns = stdout(&["conns", "--help"]);
    let options = &conns[..conns.find("Limits:").unwrap()];
    assert!(!options.contains("--payload"), "{options}");
}

// Item 21: no control byte from a capture reaches a terminal.

/// Control characters in `s` other than the newlines that end lines.
fn controls(s: &str) -> Vec<char> {
    s.chars().filter(|&c| c.is_control() && c != '\n').collect()
}

#[test]
fn no_control_byte_from_the_capture_reaches_table_or_text_output() {
    let p = sample("escapes/control-bytes.pcap");
    let path = p.to_str().unwrap();
    let mut outputs = 0;
    for cmd in ["frames", "messages", "conns", "check", "push"] {
        for extra in [&[][..], &["--payload", "text"], &["--payload", "hex"]] {
            if cmd != "frames" && cmd != "messages" && !extra.is_empty() {
                continue;
            }
            for env in [&[][..], &[("COLUMNS", "80")]] {
                let mut args = vec![cmd];
                args.extend_from_slice(extra);
                args.push(path);
                let out = run(&args, env);
                assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}");
                let text = String::from_utf8(out.stdout).unwrap();
                assert!(!text.is_empty());
                let bad = controls(&text);
                assert!(bad.is_empty(), "{args:?} wrote {bad:?}:\n{text}");
                outputs += 1;
            }
        }
    }
    assert!(outputs >= 14);
    // The escapes are visible instead: ESC in text, U+009B from a header
    // value quoted by a finding.
    let frames = stdout(&["frames", path]);
    assert!(frames.contains("\\x1b[2J"), "{frames}");
    let check = String::from_utf8(run(&["check", path], &[]).stdout).unwrap();
    assert!(check.contains("\\u{9b}"), "{check}");
    let codes: Vec<String> = json(&["check", "--format", "json", path])
        .iter()
        .filter(|r| r["type"] == "finding")
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        ["handshake.version-unsupported", "handshake.rejected"]
    );
    // JSON lines carry none raw either (JSON allows DEL and C1 raw; they
    // are written as \u007f, \u009b), and decode to the data exactly.
    for cmd in ["frames", "messages", "conns", "check", "push"] {
        let out = run(&[cmd, "--format", "json", "--payload", "text", path], &[]);
        let out = if cmd == "conns" || cmd == "check" || cmd == "push" {
            run(&[cmd, "--format", "json", path], &[])
        } else {
            out
        };
        let text = String::from_utf8(out.stdout).unwrap();
        let bad = controls(&text);
        assert!(bad.is_empty(), "{cmd} --format json wrote {bad:?}");
    }
    let texts: Vec<String> = json(&["messages", "--format", "json", path])
        .iter()
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains('\u{9b}') && t.contains('\u{7f}'))
    );
    let recs = json(&["messages", "--format", "json", path]);
    assert!(
        recs.iter()
            .any(|r| r["text"].as_str().is_some_and(|t| t.contains('\u{1b}')))
    );
}

#[test]
fn install_and_toolchain_are_stated_truthfully() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let rv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml states rust-version");
    assert!(
        readme.contains(&format!("{rv} or later")),
        "README states Rust {rv}"
    );
    assert!(readme.contains("cargo install --locked --path ."));
    assert!(readme.contains("~/.cargo/bin"));
    // The script renders to a path it is given or a temporary file, and
    // builds where CARGO_TARGET_DIR says.
    let script = std::fs::read_to_string(root.join("scripts/render-explain.sh")).unwrap();
    assert!(script.contains("CARGO_TARGET_DIR"));
    assert!(
        !script.contains("docs/explain.png"),
        "no default overwrite of docs/explain.png"
    );
}
