//! The opening handshake (RFC 6455 section 4): the accept key, extension
//! and subprotocol negotiation, and the rules a request and its 101 must keep.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use crate::findings::{Code, Dir, Finding, Location};
use crate::http::HttpHead;
use crate::ws::deflate::{DeflateParams, parse_params};

/// The GUID of RFC 6455 section 1.3.
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// SHA-1 of key + GUID (the digest, for teaching).
pub fn accept_digest(key: &str) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_GUID.as_bytes());
    let mut out = [0u8; 20];
    out.copy_from_slice(&h.finalize());
    out
}

/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).
pub fn accept_for(key: &str) -> String {
    STANDARD.encode(accept_digest(key))
}

/// One extension from a Sec-WebSocket-Extensions list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, lower-cased.
    pub name: String,
    /// Its parameters as (name lower-cased, value unquoted).
    pub params: Vec<(String, Option<String>)>,
}

/// Parses `name; p=v; q, name2` (RFC 6455 section 9.1).
pub fn parse_extensions(value: &str) -> Vec<Extension> {
    value
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next()?.to_ascii_lowercase();
            if name.is_empty() {
                return None;
            }
            let params = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (
                        k.trim().to_ascii_lowercase(),
                        Some(v.trim().trim_matches('"').to_string()),
                    ),
                    None => (p.to_ascii_lowercase(), None),
                })
                .collect();
            Some(Extension { name, params })
        })
        .collect()
}

/// What was negotiated, and what broke the rules on the way.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    /// Packet that completed the request, and its time.
    pub packet: u64,
    /// Capture time of `packet`, in seconds.
    pub ts: f64,
    /// Packet that completed the response.
    pub response_packet: Option<u64>,
    /// Request method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// The Host header.
    pub host: Option<String>,
    /// Sec-WebSocket-Key, trimmed.
    pub key: Option<String>,
    /// Sec-WebSocket-Version, trimmed.
    pub version: Option<String>,
    /// Sec-WebSocket-Extensions as offered (every header joined).
    pub offered_extensions: Option<String>,
    /// Subprotocols offered in Sec-WebSocket-Protocol.
    pub offered_protocols: Vec<String>,
    /// The response status.
    pub status: Option<u16>,
    /// Sec-WebSocket-Accept as sent.
    pub accept: Option<String>,
    /// The accept value the key calls for.
    pub accept_expected: Option<String>,
    /// Whether the sent accept matches the expected one.
    pub accept_ok: Option<bool>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// Extensions as the server accepted them.
    pub extensions: Option<String>,
    /// permessage-deflate, when negotiated.
    pub deflate: Option<DeflateParams>,
    /// The 101 was cut before its Sec-WebSocket-Extensions could be read:
    /// whether permessage-deflate is in force is not known.
    pub extensions_unknown: bool,
    /// The request head.
    pub request: HttpHead,
    /// The response head, once seen.
    pub response: Option<HttpHead>,
    /// How the upgrade was asked for, which decides the rules that apply.
    pub kind: UpgradeKind,
    /// Rules broken, each located (direction and packet; the carrier adds
    /// the session).
    pub findings: Vec<Finding>,
    /// The TLS the upgrade travelled in (set by the TLS carrier); `None` in clear.
    pub tls: Option<crate::tls::TlsInfo>,
}

/// How a WebSocket was asked for: the upgrade as data, so that the judge
/// applies the rules that fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpgradeKind {
    /// HTTP/1.1 GET with `Upgrade: websocket`, answered by 101 (RFC 6455
    /// section 4).
    #[default]
    Http1,
    /// HTTP/2 extended CONNECT with `:protocol: websocket` on a stream,
    /// answered by a 2xx (RFC 8441 section 4-5): no key, no accept, no
    /// Upgrade or Connection headers.
    ExtendedConnect,
}

/// Collects the rules a head breaks, located at its direction and packet.
struct Judge<'a> {
    out: &'a mut Vec<Finding>,
    at: Location,
}

