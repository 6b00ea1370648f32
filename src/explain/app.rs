//! The subprotocol beside each message: the app stage's records
//! ([`crate::app::AppRecord`], one per MQTT packet, STOMP frame, Engine.IO
//! packet or GraphQL message) attached to the message that completed them,
//! shown as `wsdissect app` shows them (its `what` column). No decoding
//! here: the records come from the app stage through the event stream.

use serde::Serialize;

use crate::app::AppRecord;
use crate::findings::Dir;
use crate::render::PayloadMode;

/// Units listed beside one message at most (the rest are counted).
pub const MAX_UNITS: usize = 16;

/// One decoded subprotocol unit, as the walkthrough shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AppEx {
    /// `mqtt`, `stomp`, `socketio`, `graphql-ws`, `graphql-transport-ws`.
    pub protocol: &'static str,
    /// The packet type, command or message type (the `app` record's `kind`).
    pub kind: String,
    /// What it is about and its fields, as `wsdissect app` shows them.
    pub what: String,
    /// The packet that completed it.
    pub packet: u64,
}

/// The unit as the walkthrough shows it (terminal-safe text).
pub fn app_ex(r: &AppRecord) -> AppEx {
    AppEx {
        protocol: r.protocol,
        kind: crate::render::escape::terminal(&r.kind).into_owned(),
        what: crate::render::app::what(r, PayloadMode::Text),
        packet: r.packet,
    }
}

/// The direction of an `app` record.
pub fn dir_of(r: &AppRecord) -> Dir {
    if r.from == "server" {
        Dir::Server
    } else {
        Dir::Client
    }
}

/// What a protocol is, in one sentence, for the walkthrough's handshake.
pub fn protocol_meaning(p: &str) -> &'static str {
    match p {
        "mqtt" => {
            "MQTT control packets (OASIS MQTT 3.1.1 / 5.0) inside binary messages; one packet may span messages and one message may hold several"
        }
        "stomp" => {
            "STOMP frames (a command line, headers, a blank line, a body ended by NUL); a lone newline is a heart-beat"
        }
        "socketio" => {
            "Engine.IO packets (a digit for the type) carrying Socket.IO packets (event name and arguments as JSON)"
        }
        "graphql-transport-ws" => {
            "GraphQL over WebSocket (graphql-transport-ws): JSON messages with a `type` (connection_init, subscribe, next, complete...)"
        }
        "graphql-ws" => {
            "the legacy GraphQL subscriptions protocol (subscriptions-transport-ws): JSON messages with a `type` (start, data, stop...)"
        }
        _ => "a subprotocol",
    }
}

/// Text: the units beside a message, one line each.
pub fn text_units(out: &mut String, m: &super::MessageEx, protocol: Option<&str>) {
    use std::fmt::Write as _;
    if let (Some(p), true) = (protocol, m.app_cut) {
        let _ = writeln!(
            out,
            "     ⤷ longer than the 64 KiB explain keeps: its {p} units are not decoded here (`wsdissect app` decodes them)"
        );
    }
    for u in &m.app {
        let line = format!(
            "{} {}{}{}",
            crate::render::app::short_protocol(u.protocol),
            u.kind,
            if u.what.is_empty() { "" } else { "  " },
            u.what
        );
        let _ = writeln!(out, "     ⤷ {}", super::text::term(&line));
    }
    if m.app_more > 0 {
        let _ = writeln!(out, "     ⤷ … and {} more units", m.app_more);
    }
}

/// HTML: the units beside a message, as a list in its row.
pub fn html_units(m: &super::MessageEx, protocol: Option<&str>) -> String {
    use crate::render::xml_escape as esc;
    if let (Some(p), true) = (protocol, m.app_cut) {
        return format!(
            "<p class=\"meaning\">longer than the 64 KiB explain keeps: its {} units are not decoded here (<code>wsdissect app</code> decodes them)</p>",
            esc(p)
        );
    }
    if m.app.is_empty() {
        return String::new();
    }
    let mut s = String::from("<ul class=\"app\">");
    for u in &m.app {
        s.push_str(&format!(
            "<li><b>{} {}</b> {}</li>",
            esc(crate::render::app::short_protocol(u.protocol)),
            esc(&u.kind),
            esc(&u.what)
        ));
    }
    if m.app_more > 0 {
        s.push_str(&format!("<li>… and {} more units</li>", m.app_more));
    }
    s.push_str("</ul>");
    s
}
