//! `--format csv` over the real bundled captures: read back with the csv
//! crate (and Python's csv module), every row holds the values of its JSON
//! record, field for field.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, sample};
use serde_json::Value;

fn run(args: &[&str], capture: &Path) -> Vec<u8> {
    let out = bin().args(args).arg(capture).output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{args:?} {capture:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

/// Header and rows, as the csv crate reads them.
fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// A JSON record's fields as the CSV names them: nested objects by dotted
/// paths (a null object has no fields).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    for (k, x) in v.as_object().unwrap() {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if x.is_object() {
            flatten(&name, x, out);
        } else {
            out.push((name, x.clone()));
        }
    }
}

/// Whether a CSV cell holds a JSON value.
fn same(cell: &str, v: &Value) -> bool {
    match v {
        Value::Null => cell.is_empty(),
        Value::Bool(b) => cell == if *b { "true" } else { "false" },
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => cell == s,
        Value::Array(a) if a.is_empty() => cell.is_empty(),
        Value::Array(a) => {
            let parts: Vec<&str> = cell.split(';').collect();
            parts.len() == a.len() && parts.iter().zip(a).all(|(c, x)| same(c, x))
        }
        Value::Object(_) => false,
    }
}

/// The CSV rows equal the JSON records of `ty`, field for field: every
/// field of every record has its column, the cell holds its value, and a
/// column the record lacks is empty.
fn assert_rows_match(
    json: &[Value],
    ty: &str,
    header: &[String],
    rows: &[Vec<String>],
    what: &str,
) {
    let recs: Vec<&Value> = json.iter().filter(|r| r["type"] == ty).collect();
    assert_eq!(rows.len(), recs.len(), "{what}: rows");
    for (rec, row) in recs.iter().zip(rows) {
        assert_eq!(row.len(), header.len(), "{what}");
        let mut fields = Vec::new();
        flatten("", rec, &mut fields);
        for (name, v) in &fields {
            let Some(i) = header.iter().position(|h| h == name) else {
                // A null object (a plaintext connection's `tls`): its columns are empty.
                let dotted = format!("{name}.");
                let inner: Vec<usize> = (0..header.len())
                    .filter(|&i| header[i].starts_with(&dotted))
                    .collect();
                assert!(
                    v.is_null() && !inner.is_empty(),
                    "{what}: no column for the field {name} (header {header:?})"
                );
                assert!(inner.iter().all(|&i| row[i].is_empty()), "{what}: {name}");
                continue;
            };
            assert!(
                same(&row[i], v),
                "{what}: {name}: cell {:?} is not {v}",
                row[i]
            );
        }
        for (i, h) in header.iter().enumerate() {
            if !fields
                .iter()
                .any(|(n, v)| n == h || (v.is_null() && h.starts_with(&format!("{n}."))))
            {
                assert!(
                    row[i].is_empty(),
                    "{what}: {h} should be empty: {:?}",
                    row[i]
                );
            }
        }
    }
}

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

/// (command and options, the record type its CSV holds)
const OUTPUTS: &[(&[&str], &str)] = &[
    (&["frames"], "frame"),
    (&["frames", "--payload", "text"], "frame"),
    (&["frames", "--payload", "hex"], "frame"),
    (&["messages"], "message"),
    (&["messages", "--payload", "base64"], "message"),
    (&["conns"], "conn"),
    (&["check"], "finding"),
    (&["push"], "push"),
];

#[test]
fn every_sample_round_trips_through_the_csv_crate() {
    let mut rows_seen = 0;
    let mut cells = String::new();
    for cap in all_samples() {
        for (cmd, ty) in OUTPUTS {
            let mut a = cmd.to_vec();
            a.extend(["--format", "json"]);
            let json = json_lines(&run(&a, &cap));
            a.truncate(cmd.len());
            a.extend(["--format", "csv"]);
            let bytes = run(&a, &cap);
            // RFC 4180: every record ends in CRLF.
            assert!(bytes.ends_with(b"\r\n"), "{cmd:?} {cap:?}");
            let (header, rows) = parse_csv(&bytes);
            assert_eq!(&header[..2], ["type", "capture"]);
            let what = format!("{cmd:?} {}", cap.display());
            assert_rows_match(&json, ty, &header, &rows, &what);
            rows_seen += rows.len();
            for r in &rows {
                cells.extend(r.iter().map(String::as_str));
            }
        }
    }
    assert!(rows_seen > 5000, "{rows_seen}");
    // The samples put every character CSV must quote or keep through it.
    for c in [',', '"', '\n', '\r', '\u{1b}', '\u{7}', '\u{9b}', ';'] {
        assert!(cells.contains(c), "no cell holds {c:?}");
    }
}

