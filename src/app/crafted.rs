//! Crafted inputs, each named: what real peers rarely send. Tests only
//! (`#[cfg(test)] mod crafted` in app/mod.rs): the unwraps here never see a
//! capture.

use super::*;
use serde_json::json;

fn msg(from: Dir, payload: &[u8], packet: u64) -> Msg<'_> {
    Msg {
        from,
        binary: true,
        payload,
        packet,
        ts: 1.0,
    }
}

fn run(p: Protocol, msgs: &[(Dir, &[u8])]) -> Output {
    let mut d = Decoder::new(p, Session::default());
    let mut out = Output::default();
    for (i, (from, b)) in msgs.iter().enumerate() {
        let mut m = msg(*from, b, i as u64 + 1);
        m.binary = p == Protocol::Mqtt;
        d.message(&m, &mut out);
    }
    d.finish(&mut out);
    out
}

fn codes(o: &Output) -> Vec<&'static str> {
    o.findings.iter().map(|f| f.code.as_str()).collect()
}

fn kinds(o: &Output) -> Vec<&str> {
    o.records.iter().map(|r| r.kind.as_str()).collect()
}

/// An MQTT packet: type/flags byte, remaining length, body.
fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(body);
    v
}

fn s(x: &[u8]) -> Vec<u8> {
    let mut v = (x.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(x);
    v
}

fn connect(level: u8) -> Vec<u8> {
    let mut b = s(b"MQTT");
    b.extend([level, 0x02, 0, 60]);
    if level == 5 {
        b.push(0); // no properties
    }
    b.extend(s(b"cid"));
    pkt(0x10, &b)
}

fn publish(
    flags: u8,
    topic: &[u8],
    id: Option<u16>,
    props: Option<&[u8]>,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = s(topic);
    if let Some(id) = id {
        b.extend(id.to_be_bytes());
    }
    if let Some(p) = props {
        b.extend_from_slice(p);
    }
    b.extend_from_slice(payload);
    pkt(0x30 | flags, &b)
}

const C: Dir = Dir::Client;
const S: Dir = Dir::Server;

#[test]
fn mqtt_clean_connect_publish_qos1() {
    let c = connect(4);
    let p = publish(0x03, b"a/b", Some(7), None, b"hi");
    let o = run(
        Protocol::Mqtt,
        &[(C, &c), (C, &p), (S, &pkt(0x40, &[0, 7]))],
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(kinds(&o), ["CONNECT", "PUBLISH", "PUBACK"]);
    let r = &o.records[1];
    assert_eq!(r.get("topic"), Some(&json!("a/b")));
    assert_eq!(r.get("qos"), Some(&json!(1)));
    assert_eq!(r.get("retain"), Some(&json!(true)));
    assert_eq!(r.get("packet_id"), Some(&json!(7)));
    assert_eq!(r.get("payload_text"), Some(&json!("hi")));
}

#[test]
fn mqtt_packet_split_over_messages_and_packets_sharing_one() {
    let c = connect(4);
    let p = publish(0x00, b"t", None, None, b"payload");
    let mut both = p.clone();
    both.extend(pkt(0xc0, &[])); // PINGREQ in the same message
    let mut msgs: Vec<(Dir, &[u8])> = vec![(C, &c)];
    for b in both.chunks(1) {
        msgs.push((C, b));
    }
    let o = run(Protocol::Mqtt, &msgs);
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(kinds(&o), ["CONNECT", "PUBLISH", "PINGREQ"]);
    // The record carries the packet that completed it.
    assert_eq!(o.records[1].packet, 1 + p.len() as u64);
    let mut two = c.clone();
    two.extend(&both);
    let o = run(Protocol::Mqtt, &[(C, &two)]);
    assert_eq!(kinds(&o), ["CONNECT", "PUBLISH", "PINGREQ"]);
}

#[test]
fn mqtt_remaining_length_of_5_bytes_is_malformed() {
    let c = connect(4);
    let bad = [0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, b't'];
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &bad), (C, &pkt(0xc0, &[]))]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
    assert!(
        o.findings[0].message.contains("5 bytes"),
        "{}",
        o.findings[0].message
    );
    // The next message decodes again.
    assert_eq!(kinds(&o), ["CONNECT", "PINGREQ"]);
}

#[test]
fn mqtt_huge_remaining_length_allocates_nothing() {
    let c = connect(4);
    // 268,435,455: the largest; only 3 bytes follow.
    let bad = [0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b't'];
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &bad)]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
}

#[test]
fn mqtt_qos_3_is_malformed() {
    let c = connect(4);
    let p = publish(0x06, b"t", Some(1), None, b"x");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
    assert!(o.findings[0].message.contains("QoS 3"));
}

#[test]
fn mqtt_reserved_flag_bits_are_malformed() {
    let c = connect(4);
    // PUBREL must have flags 0010; PINGREQ 0000.
    let o = run(
        Protocol::Mqtt,
        &[(C, &c), (C, &pkt(0x60, &[0, 1])), (C, &pkt(0xc1, &[]))],
    );
    assert_eq!(codes(&o), ["mqtt.malformed", "mqtt.malformed"]);
    assert!(o.findings[0].message.contains("reserved flag bits"));
    assert_eq!(kinds(&o), ["CONNECT"]);
}

