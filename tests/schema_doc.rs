//! docs/schema.md cannot drift from the code: every finding code the binary
//! knows is listed there with its severity (and nothing else is), and every
//! field of every JSON record the commands emit on the samples is documented.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
        .collect()
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/schema.md")).unwrap()
}

/// The first backquoted cell of each table row, by the `### \`type\``
/// section it is in (the code table is under "## Finding codes").
fn documented() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut by: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in doc().lines() {
        if let Some(t) = line.strip_prefix("### `").and_then(|t| t.strip_suffix('`')) {
            section = t.to_string();
        } else if line.starts_with("## ") {
            section = line.trim_start_matches("## ").to_string();
        } else if let Some(row) = line.strip_prefix("| `") {
            let cells: Vec<String> = row.split(" | ").map(|c| c.trim().to_string()).collect();
            let name = cells[0].trim_end_matches('`').to_string();
            by.entry(section.clone())
                .or_default()
                .insert(name, cells[1..].to_vec());
        }
    }
    by
}

#[test]
fn every_finding_code_is_documented_with_its_severity_and_no_other() {
    let codes = run(&["check", "--list-codes", "--format", "json"]);
    assert!(codes.len() >= 30, "{}", codes.len());
    let from_code: BTreeMap<String, String> = codes
        .iter()
        .map(|c| {
            assert_eq!(c["type"], "code");
            assert!(!c["meaning"].as_str().unwrap().is_empty());
            (
                c["code"].as_str().unwrap().to_string(),
                c["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let docs = documented();
    let table = &docs["Finding codes"];
    let from_doc: BTreeMap<String, String> = table
        .iter()
        .map(|(code, cells)| (code.clone(), cells[0].clone()))
        .collect();
    let missing: Vec<_> = from_code
        .keys()
        .filter(|c| !from_doc.contains_key(*c))
        .collect();
    let unknown: Vec<_> = from_doc
        .keys()
        .filter(|c| !from_code.contains_key(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes missing from docs/schema.md: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/schema.md lists unknown codes: {unknown:?}"
    );
    for (code, sev) in &from_code {
        assert_eq!(&from_doc[code], sev, "severity of {code}");
    }
    // The table form lists the same codes.
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["check", "--list-codes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for code in from_code.keys() {
        assert!(text.lines().any(|l| l.starts_with(code.as_str())), "{code}");
    }
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(captures(&p));
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            v.push(p);
        }
    }
    v.sort();
    v
}

#[test]
fn every_field_emitted_on_the_samples_is_documented() {
    let docs = documented();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let commands: &[&[&str]] = &[
        &["frames", "--format", "json", "--payload", "text"],
        &["frames", "--format", "json", "--payload", "hex"],
        &["frames", "--format", "json", "--payload", "base64"],
        &["messages", "--format", "json"],
        &["messages", "--format", "json", "--payload", "hex"],
        &["messages", "--format", "json", "--payload", "base64"],
        &["conns", "--format", "json"],
        &["check", "--format", "json"],
        &["push", "--format", "json"],
        &["explain", "--format", "json"],
        &["stats", "--format", "json"],
    ];
    for cap in captures(&root().join("samples")) {
        for cmd in commands {
            let mut args: Vec<&str> = cmd.to_vec();
            args.push(cap.to_str().unwrap());
            for r in run(&args) {
                let ty = r["type"].as_str().unwrap().to_string();
                let keys = seen.entry(ty).or_default();
                for (k, v) in r.as_object().unwrap() {
                    keys.insert(k.clone());
                    if let Value::Object(inner) = v {
                        keys.extend(inner.keys().map(|k2| format!("{k}.{k2}")));
                    }
                }
            }
        }
    }
    for ty in [
        "frame",
        "message",
        "handshake",
        "conn",
        "finding",
        "summary",
        "push",
        "sse-event",
        "stats",
    ] {
        assert!(seen.contains_key(ty), "no {ty} record on the samples");
    }
    let mut undocumented = Vec::new();
    for (ty, keys) in &seen {
        let Some(fields) = docs.get(ty) else {
            undocumented.push(format!("record type {ty}"));
            continue;
        };
        for k in keys {
            // `parent.*` documents an object keyed by values (codes).
            let any = k.split_once('.').map(|(p, _)| format!("{p}.*"));
            if !fields.contains_key(k) && !any.is_some_and(|a| fields.contains_key(&a)) {
                undocumented.push(format!("{ty}.{k}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "emitted but not in docs/schema.md: {undocumented:?}"
    );
}

#[test]
fn the_readme_points_to_the_docs_in_the_repository() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        !readme.contains("../shared"),
        "README points outside the repository"
    );
    assert!(readme.contains("docs/schema.md"));
    assert!(readme.contains("--list-codes"));
}