#[test]
fn a_filter_selects_the_rows() {
    let cap = sample("aiohttp-concurrent.pcap");
    let json = json_lines(&run(&["messages", "--format", "json"], &cap));
    let want: Vec<&Value> = json.iter().filter(|r| r["from"] == "server").collect();
    assert!(!want.is_empty() && want.len() < json.len());
    let bytes = run(
        &["messages", "--format", "csv", "-Y", "from == server"],
        &cap,
    );
    let (header, rows) = parse_csv(&bytes);
    let want: Vec<Value> = want.into_iter().cloned().collect();
    assert_rows_match(&want, "message", &header, &rows, "filtered");
}

#[test]
fn an_empty_output_still_has_its_header() {
    let bytes = run(
        &["frames", "--format", "csv", "-Y", "conn == 99999"],
        &sample("python-echo.pcap"),
    );
    let (header, rows) = parse_csv(&bytes);
    assert!(rows.is_empty());
    assert!(header.contains(&"opcode_name".to_string()));
}

/// Python's csv module reads the same rows as the JSON holds, control
/// characters, quotes, commas and line breaks included.
#[test]
fn python_csv_reads_the_json_values() {
    if Command::new("python3")
        .arg("-c")
        .arg("import csv")
        .output()
        .is_err()
    {
        eprintln!("skipped: no python3");
        return;
    }
    let script = r#"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
json.dump(rows, sys.stdout)
"#;
    let dir = std::env::temp_dir().join(format!("wsdissect-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for (cap, cmd, ty) in [
        ("escapes/control-bytes.pcap", &["messages"][..], "message"),
        (
            "escapes/control-bytes.pcap",
            &["frames", "--payload", "text"][..],
            "frame",
        ),
        ("python-echo.pcap", &["messages"][..], "message"),
        ("aiohttp-concurrent.pcap", &["conns"][..], "conn"),
        ("push/chromium-sse.pcap", &["push"][..], "push"),
        ("escapes/control-bytes.pcap", &["check"][..], "finding"),
    ] {
        let cap = sample(cap);
        let mut a = cmd.to_vec();
        a.extend(["--format", "json"]);
        let json = json_lines(&run(&a, &cap));
        a.truncate(cmd.len());
        a.extend(["--format", "csv"]);
        let path = dir.join("out.csv");
        std::fs::write(&path, run(&a, &cap)).unwrap();
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_slice(&out.stdout).unwrap();
        let recs: Vec<&Value> = json.iter().filter(|r| r["type"] == ty).collect();
        assert_eq!(rows.len(), recs.len(), "{cap:?} {cmd:?}");
        for (row, rec) in rows.iter().zip(recs) {
            let mut fields = Vec::new();
            flatten("", rec, &mut fields);
            for (name, v) in fields {
                let Some(cell) = row.get(&name) else {
                    // A null object: its dotted columns are empty.
                    assert!(v.is_null(), "{cap:?}: no column {name}");
                    let dotted = format!("{name}.");
                    assert!(row.iter().any(|(k, _)| k.starts_with(&dotted)));
                    assert!(
                        row.iter()
                            .filter(|(k, _)| k.starts_with(&dotted))
                            .all(|(_, c)| c == "")
                    );
                    continue;
                };
                let cell = cell.as_str().unwrap();
                assert!(same(cell, &v), "{cap:?} {name}: {cell:?} is not {v}");
                checked += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked > 500, "{checked}");
}
