//! Field names a filter may use, and the fields it derives.

use super::value::{Endpoint, FieldValue, Record};

/// The fields DESIGN.md names for `--filter`, in its order.
pub const DESIGN_FIELDS: &[&str] = &[
    "conn",
    "stream",
    "client",
    "server",
    "ip",
    "port",
    "from",
    "opcode",
    "opcode_name",
    "fin",
    "rsv1",
    "masked",
    "len",
    "payload_len",
    "close_code",
    "text",
    "packet",
    "ts",
    "code",
    "severity",
    "protocol",
    "kind",
    "topic",
];

/// Every other field name of the JSON records (and of those the second
/// release adds), plus the derived `client_ip`, `server_ip`, `client_port`
/// and `server_port`. A dotted path (`client_to_server.close_code`) is
/// checked by its first name.
pub const OTHER_FIELDS: &[&str] = &[
    // every record
    "type",
    "capture",
    "findings",
    // frame
    "rsv2",
    "rsv3",
    "mask_key",
    "payload_hex",
    "payload_text",
    "payload_base64",
    "payload_incomplete",
    "close_reason",
    "first_packet",
    "segments",
    // message
    "frames",
    "packets",
    "compressed",
    "wire_len",
    "data_hex",
    "data_base64",
    "data_incomplete",
    "undecodable",
    // handshake and conn
    "method",
    "path",
    "host",
    "key",
    "version",
    "status",
    "accept",
    "accept_expected",
    "accept_ok",
    "subprotocol",
    "subprotocols_offered",
    "extensions",
    "extensions_offered",
    "response_packet",
    "handshake",
    "first_ts",
    "last_ts",
    "duration",
    "client_to_server",
    "server_to_client",
    "tls",
    "carrier",
    // finding and summary
    "message",
    "offset",
    "errors",
    "warnings",
    "info",
    "connections",
    "captures",
    // push and sse-event
    "technique",
    "conns",
    "requests",
    "events",
    "mean_interval",
    "mean_hold",
    "events_per_request",
    "reconnects",
    "last_event_ids",
    "open",
    "rtt",
    "hold_threshold",
    "reason",
    "id",
    "event",
    "data",
    "retry",
    // stats
    "messages",
    // app (subprotocols)
    "client_id",
    "qos",
    "retain",
    "dup",
    "packet_id",
    "reason_code",
    "properties",
    "headers",
    "body_text",
    "body_hex",
    "namespace",
    "args",
    "ack_id",
    "operation_name",
    "payload",
    // derived
    "client_ip",
    "server_ip",
    "client_port",
    "server_port",
];

/// How a field is found when the record has no field of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// Only the record's own field.
    None,
    /// `len`: a frame's `payload_len`.
    Len,
    /// `text`: a frame's `payload_text`.
    Text,
    /// `packet`: the last of a message's `packets`.
    Packet,
    /// `code`: the codes in a record's `findings`.
    Code,
    /// `ts`: a connection's or channel's `first_ts`.
    Ts,
    /// `ip` / `port`: both endpoints, from `client` and `server`.
    Ip,
    Port,
    ClientIp,
    ServerIp,
    ClientPort,
    ServerPort,
}

/// A checked field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    name: String,
    derive: Derive,
}

/// `name` or `name.name...`, each an identifier.
pub fn is_path(w: &str) -> bool {
    w.split('.').all(|p| {
        let mut b = p.bytes();
        b.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
    })
}

fn known(name: &str, extra: &[&str]) -> bool {
    DESIGN_FIELDS.contains(&name) || OTHER_FIELDS.contains(&name) || extra.contains(&name)
}

