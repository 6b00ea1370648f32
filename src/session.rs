//! Who an event belongs to: the TCP connection, the WebSocket session on it
//! (several may share one connection over HTTP/2), and which way bytes went.
//!
//! A leaf module: everything else may use it, it uses nothing of the crate.

use std::net::SocketAddr;

use serde::Serialize;

/// Which way bytes travelled: from the client, or from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// From the side that opened the connection (or sent the upgrade).
    Client,
    /// From the side that accepted it.
    Server,
}

impl Dir {
    /// `"client"` or `"server"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Client => "client",
            Dir::Server => "server",
        }
    }
    /// The opposite direction.
    pub fn other(self) -> Dir {
        match self {
            Dir::Client => Dir::Server,
            Dir::Server => Dir::Client,
        }
    }
    /// 0 for the client, 1 for the server (for per-direction arrays).
    pub fn index(self) -> usize {
        match self {
            Dir::Client => 0,
            Dir::Server => 1,
        }
    }
}

/// The HTTP version a WebSocket session was opened over (the `carrier`
/// field of `frame`, `message` and `handshake` records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Carrier {
    /// HTTP/1.1: GET + `Upgrade: websocket` + 101 (RFC 6455); one session per
    /// TCP connection.
    #[default]
    #[serde(rename = "h1")]
    H1,
    /// HTTP/2 extended CONNECT (RFC 8441): one session per HTTP/2 stream.
    #[serde(rename = "h2")]
    H2,
}

impl Carrier {
    /// `"h1"` or `"h2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::H1 => "h1",
            Carrier::H2 => "h2",
        }
    }
}

/// A WebSocket session (or, for connection-level events, the connection):
/// the TCP connection's id, the HTTP/2 stream that carries the session
/// (`None` over HTTP/1.1), and the TCP client and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionRef {
    /// The TCP connection's id, counted from 0 in order of first packet.
    pub conn: u64,
    /// The HTTP/2 stream id carrying the session; `None` over HTTP/1.1.
    pub stream: Option<u32>,
    /// How the session was opened.
    pub carrier: Carrier,
    /// The TCP client (the side that sent the SYN or the upgrade).
    pub client: SocketAddr,
    /// The TCP server.
    pub server: SocketAddr,
}

impl SessionRef {
    /// The connection itself (no stream), over HTTP/1.1.
    pub fn conn(conn: u64, client: SocketAddr, server: SocketAddr) -> Self {
        SessionRef {
            conn,
            stream: None,
            carrier: Carrier::H1,
            client,
            server,
        }
    }

    /// A session carried by HTTP/2 stream `stream` of this connection.
    pub fn on_stream(self, stream: u32) -> Self {
        SessionRef {
            stream: Some(stream),
            carrier: Carrier::H2,
            ..self
        }
    }
}
