//! `--format parquet -o FILE` over real bundled captures: the file, read
//! back with the parquet crate, holds the records of `--format json` row
//! for row and value for value (plain, permessage-deflate, TLS with a key
//! log, HTTP/2, the app samples, violations for check), with the column
//! schema of docs/parquet.md.
#![cfg(feature = "parquet")]

mod common;

use std::path::{Path, PathBuf};

use common::{bin, sample};
use parquet::basic::LogicalType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs a command; exit 0 or 1 (check's findings) is success.
fn run(args: &[&str]) -> Vec<u8> {
    let out = bin().args(args).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json_records(args: &[&str], record_type: &str) -> Vec<Value> {
    String::from_utf8_lossy(&run(args))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == record_type)
        .collect()
}

/// The rows of a Parquet file as JSON objects, the names of its JSON-text
/// columns, and its row groups.
fn parquet_rows(path: &Path) -> (Vec<Value>, Vec<String>, usize) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema();
    let json_text = schema
        .get_fields()
        .iter()
        .filter(|f| f.get_basic_info().logical_type_ref() == Some(&LogicalType::Json))
        .map(|f| f.name().to_string())
        .collect();
    let groups = meta.num_row_groups();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap().to_json_value())
        .collect();
    (rows, json_text, groups)
}

/// The Parquet value `pq` holds the JSON value `json` (absent = null; a
/// JSON-text column holds the value's JSON text; a struct has every field
/// of the object).
fn same(json: Option<&Value>, pq: &Value, json_text: bool) -> bool {
    match (json.filter(|v| !v.is_null()), pq) {
        (None, p) => p.is_null(),
        (Some(j), Value::String(s)) if json_text => {
            serde_json::from_str::<Value>(s).ok().as_ref() == Some(j)
        }
        (Some(Value::Object(j)), Value::Object(p)) => {
            j.keys().all(|k| p.contains_key(k)) && p.iter().all(|(k, v)| same(j.get(k), v, false))
        }
        (Some(j), p) => j == p,
    }
}

/// `cmd ARGS --format parquet -o FILE` equals `cmd ARGS --format json`'s
/// `record_type` records; returns the number of rows.
fn assert_same(cmd: &str, args: &[&str], record_type: &str) -> usize {
    let file = tmp(&format!(
        "{cmd}-{}.parquet",
        args.join("_").replace(['/', ' ', '\'', '='], "_")
    ));
    let mut pq_args = vec![cmd, "--format", "parquet", "-o", file.to_str().unwrap()];
    pq_args.extend_from_slice(args);
    let out = run(&pq_args);
    assert!(out.is_empty(), "nothing on stdout with -o");
    let mut json_args = vec![cmd, "--format", "json"];
    json_args.extend_from_slice(args);
    let json = json_records(&json_args, record_type);
    let (rows, json_text, _) = parquet_rows(&file);
    assert_eq!(rows.len(), json.len(), "{cmd} {args:?}: row count");
    for (i, (j, p)) in json.iter().zip(&rows).enumerate() {
        let (Value::Object(j), Value::Object(p)) = (j, p) else {
            panic!("{cmd} {args:?} row {i}: not objects");
        };
        for k in j.keys() {
            assert!(
                p.contains_key(k),
                "{cmd} {args:?}: JSON field {k} has no column"
            );
        }
        for (k, v) in p {
            assert!(
                same(j.get(k), v, json_text.contains(k)),
                "{cmd} {args:?} row {i} column {k}: parquet {v} json {:?}",
                j.get(k)
            );
        }
    }
    rows.len()
}

fn s(p: &str) -> String {
    sample(p).to_str().unwrap().to_string()
}

#[test]
fn frames_messages_conns_of_plain_and_deflate_captures() {
    for cap in [
        "python-echo.pcap",
        "deflate/node-deflate.pcap",
        "ipv6-echo.pcap",
    ] {
        let cap = s(cap);
        assert!(assert_same("frames", &[&cap], "frame") > 0);
        assert_same("frames", &["--payload", "text", &cap], "frame");
        assert_same("frames", &["--payload", "base64", &cap], "frame");
        assert!(assert_same("messages", &[&cap], "message") > 0);
        assert_same("messages", &["--payload", "hex", &cap], "message");
        assert!(assert_same("conns", &[&cap], "conn") > 0);
    }
}

#[test]
fn tls_with_a_key_log_and_h2() {
    let cap = s("tls/node-tls13-aes128.pcap");
    let keys = s("tls/node-tls13-aes128.keys");
    assert!(assert_same("messages", &["--keylog", &keys, &cap], "message") > 0);
    assert!(assert_same("conns", &["--keylog", &keys, &cap], "conn") > 0);
    // Without the keys: the conn row says TLS, not decrypted.
    assert!(assert_same("conns", &[&cap], "conn") > 0);
    let h2 = s("h2/h2-ws.pcap");
    assert!(assert_same("frames", &["--payload", "text", &h2], "frame") > 0);
    assert!(assert_same("messages", &[&h2], "message") > 0);
}

#[test]
fn app_records_of_every_app_sample() {
    let mut n = 0;
    for e in std::fs::read_dir(sample("app")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap") {
            let p = p.to_str().unwrap().to_string();
            n += assert_same("app", &[&p], "app");
            assert_same("app", &["--payload", "hex", &p], "app");
        }
    }
    assert!(n > 0);
}

#[test]
fn check_findings_of_violations() {
    let mut n = 0;
    for name in [
        "violations/c-client-unmasked.pcap",
        "violations/c-close-invalid-utf8-reason.pcap",
        "violations/c-rsv-bits.pcap",
        "midconn.pcap",
        "python-echo.pcap",
    ] {
        n += assert_same("check", &[&s(name)], "finding");
    }
    assert!(n > 0);
}

#[test]
fn filter_selects_the_rows_as_in_json() {
    let cap = s("python-echo.pcap");
    let all = assert_same("frames", &[&cap], "frame");
    let some = assert_same("frames", &["--filter", "from == server", &cap], "frame");
    assert!(some > 0 && some < all);
}

#[test]
fn parquet_needs_a_file_and_push_has_none() {
    let cap = s("python-echo.pcap");
    let out = bin()
        .args(["frames", "--format", "parquet", &cap])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-o FILE"));
    let out = bin()
        .args(["push", "--format", "parquet", &cap])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["frames", "--format", "json", "-o", "x", &cap])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_empty_output_is_a_file_with_the_schema() {
    let file = tmp("empty.parquet");
    let cap = s("nonws");
    let cap = std::fs::read_dir(cap)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pcap"))
        .unwrap();
    run(&[
        "frames",
        "--format",
        "parquet",
        "-o",
        file.to_str().unwrap(),
        cap.to_str().unwrap(),
    ]);
    let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let want: Vec<&str> = wsdissect::render::columns::FRAME
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, want);
}