impl Judge<'_> {
    fn push(&mut self, code: Code, message: String) {
        self.out.push(Finding::new(code, self.at, message));
    }
}

impl Handshake {
    /// Whether the upgrade succeeded (a 101 answer; a 2xx to an extended
    /// CONNECT).
    pub fn upgraded(&self) -> bool {
        match self.kind {
            UpgradeKind::Http1 => self.status == Some(101),
            UpgradeKind::ExtendedConnect => self.status.is_some_and(|s| (200..300).contains(&s)),
        }
    }
}

/// Whether a request head attempts a WebSocket upgrade: `Upgrade: websocket`,
/// or a header only WebSocket uses (`Sec-WebSocket-Key`, `-Version`, ...)
/// on a request that lacks it. A partial attempt is judged like a whole one
/// and each missing header named.
pub fn is_upgrade_request(head: &HttpHead) -> bool {
    head.has_token("upgrade", "websocket")
        || head.headers.iter().any(|(n, _)| {
            n.len() > 14
                && n.as_bytes()
                    .get(..14)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"sec-websocket-"))
        })
}

/// Builds the handshake from the request and judges the request (section 4.1).
pub fn from_request(head: HttpHead, kind: UpgradeKind, packet: u64, ts: f64) -> Handshake {
    let mut hs = Handshake {
        packet,
        ts,
        kind,
        method: head.method.clone().unwrap_or_default(),
        path: head.path.clone().unwrap_or_default(),
        host: head.header("host").map(str::to_string),
        key: head
            .header("sec-websocket-key")
            .map(|k| k.trim().to_string()),
        version: head
            .header("sec-websocket-version")
            .map(|v| v.trim().to_string()),
        offered_extensions: head.header_list("sec-websocket-extensions"),
        offered_protocols: head
            .header_list("sec-websocket-protocol")
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        ..Handshake::default()
    };
    // Headers of an oversized head that could not be kept are not judged.
    let cut = |name: &str| head.cut.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let h1 = kind == UpgradeKind::Http1;
    let mut f = Judge {
        out: &mut hs.findings,
        at: Location::default().from(Some(Dir::Client)).packet(packet),
    };
    if kind == UpgradeKind::ExtendedConnect && hs.method != "CONNECT" {
        f.push(
            Code::HandshakeMissingHeader,
            format!(
                "the extended CONNECT request uses method {}; RFC 8441 section 4 requires CONNECT",
                hs.method
            ),
        );
    }
    if h1 && hs.method != "GET" {
        f.push(
            Code::HandshakeMissingHeader,
            format!(
                "the upgrade request uses method {}; RFC 6455 section 4.1 requires GET",
                hs.method
            ),
        );
    }
    if h1 && head.version < 1 {
        f.push(
            Code::HandshakeMissingHeader,
            "the upgrade request is HTTP/1.0; RFC 6455 section 4.1 requires HTTP/1.1 or later"
                .into(),
        );
    }
    if hs.host.is_none() && !cut("host") {
        f.push(
            Code::HandshakeMissingHeader,
            "the upgrade request has no Host header (RFC 6455 section 4.1, item 4)".into(),
        );
    }
    if h1 && !head.has_token("upgrade", "websocket") && !cut("upgrade") {
        f.push(Code::HandshakeMissingHeader, format!(
            "the upgrade request's Upgrade header is {}; it must include the token \"websocket\" (RFC 6455 section 4.1, item 5)",
            head.header("upgrade").map_or("missing".to_string(), |v| format!("\"{v}\""))));
    }
    if h1 && !head.has_token("connection", "upgrade") && !cut("connection") {
        f.push(Code::HandshakeMissingHeader, format!(
            "the upgrade request's Connection header is {}; it must include the token \"Upgrade\" (RFC 6455 section 4.1, item 6)",
            head.header("connection").map_or("missing".to_string(), |v| format!("\"{v}\""))));
    }
    match &hs.key {
        _ if !h1 => {} // RFC 8441 section 5: no key, no accept
        None if cut("sec-websocket-key") => {}
        None => f.push(Code::HandshakeKeyInvalid, "the upgrade request has no Sec-WebSocket-Key (RFC 6455 section 4.1, item 7)".into()),
        Some(k) => match STANDARD.decode(k) {
            Ok(b) if b.len() == 16 => {}
            Ok(b) => f.push(Code::HandshakeKeyInvalid, format!(
                "Sec-WebSocket-Key \"{k}\" decodes to {} bytes; RFC 6455 section 4.1 requires a base64-encoded 16-byte value", b.len())),
            Err(_) => f.push(Code::HandshakeKeyInvalid, format!(
                "Sec-WebSocket-Key \"{k}\" is not valid base64; RFC 6455 section 4.1 requires a base64-encoded 16-byte value")),
        },
    }
    match hs.version.as_deref() {
        Some("13") => {}
        None if cut("sec-websocket-version") => {}
        Some(v) => f.push(
            Code::HandshakeVersionUnsupported,
            format!("Sec-WebSocket-Version is {v}; RFC 6455 section 4.1 requires 13"),
        ),
        None => f.push(
            Code::HandshakeVersionUnsupported,
            "the upgrade request has no Sec-WebSocket-Version; RFC 6455 section 4.1 requires 13"
                .into(),
        ),
    }
    hs.accept_expected = hs.key.as_deref().map(accept_for);
    hs.request = head;
    hs
}

