//! wsdissect: dissects WebSocket traffic in packet captures.
//!
//! The pipeline runs one way, one module per stage, and never prints:
//! [`capture`] -> [`packet`] -> [`tcp`] -> [`http`] / [`handshake`] -> [`ws`],
//! emitting [`event::Event`]s; [`findings`] are data on those events, and
//! [`render`] turns the stream into tables, JSON lines and verdicts.

pub mod analyzer;
pub mod app;
pub mod capture;
pub mod config;
pub mod defrag;
pub mod event;
pub mod explain;
pub mod filter;
pub mod findings;
pub mod h2;
pub mod handshake;
pub mod http;
#[cfg(feature = "live")]
pub mod live;
pub mod packet;
pub mod progress;
pub mod push;
pub mod render;
pub mod tcp;
pub mod tls;
pub mod tlscore;
pub mod ws;

pub use analyzer::analyze;
pub use config::Config;
