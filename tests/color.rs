//! `--color auto|always|never` (global): SGR sequences around severities
//! in `check` and opcodes in `frames`/`messages` tables; nothing in JSON,
//! CSV or HAR; auto colours a terminal only (so never a pipe), NO_COLOR
//! turns it off, CLICOLOR_FORCE on. Capture bytes stay escaped.

mod common;

use common::{bin, sample};

fn run(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let mut cmd = bin();
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("SSLKEYLOGFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// SGR sequences (ESC [ params m), the only escapes colour may add.
fn sgr() -> regex::bytes::Regex {
    regex::bytes::Regex::new(r"\x1b\[[0-9;]*m").unwrap()
}

fn strip(b: &[u8]) -> Vec<u8> {
    sgr().replace_all(b, &b""[..]).into_owned()
}

fn has_esc(b: &[u8]) -> bool {
    b.contains(&0x1b)
}

const UNMASKED: &str = "violations/c-client-unmasked.pcap";

fn path(s: &str) -> String {
    sample(s).to_string_lossy().into_owned()
}

#[test]
fn check_always_paints_each_severity() {
    let p = path(UNMASKED);
    let out = run(&["check", "--color", "always", &p], &[]);
    let plain = run(&["check", "--color", "never", &p], &[]);
    assert!(has_esc(&out));
    // The colour adds SGR sequences and nothing else.
    assert_eq!(strip(&out), plain);
    let text = String::from_utf8_lossy(&out);
    let line = text
        .lines()
        .find(|l| l.contains("frame.client-unmasked"))
        .expect("the finding's row");
    // error: red (31), the word between the style and its reset.
    let re = regex::Regex::new(r"^  ((\x1b\[[0-9;]*m)+)error\x1b\[0m ").unwrap();
    let style = re.captures(line).unwrap_or_else(|| panic!("{line:?}"));
    assert!(style[1].contains("31m"), "{line:?}");
    // The rest of the row (the finding's message) is not painted.
    let after = line.split_once("error\x1b[0m").unwrap().1;
    assert!(!has_esc(after.as_bytes()), "{line:?}");
}

#[test]
fn frames_and_messages_paint_the_opcode() {
    let p = path("python-echo.pcap");
    let re = regex::Regex::new(r" \x1b\[(3\d)m([a-z]+)\x1b\[0m ").unwrap();
    for cmd in ["frames", "messages"] {
        let out = run(&[cmd, "--color", "always", &p], &[]);
        let plain = run(&[cmd, "--color", "never", &p], &[]);
        assert_eq!(strip(&out), plain, "{cmd}");
        let text = String::from_utf8_lossy(&out);
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert!(!rows.is_empty());
        for row in rows {
            // Each opcode between a colour and a reset: text green, binary
            // cyan, close yellow, ping/pong magenta.
            let m = re.captures(row).unwrap_or_else(|| panic!("{cmd}: {row:?}"));
            let want = match &m[2] {
                "text" => "32",
                "binary" => "36",
                "close" => "33",
                "ping" | "pong" => "35",
                other => panic!("{cmd}: opcode {other} in {row:?}"),
            };
            assert_eq!(&m[1], want, "{cmd}: {row:?}");
        }
    }
}

#[test]
fn never_no_color_and_a_pipe_give_plain_output() {
    let p = path(UNMASKED);
    for cmd in ["frames", "messages", "conns", "check", "explain", "push"] {
        // Auto on a pipe (the test's stdout is one).
        let auto = run(&[cmd, &p], &[]);
        let never = run(&[cmd, "--color", "never", &p], &[]);
        let no_color = run(&[cmd, &p], &[("NO_COLOR", "1")]);
        // NO_COLOR beats CLICOLOR_FORCE.
        let both = run(&[cmd, &p], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
        assert!(!has_esc(&auto), "{cmd}");
        assert_eq!(auto, never, "{cmd}");
        assert_eq!(auto, no_color, "{cmd}");
        assert_eq!(auto, both, "{cmd}");
    }
}

#[test]
fn always_beats_no_color_and_clicolor_force_colours_a_pipe() {
    let p = path(UNMASKED);
    let always = run(&["check", "--color", "always", &p], &[("NO_COLOR", "1")]);
    assert!(has_esc(&always));
    let forced = run(&["check", &p], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(forced, always);
    // An empty NO_COLOR does not count (no-color.org).
    let empty = run(&["check", &p], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert_eq!(empty, always);
    let zero = run(&["check", &p], &[("CLICOLOR_FORCE", "0")]);
    assert!(!has_esc(&zero));
}

#[test]
fn machine_formats_have_no_escape_byte_with_color_always() {
    let p = path(UNMASKED);
    let esc = path("escapes");
    let mut captures = vec![p.clone()];
    for e in std::fs::read_dir(&esc).unwrap() {
        let e = e.unwrap().path();
        if e.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            captures.push(e.to_string_lossy().into_owned());
        }
    }
    let formats: &[(&str, &str)] = &[
        ("frames", "json"),
        ("messages", "json"),
        ("conns", "json"),
        ("check", "json"),
        ("push", "json"),
        ("explain", "json"),
        ("check", "junit"),
        ("messages", "har"),
    ];
    for c in &captures {
        for (cmd, f) in formats {
            let out = run(&[cmd, "--color", "always", "--format", f, c], &[]);
            assert!(!has_esc(&out), "{cmd} --format {f} {c}");
        }
        // CSV writes a capture's control bytes as they are when piped (so a
        // reader gets the JSON's values): colour adds nothing to them.
        for cmd in ["frames", "messages", "check", "push"] {
            let out = run(&[cmd, "--color", "always", "--format", "csv", c], &[]);
            let never = run(&[cmd, "--color", "never", "--format", "csv", c], &[]);
            assert_eq!(out, never, "{cmd} --format csv {c}");
        }
    }
}

#[test]
fn capture_bytes_stay_escaped_under_colour() {
    let dir = sample("escapes");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap().path();
        if !e.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            continue;
        }
        let c = e.to_string_lossy().into_owned();
        for cmd in ["frames", "messages", "conns", "check", "explain", "push"] {
            let out = run(&[cmd, "--color", "always", &c], &[]);
            // Every ESC byte is one of colour's SGR sequences: none from the capture.
            assert!(!has_esc(&strip(&out)), "{cmd} {c}");
            seen += 1;
        }
    }
    assert!(seen > 0);
}