/// The request head passed the `cap` on an HTTP head: it is reported, with
/// the header lines that could not be kept (and so are not judged).
pub fn report_oversized_request(hs: &mut Handshake, cap: usize) {
    let cut = &hs.request.cut;
    if cut.is_empty() {
        return;
    }
    let mut names: Vec<String> = cut
        .iter()
        .map(|(n, len)| format!("{n} ({len} bytes)"))
        .collect();
    if cut.len() >= crate::http::MAX_CUT {
        names.push("more".into());
    }
    let at = Location::default()
        .from(Some(Dir::Client))
        .packet(hs.packet);
    hs.findings.push(Finding::new(Code::LimitReached, at, format!(
        "the upgrade request's head is {} bytes, past the {cap}-byte cap on an HTTP head; the line{} {} could not be kept and {} not judged; the rest of the request was read, and the frames after it are decoded with what the server's answer negotiated",
        hs.request.len,
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" })));
}

/// Records the server's answer and judges it (section 4.2.2, RFC 7692 section 7).
pub fn add_response(hs: &mut Handshake, head: HttpHead, packet: u64) {
    hs.status = head.status;
    hs.response_packet = Some(packet);
    let status = head.status.unwrap_or(0);
    let at = Location::default().from(Some(Dir::Server)).packet(packet);
    if hs.kind == UpgradeKind::ExtendedConnect {
        // RFC 8441 section 5: a 2xx accepts; no Upgrade, Connection or accept.
        if !hs.upgraded() {
            hs.findings.push(Finding::new(
                Code::HandshakeRejected,
                at,
                format!("the server answered the extended CONNECT with {status} instead of 200"),
            ));
        }
        hs.subprotocol = head
            .header("sec-websocket-protocol")
            .map(|v| v.trim().to_string());
        hs.extensions = head.header_list("sec-websocket-extensions");
        if let Some(e) = hs.extensions.as_deref() {
            hs.deflate = parse_extensions(e)
                .into_iter()
                .filter(|x| x.name == "permessage-deflate")
                .find_map(|x| parse_params(&x.params));
        }
        hs.response = Some(head);
        return;
    }
    if status != 101 {
        hs.findings.push(Finding::new(
            Code::HandshakeRejected,
            at,
            format!(
                "the server answered the upgrade with {} {} instead of 101 Switching Protocols",
                status,
                head.reason.as_deref().unwrap_or("")
            ),
        ));
        hs.response = Some(head);
        return;
    }
    // A 101 cut by the capture: headers after the cut are unknown, not missing.
    let unseen = |name: &str| head.truncated && head.header(name).is_none();
    hs.extensions_unknown = unseen("sec-websocket-extensions");
    let mut f = Judge {
        out: &mut hs.findings,
        at,
    };
    if !head.has_token("upgrade", "websocket") && !unseen("upgrade") {
        f.push(Code::HandshakeMissingHeader, format!(
            "the 101 response's Upgrade header is {}; it must be \"websocket\" (RFC 6455 section 4.2.2)",
            head.header("upgrade").map_or("missing".to_string(), |v| format!("\"{v}\""))));
    }
    if !head.has_token("connection", "upgrade") && !unseen("connection") {
        f.push(Code::HandshakeMissingHeader, format!(
            "the 101 response's Connection header is {}; it must be \"Upgrade\" (RFC 6455 section 4.2.2)",
            head.header("connection").map_or("missing".to_string(), |v| format!("\"{v}\""))));
    }
    hs.accept = head
        .header("sec-websocket-accept")
        .map(|v| v.trim().to_string());
    match (&hs.accept, &hs.accept_expected) {
        (None, _) if unseen("sec-websocket-accept") => {}
        (None, _) => f.push(
            Code::HandshakeAcceptMissing,
            "the 101 response has no Sec-WebSocket-Accept header (RFC 6455 section 4.2.2)".into(),
        ),
        (Some(got), Some(want)) if got != want => {
            hs.accept_ok = Some(false);
            f.push(Code::HandshakeAcceptMismatch, format!(
                "Sec-WebSocket-Accept is \"{got}\" but base64(SHA-1(key + GUID)) of the request's key is \"{want}\" (RFC 6455 section 4.2.2)"));
        }
        (Some(_), Some(_)) => hs.accept_ok = Some(true),
        (Some(_), None) => hs.accept_ok = Some(false),
    }
    // What the request offered is unknown where its header was cut.
    let cut = |name: &str| {
        hs.request
            .cut
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let (protocols_cut, extensions_cut) = (
        cut("sec-websocket-protocol"),
        cut("sec-websocket-extensions"),
    );
    hs.subprotocol = head
        .header("sec-websocket-protocol")
        .map(|v| v.trim().to_string());
    if let Some(p) = &hs.subprotocol
        && !protocols_cut
        && !hs.offered_protocols.iter().any(|o| o == p)
    {
        f.push(Code::HandshakeSubprotocolNotOffered, format!(
            "the server selected subprotocol \"{p}\", which the client did not offer (RFC 6455 section 4.2.2)"));
    }
    hs.extensions = head.header_list("sec-websocket-extensions");
    let offered = hs
        .offered_extensions
        .as_deref()
        .map(parse_extensions)
        .unwrap_or_default();
    if let Some(accepted) = &hs.extensions {
        for ext in parse_extensions(accepted) {
            let offers: Vec<&Extension> = offered.iter().filter(|o| o.name == ext.name).collect();
            if offers.is_empty() && !extensions_cut {
                f.push(Code::HandshakeExtensionNotOffered, format!(
                    "the server accepted extension \"{}\", which the client did not offer (RFC 6455 section 9.1)", ext.name));
                continue;
            }
            if ext.name != "permessage-deflate" {
                continue;
            }
            match parse_params(&ext.params) {
                None => f.push(Code::HandshakeExtensionNotOffered, format!(
                    "the server's permessage-deflate parameters \"{accepted}\" are not valid (RFC 7692 section 7.1)")),
                Some(p) => {
                    // client_max_window_bits may only come back if some offer carried it (7.1.2.2).
                    let allowed = extensions_cut || offers.iter().any(|o| o.params.iter().any(|(k, _)| k == "client_max_window_bits"));
                    if p.client_max_window_bits.is_some() && !allowed {
                        f.push(Code::HandshakeExtensionNotOffered, "the server sent client_max_window_bits, but the client's offer did not allow it (RFC 7692 section 7.1.2.2)".into());
                    }
                    // server_max_window_bits comes back at most as large as an
                    // offer asked (7.1.2.1); an offer without it leaves the
                    // server free to limit its own window.
                    if let Some(bits) = p.server_max_window_bits
                        && !extensions_cut
                        && let Some(most) = offers
                            .iter()
                            .map(|o| offered_server_bits(o))
                            .try_fold(0u8, |most, b| b.map(|b| most.max(b)))
                        && bits > most
                    {
                        f.push(Code::HandshakeExtensionNotOffered, format!(
                            "the server sent server_max_window_bits={bits}, larger than the {most} the client's offer allowed (RFC 7692 section 7.1.2.1)"));
                    }
                    if hs.deflate.is_none() {
                        hs.deflate = Some(p);
                    }
                }
            }
        }
    }
    hs.response = Some(head);
}

/// The server_max_window_bits an offer of permessage-deflate allows the
/// server: `None` when the offer leaves it free (no such parameter, or one
/// without a valid value, which is the offer's fault, not the server's).
fn offered_server_bits(offer: &Extension) -> Option<u8> {
    offer
        .params
        .iter()
        .find(|(k, _)| k == "server_max_window_bits")
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|b| (8..=15).contains(b))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn head(lines: &[(&str, &str)]) -> HttpHead {
        HttpHead {
            method: Some("GET".into()),
            path: Some("/chat".into()),
            version: 1,
            headers: lines
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..HttpHead::default()
        }
    }

    #[test]
    fn rfc6455_sample_key() {
        // Section 1.3.
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let d = accept_digest("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(d[0], 0xb3);
        assert_eq!(d[19], 0xea);
    }

    fn good_request() -> HttpHead {
        request_offering("permessage-deflate; client_max_window_bits")
    }

    /// RFC 6455's sample request, offering the extensions `offer`.
    fn request_offering(offer: &str) -> HttpHead {
        head(&[
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Extensions", offer),
        ])
    }

    fn response(lines: &[(&str, &str)]) -> HttpHead {
        HttpHead {
            status: Some(101),
            version: 1,
            method: None,
            path: None,
            ..head(lines)
        }
    }

    #[test]
    fn clean_handshake_negotiates_and_raises_nothing() {
        let mut hs = from_request(good_request(), UpgradeKind::Http1, 4, 0.0);
        add_response(
            &mut hs,
            response(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                ("Sec-WebSocket-Protocol", "chat"),
                (
                    "Sec-WebSocket-Extensions",
                    "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
                ),
            ]),
            6,
        );
        assert!(hs.findings.is_empty(), "{:?}", hs.findings);
        assert_eq!(hs.accept_ok, Some(true));
        let d = hs.deflate.unwrap();
        assert!(d.server_no_context_takeover);
        assert_eq!(d.client_max_window_bits, Some(12));
    }

    /// RFC 7692 section 7.1.2.1: server_max_window_bits comes back no
    /// larger than an offer's; an offer without it leaves the server free.
    #[test]
    fn server_window_bits_are_judged_against_the_offers() {
        let judge = |offer: &str, answer: &str| {
            let req = request_offering(offer);
            let mut hs = from_request(req, UpgradeKind::Http1, 4, 0.0);
            add_response(
                &mut hs,
                response(&[
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                    ("Sec-WebSocket-Extensions", answer),
                ]),
                6,
            );
            hs.findings.iter().map(|f| f.code).collect::<Vec<_>>()
        };
        let bad = vec![Code::HandshakeExtensionNotOffered];
        let pmd = "permessage-deflate";
        let offered9 = "permessage-deflate; server_max_window_bits=9";
        assert_eq!(
            judge(offered9, "permessage-deflate; server_max_window_bits=10"),
            bad
        );
        assert!(judge(offered9, "permessage-deflate; server_max_window_bits=9").is_empty());
        assert!(judge(offered9, "permessage-deflate; server_max_window_bits=8").is_empty());
        assert!(judge(offered9, pmd).is_empty());
        // No server_max_window_bits offered: the server may limit its window.
        assert!(judge(pmd, "permessage-deflate; server_max_window_bits=10").is_empty());
        // Two offers: the answer may be to the one that allows it.
        let two = "permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=12";
        assert!(judge(two, "permessage-deflate; server_max_window_bits=12").is_empty());
        assert_eq!(
            judge(two, "permessage-deflate; server_max_window_bits=13"),
            bad
        );
        let one_free = "permessage-deflate; server_max_window_bits=9, permessage-deflate";
        assert!(judge(one_free, "permessage-deflate; server_max_window_bits=15").is_empty());
    }

    #[test]
    fn each_rule_is_named() {
        let req = head(&[
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "c2hvcnQ="),
            ("Sec-WebSocket-Version", "8"),
        ]);
        let mut hs = from_request(req, UpgradeKind::Http1, 1, 0.0);
        let codes: Vec<Code> = hs.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&Code::HandshakeKeyInvalid));
        assert!(codes.contains(&Code::HandshakeVersionUnsupported));
        assert!(codes.contains(&Code::HandshakeMissingHeader));
        hs.findings.clear();
        add_response(
            &mut hs,
            response(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                ("Sec-WebSocket-Protocol", "mqtt"),
                ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ]),
            2,
        );
        let codes: Vec<Code> = hs.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                Code::HandshakeAcceptMismatch,
                Code::HandshakeSubprotocolNotOffered,
                Code::HandshakeExtensionNotOffered,
            ]
        );
    }

    #[test]
    fn partial_attempts_are_recognised_and_each_missing_header_named() {
        // Connection, key and version but no Upgrade header (issue 12, item 3).
        let req = head(&[
            ("Host", "server.example.com"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ]);
        assert!(is_upgrade_request(&req));
        let hs = from_request(req, UpgradeKind::Http1, 1, 0.0);
        assert_eq!(hs.findings.len(), 1, "{:?}", hs.findings);
        assert_eq!(hs.findings[0].code, Code::HandshakeMissingHeader);
        assert!(hs.findings[0].message.contains("Upgrade header is missing"));
        // Only the version: still an attempt.
        assert!(is_upgrade_request(&head(&[(
            "Sec-WebSocket-Version",
            "13"
        )])));
        // An upgrade to another protocol, or plain HTTP, is not.
        assert!(!is_upgrade_request(&head(&[
            ("Upgrade", "h2c"),
            ("Connection", "Upgrade, HTTP2-Settings"),
        ])));
        assert!(!is_upgrade_request(&head(&[
            ("Host", "a"),
            ("Sec-Fetch-Mode", "cors")
        ])));
    }

    #[test]
    fn a_cut_101_is_judged_on_what_was_seen() {
        let mut hs = from_request(good_request(), UpgradeKind::Http1, 1, 0.0);
        let mut r = response(&[("Upgrade", "websocket")]);
        r.truncated = true;
        add_response(&mut hs, r.clone(), 2);
        // Connection, the accept and the extensions were cut, not missing.
        assert!(hs.findings.is_empty(), "{:?}", hs.findings);
        assert!(hs.upgraded() && hs.extensions_unknown && hs.deflate.is_none());
        assert_eq!(hs.accept_ok, None);
        // The same head whole: those headers are missing.
        let mut hs = from_request(good_request(), UpgradeKind::Http1, 1, 0.0);
        r.truncated = false;
        add_response(&mut hs, r, 2);
        assert!(!hs.extensions_unknown);
        let codes: Vec<Code> = hs.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [Code::HandshakeMissingHeader, Code::HandshakeAcceptMissing]
        );
    }

    #[test]
    fn rejection_is_informational() {
        let mut hs = from_request(good_request(), UpgradeKind::Http1, 1, 0.0);
        let mut r = response(&[]);
        r.status = Some(403);
        add_response(&mut hs, r, 2);
        assert_eq!(hs.findings.len(), 1);
        assert_eq!(hs.findings[0].code, Code::HandshakeRejected);
        assert!(!hs.upgraded());
    }
}
