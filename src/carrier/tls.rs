//! The TLS carrier: a connection recognised by its ClientHello or
//! ServerHello on any port (or, caught mid-way, by a chain of record
//! headers). Its hellos are read for the `tls` object of its `conn` record.
//!
//! With secrets for the connection (matched by the ClientHello's random in
//! [`Config::keylog`](crate::config::Config::keylog): key log files and
//! pcapng Decryption Secrets Blocks), both directions go through the
//! decryption core ([`crate::tlscore::TlsConn`]) and the plaintext of each
//! goes to an inner carrier chosen by [`super::probe`] over it (HTTP/1.1
//! and WebSocket, or HTTP/2 by its preface when that carrier is
//! registered). The inner carrier sees plaintext stream offsets, and each
//! byte's packet is the one that completed the TLS record holding it.
//! Without secrets nothing inside is decoded (`tls.no-keys`).

use std::collections::VecDeque;

use std::ops::ControlFlow;

use super::{Carrier, Cx, Link, PROBES, Probe};
use crate::event::{ConnSummary, Event, Sink};
use crate::findings::{Code, Dir};
use crate::tcp::GapKind;
use crate::tls::{TlsInfo, TlsSide, is_client_hello, is_record_chain, is_server_hello};
use crate::tlscore::{Plaintext, TlsConn, TlsEvent, TlsFinding, TlsFindingKind};

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

/// Packet times remembered, for plaintext whose record a packet before the
/// current one completed (0-RTT data held until the ServerHello).
const PACKET_TIMES: usize = 64;

/// The carrier of the plaintext, as the connection host picks one for
/// TCP bytes: by the first bytes of a side, then fed in order.
#[derive(Default)]
struct Inner {
    carrier: Option<Box<dyn Carrier>>,
    /// Sides whose plaintext no carrier recognised.
    mute: [bool; 2],
    /// Plaintext stream offset of each side.
    offset: [u64; 2],
    /// TCP bytes lost on each side since its last plaintext: the inner
    /// carrier hears of a gap (of about that size) before the next plaintext.
    lost: [u64; 2],
}

/// The inner carrier's events on their way out: a WebSocket handshake
/// gets the `tls` object of the connection it travelled in.
struct TlsOut<'a> {
    out: &'a mut dyn Sink,
    info: &'a TlsInfo,
    conn: Option<&'a TlsConn>,
}

impl Sink for TlsOut<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Handshake(s, h) if h.tls.is_none() => {
                let mut h = h.clone();
                h.tls = Some(info_with(self.info, self.conn));
                self.out.event(Event::Handshake(s, &h))
            }
            ev => self.out.event(ev),
        }
    }

    fn wants(&self) -> u32 {
        self.out.wants()
    }
}

/// What the hellos showed, with what decryption added.
fn info_with(info: &TlsInfo, conn: Option<&TlsConn>) -> TlsInfo {
    let mut info = info.clone();
    if let Some(conn) = conn {
        let sum = conn.summary();
        info.decrypted = sum.decrypted;
        // TLS 1.3 sends the server's choice encrypted (EncryptedExtensions).
        if let Some(a) = sum.alpn {
            info.alpn = Some(a);
        }
    }
    info
}

/// See the module documentation.
pub struct TlsCarrier {
    side: [Option<TlsSide>; 2],
    info: TlsInfo,
    /// The packet that showed the connection to be TLS.
    first_packet: u64,
    /// Decryption state: the client's first bytes were a ClientHello.
    conn: Option<Box<TlsConn>>,
    inner: Inner,
    /// Events of the decryption core, taken out of it before they are acted on.
    events: Vec<TlsEvent>,
    /// Recent packets and their times, kept until the ServerHello (only
    /// 0-RTT records held until then come out after their packet).
    times: VecDeque<(u64, f64)>,
    /// The inner carrier's [`Carrier::held`], as of the last call into it
    /// (nothing else changes it): the flow table asks for it around every
    /// segment, and most segments of a long record do not reach the inner
    /// carrier, whose state need not then be read.
    inner_held: usize,
    /// The decryption core has seen the ServerHello (noted here so that a
    /// segment does not read the core's hellos to learn it).
    server_hello: bool,
    /// The suite cannot be decrypted (reported once by the core).
    unsupported: bool,
    /// By [`Dir::index`]: the close_notify of that side, held back: the
    /// normal end of a TLS connection (RFC 8446 section 6.1), reported as
    /// `tls.alert` only if that side sends application data after it.
    close_notify: [Option<(u64, String)>; 2],
}

