//! The filter language over arbitrary text: parsing never panics; a parsed
//! filter evaluates on a few fixed records of every kind without panicking;
//! its canonical spelling parses back to an equal filter that prints the
//! same and decides every record the same; an error message is printable
//! apart from its two line breaks.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wsdissect::filter::Filter;

fn records() -> &'static [Value] {
    static R: OnceLock<Vec<Value>> = OnceLock::new();
    R.get_or_init(|| {
        [
            r#"{"type":"frame","conn":1,"packet":7,"ts":1795248939.9134,"from":"server","fin":true,"rsv1":false,"opcode":1,"opcode_name":"text","masked":false,"mask_key":null,"payload_len":70000,"text":"héllo error","close_code":null,"findings":["frame.client-unmasked","tcp.gap"],"client":"127.0.0.1:40000","server":"[::1]:9001"}"#,
            r#"{"type":"message","conn":2,"from":"client","opcode_name":"binary","len":-3,"payload_len":18446744073709551615,"close_code":1000,"findings":[],"client":"10.1.2.3:80","server":"10.1.2.4:443","nested":{"a":{"b":[1,2.5,"x",null,true]}}}"#,
            r#"{"type":"finding","code":"close.bad-code","severity":"error","message":"x\u0000y","packet":0,"ts":0.0,"duration":2.5e-7,"rtt":null}"#,
            r#"{"type":"conn","id":3,"status":101,"tls":{"version":"1.3","decrypted":true},"push":{"kind":"long-polling"},"client":"not an address","server":12}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).expect("fixed record"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let f = match Filter::parse(&text) {
        Ok(f) => f,
        Err(e) => {
            let shown = e.to_string();
            assert_eq!(shown.matches('\n').count(), 2, "{shown:?}");
            common::assert_clean(&shown);
            assert!(e.offset() <= text.len());
            return;
        }
    };
    let printed = f.to_string();
    let g = Filter::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert!(
        f == g,
        "{text:?} printed as {printed:?}, which parses to another filter"
    );
    assert_eq!(g.to_string(), printed, "printing is not stable");
    assert_eq!(f.fields(), g.fields());
    for r in records() {
        assert_eq!(f.matches(r), g.matches(r), "{printed:?} on {r}");
    }
});
