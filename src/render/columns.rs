//! The column schema of the record types that are written as tables
//! (`--format parquet`, the Python package's Arrow tables): one column per
//! JSON field of docs/schema.md, in the JSON's order, each of one fixed
//! type whatever a capture holds. docs/parquet.md documents it;
//! `python/wsdissect/_schema.py` is the same schema in pyarrow's terms.
//!
//! Fixed-shape objects (`tls`, `client_to_server`, `server_to_client`) are
//! structs and lists of numbers or strings are lists; objects and arrays
//! whose shape comes from the traffic (an `app` record's MQTT `properties`,
//! STOMP `headers`, GraphQL `payload`, Socket.IO `args`...) are
//! [`Kind::Json`]: a string holding the value's compact JSON text.

/// A column's type. Every column is nullable (null where the JSON has
/// `null` or leaves the field out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit signed integer.
    Int,
    /// A 64-bit float.
    Float,
    Bool,
    /// A UTF-8 string.
    Str,
    /// Any JSON value, as its compact JSON text (a UTF-8 string).
    Json,
    /// A list of 64-bit integers.
    IntList,
    /// A list of UTF-8 strings.
    StrList,
    /// An object of these columns (scalars only).
    Struct(&'static [Column]),
}

/// One column: a JSON field's name and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

const fn c(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

use Kind::*;

const TLS: &[Column] = &[
    c("version", Str),
    c("cipher", Str),
    c("sni", Str),
    c("alpn", Str),
    c("decrypted", Bool),
];

const DIRECTION: &[Column] = &[
    c("frames", Int),
    c("messages", Int),
    c("payload_bytes", Int),
    c("close_code", Int),
    c("close_reason", Str),
];

/// `frame` records (`wsdissect frames`).
pub const FRAME: &[Column] = &[
    c("type", Str),
    c("capture", Str),
    c("conn", Int),
    c("client", Str),
    c("server", Str),
    c("carrier", Str),
    c("stream", Int),
    c("from", Str),
    c("packet", Int),
    c("ts", Float),
    c("fin", Bool),
    c("rsv1", Bool),
    c("rsv2", Bool),
    c("rsv3", Bool),
    c("opcode", Int),
    c("opcode_name", Str),
    c("masked", Bool),
    c("mask_key", Str),
    c("payload_len", Int),
    c("payload_hex", Str),
    c("payload_text", Str),
    c("payload_base64", Str),
    c("payload_lossy", Bool),
    c("payload_incomplete", Bool),
    c("close_code", Int),
    c("close_reason", Str),
    c("first_packet", Int),
    c("segments", Int),
    c("findings", StrList),
];

/// `message` records (`wsdissect messages`).
pub const MESSAGE: &[Column] = &[
    c("type", Str),
    c("capture", Str),
    c("conn", Int),
    c("client", Str),
    c("server", Str),
    c("carrier", Str),
    c("stream", Int),
    c("from", Str),
    c("opcode", Int),
    c("opcode_name", Str),
    c("frames", Int),
    c("packets", IntList),
    c("ts", Float),
    c("compressed", Bool),
    c("wire_len", Int),
    c("len", Int),
    c("text", Str),
    c("data_hex", Str),
    c("data_base64", Str),
    c("data_incomplete", Bool),
    c("undecodable", Bool),
    c("findings", StrList),
];

/// `conn` records (`wsdissect conns`; its `handshake` records are not a table).
pub const CONN: &[Column] = &[
    c("type", Str),
    c("capture", Str),
    c("conn", Int),
    c("client", Str),
    c("server", Str),
    c("packets", IntList),
    c("first_ts", Float),
    c("last_ts", Float),
    c("duration", Float),
    c("handshake", Bool),
    c("path", Str),
    c("status", Int),
    c("accept_ok", Bool),
    c("subprotocol", Str),
    c("extensions", Str),
    c("tls", Struct(TLS)),
    c("client_to_server", Struct(DIRECTION)),
    c("server_to_client", Struct(DIRECTION)),
    c("findings", StrList),
];

/// `finding` records (`wsdissect check`; not its `summary`).
pub const FINDING: &[Column] = &[
    c("type", Str),
    c("capture", Str),
    c("code", Str),
    c("severity", Str),
    c("conn", Int),
    c("stream", Int),
    c("from", Str),
    c("packet", Int),
    c("offset", Int),
    c("message", Str),
];

/// `app` records (`wsdissect app`): the fields of every subprotocol, each
/// null where a unit does not have it.
pub const APP: &[Column] = &[
    c("type", Str),
    c("capture", Str),
    c("protocol", Str),
    c("conn", Int),
    c("client", Str),
    c("server", Str),
    c("stream", Int),
    c("from", Str),
    c("packet", Int),
    c("ts", Float),
    c("kind", Str),
    c("client_id", Str),
    c("protocol_name", Str),
    c("protocol_level", Int),
    c("clean_start", Bool),
    c("keep_alive", Int),
    c("username_present", Bool),
    c("username", Str),
    c("password_present", Bool),
    c("will_topic", Str),
    c("will_qos", Int),
    c("will_retain", Bool),
    c("will_payload_text", Str),
    c("will_payload_hex", Str),
    c("will_properties", Json),
    c("session_present", Bool),
    c("topic", Str),
    c("qos", Int),
    c("retain", Bool),
    c("dup", Bool),
    c("packet_id", Int),
    c("reason_code", Int),
    c("reason_codes", IntList),
    c("subscriptions", Json),
    c("topics", StrList),
    c("properties", Json),
    c("properties_dropped", Int),
    c("payload_text", Str),
    c("payload_hex", Str),
    c("payload_base64", Str),
    c("headers", Json),
    c("body_text", Str),
    c("body_hex", Str),
    c("body_base64", Str),
    c("namespace", Str),
    c("event", Str),
    c("args", Json),
    c("ack_id", Int),
    c("attachments", Int),
    c("sid", Str),
    c("data", Json),
    c("data_hex", Str),
    c("id", Str),
    c("operation_name", Str),
    c("payload", Json),
];

/// The columns of a record type (its `type`), for the types that are tables.
pub fn of(record_type: &str) -> Option<&'static [Column]> {
    Some(match record_type {
        "frame" => FRAME,
        "message" => MESSAGE,
        "conn" => CONN,
        "finding" => FINDING,
        "app" => APP,
        _ => return None,
    })
}

