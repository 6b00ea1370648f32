//! `wsdissect report -o FILE.html`: the page's figures checked against
//! the records of `frames`, `messages`, `conns` and `check` (JSON) over
//! real samples, its escaping over the control-bytes sample, and the page
//! itself in headless Chromium (tests/browser/report.mjs, as
//! tests/browser.rs does for explain).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// The key log beside a TLS sample (`x.pcap` -> `x.keys`), if any.
fn keys_of(cap: &str) -> Option<String> {
    let k = Path::new(cap).with_extension("keys");
    k.exists().then(|| k.to_str().unwrap().to_string())
}

fn run_raw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> String {
    let out = run_raw(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `cmd --format json [--keylog K] CAP` records of `ty`.
fn typed(cmd: &str, cap: &str, ty: &str) -> Vec<Value> {
    let mut args = vec![cmd, "--format", "json"];
    let keys = keys_of(cap);
    if let Some(k) = &keys {
        args.extend(["--keylog", k.as_str()]);
    }
    args.push(cap);
    // check exits 1 when it finds an error: its records are still all there.
    let out = run_raw(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

/// The WebSocket connections among `conns`' records (it lists TLS
/// connections that carried none too): a handshake or a frame. By id.
fn ws_conns(cap: &str) -> Vec<Value> {
    let mut conns: Vec<Value> = typed("conns", cap, "conn")
        .into_iter()
        .filter(|c| {
            c["handshake"] == true
                || num(&c["client_to_server"]["frames"]) + num(&c["server_to_client"]["frames"]) > 0
        })
        .collect();
    conns.sort_by_key(|c| num(&c["conn"]));
    conns
}

/// The report page of `cap` (with its key log), written with `-o -`.
fn report(cap: &str) -> String {
    let mut args = vec!["report", "-o", "-"];
    let keys = keys_of(cap);
    if let Some(k) = &keys {
        args.extend(["--keylog", k.as_str()]);
    }
    args.push(cap);
    run(&args)
}

fn parse(html: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("the page is not well-formed: {e}"))
}

fn has_class(n: &roxmltree::Node, c: &str) -> bool {
    n.attribute("class")
        .is_some_and(|v| v.split_whitespace().any(|x| x == c))
}

fn text_of(n: &roxmltree::Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

/// The summary table's figures by their `data-key`.
fn summary(doc: &roxmltree::Document) -> BTreeMap<String, String> {
    doc.descendants()
        .filter(|n| n.is_element() && n.attribute("data-key").is_some())
        .map(|n| (n.attribute("data-key").unwrap().to_string(), text_of(&n)))
        .collect()
}

/// The connection rows: each row's cells' text.
fn conn_rows(doc: &roxmltree::Document) -> Vec<Vec<String>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("tr") && has_class(n, "conn"))
        .map(|r| {
            r.children()
                .filter(|c| c.has_tag_name("td"))
                .map(|c| text_of(&c))
                .collect()
        })
        .collect()
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn report_without_output_is_a_usage_error() {
    let out = run_raw(&["report", &sample("python-echo.pcap")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-o FILE.html"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn report_to_a_file_is_the_page_of_standard_output() {
    let cap = sample("python-echo.pcap");
    let dir = std::env::temp_dir().join(format!("wsdissect-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("r.html");
    let out = run_raw(&["report", "-o", file.to_str().unwrap(), &cap]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "-o FILE writes nothing to stdout");
    let written = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(written, run(&["report", "-o", "-", &cap]));
}

/// The samples the figures are checked on: plain, several connections,
/// TLS with its key log, HTTP/2, permessage-deflate, violations.
const FIGURES: &[&str] = &[
    "python-echo.pcap",
    "node-fragments.pcap",
    "aiohttp-concurrent.pcap",
    "tls/node-tls13-aes128.pcap",
    "tls/chromium-wss-deflate.pcap",
    "h2/h2-ws.pcap",
    "deflate/node-deflate.pcap",
    "lossy.pcap",
    "port-reuse.pcap",
];

#[test]
fn report_figures_equal_the_records() {
    for name in FIGURES {
        let cap = sample(name);
        let html = report(&cap);
        let doc = parse(&html);
        let s = summary(&doc);
        let frames = typed("frames", &cap, "frame");
        let messages = typed("messages", &cap, "message");
        let conns = ws_conns(&cap);
        assert!(!frames.is_empty(), "{name}: no frames");
        // Counted from the records, independently of the stats collector.
        let by = |recs: &[Value], from: &str| recs.iter().filter(|r| r["from"] == from).count();
        let bytes = |from: &str| -> u64 {
            frames
                .iter()
                .filter(|r| r["from"] == from)
                .map(|r| num(&r["payload_len"]))
                .sum()
        };
        let want = [
            ("connections", conns.len() as u64),
            ("frames", frames.len() as u64),
            ("frames-client", by(&frames, "client") as u64),
            ("frames-server", by(&frames, "server") as u64),
            ("messages", messages.len() as u64),
            ("messages-client", by(&messages, "client") as u64),
            ("messages-server", by(&messages, "server") as u64),
            ("bytes-client", bytes("client")),
            ("bytes-server", bytes("server")),
            ("bytes", bytes("client") + bytes("server")),
        ];
        for (key, v) in want {
            assert_eq!(
                s.get(key).map(String::as_str),
                Some(v.to_string().as_str()),
                "{name}: summary {key}"
            );
        }
        // The capture's span: its first packet to its last WebSocket record.
        let first = frames.iter().map(|f| f["ts"].as_f64().unwrap());
        let last_conn = conns
            .iter()
            .map(|c| c["last_ts"].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert!(first.clone().count() > 0);
        let dur: f64 = s["duration"].parse().unwrap();
        let t0 = conns
            .iter()
            .map(|c| c["first_ts"].as_f64().unwrap())
            .fold(f64::MAX, f64::min);
        assert!(
            dur + 1e-6 >= last_conn - t0,
            "{name}: duration {dur} shorter than the connections' span {}",
            last_conn - t0
        );
        // Findings by severity, as check counts them.
        let check = typed("check", &cap, "finding");
        for sev in ["error", "warning", "info"] {
            let n = check.iter().filter(|f| f["severity"] == sev).count();
            assert_eq!(
                s[&format!("findings-{sev}")],
                n.to_string(),
                "{name}: {sev} findings"
            );
        }
        // One row per connection, in order, with its own figures.
        let rows = conn_rows(&doc);
        assert_eq!(rows.len(), conns.len(), "{name}: connection rows");
        for (row, c) in rows.iter().zip(&conns) {
            assert_eq!(row[0], c["conn"].to_string(), "{name}");
            assert_eq!(row[1], c["client"].as_str().unwrap(), "{name}");
            assert_eq!(row[2], c["server"].as_str().unwrap(), "{name}");
            let cs = |k: &str| format!("{}/{}", c["client_to_server"][k], c["server_to_client"][k]);
            assert!(
                row.contains(&cs("frames")),
                "{name}: {row:?} lacks frames {}",
                cs("frames")
            );
            assert!(row.contains(&cs("messages")), "{name}: {row:?}");
            assert!(row.contains(&cs("payload_bytes")), "{name}: {row:?}");
        }
    }
}

#[test]
fn report_escapes_every_capture_text() {
    let cap = sample("escapes/control-bytes.pcap");
    let html = report(&cap);
    parse(&html);
    for c in html.chars() {
        assert!(
            !c.is_control() || matches!(c, '\n' | '\t'),
            "a control character {:?} from the capture reached the page",
            c
        );
    }
    // Shown, escaped: the close reason with ESC and BEL, the version
    // header's U+009B quoted by the finding.
    assert!(html.contains("\\x1b[31mbye\\x1b[0m\\x07"), "close reason");
    assert!(html.contains("13\\u{9b}2J"), "the finding's quote");
}

/// Every sample with a WebSocket connection in headless Chromium: one row
/// per connection, the five charts (non-empty where there is something to
/// draw), every finding linked to its packet, nothing fetched, no errors;
/// a screenshot of a few.
#[test]
fn report_in_headless_chromium() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!(
            "skipped: /usr/bin/chromium is not installed (scripts/setup-browser-deps.sh installs it)"
        );
        return;
    }
    let dir = root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "chromium is here but playwright-core is not: run scripts/setup-browser-deps.sh"
    );
    let tmp = std::env::temp_dir().join(format!("wsdissect-report-browser-{}", std::process::id()));
    let keep = std::env::var_os("WSDISSECT_SHOTS").map(PathBuf::from);
    let shots = keep.clone().unwrap_or_else(|| tmp.join("shots"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&shots).unwrap();
    let shot = [
        "aiohttp-concurrent.pcap",
        "tls/node-tls13-aes128.pcap",
        "h2/h2-ws.pcap",
        "violations/c-close-invalid-code.pcap",
    ];
    let mut pages = Vec::new();
    for name in all_samples() {
        let cap = sample(&name);
        let conns: Vec<u64> = ws_conns(&cap).iter().map(|c| num(&c["conn"])).collect();
        let findings: Vec<Value> = typed("check", &cap, "finding")
            .iter()
            .map(|f| f["packet"].clone())
            .collect();
        let file = tmp.join(format!("{}.html", name.replace('/', "-")));
        std::fs::write(&file, report(&cap)).unwrap();
        pages.push(json!({
            "name": name.replace('/', "-"),
            "html": file,
            "conns": conns,
            "messages": typed("messages", &cap, "message").len(),
            "findings": findings,
            "shot": shot.contains(&name.as_str()),
        }));
    }
    assert!(pages.len() >= 40, "{} samples", pages.len());
    let spec = tmp.join("spec.json");
    std::fs::write(
        &spec,
        serde_json::to_vec(&json!({"shots": shots, "pages": pages})).unwrap(),
    )
    .unwrap();
    let out = Command::new("timeout")
        .arg("600")
        .arg("node")
        .arg(dir.join("report.mjs"))
        .arg(&spec)
        .current_dir(&dir)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shots_made: Vec<_> = std::fs::read_dir(&shots)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        pages.len(),
        "{stdout}"
    );
    assert!(
        shots_made.len() >= shot.len(),
        "screenshots: {}",
        shots_made.len()
    );
    eprint!("{stdout}");
}

/// Every capture under samples/ (and one level of folders).
fn all_samples() -> Vec<String> {
    let mut names = Vec::new();
    let base = root().join("samples");
    let mut dirs = vec![String::new()];
    for e in std::fs::read_dir(&base).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            dirs.push(format!("{}/", e.file_name().to_string_lossy()));
        }
    }
    for d in dirs {
        for e in std::fs::read_dir(base.join(&d)).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.ends_with(".pcap") || n.ends_with(".pcapng") {
                names.push(format!("{d}{n}"));
            }
        }
    }
    names.sort();
    names
}
