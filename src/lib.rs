//! wsdissect: dissects WebSocket and server-push traffic in packet captures.
//!
//! One pass over a pcap or pcapng stream, in bounded memory, sends a stream
//! of typed [`Event`]s to your [`Sink`]:
//!
//! ```text
//! capture -> packet -> flow table -> carrier (TLS, HTTP/1.1) -> WebSocket decoder
//!                                                     |               |
//!                                     HTTP heads/bodies, handshakes, frames, messages
//!                                                     v
//!                                         stages (SSE, ...) -> your Sink
//! ```
//!
//! [`Finding`]s (a broken rule, missing bytes, a cap reached) are events
//! too, with a stable [`Code`]. A sink answers each event with
//! [`std::ops::ControlFlow`]: `Break` ends the run.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use wsdissect::{Config, Event, run};
//!
//! let file = std::fs::File::open("capture.pcap")?;
//! let mut texts = Vec::new();
//! run(file, &Config::default(), &mut |ev: Event<'_>| {
//!     if let Event::Message(m) = ev {
//!         if let Ok(t) = std::str::from_utf8(m.data) {
//!             texts.push(t.to_string());
//!         }
//!     }
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The public API is this page: [`run`], [`Config`], [`Event`] and the
//! record types in [`event`], [`Sink`], [`Finding`], [`Code`] and
//! [`session`]. The other modules are the program's internals (hidden from
//! the documentation, public only for the command-line program, the tests,
//! the fuzz targets and the benchmark); see `ARCHITECTURE.md`.

#![warn(missing_docs)]

pub mod config;
pub mod event;
pub mod findings;
pub mod session;
pub mod stats;

#[doc(hidden)]
pub mod app;
#[doc(hidden)]
pub mod capture;
#[doc(hidden)]
pub mod carrier;
#[doc(hidden)]
pub mod defrag;
#[doc(hidden)]
pub mod explain;
#[doc(hidden)]
pub mod filter;
#[doc(hidden)]
pub mod flow;
#[doc(hidden)]
pub mod h2;
#[doc(hidden)]
pub mod handshake;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod layer;
#[doc(hidden)]
pub mod lesson;
#[doc(hidden)]
#[cfg(feature = "live")]
pub mod live;
#[doc(hidden)]
pub mod packet;
#[doc(hidden)]
pub mod parallel;
#[doc(hidden)]
pub mod pipeline;
#[doc(hidden)]
pub mod progress;
#[doc(hidden)]
pub mod push;
#[doc(hidden)]
pub mod render;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod shard;
#[doc(hidden)]
pub mod sse;
#[doc(hidden)]
pub mod stage;
#[doc(hidden)]
pub mod tcp;
#[doc(hidden)]
pub mod tls;
#[doc(hidden)]
pub mod tlscore;
#[doc(hidden)]
pub mod ws;

pub use capture::{CaptureSummary, NotACapture};
pub use config::Config;
pub use event::{Event, Sink};
pub use findings::{Code, Finding, Location, Severity};
pub use pipeline::run;