/// Replaces each [`Kind::Json`] field of `record` (a JSON object of a type
/// with `columns`) by its compact JSON text, as the tables hold it.
pub fn json_text_fields(
    record: &mut serde_json::Map<String, serde_json::Value>,
    columns: &[Column],
) {
    for col in columns {
        if col.kind == Kind::Json
            && let Some(v) = record.get_mut(col.name)
            && !v.is_null()
        {
            *v = serde_json::Value::String(v.to_string());
        }
    }
}

/// What a build without the cargo feature `parquet` says to `--format parquet`.
pub const NO_PARQUET: &str =
    "this build has no Parquet support; rebuild with `cargo build --release --features parquet`";

/// What `--format` and `-o FILE` come to: the file Parquet goes to (`None`
/// for the other formats, which write to standard output), or why the
/// command cannot run (exit status 2). `built_with`: this build has the
/// `parquet` feature; `stdout_terminal`: where `-o -` would go.
pub fn parquet_target(
    parquet: bool,
    built_with: bool,
    output: Option<&str>,
    stdout_terminal: bool,
) -> Result<Option<&str>, String> {
    match (parquet, output) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(
            "-o FILE is for --format parquet; the other formats write to standard output (redirect it)"
                .into(),
        ),
        (true, _) if !built_with => Err(NO_PARQUET.into()),
        (true, None) => Err("--format parquet writes a binary file: name it with -o FILE".into()),
        (true, Some("-")) if stdout_terminal => Err(
            "Parquet is binary and standard output is a terminal: name a file with -o FILE (or pipe -o -)"
                .into(),
        ),
        (true, Some(path)) => Ok(Some(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_needs_the_feature_and_a_file() {
        // A build without the feature says how to get it, whatever else is given.
        let e = parquet_target(true, false, Some("out.parquet"), false);
        assert_eq!(e, Err(NO_PARQUET.to_string()));
        assert!(NO_PARQUET.contains("--features parquet"));
        assert!(parquet_target(true, true, None, false).is_err_and(|e| e.contains("-o FILE")));
        assert!(parquet_target(true, true, Some("-"), true).is_err());
        assert_eq!(parquet_target(true, true, Some("-"), false), Ok(Some("-")));
        assert_eq!(
            parquet_target(true, true, Some("f.parquet"), true),
            Ok(Some("f.parquet"))
        );
        assert_eq!(parquet_target(false, false, None, true), Ok(None));
        assert!(parquet_target(false, true, Some("f"), false).is_err());
    }

    #[test]
    fn column_names_are_unique() {
        for t in ["frame", "message", "conn", "finding", "app"] {
            let cols = of(t).unwrap_or_default();
            let mut names: Vec<&str> = cols.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), cols.len(), "{t}");
            assert_eq!(cols.first().map(|c| c.name), Some("type"));
        }
    }

    #[test]
    fn json_fields_become_their_text() {
        let mut m: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"type":"app","headers":{"b":"1","a":"x"},"data":"ping","topic":"t"}"#,
        )
        .unwrap_or_default();
        json_text_fields(&mut m, APP);
        assert_eq!(m["headers"], serde_json::json!(r#"{"b":"1","a":"x"}"#));
        assert_eq!(m["data"], serde_json::json!(r#""ping""#));
        assert_eq!(m["topic"], serde_json::json!("t"));
    }
}
