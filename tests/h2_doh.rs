//! DNS over HTTPS (RFC 8484) over h2c (issue 15): real HTTP/2 that is not
//! WebSocket. `samples/h2/doh.pcap` is dnspython's DoH client over httpx
//! (HTTP/2 with prior knowledge) against a Hypercorn DoH server
//! (`samples/record/doh_record.sh`); `doh.log.jsonl` is what both logged.
//! Every request the client made comes out as an HTTP exchange on its own
//! stream, with the DNS messages byte for byte (GET: the `dns` parameter;
//! POST: the body; responses: the body); no WebSocket frame and no finding
//! is invented.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use wsdissect::event::Event;
use wsdissect::findings::Dir;
use wsdissect::{Config, run as analyze};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn doh_exchanges_come_out_whole_and_nothing_is_invented() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/h2");
    let log: Vec<Value> = std::fs::read_to_string(dir.join("doh.log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let bytes = std::fs::read(dir.join("doh.pcap")).unwrap();
    // By stream: method, path, client body, server body.
    let mut ex: BTreeMap<u32, (String, String, Vec<u8>, Vec<u8>)> = BTreeMap::new();
    let (mut frames, mut findings) = (0, Vec::new());
    analyze(
        &bytes[..],
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::HttpHead(h) if h.from == Dir::Client => {
                let e = ex.entry(h.session.stream.unwrap()).or_default();
                e.0 = h.head.method.clone().unwrap_or_default();
                e.1 = h.head.path.clone().unwrap_or_default();
            }
            Event::HttpBody(b) => {
                let e = ex.entry(b.session.stream.unwrap()).or_default();
                match b.from {
                    Dir::Client => e.2.extend_from_slice(b.bytes),
                    Dir::Server => e.3.extend_from_slice(b.bytes),
                }
            }
            Event::Frame(_) | Event::Message(_) => frames += 1,
            Event::Finding(f) => findings.push(f.code.as_str().to_string()),
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(frames, 0);
    assert!(findings.is_empty(), "{findings:?}");
    let queries: Vec<&Value> = log.iter().filter(|r| r["kind"] == "query").collect();
    let served: Vec<&Value> = log.iter().filter(|r| r["kind"] == "served").collect();
    assert_eq!(queries.len(), 8);
    assert_eq!(ex.len(), queries.len(), "{ex:?}");
    for ((_, (method, path, up, down)), (q, s)) in ex.iter().zip(queries.iter().zip(&served)) {
        assert_eq!(method, q["method"].as_str().unwrap());
        let wire = if method == "GET" {
            assert!(up.is_empty());
            let (p, dns) = path.split_once("?dns=").expect("a dns parameter");
            assert_eq!(p, "/dns-query");
            URL_SAFE_NO_PAD.decode(dns).unwrap()
        } else {
            assert_eq!(path, "/dns-query");
            up.clone()
        };
        assert_eq!(hex(&wire), q["query_hex"].as_str().unwrap());
        assert_eq!(hex(down), s["response_hex"].as_str().unwrap());
    }
}