#[test]
fn mqtt_topic_not_utf8_is_malformed() {
    let c = connect(4);
    let p = publish(0x00, b"a\xff\xfe", None, None, b"x");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
    assert!(o.findings[0].message.contains("UTF-8"));
}

#[test]
fn mqtt5_properties_past_their_length_are_malformed() {
    let c = connect(5);
    // properties length 10, only 3 bytes of packet left
    let p = publish(0x00, b"t", None, Some(&[10, 0x01, 0x01]), b"");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
    assert!(o.findings[0].message.contains("properties"));
    // A property running past the properties' own length.
    let p = publish(0x00, b"t", None, Some(&[2, 0x02, 0x00]), b"abcd");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
}

#[test]
fn mqtt5_100k_properties_are_bounded() {
    let c = connect(5);
    let mut props = Vec::new();
    for _ in 0..100_000 {
        props.extend([0x26, 0, 1, b'k', 0, 1, b'v']);
    }
    let mut len = Vec::new();
    let mut n = props.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        len.push(b);
        if n == 0 {
            break;
        }
    }
    len.extend(props);
    let p = publish(0x00, b"t", None, Some(&len), b"x");
    let t = std::time::Instant::now();
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert!(t.elapsed().as_secs() < 5);
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    let props = o.records[1].get("properties").unwrap();
    assert_eq!(
        props["user_properties"].as_array().unwrap().len(),
        mqtt::MAX_PROPERTIES
    );
    assert_eq!(
        props["properties_dropped"],
        json!(100_000 - mqtt::MAX_PROPERTIES)
    );
}

#[test]
fn mqtt_publish_qos1_with_packet_id_0_is_a_violation() {
    let c = connect(4);
    let p = publish(0x02, b"t", Some(0), None, b"x");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p)]);
    assert_eq!(codes(&o), ["mqtt.protocol-violation"]);
    assert!(o.findings[0].message.contains("packet identifier 0"));
    assert_eq!(kinds(&o), ["CONNECT", "PUBLISH"]);
}

#[test]
fn mqtt_connect_not_first_and_second_connect_are_violations() {
    let p = publish(0x00, b"t", None, None, b"x");
    let c = connect(4);
    let o = run(Protocol::Mqtt, &[(C, &p), (C, &c)]);
    assert_eq!(codes(&o), ["mqtt.protocol-violation"]);
    assert!(o.findings[0].message.contains("before CONNECT"));
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &c)]);
    assert_eq!(codes(&o), ["mqtt.protocol-violation"]);
    assert!(o.findings[0].message.contains("second"));
}

#[test]
fn mqtt_truncated_at_end_of_session() {
    let c = connect(4);
    let p = publish(0x00, b"topic", None, None, b"x");
    let o = run(Protocol::Mqtt, &[(C, &c), (C, &p[..4])]);
    assert_eq!(codes(&o), ["mqtt.malformed"]);
    assert!(o.findings[0].message.contains("truncated"));
}

