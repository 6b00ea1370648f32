//! WebSocket stage: frame headers, unmasking, close codes, permessage-deflate,
//! and the streaming per-direction decoder that ties them together.

pub mod close;
pub mod deflate;
pub mod frame;
pub mod mask;
pub mod record;
pub mod rules;
pub mod session;
pub mod stream;
pub mod utf8;