impl TlsCarrier {
    /// A TLS connection first shown by `packet`.
    pub fn new(packet: u64) -> Self {
        TlsCarrier {
            side: [None, None],
            info: TlsInfo::default(),
            first_packet: packet,
            conn: None,
            inner: Inner::default(),
            events: Vec::new(),
            times: VecDeque::new(),
            inner_held: 0,
            server_hello: false,
            unsupported: false,
            close_notify: [None, None],
        }
    }

    /// Whether the key log has secrets for this connection's client random.
    fn has_secrets(&self, cx: &Cx<'_>) -> bool {
        let Some(random) = self.conn.as_ref().and_then(|c| c.client_random()) else {
            return false;
        };
        cx.cfg.keylog.read().get(&random).is_some()
    }

    /// The time of `packet` when it is one of the recent ones.
    fn time_of(&self, packet: u64) -> Option<f64> {
        self.times
            .iter()
            .rev()
            .find(|(p, _)| *p == packet)
            .map(|(_, t)| *t)
    }

    /// Acts on what the decryption core produced.
    fn drain(&mut self, cx: &mut Cx<'_>) {
        if self.events.is_empty() {
            return;
        }
        let mut events = std::mem::take(&mut self.events);
        let mut inner_called = false;
        for ev in events.drain(..) {
            match ev {
                TlsEvent::Data(p) => {
                    if let Some((packet, message)) = self.close_notify[p.dir.index()].take() {
                        // RFC 8446 section 6.1: data after a closure alert must be ignored.
                        cx.finding(
                            Code::TlsAlert,
                            Some(p.dir),
                            packet,
                            None,
                            format!("{message}, then application data from the same side (RFC 8446 section 6.1: nothing may follow close_notify)"),
                        );
                    }
                    inner_called = true;
                    self.plaintext(cx, p)
                }
                TlsEvent::Finding(f) => self.finding(cx, f),
            }
        }
        self.events = events;
        if inner_called {
            self.note_inner_held();
        }
    }

    /// Notes what the inner carrier holds after a call into it.
    fn note_inner_held(&mut self) {
        self.inner_held = self.inner.carrier.as_ref().map_or(0, |c| c.held());
    }

    fn finding(&mut self, cx: &mut Cx<'_>, f: TlsFinding) {
        let code = match f.kind {
            // Connection-wide: one tls.no-keys at the end, with what the hellos said.
            TlsFindingKind::NoKeys if f.dir.is_none() => return,
            TlsFindingKind::NoKeys => Code::TlsNoKeys,
            TlsFindingKind::DecryptFailed => Code::TlsDecryptFailed,
            TlsFindingKind::UnsupportedCipher => {
                self.unsupported = true;
                Code::TlsUnsupportedCipher
            }
            TlsFindingKind::Alert => Code::TlsAlert,
            TlsFindingKind::Malformed => Code::TlsMalformed,
        };
        let packet = if f.packet == 0 { cx.packet } else { f.packet };
        if f.kind == TlsFindingKind::Alert
            && f.message.ends_with(" close_notify (0)")
            && let Some(d) = f.dir
        {
            // The normal teardown (RFC 8446 section 6.1: each side sends it
            // before closing its write side; in TLS 1.3 its level means
            // nothing): not a finding unless data follows.
            self.close_notify[d.index()] = Some((packet, f.message));
            return;
        }
        cx.finding(code, f.dir, packet, None, f.message);
    }

