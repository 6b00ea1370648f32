//! The GraphQL over WebSocket decoder (src/app/graphql.rs) over arbitrary
//! messages: the first byte picks graphql-transport-ws (even) or the
//! legacy graphql-ws (odd); see fuzz_targets/app_common for the rest.
#![no_main]

mod app_common;
mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::app::Protocol;

#[global_allocator]
static A: common::Counting = common::Counting;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let p = if ctl & 1 == 0 {
        Protocol::GraphqlTransportWs
    } else {
        Protocol::GraphqlWs
    };
    app_common::drive(p, rest);
});
