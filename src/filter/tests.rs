//! The language, operator by operator, over hand-made records. Tests only
//! (`#[cfg(test)] mod tests` in filter/mod.rs): the unwraps and panics here
//! never see a capture.

use serde_json::{Value, json};

use super::*;

fn f(s: &str) -> Filter {
    match Filter::parse(s) {
        Ok(f) => f,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn err(s: &str) -> FilterError {
    match Filter::parse(s) {
        Ok(f) => panic!("{s} parsed as {f}"),
        Err(e) => e,
    }
}

fn frame() -> Value {
    json!({
        "type": "frame", "conn": 3, "client": "127.0.0.1:54456",
        "server": "127.0.0.1:9001", "from": "client", "packet": 8,
        "ts": 1795248939.913371, "fin": true, "rsv1": false, "opcode": 1,
        "opcode_name": "text", "masked": true, "mask_key": "433941b6",
        "payload_len": 70000, "payload_text": "Hello, World",
        "close_code": null, "findings": ["frame.rsv-without-extension", "tcp.gap"]
    })
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let e = f("not fin or rsv1 and masked");
    assert_eq!(e, f("(not fin) or (rsv1 and masked)"));
    assert_ne!(e, f("not (fin or rsv1) and masked"));
    for bits in 0..8u8 {
        let (a, b, c) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
        let r = json!({"fin": a, "rsv1": b, "masked": c});
        assert_eq!(e.matches(&r), !a || (b && c), "{r}");
        assert_eq!(
            f("not (fin or rsv1) and masked").matches(&r),
            !(a || b) && c,
            "{r}"
        );
        assert_eq!(f("!fin || rsv1 && masked").matches(&r), !a || (b && c));
        assert_eq!(
            f("(fin or rsv1) and not masked").matches(&r),
            (a || b) && !c
        );
        assert_eq!(f("not not fin").matches(&r), a);
    }
}

#[test]
fn numbers_compare_with_every_operator() {
    let r = frame();
    for (expr, want) in [
        ("payload_len == 70000", true),
        ("payload_len eq 70000", true),
        ("payload_len != 70000", false),
        ("payload_len ne 1", true),
        ("payload_len < 70001", true),
        ("payload_len lt 70000", false),
        ("payload_len <= 70000", true),
        ("payload_len le 69999", false),
        ("payload_len > 69999", true),
        ("payload_len gt 70000", false),
        ("payload_len >= 70000", true),
        ("payload_len ge 70001", false),
        ("conn == 3.0", true),
        ("conn < 3.5", true),
        ("conn == 0x3", true),
        ("conn > -1", true),
        ("ts > 1795248939.9", true),
        ("ts < 1795248939.913371", false),
        ("ts <= 1795248939.913371", true),
        ("ts >= 1.7e9", true),
        ("opcode in {1 2}", true),
        ("opcode in {8, 9, 10}", false),
    ] {
        assert_eq!(f(expr).matches(&r), want, "{expr}");
    }
}

#[test]
fn units_are_binary_sizes_and_seconds() {
    let r = frame();
    assert!(f("len > 64k").matches(&r)); // 70000 > 65536
    assert!(!f("len > 68.4k").matches(&r)); // 70041.6
    assert!(f("len < 1M").matches(&r));
    assert!(f("len >= 68359.375Ki").matches(&json!({"len": 70_000_000u64})));
    let r = json!({"len": 65536});
    assert!(f("len == 64k").matches(&r));
    assert!(f("len == 64KiB").matches(&r));
    assert!(!f("len > 64k").matches(&r));
    let r = json!({"duration": 0.25, "rtt": 0.000026});
    assert!(f("duration == 250ms").matches(&r));
    assert!(f("duration < 1s and duration > 200ms").matches(&r));
    assert!(f("rtt < 30us and rtt > 25µs").matches(&r));
    assert!(f("duration < 1min").matches(&r));
}

#[test]
fn strings_compare_as_text() {
    let r = frame();
    for (expr, want) in [
        ("from == client", true),
        ("from == \"client\"", true),
        ("from == 'client'", true),
        ("from != server", true),
        ("from == Client", false),
        ("opcode_name == text", true),
        ("opcode_name in {ping, pong}", false),
        ("opcode_name < zzz", true),
        ("opcode_name > text", false),
        ("opcode_name >= text", true),
        ("mask_key == 433941b6", true),
        ("text contains World", true),
        ("text contains \"o, W\"", true),
        ("text contains world", false),
        ("client contains 54456", true),
        ("client contains \":9001\"", false),
        ("text matches \"^hello\"", true),
        ("text matches \"(?-i)^hello\"", false),
        ("text ~ \"w.rld$\"", true),
        ("text matches \"\\d\"", false),
        ("client matches \"\\d+:\\d{5}$\"", true),
    ] {
        assert_eq!(f(expr).matches(&r), want, "{expr}");
    }
}

#[test]
fn booleans_and_null() {
    let r = frame();
    for (expr, want) in [
        ("fin == true", true),
        ("fin", true),
        ("rsv1", false),
        ("not rsv1", true),
        ("rsv1 == false", true),
        ("rsv1 != true", true),
        ("masked == TRUE", true),
        ("close_code == null", true),
        ("close_code != null", false),
        ("close_code", false),
        ("mask_key != null", true),
        ("mask_key == null", false),
        // a field the record does not have: every comparison is false
        ("status == null", false),
        ("status != null", false),
        ("status != 101", false),
        ("not status", true),
    ] {
        assert_eq!(f(expr).matches(&r), want, "{expr}");
    }
}

#[test]
fn mismatched_kinds_are_false_both_ways() {
    let r = frame();
    for expr in [
        "payload_len == \"70000\"",
        "payload_len != \"70000\"",
        "payload_len contains 7",
        "payload_len matches 7",
        "payload_len == true",
        "payload_len != true",
        "fin == 1",
        "fin != 1",
        "fin contains t",
        "from == 1",
        "from < 5",
        "close_code == 1000",
        "close_code != 1000",
        "close_code < 5",
        "ip == localhost",
        "conn == client",
        "findings < 3",
    ] {
        assert!(!f(expr).matches(&r), "{expr}");
    }
}

#[test]
fn truth_of_a_bare_field() {
    for (v, want) in [
        (json!(null), false),
        (json!(false), false),
        (json!(0), false),
        (json!(0.0), false),
        (json!(""), false),
        (json!([]), false),
        (json!({}), false),
        (json!(true), true),
        (json!(-1), true),
        (json!(0.5), true),
        (json!("x"), true),
        (json!([0]), true),
        (json!({"a": 1}), true),
    ] {
        assert_eq!(f("data").matches(&json!({ "data": v })), want, "{v}");
    }
    assert!(!f("data").matches(&json!({})));
}

#[test]
fn lists_match_when_any_element_does() {
    let r = frame();
    assert!(f("findings == tcp.gap").matches(&r));
    assert!(f("code == frame.rsv-without-extension").matches(&r));
    assert!(f("code contains rsv").matches(&r));
    assert!(f("code matches \"^tcp\\.\"").matches(&r));
    assert!(!f("code == frame.client-unmasked").matches(&r));
    assert!(f("code != frame.client-unmasked").matches(&r));
    assert!(!f("code != tcp.gap").matches(&r));
    assert!(f("findings").matches(&r));
    let clean = json!({"findings": []});
    assert!(!f("findings").matches(&clean));
    assert!(!f("code == tcp.gap").matches(&clean));
    assert!(f("code != tcp.gap").matches(&clean));
    // a finding record's own `code` wins over the derived one
    let finding = json!({"type": "finding", "code": "tcp.gap", "severity": "warning"});
    assert!(f("code == tcp.gap and severity == warning").matches(&finding));
}

#[test]
fn derived_fields() {
    let msg = json!({"type": "message", "packets": [8, 20], "len": 54,
                     "first_ts": 1.0, "text": "hi"});
    assert!(f("packet == 20").matches(&msg));
    assert!(!f("packet == 8").matches(&msg));
    assert!(f("len == 54").matches(&msg));
    let frame = json!({"payload_len": 5, "payload_text": "Hello", "packet": 3, "ts": 2.0});
    assert!(f("len == 5").matches(&frame));
    assert!(f("text == Hello").matches(&frame));
    assert!(f("packet == 3 and ts == 2").matches(&frame));
    let conn = json!({"type": "conn", "first_ts": 10.5, "last_ts": 12.0,
                      "client_to_server": {"close_code": 1000, "frames": 8}});
    assert!(f("ts == 10.5").matches(&conn));
    assert!(f("client_to_server.close_code == 1000").matches(&conn));
    assert!(f("client_to_server.frames > 7").matches(&conn));
    assert!(!f("client_to_server.nothing").matches(&conn));
    assert!(!f("server_to_client.close_code == 1000").matches(&conn));
}

#[test]
fn ip_and_port_match_either_endpoint() {
    let v4 = frame();
    assert!(f("ip == 127.0.0.1").matches(&v4));
    assert!(f("ip == 127.0.0.0/8").matches(&v4));
    assert!(!f("ip == 10.0.0.0/8").matches(&v4));
    assert!(f("ip != 10.0.0.1").matches(&v4));
    assert!(!f("ip != 127.0.0.1").matches(&v4));
    assert!(f("port == 9001 and port == 54456").matches(&v4));
    assert!(f("port in {80 9001}").matches(&v4));
    assert!(f("port > 50000").matches(&v4));
    assert!(!f("port == 80").matches(&v4));
    assert!(f("server_port == 9001 and client_port == 54456").matches(&v4));
    assert!(!f("server_port == 54456").matches(&v4));
    assert!(f("client_ip == 127.0.0.1").matches(&v4));
    assert!(f("ip contains \"127.0\"").matches(&v4));

    let v6 = json!({"client": "[::1]:45952", "server": "[fe80::1:2]:9005"});
    assert!(f("ip == ::1").matches(&v6));
    assert!(f("ip == \"0:0:0:0:0:0:0:1\"").matches(&v6));
    assert!(f("ip == [::1]").matches(&v6));
    assert!(f("ip == fe80::/10").matches(&v6));
    assert!(f("server_ip == FE80::1:2").matches(&v6));
    assert!(!f("client_ip == fe80::1:2").matches(&v6));
    assert!(!f("ip == 127.0.0.1").matches(&v6));
    assert!(f("port == 45952 and port == 9005").matches(&v6));
    assert!(f("ip matches \"^fe80:\"").matches(&v6));
    assert!(f("client == [::1]:45952").matches(&v6));

    // a push channel's client is an address without a port
    let push = json!({"client": "127.0.0.1", "server": "127.0.0.1:9028"});
    assert!(f("ip == 127.0.0.1 and port == 9028").matches(&push));
    assert!(!f("client_port").matches(&push));
    // records without endpoints have no ip
    assert!(!f("ip != 1.2.3.4").matches(&json!({"conn": 1})));
}

#[test]
fn regex_is_bounded_and_checked() {
    let e = err("text matches \"(\"");
    assert_eq!(e.column(), 14);
    assert!(e.message().starts_with("bad regular expression"), "{e}");
    let e = err("text matches \"a{1000}{1000}\"");
    assert!(e.message().starts_with("bad regular expression"), "{e}");
    let deep = format!("text matches \"{}a{}\"", "(".repeat(100), ")".repeat(100));
    assert!(Filter::parse(&deep).is_err());
    let e = err("text matches true");
    assert_eq!(e.column(), 14);
    assert!(e.message().contains("needs a regular expression"), "{e}");
}

/// Each bad expression, and the byte column its error names.
#[test]
fn errors_name_the_column() {
    for (expr, col, says) in [
        ("len > ", 7, "expected a value after '>'"),
        ("len >", 6, "expected a value after '>'"),
        ("", 1, "the filter is empty"),
        ("   ", 1, "the filter is empty"),
        ("len = 5", 5, "'=' is not an operator"),
        ("fin & rsv1", 5, "'&' alone"),
        ("fin | rsv1", 5, "'|' alone"),
        ("(len > 5", 1, "this '(' is never closed"),
        ("len > 5)", 8, "this ')' has no matching '('"),
        ("lenn > 5", 1, "no field named 'lenn' (did you mean 'len'?)"),
        ("fin and nosuchfield", 9, "no field named 'nosuchfield'"),
        ("5 < len", 1, "starts with a field name, not '5'"),
        ("len 5", 5, "expected an operator"),
        ("fin and", 8, "expected a field name, found the end"),
        ("fin and or rsv1", 9, "expected a field name, found 'or'"),
        ("from == and", 9, "quote a keyword"),
        ("from == )", 9, "expected a value after '=='"),
        ("text == \"abc", 9, "no closing \""),
        ("port in 80", 9, "expected '{' after 'in'"),
        ("port in {}", 10, "expected a value after '{'"),
        ("port in {80,}", 13, "expected a value after ','"),
        ("port in {80", 12, "never closed"),
        ("fin < true", 7, "needs a number or a string"),
        ("text contains null", 15, "needs a number or a string"),
        ("a-b == 1", 1, "expected a field name, found 'a-b'"),
        ("(fin) (rsv1)", 7, "expected 'and', 'or' or the end"),
        ("fin rsv1", 5, "expected an operator"),
        ("(fin rsv1)", 6, "expected an operator"),
        (
            "len > 5 5",
            9,
            "expected 'and', 'or' or the end of the filter, found '5'",
        ),
        ("text == é é", 12, "found 'é'"),
    ] {
        let e = err(expr);
        assert_eq!(e.column(), col, "{expr}: {e}");
        assert!(e.message().contains(says), "{expr}: {e}");
    }
}

#[test]
fn the_error_text_has_the_expression_and_a_caret() {
    let e = err("len > ");
    assert_eq!(
        e.to_string(),
        "bad filter: expected a value after '>' at column 7\nlen > \n      ^"
    );
    // The caret counts characters, the column bytes.
    let e = err("text == é é");
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "text == é é");
    assert_eq!(lines[2], "          ^");
    // Control characters never reach the terminal.
    let e = err("fin and \u{1b}[31m");
    assert!(!e.to_string().contains('\u{1b}'), "{e:?}");
}

#[test]
fn a_long_filter_shows_the_part_around_the_error() {
    let long = format!("{}len >", "fin and ".repeat(1000));
    let e = err(&long);
    assert_eq!(e.column(), long.len() + 1);
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with('…') && lines[1].ends_with("len >"),
        "{text}"
    );
    assert!(lines[1].chars().count() <= 62);
    assert_eq!(lines[2].chars().count(), lines[1].chars().count() + 1);
    let huge = "fin or ".repeat(MAX_LEN);
    let e = err(&huge);
    assert!(e.message().contains("longer than"), "{e}");
    assert_eq!(e.column(), MAX_LEN + 1);
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}fin{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(f(&ok).matches(&json!({"fin": true})));
    let deep = format!(
        "{}fin{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let e = err(&deep);
    assert_eq!(e.column(), MAX_DEPTH + 1);
    assert!(e.message().contains("nests deeper than 256"), "{e}");
    let nots = format!("{}fin", "not ".repeat(10_000));
    assert!(err(&nots).message().contains("nests deeper"));
    let bangs = format!("{}fin", "!".repeat(MAX_DEPTH));
    assert!(f(&bangs).matches(&json!({"fin": true})));
    // long flat chains are not nesting
    let chain = format!("fin{}", " or fin".repeat(5000));
    assert!(f(&chain).matches(&json!({"fin": true})));
}

#[test]
fn printing_gives_back_the_same_filter() {
    for s in [
        "not fin or rsv1 and masked",
        "not (fin or rsv1) and masked",
        "(fin or rsv1) or masked",
        "fin and (rsv1 and masked)",
        "len > 64k && text contains \"a\\\"b\\\\c\\n\"",
        "text matches \"\\d+\" or ip == [::1]",
        "port in {80, 443} and from == server",
        "close_code == null or fin == TRUE",
        "!(!fin)",
    ] {
        let a = f(s);
        let printed = a.to_string();
        let b = f(&printed);
        assert_eq!(a, b, "{s} -> {printed}");
        assert_eq!(printed, b.to_string());
    }
    assert_eq!(
        f("NOT fin  ||  rsv1&&masked").to_string(),
        "not fin or rsv1 and masked"
    );
    assert_eq!(
        f("(fin or rsv1) and masked").to_string(),
        "(fin or rsv1) and masked"
    );
    assert_eq!(f("port in {80 443}").to_string(), "port in {80, 443}");
}

#[test]
fn fields_lists_what_the_filter_reads() {
    let e = f("text contains a or (len > 1 and not text) or port in {1}");
    assert_eq!(e.fields(), vec!["text", "len", "port"]);
}

#[test]
fn extra_fields_are_accepted_when_named() {
    assert!(Filter::parse("sni == example.org").is_err());
    let e = Filter::parse_with_fields("sni == example.org", &["sni"]).unwrap();
    assert!(e.matches(&json!({"sni": "example.org"})));
}

#[test]
fn non_objects_match_nothing() {
    for v in [json!(null), json!(1), json!("fin"), json!([{"fin": true}])] {
        assert!(!f("fin").matches(&v));
        assert!(f("not fin").matches(&v));
    }
}

#[test]
fn times_compare_with_ts() {
    // date -u -d '2026-11-29 14:02:00' +%s  ->  1795960920
    let at = |ts: f64| json!({"ts": ts, "first_ts": ts});
    let window = f("ts >= 2026-11-29T14:02:00Z and ts < \"2026-11-29 14:03:00\"");
    assert!(window.matches(&at(1_795_960_920.0)));
    assert!(window.matches(&at(1_795_960_979.999)));
    assert!(!window.matches(&at(1_795_960_919.999)));
    assert!(!window.matches(&at(1_795_960_980.0)));
    assert!(f("ts > 2026-11-29").matches(&at(1_795_960_920.0)));
    assert!(f("first_ts < 2026-11-30").matches(&at(1_795_960_920.0)));
    // as text, a time is only its spelling
    assert!(f("data == 2026-11-29").matches(&json!({"data": "2026-11-29"})));
    assert!(!f("text == 2026-11-29").matches(&at(1.0)));
}

#[test]
fn a_filter_holds_a_bounded_number_of_regexes() {
    // the same pattern many times is compiled once
    let same = format!("{}fin", "text matches \"[a-z]{999}\" or ".repeat(2000));
    let t = std::time::Instant::now();
    assert!(Filter::parse(&same).is_ok());
    assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    let many: Vec<String> = (0..=parse::MAX_REGEXES)
        .map(|i| format!("text matches \"x{{{i}}}\""))
        .collect();
    let ok = many[..parse::MAX_REGEXES].join(" or ");
    assert!(Filter::parse(&ok).is_ok());
    let over = many.join(" or ");
    let e = err(&over);
    assert!(e.message().contains("at most 32 different"), "{e}");
    assert_eq!(Some(e.offset()), over.rfind("\"x{32}\""));
}

/// A typed record answers by JSON name, and may give its endpoints as
/// addresses (no formatting and parsing per record).
#[test]
fn typed_records_filter_like_their_json() {
    use std::borrow::Cow;
    use std::cell::Cell;
    use std::net::SocketAddr;

    struct Frame {
        client: SocketAddr,
        server: SocketAddr,
        from_server: bool,
        payload_len: u64,
        close_code: Option<u16>,
        endpoint_calls: Cell<u32>,
    }
    impl Record for Frame {
        fn field(&self, name: &str) -> Option<FieldValue<'_>> {
            Some(match name {
                "type" => FieldValue::Str(Cow::Borrowed("frame")),
                "from" => FieldValue::Str(Cow::Borrowed(if self.from_server {
                    "server"
                } else {
                    "client"
                })),
                "payload_len" => FieldValue::Int(i128::from(self.payload_len)),
                "close_code" => self
                    .close_code
                    .map_or(FieldValue::Null, |c| FieldValue::Int(i128::from(c))),
                "client" => FieldValue::Str(Cow::Owned(self.client.to_string())),
                "server" => FieldValue::Str(Cow::Owned(self.server.to_string())),
                _ => return None,
            })
        }
        fn endpoint(&self, which: &str) -> Option<Endpoint> {
            self.endpoint_calls.set(self.endpoint_calls.get() + 1);
            match which {
                "client" => Some(Endpoint::Sock(self.client)),
                "server" => Some(Endpoint::Sock(self.server)),
                _ => None,
            }
        }
    }
    let typed = Frame {
        client: "[::1]:45952".parse().unwrap(),
        server: "[::1]:9005".parse().unwrap(),
        from_server: true,
        payload_len: 2048,
        close_code: None,
        endpoint_calls: Cell::new(0),
    };
    let as_json = json!({"type": "frame", "from": "server", "payload_len": 2048,
        "close_code": null, "client": "[::1]:45952", "server": "[::1]:9005"});
    for expr in [
        "ip == ::1 and len > 1k and from == server",
        "port == 9005",
        "client_port == 9005",
        "close_code == null",
        "close_code != null",
        "type == frame and not masked",
        "from in {client}",
    ] {
        let flt = f(expr);
        assert_eq!(flt.matches(&typed), flt.matches(&as_json), "{expr}");
    }
    assert!(typed.endpoint_calls.get() >= 3);
}

/// `--threads N` shares one compiled filter between threads.
#[test]
fn a_filter_is_shared_between_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Filter>();
    shared::<FilterError>();
    let flt = std::sync::Arc::new(f("text matches \"^h\""));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let flt = flt.clone();
            let text = ["x", "hi"][i];
            std::thread::spawn(move || flt.matches(&json!({ "text": text })))
        })
        .collect();
    let got: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![false, true]);
}
