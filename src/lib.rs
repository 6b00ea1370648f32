//! wsdissect: dissects WebSocket traffic in packet captures.
//!
//! The pipeline runs one way and never prints:
//! capture -> packet -> flow table -> carriers (HTTP/1.1, TLS) -> the
//! WebSocket decoder -> stages (SSE) -> your [`Sink`], as a stream of
//! [`Event`]s. [`Finding`]s are events too. See `ARCHITECTURE.md`.

pub mod app;
pub mod capture;
pub mod carrier;
pub mod config;
pub mod defrag;
pub mod event;
pub mod explain;
pub mod filter;
pub mod findings;
pub mod flow;
pub mod h2;
pub mod handshake;
pub mod http;
pub mod packet;
pub mod pipeline;
pub mod progress;
pub mod push;
pub mod render;
pub mod session;
pub mod sse;
pub mod stage;
pub mod tcp;
pub mod tls;
pub mod tlscore;
pub mod ws;

pub use config::Config;
pub use event::{Event, Sink};
pub use findings::{Code, Finding};
pub use pipeline::run;
