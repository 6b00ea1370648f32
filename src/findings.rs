//! Findings: protocol violations and capture problems, as data.
//!
//! Every rule in the pipeline reports through [`Code`]; renderers turn codes
//! into text. The code strings are the stable surface fixed in DESIGN.md
//! (extended, never changed).

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a fault.
    Info,
    /// Something the capture lacks or a cap cut; decoding went on.
    Warning,
    /// A broken rule of the protocol.
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $variant:ident = $text:literal, $sev:ident; )*) => {
        /// Every finding the tool can raise.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)] // each code's meaning is `Code::meaning`
        pub enum Code { $( $variant, )* }

        impl Code {
            /// All codes, in declaration order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable code string, e.g. `frame.client-unmasked`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $text, )* }
            }

            /// How bad it is (fixed per code).
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// The code for its string.
            pub fn parse(s: &str) -> Option<Code> {
                match s { $( $text => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    HandshakeAcceptMismatch = "handshake.accept-mismatch", Error;
    HandshakeAcceptMissing = "handshake.accept-missing", Error;
    HandshakeKeyInvalid = "handshake.key-invalid", Error;
    HandshakeVersionUnsupported = "handshake.version-unsupported", Error;
    HandshakeMissingHeader = "handshake.missing-header", Error;
    HandshakeExtensionNotOffered = "handshake.extension-not-offered", Error;
    HandshakeSubprotocolNotOffered = "handshake.subprotocol-not-offered", Error;
    FrameClientUnmasked = "frame.client-unmasked", Error;
    FrameServerMasked = "frame.server-masked", Error;
    FrameRsvWithoutExtension = "frame.rsv-without-extension", Error;
    FrameReservedOpcode = "frame.reserved-opcode", Error;
    FrameControlTooLong = "frame.control-too-long", Error;
    FrameControlFragmented = "frame.control-fragmented", Error;
    FrameNonMinimalLength = "frame.non-minimal-length", Error;
    FrameLengthMsbSet = "frame.length-msb-set", Error;
    MessageUnexpectedContinuation = "message.unexpected-continuation", Error;
    MessageInterleavedData = "message.interleaved-data", Error;
    MessageInvalidUtf8 = "message.invalid-utf8", Error;
    CloseInvalidCode = "close.invalid-code", Error;
    CloseReservedCode = "close.reserved-code", Error;
    ClosePayloadTooShort = "close.payload-too-short", Error;
    CloseInvalidUtf8Reason = "close.invalid-utf8-reason", Error;
    CloseDataAfterClose = "close.data-after-close", Error;
    DeflateInflateError = "deflate.inflate-error", Error;
    TcpGap = "tcp.gap", Warning;
    TcpTruncated = "tcp.truncated", Warning;
    StreamIncompleteFrame = "stream.incomplete-frame", Warning;
    StreamNoHandshake = "stream.no-handshake", Warning;
    HandshakeRejected = "handshake.rejected", Info;
    // Extensions to DESIGN.md's list: capture problems and resource caps.
    TcpOverlapConflict = "tcp.overlap-conflict", Warning;
    CaptureTruncated = "capture.truncated", Warning;
    CaptureUnsupportedLink = "capture.unsupported-link", Warning;
    CaptureIpFragment = "capture.ip-fragment", Warning;
    LimitReached = "limit.reached", Warning;
    DeflateNoContext = "deflate.no-context", Warning;
    HttpBadChunk = "http.bad-chunk", Error;
    SseContentType = "sse.content-type", Error;
    SseInvalidUtf8 = "sse.invalid-utf8", Error;
    SseInvalidRetry = "sse.invalid-retry", Warning;
    // Second release (DESIGN.md): TLS recognised, not decrypted.
    TlsNoKeys = "tls.no-keys", Warning;
    // Second release (DESIGN.md): HTTP/2.
    H2ConnectProtocolNotEnabled = "h2.connect-protocol-not-enabled", Error;
    H2HpackNoContext = "h2.hpack-no-context", Warning;
    // Extensions: the HTTP/2 layer's own rules.
    H2MalformedFrame = "h2.malformed-frame", Error;
    H2HpackMalformed = "h2.hpack-malformed", Error;
    H2StreamError = "h2.stream-error", Error;
    // Second release (DESIGN.md): TLS decrypted with a key log.
    TlsDecryptFailed = "tls.decrypt-failed", Warning;
    TlsUnsupportedCipher = "tls.unsupported-cipher", Warning;
    TlsAlert = "tls.alert", Info;
    TlsMalformed = "tls.malformed", Warning;
    // Second release (DESIGN.md): subprotocols, from the app stage.
    MqttMalformed = "mqtt.malformed", Error;
    MqttProtocolViolation = "mqtt.protocol-violation", Error;
    StompMalformed = "stomp.malformed", Error;
    SocketioMalformed = "socketio.malformed", Error;
    GraphqlProtocolViolation = "graphql.protocol-violation", Error;
}

impl Code {
    /// What the finding means, in one line (for `check --list-codes`).
    pub fn meaning(self) -> &'static str {
        use Code::*;
        match self {
            HandshakeAcceptMismatch => {
                "Sec-WebSocket-Accept is not the SHA-1/base64 of the client's key and the GUID"
            }
            HandshakeAcceptMissing => "a 101 answer without Sec-WebSocket-Accept",
            HandshakeKeyInvalid => "Sec-WebSocket-Key is not 16 bytes in base64",
            HandshakeVersionUnsupported => "Sec-WebSocket-Version is not 13",
            HandshakeMissingHeader => {
                "the upgrade lacks a required header (Upgrade, Connection, key or version)"
            }
            HandshakeExtensionNotOffered => {
                "the server accepted an extension the client did not offer"
            }
            HandshakeSubprotocolNotOffered => {
                "the server chose a subprotocol the client did not offer"
            }
            FrameClientUnmasked => "a client frame without a mask",
            FrameServerMasked => "a server frame with a mask",
            FrameRsvWithoutExtension => "an RSV bit set that no negotiated extension defines",
            FrameReservedOpcode => "a reserved opcode (3-7, 0xB-0xF)",
            FrameControlTooLong => "a control frame with more than 125 payload bytes",
            FrameControlFragmented => "a control frame without FIN",
            FrameNonMinimalLength => "a length in a longer form than needed",
            FrameLengthMsbSet => "a 64-bit length with its most significant bit set",
            MessageUnexpectedContinuation => "a continuation frame with no message open",
            MessageInterleavedData => "a new data message before the open one finished",
            MessageInvalidUtf8 => "a text message (whole, after inflation) that is not UTF-8",
            CloseInvalidCode => {
                "a close code that may not be sent (below 1000, unassigned, 5000 or more)"
            }
            CloseReservedCode => "a close code reserved for local use (1005, 1006, 1015)",
            ClosePayloadTooShort => "a close payload of one byte",
            CloseInvalidUtf8Reason => "a close reason that is not UTF-8",
            CloseDataAfterClose => "data frames after the sender's close frame",
            DeflateInflateError => "a compressed message that does not inflate",
            TcpGap => "stream bytes missing from the capture; decoding resumes after them",
            TcpTruncated => "packets cut by the snapshot length",
            StreamIncompleteFrame => "the capture ends inside a frame",
            StreamNoHandshake => {
                "a connection whose upgrade was not captured; frames found by resynchronisation"
            }
            HandshakeRejected => "a non-101 answer to an upgrade request",
            TcpOverlapConflict => "retransmitted bytes that differ from the bytes first seen",
            CaptureTruncated => "the capture file is damaged or cut short",
            CaptureUnsupportedLink => "packets of a link type that is not supported were skipped",
            CaptureIpFragment => "IP fragments carrying TCP that were not reassembled",
            LimitReached => "a memory cap (--max-*) was reached; the rest of that item was skipped",
            DeflateNoContext => {
                "compressed messages whose inflate context is missing (capture started mid-connection)"
            }
            HttpBadChunk => "a malformed chunk in a chunked HTTP body",
            SseContentType => "an event stream not served as text/event-stream",
            SseInvalidUtf8 => "an event stream that is not UTF-8",
            SseInvalidRetry => "a retry field that is not all digits",
            TlsNoKeys => {
                "a TLS connection (recognised by its hellos or records, on any port) with no secrets to decrypt it; nothing inside is decoded"
            }
            H2ConnectProtocolNotEnabled => {
                "an extended CONNECT (RFC 8441) without the server's SETTINGS_ENABLE_CONNECT_PROTOCOL=1"
            }
            H2HpackNoContext => {
                "HTTP/2 headers that refer to header table entries the capture never showed (it started mid-connection or lost bytes)"
            }
            H2MalformedFrame => {
                "an HTTP/2 frame that breaks RFC 9113 (bad preface, size, stream 0, CONTINUATION out of place)"
            }
            H2HpackMalformed => "an HPACK header block that breaks RFC 7541",
            H2StreamError => {
                "an HTTP/2 frame on a stream in the wrong state (closed, idle, or after END_STREAM)"
            }
            TlsDecryptFailed => {
                "a TLS record that did not authenticate with the logged secrets (or none did after a gap); the rest of that direction is not decoded"
            }
            TlsUnsupportedCipher => {
                "a TLS version or cipher suite that cannot be decrypted; nothing inside is decoded"
            }
            TlsAlert => {
                "a TLS alert (in clear, or after decryption); close_notify, the normal end of a connection (RFC 8446 section 6.1), only when the same side sends application data after it"
            }
            TlsMalformed => {
                "bytes in a TLS stream that are not TLS records (or a record longer than 2^14+2048); that direction is given up"
            }
            MqttMalformed => {
                "an MQTT packet that breaks the format (remaining length, flag bits, QoS 3, UTF-8, properties)"
            }
            MqttProtocolViolation => {
                "an MQTT packet out of place (CONNECT not first, a second CONNECT, QoS>0 without packet id)"
            }
            StompMalformed => {
                "a STOMP frame that breaks the format (command, header, content-length, missing NUL)"
            }
            SocketioMalformed => "an Engine.IO or Socket.IO packet that breaks the format",
            GraphqlProtocolViolation => {
                "a GraphQL over WebSocket message out of place (before the ack, a duplicate id, an unknown type)"
            }
            #[allow(unreachable_patterns)]
            _ => "see docs/schema.md",
        }
    }
}

pub use crate::session::Dir;
use crate::session::SessionRef;

/// Where a finding was seen. Each part is there only where it applies: a
/// problem of the capture file has no session, a connection-wide one no
/// direction, a rule about a whole message no offset.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Location {
    /// The session (or connection) it concerns; `None` for the capture.
    pub session: Option<SessionRef>,
    /// Which way the offending bytes travelled.
    pub from: Option<Dir>,
    /// The 1-based packet where it was seen.
    pub packet: Option<u64>,
    /// Byte offset in the direction's stream (TCP, or the session's own).
    pub offset: Option<u64>,
}

impl Location {
    /// A problem of the capture as a whole, seen at `packet`.
    pub fn capture(packet: u64) -> Self {
        Location {
            packet: Some(packet),
            ..Location::default()
        }
    }

    /// A finding on `session`.
    pub fn session(session: SessionRef) -> Self {
        Location {
            session: Some(session),
            ..Location::default()
        }
    }

    /// ...in bytes going `from` (when known).
    pub fn from(self, from: Option<Dir>) -> Self {
        Location { from, ..self }
    }

    /// ...seen at `packet`.
    pub fn packet(self, packet: u64) -> Self {
        Location {
            packet: Some(packet),
            ..self
        }
    }

    /// ...at stream `offset` (when one applies).
    pub fn offset(self, offset: Option<u64>) -> Self {
        Location { offset, ..self }
    }
}

/// One finding: a stable code, where it happened and one human sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What rule was broken or what went missing.
    pub code: Code,
    /// Where.
    pub at: Location,
    /// One sentence for people, citing the rule.
    pub message: String,
}

impl Finding {
    /// The one way to make a finding.
    pub fn new(code: Code, at: Location, message: impl Into<String>) -> Self {
        Finding {
            code,
            at,
            message: message.into(),
        }
    }

    /// The code's severity.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// The TCP connection's id, when the finding concerns one.
    pub fn conn(&self) -> Option<u64> {
        self.at.session.map(|s| s.conn)
    }

    /// The HTTP/2 stream of the session, when it is carried by one.
    pub fn stream(&self) -> Option<u32> {
        self.at.session.and_then(|s| s.stream)
    }

    /// Which way the bytes went, when known.
    pub fn from(&self) -> Option<Dir> {
        self.at.from
    }

    /// The packet where it was seen.
    pub fn packet(&self) -> Option<u64> {
        self.at.packet
    }

    /// The stream offset, where one applies.
    pub fn offset(&self) -> Option<u64> {
        self.at.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_design_severities() {
        for &c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
        }
        assert_eq!(Code::TcpGap.severity(), Severity::Warning);
        assert_eq!(Code::HandshakeRejected.severity(), Severity::Info);
        assert_eq!(Code::MessageInvalidUtf8.severity(), Severity::Error);
        assert_eq!(Code::parse("frame.bogus"), None);
    }
}