    /// Decrypted bytes of one direction go to the inner carrier.
    fn plaintext(&mut self, cx: &mut Cx<'_>, p: Plaintext) {
        let Some(c) = cx.link.client_side else {
            return;
        };
        let side = if p.dir == Dir::Client { c } else { 1 - c };
        let ts = self.time_of(p.packet).unwrap_or(cx.ts);
        let inner = &mut self.inner;
        let lost = std::mem::take(&mut inner.lost[side]);
        if lost > 0 {
            let at = inner.offset[side];
            inner.offset[side] += lost;
            if let Some(carrier) = inner.carrier.as_mut()
                && !inner.mute[side]
            {
                let mut out = TlsOut {
                    out: &mut *cx.out,
                    info: &self.info,
                    conn: self.conn.as_deref(),
                };
                let mut icx = Cx::new(&mut *cx.link, p.packet, ts, cx.cfg, &mut out);
                carrier.gap(&mut icx, side, at, lost, GapKind::Lost);
            }
        }
        let offset = inner.offset[side];
        inner.offset[side] += p.data.len() as u64;
        if inner.mute[side] {
            return;
        }
        if inner.carrier.is_none() {
            // HTTP/2 is not read as HTTP/1.x: until a carrier takes it, the
            // conn record's ALPN tells what it is. TLS is not looked for
            // inside TLS (a capture could nest it without bound, bringing
            // its own keys in Decryption Secrets Blocks).
            let h2 = self
                .conn
                .as_ref()
                .and_then(|c| c.summary().alpn)
                .is_some_and(|a| a == "h2");
            let from_start = offset == 0;
            let found = PROBES
                .iter()
                .filter(|pr| pr.name != "tls" && !(h2 && pr.name == "http1"))
                .find_map(|pr| (pr.probe)(cx.link, side, &p.data, from_start, p.packet));
            match found {
                Some(carrier) => inner.carrier = Some(carrier),
                None => {
                    inner.mute[side] = true;
                    return;
                }
            }
        }
        // A hand-over gives the same bytes to the next carrier (at most twice).
        for _ in 0..3 {
            let Some(carrier) = inner.carrier.as_mut() else {
                return;
            };
            let mut out = TlsOut {
                out: &mut *cx.out,
                info: &self.info,
                conn: self.conn.as_deref(),
            };
            let mut icx = Cx::new(&mut *cx.link, p.packet, ts, cx.cfg, &mut out);
            carrier.data(&mut icx, side, offset, &p.data);
            match icx.handover.take() {
                Some(next) => inner.carrier = Some(next),
                None => break,
            }
        }
    }

    fn note_time(&mut self, packet: u64, ts: f64) {
        if self.times.back().is_some_and(|(p, _)| *p == packet) {
            return;
        }
        if self.times.len() >= PACKET_TIMES {
            self.times.pop_front();
        }
        self.times.push_back((packet, ts));
    }
}

