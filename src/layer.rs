//! Carrier layers reported for teaching: what `explain` shows beneath the
//! WebSocket (the TLS records, the HTTP/2 frames). The carriers send these
//! as [`crate::event::Event::Layer`] only when
//! [`crate::config::Config::layers`] is set; no other output reads them.

use crate::findings::Dir;
use crate::session::SessionRef;

/// One layer record: where it belongs and what it says.
#[derive(Debug, Clone)]
pub struct LayerRecord {
    /// The connection (and, for HTTP/2 stream records, the stream's session).
    pub session: SessionRef,
    /// The packet that completed it.
    pub packet: u64,
    pub ts: f64,
    pub layer: Layer,
}

/// What a layer record says.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A direction's first application record, as on the wire, with the
    /// hellos and the key log's secrets (decrypted again by `explain`, step
    /// by step).
    Tls(Box<crate::tlscore::TlsTeach>),
    /// The HTTP/2 client connection preface.
    H2Preface,
    /// An HTTP/2 frame header (every frame).
    H2Frame {
        from: Dir,
        kind: u8,
        flags: u8,
        stream: u32,
        length: u32,
        /// Where the frame starts in `from`'s HTTP/2 byte stream.
        offset: u64,
    },
    /// A SETTINGS frame's values.
    H2Settings {
        from: Dir,
        ack: bool,
        values: Vec<(u16, u32)>,
    },
    /// A decoded header block (HEADERS and its CONTINUATIONs), with how
    /// each field was represented (RFC 7541 section 6).
    H2Headers {
        from: Dir,
        stream: u32,
        /// Names and values as decoded (`None`: unknown, the capture lacks
        /// the dynamic table's history).
        fields: Vec<(Option<String>, Option<String>)>,
        reps: Vec<crate::h2::hpack::Rep>,
        end_stream: bool,
    },
    /// A DATA frame's payload (padding removed).
    H2Data {
        from: Dir,
        stream: u32,
        len: usize,
        end_stream: bool,
        /// On a WebSocket stream: where its bytes start in that direction's
        /// WebSocket byte stream (the offsets of its frames).
        ws_offset: Option<u64>,
    },
}
