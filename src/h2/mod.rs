//! HTTP/2 (RFC 9113) as an observer sees it: a streaming frame parser
//! ([`frame`]), a tolerant HPACK decoder ([`hpack`]) and the connection and
//! stream layer ([`conn`]) that turns both directions' bytes into events:
//! decoded headers per stream, DATA chunks, RST_STREAM, GOAWAY, SETTINGS,
//! RFC 8441 extended CONNECT, and findings as data.
//!
//! Not wired into the analyzer yet: a carrier feeds
//! [`conn::Connection::feed`] with each direction's reassembled bytes and
//! turns a WebSocket stream's DATA into the byte stream of [`crate::ws`].

pub mod conn;
pub mod frame;
pub mod hpack;
mod huffman_table;

pub use conn::{
    ConnLimits, Connection, Event, H2Finding, HeadersKind, Start, StreamInfo, StreamState,
};
pub use frame::PREFACE;