impl Carrier for TlsCarrier {
    fn data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        let link = &mut *cx.link;
        let mut first = false;
        let t = self.side[side].get_or_insert_with(|| {
            first = true;
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
        let dir = link.dir_of(side);
        // Decryption needs the ClientHello (its random finds the secrets).
        if first && dir == Some(Dir::Client) && is_client_hello(bytes) && self.conn.is_none() {
            let mut conn = TlsConn::new();
            if cx.cfg.layers {
                conn.teach();
            }
            self.conn = Some(Box::new(conn));
        }
        if self.conn.is_none() || dir.is_none() {
            return;
        }
        if !self.server_hello {
            self.note_time(cx.packet, cx.ts);
        }
        let (Some(conn), Some(dir)) = (self.conn.as_mut(), dir) else {
            return;
        };
        if first && dir == Dir::Server && (offset != 0 || !is_server_hello(bytes)) {
            // The server's side did not start here: look for a record boundary.
            conn.gap(Dir::Server, 0);
        }
        {
            let keys = cx.cfg.keylog.read();
            let events = &mut self.events;
            conn.feed(dir, bytes, cx.packet, &keys, &mut |e| events.push(e));
        }
        if cx.cfg.layers {
            // `explain`: the first application record of each direction.
            for t in conn.take_taught() {
                let rec = crate::layer::LayerRecord {
                    session: cx.link.session(),
                    packet: t.packet,
                    ts: cx.ts,
                    layer: crate::layer::Layer::Tls(Box::new(t)),
                };
                cx.emit(Event::Layer(&rec));
            }
        }
        self.drain(cx);
        if !self.server_hello
            && self
                .conn
                .as_ref()
                .is_some_and(|c| c.server_hello().is_some())
        {
            // 0-RTT records held for the ServerHello came out with it: no
            // plaintext can belong to an earlier packet any more.
            self.server_hello = true;
            self.times = VecDeque::new();
        }
    }

    fn gap(&mut self, cx: &mut Cx<'_>, side: usize, _offset: u64, len: u64, _kind: GapKind) {
        if let Some(t) = self.side[side].as_mut() {
            t.gap();
        }
        if let (Some(conn), Some(dir)) = (self.conn.as_mut(), cx.link.dir_of(side)) {
            conn.gap(dir, len);
            self.inner.lost[side] = self.inner.lost[side].saturating_add(len.max(1));
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(conn) = self.conn.as_mut() {
            {
                let keys = cx.cfg.keylog.read();
                let events = &mut self.events;
                conn.finish(&keys, &mut |e| events.push(e));
            }
            self.drain(cx);
        }
        if let Some(inner) = self.inner.carrier.as_mut() {
            let mut out = TlsOut {
                out: &mut *cx.out,
                info: &self.info,
                conn: self.conn.as_deref(),
            };
            let mut icx = Cx::new(&mut *cx.link, cx.packet, cx.ts, cx.cfg, &mut out);
            inner.finish(&mut icx);
            self.note_inner_held();
        }
        if cx.link.websocket || self.has_secrets(cx) {
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

    fn decodes(&self, side: usize) -> bool {
        self.inner.carrier.as_ref().is_some_and(|c| c.decodes(side))
    }

    fn summarize(&self, link: &Link, s: &mut ConnSummary) -> bool {
        let info = info_with(&self.info, self.conn.as_deref());
        if let Some(inner) = &self.inner.carrier {
            inner.summarize(link, s);
        }
        if info.decrypted || !link.websocket {
            s.tls = Some(info);
        }
        true
    }

    fn held(&self) -> usize {
        self.side.iter().flatten().map(TlsSide::held).sum::<usize>() + self.inner_held
    }

    fn release_held(&mut self) {
        for t in self.side.iter_mut().flatten() {
            t.gap();
        }
        if let Some(c) = self.inner.carrier.as_mut() {
            c.release_held();
        }
        self.note_inner_held();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::cell::Cell;
    use std::rc::Rc;

    /// An inner carrier that holds every byte it is given, and counts how
    /// often it is asked how much it holds.
    struct Holder {
        held: usize,
        asked: Rc<Cell<u32>>,
    }

    impl Carrier for Holder {
        fn data(&mut self, _: &mut Cx<'_>, _: usize, _: u64, bytes: &[u8]) {
            self.held += bytes.len();
        }
        fn gap(&mut self, _: &mut Cx<'_>, _: usize, _: u64, _: u64, _: GapKind) {}
        fn finish(&mut self, _: &mut Cx<'_>) {
            self.held = 1;
        }
        fn decodes(&self, _: usize) -> bool {
            true
        }
        fn summarize(&self, _: &Link, _: &mut ConnSummary) -> bool {
            false
        }
        fn held(&self) -> usize {
            self.asked.set(self.asked.get() + 1);
            self.held
        }
        fn release_held(&mut self) {
            self.held = 0;
        }
    }

    struct Nothing;
    impl Sink for Nothing {
        fn event(&mut self, _: Event<'_>) -> ControlFlow<()> {
            ControlFlow::Continue(())
        }
    }

    fn data(dir: Dir, n: usize) -> TlsEvent {
        TlsEvent::Data(Plaintext {
            dir,
            data: vec![b'x'; n],
            packet: 2,
            end_offset: 0,
        })
    }

    #[test]
    fn held_is_the_inner_carriers_without_asking_it_each_segment() {
        let asked = Rc::new(Cell::new(0));
        let mut t = TlsCarrier::new(1);
        t.inner.carrier = Some(Box::new(Holder {
            held: 0,
            asked: asked.clone(),
        }));
        let addr = "127.0.0.1:1".parse().unwrap();
        let mut link = Link::new(0, [addr, addr], 1, 0.0);
        link.client_side = Some(0);
        let cfg = Config::default();
        let mut sink = Nothing;
        let mut cx = Cx::new(&mut link, 2, 0.5, &cfg, &mut sink);
        t.events.push(data(Dir::Client, 10));
        t.events.push(data(Dir::Server, 5));
        t.drain(&mut cx);
        let after_data = asked.get();
        // The flow table asks around every segment; most segments of a
        // long record reach no inner carrier.
        for _ in 0..100 {
            assert_eq!(t.held(), 15);
        }
        assert_eq!(asked.get(), after_data, "held() read the inner carrier");
        t.events.push(data(Dir::Client, 7));
        t.drain(&mut cx);
        assert_eq!(t.held(), 22);
        t.release_held();
        assert_eq!(t.held(), 0);
        t.finish(&mut cx);
        assert_eq!(t.held(), 1);
    }
}
