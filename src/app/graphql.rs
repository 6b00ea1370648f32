//! GraphQL over WebSocket: graphql-transport-ws (the `graphql-ws` npm
//! library's protocol) and the legacy graphql-ws subprotocol of
//! subscriptions-transport-ws. One record per message, `kind` its `type`.
//!
//! `graphql.protocol-violation`: a message that is not a JSON object with a
//! string `type`, a type the protocol does not define (or from the wrong
//! side), an operation started before `connection_ack`, an operation id
//! already active. At most [`MAX_ACTIVE`] active ids are tracked.

use super::{AppCode, AppFinding, Msg, Unit, esc};
use crate::findings::Dir;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::LazyLock;

/// Operation ids tracked at once.
pub const MAX_ACTIVE: usize = 4096;

/// The GraphQL decoder state of one connection.
pub struct Graphql {
    legacy: bool,
    acked: bool,
    active: HashSet<String>,
}

static OP_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^_0-9A-Za-z])(?:subscription|query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")
        .ok()
});

/// The operation name: `payload.operationName`, else the name after the
/// query's first `subscription|query|mutation` keyword.
pub fn operation_name(payload: &Value) -> Option<String> {
    if let Some(n) = payload.get("operationName").and_then(Value::as_str) {
        return Some(n.to_string());
    }
    let q = payload.get("query")?.as_str()?;
    let re = OP_NAME.as_ref()?;
    Some(re.captures(q)?.get(1)?.as_str().to_string())
}

impl Graphql {
    pub(crate) fn new(legacy: bool) -> Graphql {
        Graphql {
            legacy,
            acked: false,
            active: HashSet::new(),
        }
    }

    pub(crate) fn message(&mut self, m: &Msg, units: &mut Vec<Unit>, f: &mut Vec<AppFinding>) {
        let v: Value = match serde_json::from_slice(m.payload) {
            Ok(v) => v,
            Err(_) => {
                f.push(finding(m, "GraphQL message is not JSON".into()));
                return;
            }
        };
        let Some(ty) = v.get("type").and_then(Value::as_str).map(str::to_string) else {
            f.push(finding(
                m,
                "GraphQL message without a string \"type\"".into(),
            ));
            return;
        };
        let id = v.get("id").map(|i| match i {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let mut fields = Map::new();
        if let Some(i) = v.get("id") {
            fields.insert("id".into(), i.clone());
        }
        let payload = v.get("payload");
        let (client_types, server_types): (&[&str], &[&str]) = if self.legacy {
            (
                &["connection_init", "start", "stop", "connection_terminate"],
                &[
                    "connection_ack",
                    "connection_error",
                    "ka",
                    "data",
                    "error",
                    "complete",
                ],
            )
        } else {
            (
                &["connection_init", "ping", "pong", "subscribe", "complete"],
                &[
                    "connection_ack",
                    "ping",
                    "pong",
                    "next",
                    "error",
                    "complete",
                ],
            )
        };
        let allowed = match m.from {
            Dir::Client => client_types,
            Dir::Server => server_types,
        };
        if !allowed.contains(&ty.as_str()) {
            f.push(finding(
                m,
                format!(
                    "GraphQL {} message type {:?} from the {}",
                    if self.legacy {
                        "graphql-ws"
                    } else {
                        "graphql-transport-ws"
                    },
                    esc(&ty, 40),
                    m.from.as_str()
                ),
            ));
        }
        let start = if self.legacy { "start" } else { "subscribe" };
        match ty.as_str() {
            "connection_ack" if m.from == Dir::Server => self.acked = true,
            t if t == start && m.from == Dir::Client => {
                // graphql-transport-ws forbids it (the server closes with
                // 4401); the legacy protocol's reference client sends its
                // queued `start`s right after connection_init and the
                // reference server accepts them.
                if !self.acked && !self.legacy {
                    f.push(finding(m, format!("GraphQL {t} before connection_ack")));
                }
                match &id {
                    None => f.push(finding(m, format!("GraphQL {t} without an id"))),
                    Some(i) => {
                        if self.active.contains(i) {
                            f.push(finding(
                                m,
                                format!("GraphQL {t} reuses the active id {:?}", esc(i, 60)),
                            ));
                        } else if self.active.len() < MAX_ACTIVE {
                            self.active.insert(i.clone());
                        }
                    }
                }
                if let Some(name) = payload.and_then(operation_name) {
                    fields.insert("operation_name".into(), Value::from(name));
                }
            }
            "complete" | "stop" | "error" => {
                if let Some(i) = &id {
                    self.active.remove(i);
                }
            }
            _ => {}
        }
        if let Some(p) = payload {
            fields.insert("payload".into(), p.clone());
        }
        units.push(Unit {
            from: m.from,
            packet: m.packet,
            ts: m.ts,
            kind: ty,
            fields,
        });
    }
}

fn finding(m: &Msg, message: String) -> AppFinding {
    AppFinding {
        code: AppCode::GraphqlProtocolViolation,
        from: m.from,
        packet: m.packet,
        message,
    }
}
