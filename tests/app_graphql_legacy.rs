//! The legacy graphql-ws subprotocol (subscriptions-transport-ws), real
//! traffic (issue 16): `samples/app/graphql-legacy.pcap`, npm
//! subscriptions-transport-ws 0.11 server and client
//! (`samples/record/graphql_legacy_record.sh`). Every message the client's
//! socket sent and received (`graphql-legacy.log.jsonl`) comes out of
//! `app --format json` with its type, id and payload, in order; and `check`
//! is clean: the reference client sends `start` right after
//! `connection_init`, before the server's `connection_ack` (its queue is
//! flushed on open; the reference server accepts it), which the legacy
//! protocol allows, unlike graphql-transport-ws.

mod common;

use common::{json_records, jsonl, unhex};

use serde_json::Value;

const CAP: &str = "samples/app/graphql-legacy.pcap";

#[test]
fn legacy_graphql_ws_every_message_as_logged() {
    let recs = json_records(&["app", "--format", "json", "--payload", "text", "-q", CAP]);
    let log: Vec<Value> = jsonl("app/graphql-legacy.log.jsonl");
    let null = Value::Null;
    for side in ["client", "server"] {
        let want: Vec<Value> = log
            .iter()
            .filter(|l| l["side"] == side)
            .map(|l| serde_json::from_slice(&unhex(l["data_hex"].as_str().unwrap())).unwrap())
            .collect();
        let got: Vec<&Value> = recs.iter().filter(|r| r["from"] == side).collect();
        assert!(want.len() >= 8, "{side}");
        assert_eq!(got.len(), want.len(), "{side}");
        for (r, w) in got.iter().zip(&want) {
            assert_eq!(r["protocol"], "graphql-ws");
            assert_eq!(r["kind"], w["type"]);
            assert_eq!(r.get("id"), w.get("id"));
            // `"payload": null` on the wire is no payload.
            assert_eq!(
                r.get("payload").unwrap_or(&null),
                w.get("payload").unwrap_or(&null),
                "{w}"
            );
        }
    }
    let names: Vec<&str> = recs
        .iter()
        .filter_map(|r| r["operation_name"].as_str())
        .collect();
    assert_eq!(names, ["Countdown", "Hello", "Broken"]);
}

#[test]
fn legacy_graphql_ws_reference_pair_is_clean() {
    let findings = json_records(&["check", "--format", "json", "-q", CAP]);
    let codes: Vec<&str> = findings
        .iter()
        .filter(|f| f["type"] == "finding")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.is_empty(), "{findings:?}");
}
