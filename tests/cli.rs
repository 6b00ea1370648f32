//! The command-line surface: formats, exit statuses, standard input.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{bin, sample};
use serde_json::Value;

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

#[test]
fn frames_json_has_every_design_field() {
    let out = bin()
        .args(["frames", "--format", "json", "--payload", "hex"])
        .arg(sample("python-echo.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let recs = json_lines(&out.stdout);
    assert_eq!(recs.len(), 16);
    for r in &recs {
        assert_eq!(r["type"], "frame");
        for k in [
            "conn",
            "client",
            "server",
            "from",
            "packet",
            "ts",
            "fin",
            "rsv1",
            "rsv2",
            "rsv3",
            "opcode",
            "opcode_name",
            "masked",
            "mask_key",
            "payload_len",
            "payload_hex",
            "close_code",
            "close_reason",
            "findings",
        ] {
            assert!(r.get(k).is_some(), "missing {k} in {r}");
        }
        assert_eq!(r["masked"].as_bool().unwrap(), r["from"] == "client");
        assert_eq!(r["mask_key"].is_string(), r["masked"].as_bool().unwrap());
    }
    // The first client frame is "Hello", masked; the last server frame closes with 1000 "bye".
    assert_eq!(recs[0]["payload_hex"], "48656c6c6f");
    assert_eq!(recs[0]["opcode_name"], "text");
    let last = recs.last().unwrap();
    assert_eq!(
        (last["close_code"].as_u64(), last["close_reason"].as_str()),
        (Some(1000), Some("bye"))
    );
    assert!(last["ts"].as_f64().unwrap() > 1.7e9);
}

#[test]
fn standard_input_gives_the_same_frames() {
    let file = std::fs::read(sample("node-fragments.pcap")).unwrap();
    let mut child = bin()
        .args(["frames", "--format", "json", "--payload", "hex", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&file).unwrap();
    let piped = child.wait_with_output().unwrap();
    let direct = bin()
        .args(["frames", "--format", "json", "--payload", "hex"])
        .arg(sample("node-fragments.pcap"))
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(!piped.stdout.is_empty());
    // The same records but for `capture`, which names the input as given.
    let strip = |out: &[u8], name: &str| -> Vec<Value> {
        json_lines(out)
            .into_iter()
            .map(|mut r| {
                assert_eq!(r["capture"], name, "{r}");
                r.as_object_mut().unwrap().remove("capture");
                r
            })
            .collect()
    };
    let path = sample("node-fragments.pcap");
    assert_eq!(
        strip(&piped.stdout, "-"),
        strip(&direct.stdout, path.to_str().unwrap())
    );
}

#[test]
fn not_a_capture_exits_2_with_one_line_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("wsdissect-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("notes.txt", b"just some text, not a capture\n".to_vec()),
        ("empty.pcap", Vec::new()),
        ("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
        (
            "random.bin",
            (0u32..4096)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("short.pcap", vec![0xd4, 0xc3, 0xb2]),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, &bytes).unwrap();
        for cmd in ["frames", "check", "messages", "conns"] {
            let out = bin().arg(cmd).arg(&p).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(name), "{err}");
        }
    }
    let out = bin()
        .args(["frames", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_exit_status_gates_on_severity() {
    let clean = bin()
        .arg("check")
        .arg(sample("python-echo.pcap"))
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("0 errors, 0 warnings"));
    // any-sll2 has real capture gaps: warnings only.
    let gaps = sample("any-sll2.pcap");
    assert_eq!(
        bin()
            .arg("check")
            .arg(&gaps)
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        bin()
            .args(["check", "--fail-on", "warning"])
            .arg(&gaps)
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let allowed = bin()
        .args(["check", "--fail-on", "warning", "--allow", "tcp.gap"])
        .arg(&gaps)
        .output()
        .unwrap();
    assert_eq!(allowed.status.code(), Some(0));
    let bad = bin()
        .args(["check", "--allow", "no.such-code"])
        .arg(&gaps)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn check_json_and_junit_name_each_capture() {
    let gaps = sample("any-sll2.pcap");
    let echo = sample("python-echo.pcap");
    let out = bin()
        .args(["check", "--format", "json"])
        .arg(&gaps)
        .arg(&echo)
        .output()
        .unwrap();
    let recs = json_lines(&out.stdout);
    let findings: Vec<&Value> = recs.iter().filter(|r| r["type"] == "finding").collect();
    assert_eq!(findings.len(), 2);
    for f in &findings {
        assert_eq!(f["code"], "tcp.gap");
        assert_eq!(f["severity"], "warning");
        assert!(f["capture"].as_str().unwrap().ends_with("any-sll2.pcap"));
        assert!(f["packet"].as_u64().unwrap() > 0);
    }
    assert_eq!(recs.last().unwrap()["type"], "summary");
    assert_eq!(recs.last().unwrap()["warnings"], 2);

    let out = bin()
        .args(["check", "--format", "junit", "--fail-on", "warning"])
        .arg(&gaps)
        .arg(&echo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    let failures: usize = suites
        .iter()
        .flat_map(|s| s.descendants())
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 1, "one connection with gaps fails");
    for s in &suites {
        let cases = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(
            s.attribute("tests").unwrap().parse::<usize>().unwrap(),
            cases
        );
    }
}

#[test]
fn conns_reports_every_connection_with_counts() {
    let out = bin()
        .args(["conns", "--format", "json"])
        .arg(sample("aiohttp-concurrent.pcap"))
        .output()
        .unwrap();
    let recs = json_lines(&out.stdout);
    let conns: Vec<&Value> = recs.iter().filter(|r| r["type"] == "conn").collect();
    let handshakes = recs.iter().filter(|r| r["type"] == "handshake").count();
    assert_eq!((conns.len(), handshakes), (20, 20));
    for c in conns {
        assert_eq!(c["status"], 101);
        assert_eq!(c["accept_ok"], true);
        // Each client sent 6 messages and a close; the server echoed them.
        assert_eq!(c["client_to_server"]["messages"], 6);
        assert_eq!(c["server_to_client"]["messages"], 6);
        assert_eq!(c["client_to_server"]["close_code"], 1000);
    }
}

#[test]
fn tables_fit_80_columns() {
    for cmd in ["frames", "messages"] {
        for s in [
            "node-fragments.pcap",
            "python-echo.pcap",
            "veth-lengths.pcap",
        ] {
            let out = bin().arg(cmd).arg(sample(s)).output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(text.lines().count() > 5);
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{cmd} {s}: {line}");
            }
        }
    }
}
