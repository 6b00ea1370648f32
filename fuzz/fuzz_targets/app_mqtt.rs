//! The mqtt decoder (src/app/mqtt.rs) over arbitrary WebSocket messages in
//! both directions: see fuzz_targets/app_common for the input and the
//! invariants (no panic, memory bounded by the input, every record a valid
//! `app` JSON line, no control byte in table or CSV rows).
#![no_main]

mod app_common;
mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::app::Protocol;

#[global_allocator]
static A: common::Counting = common::Counting;

fuzz_target!(|data: &[u8]| {
    app_common::drive(Protocol::Mqtt, data);
});
