//! The TLS carrier: a connection recognised by its ClientHello or
//! ServerHello on any port (or, caught mid-way, by a chain of record
//! headers). Its hellos are read for the `tls` object of its `conn` record;
//! with no secrets nothing inside is decoded (`tls.no-keys`).
//!
//! Decryption plugs in here: with a key for the connection, the plaintext
//! of each direction goes to an inner carrier chosen by
//! [`super::probe`] (HTTP/1.1, or HTTP/2 by ALPN).

use super::{Carrier, Cx, Link, Probe};
use crate::event::ConnSummary;
use crate::findings::Code;
use crate::tcp::GapKind;
use crate::tls::{TlsInfo, TlsSide, is_client_hello, is_record_chain, is_server_hello};

/// Recognises TLS by a hello at a side's start, or by a chain of records
/// in a stream caught mid-way.
pub const PROBE: Probe = Probe {
    name: "tls",
    probe: |link, side, bytes, from_start, packet| {
        let hello = (is_client_hello(bytes) && link.client_side.is_none_or(|c| c == side))
            || (is_server_hello(bytes) && link.client_side.is_none_or(|c| c != side));
        (hello || (!from_start && is_record_chain(bytes)))
            .then(|| Box::new(TlsCarrier::new(packet)) as Box<dyn Carrier>)
    },
};

/// See the module documentation.
pub struct TlsCarrier {
    side: [Option<TlsSide>; 2],
    info: TlsInfo,
    /// The packet that showed the connection to be TLS.
    first_packet: u64,
}

impl TlsCarrier {
    /// A TLS connection first shown by `packet`.
    pub fn new(packet: u64) -> Self {
        TlsCarrier {
            side: [None, None],
            info: TlsInfo::default(),
            first_packet: packet,
        }
    }
}

impl Carrier for TlsCarrier {
    fn data(&mut self, cx: &mut Cx<'_>, side: usize, _offset: u64, bytes: &[u8]) {
        let link = &mut *cx.link;
        let t = self.side[side].get_or_insert_with(|| {
            if is_client_hello(bytes) && link.client_side.is_none_or(|c| c == side) {
                link.client_side = Some(side);
                TlsSide::new()
            } else if is_server_hello(bytes) && link.client_side.is_none_or(|c| c != side) {
                link.client_side = Some(1 - side);
                TlsSide::new()
            } else {
                TlsSide::mid_stream()
            }
        });
        t.data(bytes, &mut self.info);
    }

    fn gap(&mut self, _cx: &mut Cx<'_>, side: usize, _offset: u64, _len: u64, _kind: GapKind) {
        if let Some(t) = self.side[side].as_mut() {
            t.gap();
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if cx.link.websocket {
            return;
        }
        let info = &self.info;
        let about = match (&info.sni, &info.alpn) {
            (Some(s), Some(a)) => format!(" (server name {s}, ALPN {a})"),
            (Some(s), None) => format!(" (server name {s})"),
            (None, Some(a)) => format!(" (ALPN {a})"),
            (None, None) => String::new(),
        };
        cx.finding(Code::TlsNoKeys, None, self.first_packet, None, format!(
            "this connection is TLS{about} and no secrets were given for it; nothing inside it is decoded"));
    }

    fn decodes(&self, _side: usize) -> bool {
        false
    }

    fn summarize(&self, link: &Link, s: &mut ConnSummary) -> bool {
        if !link.websocket {
            s.tls = Some(self.info.clone());
        }
        true
    }

    fn held(&self) -> usize {
        self.side.iter().flatten().map(TlsSide::held).sum()
    }

    fn release_held(&mut self) {
        for t in self.side.iter_mut().flatten() {
            t.gap();
        }
    }
}