impl Field {
    /// Checks a field name against the known names (and `extra`).
    pub fn resolve(w: &str, extra: &[&str]) -> Result<Field, String> {
        let head = w.split('.').next().unwrap_or(w);
        if !known(head, extra) {
            let hint = suggest(head, extra)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            return Err(format!(
                "no field named '{head}'{hint}; fields are {}, and the other fields of the JSON records (see docs/filter.md)",
                DESIGN_FIELDS.join(", ")
            ));
        }
        let derive = match w {
            "len" => Derive::Len,
            "text" => Derive::Text,
            "packet" => Derive::Packet,
            "code" => Derive::Code,
            "ts" => Derive::Ts,
            "ip" => Derive::Ip,
            "port" => Derive::Port,
            "client_ip" => Derive::ClientIp,
            "server_ip" => Derive::ServerIp,
            "client_port" => Derive::ClientPort,
            "server_port" => Derive::ServerPort,
            _ => Derive::None,
        };
        Ok(Field {
            name: w.to_string(),
            derive,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's value in `r`: its own field of that name, else the
    /// derived one; `None` when it has neither.
    pub fn get<'r, R: Record + ?Sized>(&self, r: &'r R) -> Option<FieldValue<'r>> {
        if let Some(v) = r.field(&self.name) {
            return Some(v);
        }
        match self.derive {
            Derive::None => None,
            Derive::Len => r.field("payload_len"),
            Derive::Text => r.field("payload_text"),
            Derive::Packet => match r.field("packets")? {
                FieldValue::List(mut l) => l.pop(),
                _ => None,
            },
            Derive::Code => r.field("findings"),
            Derive::Ts => r.field("first_ts"),
            Derive::Ip => both(r, |e| FieldValue::Ip(e.ip())),
            Derive::Port => both(r, |e| {
                e.port()
                    .map_or(FieldValue::Null, |p| FieldValue::Int(i128::from(p)))
            }),
            Derive::ClientIp => endpoint(r, "client").map(|e| FieldValue::Ip(e.ip())),
            Derive::ServerIp => endpoint(r, "server").map(|e| FieldValue::Ip(e.ip())),
            Derive::ClientPort => endpoint(r, "client")?
                .port()
                .map(|p| FieldValue::Int(i128::from(p))),
            Derive::ServerPort => endpoint(r, "server")?
                .port()
                .map(|p| FieldValue::Int(i128::from(p))),
        }
    }
}

fn endpoint<R: Record + ?Sized>(r: &R, name: &str) -> Option<Endpoint> {
    r.endpoint(name)
}

/// The client's and the server's value, as a list (either may match).
fn both<'r, R: Record + ?Sized>(
    r: &'r R,
    f: impl Fn(Endpoint) -> FieldValue<'r>,
) -> Option<FieldValue<'r>> {
    let l: Vec<FieldValue<'r>> = ["client", "server"]
        .iter()
        .filter_map(|n| endpoint(r, n))
        .map(f)
        .filter(|v| *v != FieldValue::Null)
        .collect();
    (!l.is_empty()).then_some(FieldValue::List(l))
}

/// The known name nearest to a misspelt one (edit distance at most 2).
fn suggest(w: &str, extra: &[&str]) -> Option<String> {
    DESIGN_FIELDS
        .iter()
        .chain(OTHER_FIELDS)
        .chain(extra)
        .map(|k| (distance(w, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

/// Levenshtein distance over bytes (names are short ASCII).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["len", "client_to_server.close_code", "_x", "tls.sni"] {
            assert!(is_path(ok), "{ok}");
        }
        for bad in ["", "1x", "a..b", "a.", ".a", "a-b", "a:b"] {
            assert!(!is_path(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_names_suggest_a_near_one() {
        let e = Field::resolve("lenn", &[]).unwrap_err();
        assert!(
            e.contains("no field named 'lenn' (did you mean 'len'?)"),
            "{e}"
        );
        let e = Field::resolve("zzzzzz", &[]).unwrap_err();
        assert!(
            e.starts_with("no field named 'zzzzzz'; fields are conn, stream"),
            "{e}"
        );
        assert!(Field::resolve("mine", &["mine"]).is_ok());
        assert!(Field::resolve("client_to_server.frames", &[]).is_ok());
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("[::1]:80").and_then(Endpoint::port),
            Some(80)
        );
        assert_eq!(
            Endpoint::parse("127.0.0.1").map(Endpoint::ip),
            "127.0.0.1".parse().ok()
        );
        assert_eq!(Endpoint::parse("nonsense"), None);
    }
}