#[test]
fn stomp_frames_escapes_repeated_headers_bodies_heartbeats() {
    let connected = b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0";
    let msg = b"MESSAGE\ndestination:/q/a\\cb\nfoo:first\\nline\nfoo:second\ncontent-length:5\n\nab\0cd\0\n";
    let o = run(
        Protocol::Stomp,
        &[(S, connected), (S, msg), (S, b"\n"), (C, b"\r\n")],
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(
        kinds(&o),
        ["CONNECTED", "MESSAGE", "HEARTBEAT", "HEARTBEAT"]
    );
    let h = o.records[1].get("headers").unwrap();
    assert_eq!(h["destination"], "/q/a:b");
    assert_eq!(h["foo"], "first\nline");
    assert_eq!(o.records[1].get("body_hex"), None);
    assert_eq!(o.records[1].get("body_text"), Some(&json!("ab\0cd")));
}

#[test]
fn stomp_frame_split_across_messages_and_nul_terminated_body() {
    let f = b"SEND\r\ndestination:/topic/x\r\n\r\nhello\0";
    let msgs: Vec<(Dir, &[u8])> = f.chunks(3).map(|c| (C, c)).collect();
    let o = run(Protocol::Stomp, &msgs);
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(kinds(&o), ["SEND"]);
    assert_eq!(o.records[0].get("body_text"), Some(&json!("hello")));
}

#[test]
fn stomp_10mb_header_is_bounded_and_malformed() {
    let mut f = b"SEND\nx:".to_vec();
    f.resize(10 << 20, b'a');
    f.extend(b"\n\nbody\0");
    let t = std::time::Instant::now();
    let o = run(
        Protocol::Stomp,
        &[(C, &f), (C, b"SEND\ndestination:/a\n\n\0")],
    );
    assert!(t.elapsed().as_secs() < 5);
    assert_eq!(codes(&o), ["stomp.malformed"]);
    assert!(o.findings[0].message.contains("header section"));
    assert_eq!(kinds(&o), ["SEND"]);
}

#[test]
fn stomp_carriage_return_escape_is_1_2_only() {
    // STOMP 1.1 defines \n, \c and \\ only ("undefined escape sequences
    // ... MUST be treated as a fatal protocol error"); 1.2 adds \r.
    let frame: &[u8] = b"MESSAGE\nx:a\\rb\ndestination:/q\n\n\0";
    for (version, ok) in [("1.1", false), ("1.2", true)] {
        let connected = format!("CONNECTED\nversion:{version}\n\n\0");
        let o = run(Protocol::Stomp, &[(S, connected.as_bytes()), (S, frame)]);
        if ok {
            assert!(o.findings.is_empty(), "{version}: {:?}", o.findings);
            assert_eq!(o.records[1].get("headers").unwrap()["x"], "a\rb");
        } else {
            assert_eq!(codes(&o), ["stomp.malformed"], "{version}");
            assert!(o.findings[0].message.contains("\\r"), "{:?}", o.findings);
        }
    }
}

#[test]
fn stomp_bad_lines_are_malformed() {
    let o = run(
        Protocol::Stomp,
        &[
            (C, b"FROB\n\n\0"),
            (C, b"SEND\nnocolon\n\n\0"),
            (C, b"SEND\na:b\\t\n\n\0"),
        ],
    );
    assert_eq!(codes(&o), ["stomp.malformed"; 3]);
    assert!(o.records.is_empty());
}

#[test]
fn socketio_placeholder_count_2_pow_31_allocates_nothing() {
    let m = b"452147483648-[\"e\",{\"_placeholder\":true,\"num\":0}]";
    let o = run(Protocol::SocketIo, &[(C, m)]);
    assert_eq!(codes(&o), ["socketio.malformed"]);
    assert!(o.records.is_empty());
}

#[test]
fn socketio_polling_body_record_separator_and_base64_binary() {
    let mut d = Decoder::new(Protocol::SocketIo, Session::default());
    let mut out = Output::default();
    let body = b"451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1ebAAEC\x1e42/ns,3[\"x\",1]\x1e2";
    d.polling_body(&msg(C, body, 1), &mut out);
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    let k: Vec<&str> = out.records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(k, ["BINARY_EVENT", "EVENT", "ping"]);
    assert_eq!(
        out.records[0].get("args"),
        Some(&json!([{"_binary_hex": "000102"}]))
    );
    assert_eq!(out.records[1].get("namespace"), Some(&json!("/ns")));
    assert_eq!(out.records[1].get("ack_id"), Some(&json!(3)));
    assert_eq!(out.records[1].get("args"), Some(&json!([1])));
}

#[test]
fn socketio_bad_packets_are_malformed() {
    let o = run(
        Protocol::SocketIo,
        &[
            (S, b"9"),
            (S, b"42[oops"),
            (S, b"42{\"a\":1}"),
            (S, b"0nope"),
            (S, b""),
        ],
    );
    assert_eq!(codes(&o), ["socketio.malformed"; 5]);
}

#[test]
fn graphql_subscribe_before_ack_duplicate_id_unknown_type() {
    let o = run(
        Protocol::GraphqlTransportWs,
        &[
            (C, br#"{"type":"connection_init"}"#),
            (
                C,
                br#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#,
            ),
            (S, br#"{"type":"connection_ack"}"#),
            (
                C,
                br#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#,
            ),
            (C, br#"{"type":"frobnicate"}"#),
            (S, br#"{"type":"complete","id":"1"}"#),
            (
                C,
                br#"{"type":"subscribe","id":"1","payload":{"query":"subscription S { a }"}}"#,
            ),
        ],
    );
    assert_eq!(codes(&o), ["graphql.protocol-violation"; 3]);
    assert!(o.findings[0].message.contains("before connection_ack"));
    assert!(o.findings[1].message.contains("active id"));
    assert!(o.findings[2].message.contains("frobnicate"));
    assert_eq!(o.records[6].get("operation_name"), Some(&json!("S")));
}

#[test]
fn graphql_legacy_flow_is_clean() {
    let o = run(
        Protocol::GraphqlWs,
        &[
            (C, br#"{"type":"connection_init","payload":{}}"#),
            (S, br#"{"type":"connection_ack"}"#),
            (S, br#"{"type":"ka"}"#),
            (
                C,
                br#"{"type":"start","id":"1","payload":{"query":"query Q { a }"}}"#,
            ),
            (S, br#"{"type":"data","id":"1","payload":{"data":{"a":1}}}"#),
            (S, br#"{"type":"complete","id":"1"}"#),
            (
                C,
                br#"{"type":"start","id":"1","payload":{"query":"{ a }","operationName":"N"}}"#,
            ),
            (C, br#"{"type":"stop","id":"1"}"#),
            (C, br#"{"type":"connection_terminate"}"#),
        ],
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.records[3].get("operation_name"), Some(&json!("Q")));
    assert_eq!(o.records[6].get("operation_name"), Some(&json!("N")));
    // Not JSON: a violation, not a crash.
    let o = run(Protocol::GraphqlWs, &[(C, b"\xff{")]);
    assert_eq!(codes(&o), ["graphql.protocol-violation"]);
}
