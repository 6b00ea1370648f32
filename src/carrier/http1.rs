//! The HTTP/1.x carrier: request and response heads and bodies on any
//! port, the WebSocket upgrade as a state transition (GET + 101 hands both
//! directions to WebSocket decoders), and WebSocket streams whose start the
//! capture lacks (frames hunted for by a strict chain).
//!
//! Each side is in one state (`SideState`): unknown until its first
//! bytes, HTTP, waiting for the answer to an upgrade, WebSocket, or
//! ignored. The upgrade's request and answer go to the handshake judge
//! ([`crate::handshake`]) as data.

use std::collections::VecDeque;

use super::{Carrier, Cx, Link, Probe};
use crate::event::{ConnSummary, Event, HttpBodyRecord, HttpEndRecord, HttpHeadRecord};
use crate::findings::{Code, Dir};
use crate::handshake::{self, Handshake, UpgradeKind};
use crate::http::{BodyMode, HttpError, HttpEvent, HttpHead, HttpParser};
use crate::session::SessionRef;
use crate::tcp::GapKind;
use crate::ws::session::Pings;
use crate::ws::stream::{Ctx, WsDecoder};

/// Recognises HTTP/1.x by a request or status line; takes any stream
/// caught mid-way (its frames may be WebSocket).
pub const PROBE: Probe = Probe {
    name: "http1",
    probe: |link, side, bytes, from_start, _packet| {
        let ok = match detect_line(bytes) {
            Line::Request => link.client_side.is_none_or(|c| c == side),
            Line::Response => link.client_side.is_none_or(|c| c != side),
            Line::Other => false,
        };
        (ok || !from_start).then(|| Box::new(Http1::new()) as Box<dyn Carrier>)
    },
};

/// What a side's first bytes look like.
enum Line {
    Request,
    Response,
    Other,
}

fn detect_line(bytes: &[u8]) -> Line {
    let m = bytes.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if m >= 3 && bytes.get(m) == Some(&b' ') {
        Line::Request
    } else if bytes.starts_with(b"HTTP/") {
        Line::Response
    } else {
        Line::Other
    }
}

/// What a side's bytes are, as far as we know.
enum SideState {
    /// Nothing seen yet.
    Unknown,
    /// Boxed: a side is HTTP only until the upgrade, and the state of every
    /// WebSocket segment's side stays small.
    Http(Box<HttpParser>),
    /// The client sent an upgrade request; its next bytes wait for the answer.
    AwaitUpgrade,
    Ws(Box<WsDecoder>),
    /// Not something we decode.
    Ignore,
}

impl SideState {
    /// An HTTP side: requests (the client's) or responses, heads of at
    /// most `max` bytes.
    fn http(request: bool, max: usize) -> Self {
        SideState::Http(Box::new(HttpParser::new(request, max)))
    }
}

#[derive(Debug, Clone, Copy)]
struct PendingRequest {
    head_method: bool,
    upgrade: bool,
    /// `Upgrade: h2c` (RFC 7540 section 3.2).
    h2c: bool,
}

/// See the module documentation.
///
/// `repr(C)`, the fields a WebSocket segment reads first: they share one
/// cache line (docs/performance.md, "Step: per-connection state").
#[repr(C)]
pub struct Http1 {
    side: [SideState; 2],
    /// Each side's bytes held while hunting for frames, noted after every
    /// call that can change them, so that [`Carrier::held`] (asked after
    /// every segment) reads one field rather than both decoders.
    held_note: [usize; 2],
    handshake: Option<Box<Handshake>>,
    handshake_emitted: bool,
    no_handshake_warned: bool,
    pending_overflow: bool,
    /// Bytes before the WebSocket frames were cut by the snapshot length
    /// (a snapped upgrade), as opposed to never captured.
    head_snapped: bool,
    h2c_ok: bool,
    /// The session's pings waiting for a pong, to pair them.
    pings: Pings,
    requests: VecDeque<PendingRequest>,
    pending_client: Vec<u8>,
    /// An `Upgrade: h2c` request's `HTTP2-Settings`, and where the client's
    /// bytes after it begin; `h2c_ok` once a 101 answered it.
    h2c: Option<(Option<String>, u64)>,
}

impl Default for Http1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Http1 {
    /// A connection whose sides are not known yet.
    pub fn new() -> Self {
        Http1 {
            side: [SideState::Unknown, SideState::Unknown],
            handshake: None,
            handshake_emitted: false,
            requests: VecDeque::new(),
            pending_client: Vec::new(),
            pending_overflow: false,
            no_handshake_warned: false,
            head_snapped: false,
            h2c: None,
            h2c_ok: false,
            pings: Pings::default(),
            held_note: [0; 2],
        }
    }

    /// Decides what a side carries from its first bytes (at stream
    /// `offset`). A side whose start was captured and is not HTTP is
    /// ignored: WebSocket is only ever reached by an upgrade, so frames are
    /// hunted for only where the beginning is missing.
    fn detect(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) -> SideState {
        let max = cx.cfg.max_http_header_bytes;
        let link = &mut *cx.link;
        match (detect_line(bytes), link.client_side) {
            (Line::Request, Some(c)) if c == side => SideState::http(true, max),
            (Line::Response, Some(c)) if c != side => SideState::http(false, max),
            (Line::Request, None) => {
                link.client_side = Some(side);
                SideState::http(true, max)
            }
            (Line::Response, None) => {
                link.client_side = Some(1 - side);
                SideState::http(false, max)
            }
            _ => {
                let from_start = link.start_seen[side] && offset == 0;
                if self.handshake.as_ref().is_some_and(|h| h.upgraded()) || from_start {
                    SideState::Ignore
                } else {
                    SideState::Ws(Box::new(WsDecoder::without_handshake_relaxed(
                        link.websocket,
                    )))
                }
            }
        }
    }

    /// Whether this side's bytes are (or lead to) WebSocket.
    fn is_websocket_side(&self, side: usize) -> bool {
        matches!(self.side[side], SideState::Ws(_) | SideState::AwaitUpgrade)
            || self.handshake.is_some()
    }

    fn client_http(
        &mut self,
        cx: &mut Cx<'_>,
        p: &mut HttpParser,
        bytes: &[u8],
    ) -> Result<usize, (usize, HttpError)> {
        let session = cx.link.session();
        let rtt = cx.link.rtt();
        let (packet, ts, cap) = (cx.packet, cx.ts, cx.cfg.max_http_header_bytes);
        let handshake = &mut self.handshake;
        let requests = &mut self.requests;
        let emitted = &mut self.handshake_emitted;
        let h2c = &mut self.h2c;
        let cx = std::cell::RefCell::new(cx);
        let r = p.feed(
            bytes,
            &mut |head: HttpHead| {
                cx.borrow_mut().emit(Event::HttpHead(&HttpHeadRecord {
                    session,
                    from: Dir::Client,
                    packet,
                    ts,
                    head: &head,
                    rtt,
                }));
                let upgrade = handshake::is_upgrade_request(&head);
                let method_head = head.method.as_deref() == Some("HEAD");
                let mode = BodyMode::for_request(&head);
                if upgrade && handshake.as_ref().is_none_or(|h| h.status.is_some()) {
                    let mut hs = handshake::from_request(head, UpgradeKind::Http1, packet, ts);
                    handshake::report_oversized_request(&mut hs, cap);
                    *handshake = Some(Box::new(hs));
                    *emitted = false;
                    requests.push_back(PendingRequest {
                        head_method: false,
                        upgrade: true,
                        h2c: false,
                    });
                    return BodyMode::Switch;
                }
                // An upgrade to HTTP/2 without a body: the client's next bytes
                // wait for the answer (HTTP/2 after a 101, else HTTP/1.1).
                let to_h2 = !upgrade && mode == BodyMode::None && head.has_token("upgrade", "h2c");
                requests.push_back(PendingRequest {
                    head_method: method_head,
                    upgrade: false,
                    h2c: to_h2,
                });
                if to_h2 {
                    *h2c = Some((head.header("http2-settings").map(str::to_string), 0));
                    return BodyMode::Switch;
                }
                mode
            },
            &mut |ev| http_event(&mut cx.borrow_mut(), session, Dir::Client, ev),
        );
        if self.handshake.is_some() && !self.handshake_emitted {
            cx.borrow_mut().link.websocket = true;
        }
        r
    }

    fn server_http(
        &mut self,
        cx: &mut Cx<'_>,
        p: &mut HttpParser,
        bytes: &[u8],
    ) -> Result<usize, (usize, HttpError)> {
        let session = cx.link.session();
        let rtt = cx.link.rtt();
        let (packet, ts) = (cx.packet, cx.ts);
        let handshake = &mut self.handshake;
        let requests = &mut self.requests;
        let mut answered_upgrade = None;
        let mut answered_h2c = None;
        let cell = std::cell::RefCell::new(&mut *cx);
        let r = p.feed(
            bytes,
            &mut |head: HttpHead| {
                let status = head.status.unwrap_or(0);
                let h2c = requests.front().is_some_and(|r| r.h2c);
                // The 101 to h2c is interim: stream 1 of HTTP/2 carries the answer.
                if !(h2c && status == 101) {
                    cell.borrow_mut().emit(Event::HttpHead(&HttpHeadRecord {
                        session,
                        from: Dir::Server,
                        packet,
                        ts,
                        head: &head,
                        rtt,
                    }));
                }
                if h2c && (status == 101 || !(100..200).contains(&status)) {
                    answered_h2c = Some(h2c && status == 101);
                }
                if (100..200).contains(&status) && status != 101 {
                    return BodyMode::None;
                }
                let req = requests.pop_front();
                if let Some(req) = req
                    && req.upgrade
                    && let Some(hs) = handshake.as_mut()
                {
                    let mode = if status == 101 {
                        BodyMode::Switch
                    } else {
                        BodyMode::for_response(&head, false)
                    };
                    handshake::add_response(hs, head, packet);
                    answered_upgrade = Some(status == 101);
                    return mode;
                }
                if status == 101 {
                    return BodyMode::Switch; // an upgrade to something else
                }
                BodyMode::for_response(&head, req.is_some_and(|r| r.head_method))
            },
            &mut |ev| http_event(&mut cell.borrow_mut(), session, Dir::Server, ev),
        );
        match answered_h2c {
            Some(true) => self.h2c_ok = true,
            Some(false) if self.h2c.take().is_some() => {
                // Not upgraded: the client's held bytes are HTTP/1.1 again.
                self.client_back_to_http(cx);
            }
            _ => {}
        }
        if let Some(ok) = answered_upgrade {
            self.emit_handshake(cx);
            if !ok {
                // Rejected: the client's held bytes are HTTP again.
                self.client_back_to_http(cx);
            }
        }
        r
    }

    /// The upgrade did not happen: the client's side is read as HTTP
    /// again, from the bytes it sent while waiting for the answer.
    fn client_back_to_http(&mut self, cx: &mut Cx<'_>) {
        if let Some(c) = cx.link.client_side {
            self.side[c] = SideState::http(true, cx.cfg.max_http_header_bytes);
            let held = std::mem::take(&mut self.pending_client);
            if !held.is_empty() {
                self.data(cx, c, 0, &held);
            }
        }
    }

    /// Reports the handshake's findings, then the handshake itself.
    fn emit_handshake(&mut self, cx: &mut Cx<'_>) {
        if self.handshake_emitted {
            return;
        }
        self.handshake_emitted = true;
        let Some(hs) = self.handshake.take() else {
            return;
        };
        let session = cx.link.session();
        let roles_known = cx.link.client_side.is_some();
        for f in &hs.findings {
            let mut f = f.clone();
            f.at.session = Some(session);
            if f.at.packet.is_none() {
                f.at.packet = Some(cx.packet);
            }
            if !roles_known {
                f.at.from = None;
            }
            cx.report(f);
        }
        cx.emit(Event::Handshake(session, &hs));
        self.handshake = Some(hs);
    }

    /// The server's 101 arrived: both directions become WebSocket.
    fn after_response(
        &mut self,
        cx: &mut Cx<'_>,
        server_side: usize,
        offset: u64,
        rest: &[u8],
    ) -> SideState {
        let Some(hs) = self.handshake.as_ref() else {
            return SideState::Ignore;
        };
        if !hs.upgraded() {
            return SideState::Ignore;
        }
        let deflate = hs.deflate.clone();
        // The app stage decodes this session: keep its message bodies.
        let keep =
            crate::stage::app::protocol_for(cx.cfg, hs.subprotocol.as_deref(), &hs.path).is_some();
        let on = deflate.is_some();
        let d = deflate.unwrap_or_default();
        let (mut server, client) = if hs.extensions_unknown {
            (
                Box::new(WsDecoder::negotiation_unknown()),
                Box::new(WsDecoder::negotiation_unknown()),
            )
        } else {
            (
                Box::new(WsDecoder::new(on, d.server_no_context_takeover)),
                Box::new(WsDecoder::new(on, d.client_no_context_takeover)),
            )
        };
        let (mut client, client_side) = (client, 1 - server_side);
        server.keep_data = keep;
        client.keep_data = keep;
        cx.link.websocket = true;
        self.side[client_side] = SideState::Ws(client);
        let held = std::mem::take(&mut self.pending_client);
        if !held.is_empty() {
            let mut st = std::mem::replace(&mut self.side[client_side], SideState::Ignore);
            if let SideState::Ws(dc) = &mut st {
                self.with_ctx(cx, client_side, |d, w| d.data(0, &held, w), dc);
            }
            self.side[client_side] = st;
        }
        if !rest.is_empty() {
            self.with_ctx(cx, server_side, |d, w| d.data(offset, rest, w), &mut server);
        }
        SideState::Ws(server)
    }

    /// The server's answer to an upgrade was cut (by the snapshot length, or
    /// lost) after `head`'s lines. A 101 is taken as read: the handshake is
    /// judged on what was seen, the client's frames are decoded from their
    /// start, and the server's are looked for past the lost bytes. Where the
    /// cut hid Sec-WebSocket-Extensions, RSV1 messages are inflated if they can be.
    fn cut_answer(&mut self, cx: &mut Cx<'_>, side: usize, head: HttpHead) {
        if head.status != Some(101) {
            return;
        }
        cx.emit(Event::HttpHead(&HttpHeadRecord {
            session: cx.link.session(),
            from: Dir::Server,
            packet: cx.packet,
            ts: cx.ts,
            head: &head,
            rtt: cx.link.rtt(),
        }));
        self.requests.pop_front();
        if let Some(hs) = self.handshake.as_mut() {
            handshake::add_response(hs, head, cx.packet);
        }
        self.emit_handshake(cx);
        if let SideState::Ws(d) = self.after_response(cx, side, 0, &[]) {
            let mut cut = Box::new(WsDecoder::after_cut_handshake());
            cut.keep_data = d.keep_data;
            self.side[side] = SideState::Ws(cut);
        }
    }

    /// Runs `f` on a decoder with a context for this side, then settles
    /// what the decoder learned (roles from masking, that the connection is
    /// WebSocket).
    fn with_ctx(
        &mut self,
        cx: &mut Cx<'_>,
        side: usize,
        f: impl FnOnce(&mut WsDecoder, &mut Ctx<'_>),
        d: &mut WsDecoder,
    ) {
        let known = cx.link.dir_of(side).is_some();
        let learned = ws_call(cx, &mut self.pings, side, |w| {
            f(d, w);
            w.from
        });
        if !known && let Some(from) = learned {
            cx.link.client_side = Some(if from == Dir::Client { side } else { 1 - side });
        }
        if d.saw_frames() {
            if d.no_handshake && !cx.link.websocket {
                // This direction proved the connection WebSocket: the other
                // one, if still hunting, may lock on a shorter chain.
                let mut other = std::mem::replace(&mut self.side[1 - side], SideState::Ignore);
                cx.link.websocket = true;
                if let SideState::Ws(o) = &mut other
                    && o.is_hunting()
                    && !o.is_relaxed()
                {
                    ws_call(cx, &mut self.pings, 1 - side, |w| o.relax(w));
                }
                self.side[1 - side] = other;
            }
            cx.proven_websocket();
            if d.no_handshake && !self.no_handshake_warned && self.handshake.is_none() {
                self.no_handshake_warned = true;
                no_handshake_finding(cx, side, d, self.head_snapped);
            }
        }
    }

    /// [`with_ctx`](Self::with_ctx) for a side that is WebSocket on a
    /// connection already known to be (the per-segment path): the same
    /// steps, minus those that cannot apply, on the decoder in place.
    fn ws_data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) -> bool {
        let SideState::Ws(d) = &mut self.side[side] else {
            return false;
        };
        if !cx.link.websocket {
            return false;
        }
        let known = cx.link.dir_of(side).is_some();
        let learned = ws_call(cx, &mut self.pings, side, |w| {
            d.data(offset, bytes, w);
            w.from
        });
        self.held_note[side] = d.hunt_held();
        if !known && let Some(from) = learned {
            cx.link.client_side = Some(if from == Dir::Client { side } else { 1 - side });
        }
        if d.saw_frames() {
            // `link.websocket` is set: the other side needs no relaxing.
            cx.proven_websocket();
            if d.no_handshake && !self.no_handshake_warned && self.handshake.is_none() {
                self.no_handshake_warned = true;
                no_handshake_finding(cx, side, d, self.head_snapped);
            }
        }
        true
    }
}

/// Frames were found but the connection's handshake was not.
fn no_handshake_finding(cx: &mut Cx<'_>, side: usize, d: &WsDecoder, head_snapped: bool) {
    let from = cx.link.dir_of(side);
    let why = if head_snapped {
        "was cut by the capture's snapshot length"
    } else {
        "was not captured"
    };
    let at = d.locked_at.unwrap_or(cx.packet);
    cx.finding(Code::StreamNoHandshake, from, at, None, format!(
        "WebSocket frames were found on a connection whose opening handshake {why}; extensions and roles are inferred"));
}

/// Runs `f` with a WebSocket decoder context for `side` of the connection.
fn ws_call<T>(
    cx: &mut Cx<'_>,
    pings: &mut Pings,
    side: usize,
    f: impl FnOnce(&mut Ctx<'_>) -> T,
) -> T {
    let link = &*cx.link;
    let (session, from) = (link.session(), link.dir_of(side));
    let ends = (link.addr[side], link.addr[1 - side]);
    super::ws_call(cx, Some(pings), session, from, ends, f)
}

/// Passes an HTTP body event on as a pipeline event.
fn http_event(cx: &mut Cx<'_>, session: SessionRef, from: Dir, ev: HttpEvent<'_>) {
    let (packet, ts) = (cx.packet, cx.ts);
    match ev {
        HttpEvent::Body(bytes) => cx.emit(Event::HttpBody(&HttpBodyRecord {
            session,
            from,
            packet,
            ts,
            bytes,
        })),
        HttpEvent::End => cx.emit(Event::HttpEnd(&HttpEndRecord {
            session,
            from,
            packet,
            ts,
            complete: true,
        })),
    }
}

impl Http1 {
    /// Notes what each side's decoder holds ([`Http1::held_note`]).
    fn note_held(&mut self) {
        for (note, s) in self.held_note.iter_mut().zip(&self.side) {
            *note = match s {
                SideState::Ws(d) => d.hunt_held(),
                _ => 0,
            };
        }
    }

    /// [`Carrier::data`] past the decoding of an established WebSocket side.
    fn data_general(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        let mut st = std::mem::replace(&mut self.side[side], SideState::Ignore);
        if let SideState::Unknown = st {
            st = self.detect(cx, side, offset, bytes);
        }
        if let SideState::Ws(d) = &st
            && d.is_hunting()
            && !cx.link.websocket
            && crate::tls::is_record_chain(bytes)
        {
            // A stream caught mid-way that turns out to be TLS records.
            cx.hand_over(Box::new(super::tls::TlsCarrier::new(cx.packet)));
            return;
        }
        match &mut st {
            SideState::Ws(d) => self.with_ctx(cx, side, |d, w| d.data(offset, bytes, w), d),
            SideState::Http(p) => {
                let is_client = cx.link.dir_of(side) == Some(Dir::Client);
                let mut switched_at = None;
                let r = if is_client {
                    self.client_http(cx, p, bytes)
                } else {
                    self.server_http(cx, p, bytes)
                };
                match r {
                    Ok(used) => {
                        if p.is_switched() {
                            switched_at = Some(used);
                        }
                    }
                    Err((at, HttpError::BadChunk)) => {
                        let from = cx.link.dir_of(side);
                        cx.finding(Code::HttpBadChunk, from, cx.packet, Some(offset + at as u64),
                            "the chunked transfer coding is malformed (RFC 9112 section 7.1); the rest of this direction is not decoded".into());
                        if let Some(from) = from {
                            cx.emit(Event::HttpEnd(&HttpEndRecord {
                                session: cx.link.session(),
                                from,
                                packet: cx.packet,
                                ts: cx.ts,
                                complete: false,
                            }));
                        }
                        st = SideState::Ignore;
                    }
                    Err(_) if cx.link.start_seen[side] => {
                        // The direction began with this HTTP and broke: whatever
                        // follows is not WebSocket (no upgrade led to it).
                        st = SideState::Ignore;
                    }
                    Err((at, _)) => {
                        // Not HTTP (or broken), caught mid-stream: try it as
                        // frames without a handshake.
                        let mut d =
                            Box::new(WsDecoder::without_handshake_relaxed(cx.link.websocket));
                        let rest = bytes.get(at..).unwrap_or_default();
                        self.with_ctx(cx, side, |d, w| d.data(offset + at as u64, rest, w), &mut d);
                        st = SideState::Ws(d);
                    }
                }
                if let Some(used) = switched_at {
                    let rest = bytes.get(used..).unwrap_or_default();
                    if !is_client
                        && self.h2c_ok
                        && !self.pending_overflow
                        && let Some((settings, at)) = self.h2c.take()
                    {
                        // HTTP/2 from here on (RFC 7540 section 3.2).
                        let held = std::mem::take(&mut self.pending_client);
                        let next = super::h2::H2::upgraded(
                            cx.link,
                            at,
                            offset + used as u64,
                            held,
                            settings.as_deref(),
                        );
                        cx.hand_over(Box::new(next));
                        return;
                    }
                    st = if is_client {
                        if let Some((_, at)) = self.h2c.as_mut() {
                            *at = offset + used as u64;
                        }
                        self.pending_client.clear();
                        if self.pending_client.len() + rest.len() <= cx.cfg.max_pending_bytes {
                            self.pending_client.extend_from_slice(rest);
                        } else {
                            self.pending_overflow = true;
                        }
                        SideState::AwaitUpgrade
                    } else {
                        self.side[side] = SideState::Ignore;
                        self.after_response(cx, side, offset + used as u64, rest)
                    };
                }
            }
            SideState::AwaitUpgrade => {
                if self.pending_client.len() + bytes.len() <= cx.cfg.max_pending_bytes {
                    self.pending_client.extend_from_slice(bytes);
                } else {
                    self.pending_overflow = true;
                }
            }
            SideState::Unknown | SideState::Ignore => {}
        }
        self.side[side] = st;
    }

    /// [`Carrier::gap`], before the held bytes are noted.
    fn gap_general(&mut self, cx: &mut Cx<'_>, side: usize, len: u64, kind: GapKind) {
        if kind == GapKind::Snapped
            && !matches!(self.side[side], SideState::Ws(_) | SideState::Ignore)
        {
            self.head_snapped = true;
        }
        // The server's answer to an upgrade is being read: what of it was seen.
        let answering = cx.link.client_side.is_some_and(|c| c != side)
            && self.handshake.as_ref().is_some_and(|h| h.status.is_none());
        let mut cut_answer = None;
        match &mut self.side[side] {
            SideState::Ws(_) => {
                let mut st = std::mem::replace(&mut self.side[side], SideState::Unknown);
                if let SideState::Ws(d) = &mut st {
                    self.with_ctx(cx, side, |d2, w| d2.gap(len, w), d);
                }
                self.side[side] = st;
            }
            SideState::Http(p) => {
                if answering {
                    cut_answer = p.partial_head();
                }
                p.gap();
                if p.is_broken() && self.handshake.is_none() {
                    // The head was lost (a snapped upgrade, say): look for frames instead.
                    self.side[side] = SideState::Ws(Box::new(
                        WsDecoder::without_handshake_relaxed(cx.link.websocket),
                    ));
                }
            }
            SideState::AwaitUpgrade => self.pending_overflow = true,
            SideState::Unknown => {
                // The stream's start is lost: whatever follows is decoded without a handshake.
                self.side[side] = SideState::Ws(Box::new(WsDecoder::without_handshake_relaxed(
                    cx.link.websocket,
                )));
            }
            SideState::Ignore => {}
        }
        if let Some(head) = cut_answer {
            self.cut_answer(cx, side, head);
        }
    }

    /// [`Carrier::finish`], before the held bytes are noted.
    fn finish_general(&mut self, cx: &mut Cx<'_>) {
        for side in 0..2 {
            let mut st = std::mem::replace(&mut self.side[side], SideState::Ignore);
            match &mut st {
                SideState::Ws(d) => self.with_ctx(cx, side, |d, w| d.finish(w), d),
                SideState::Http(p) => {
                    if let Some(from) = cx.link.dir_of(side) {
                        let session = cx.link.session();
                        let open = p.in_body();
                        let mut ended = false;
                        p.close(&mut |ev| {
                            ended = true;
                            http_event(cx, session, from, ev)
                        });
                        if open && !ended {
                            cx.emit(Event::HttpEnd(&HttpEndRecord {
                                session,
                                from,
                                packet: cx.packet,
                                ts: cx.ts,
                                complete: false,
                            }));
                        }
                    }
                }
                _ => {}
            }
            self.side[side] = st;
        }
        if self.handshake.is_some() && !self.handshake_emitted {
            self.emit_handshake(cx);
        }
    }
}

impl Carrier for Http1 {
    fn data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        // `ws_data` notes the one side it decodes.
        if !self.ws_data(cx, side, offset, bytes) {
            self.data_general(cx, side, offset, bytes);
            self.note_held();
        }
    }

    fn gap(&mut self, cx: &mut Cx<'_>, side: usize, _offset: u64, len: u64, kind: GapKind) {
        self.gap_general(cx, side, len, kind);
        self.note_held();
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        self.finish_general(cx);
        self.note_held();
    }

    fn decodes(&self, side: usize) -> bool {
        self.is_websocket_side(side)
    }

    fn summarize(&self, link: &Link, s: &mut ConnSummary) -> bool {
        for side in 0..2 {
            if let SideState::Ws(d) = &self.side[side] {
                let dir = link.dir_of(side).unwrap_or(Dir::Client);
                s.stats[dir.index()] = d.stats.clone();
            }
        }
        if let Some(h) = self.handshake.as_deref() {
            s.handshake_seen = true;
            s.status = h.status;
            s.accept_ok = h.accept_ok;
            s.path = Some(h.path.clone());
            s.subprotocol = h.subprotocol.clone();
            s.extensions = h.extensions.clone();
        }
        link.websocket
    }

    fn held(&self) -> usize {
        self.held_note[0] + self.held_note[1]
    }

    fn release_held(&mut self) {
        for s in &mut self.side {
            if let SideState::Ws(d) = s {
                d.drop_hunt();
            }
        }
        self.note_held();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::event::Sink;
    use std::ops::ControlFlow;

    struct Nothing;
    impl Sink for Nothing {
        fn event(&mut self, _: Event<'_>) -> ControlFlow<()> {
            ControlFlow::Continue(())
        }
    }

    /// What the decoders hold, asked of them directly.
    fn held_by_decoders(h: &Http1) -> usize {
        h.side
            .iter()
            .map(|s| match s {
                SideState::Ws(d) => d.hunt_held(),
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn the_noted_held_bytes_are_the_decoders_after_every_call() {
        let addr = "127.0.0.1:1".parse().unwrap();
        let mut link = Link::new(0, [addr, addr], 1, 0.0);
        let cfg = Config::default();
        let mut sink = Nothing;
        let mut h = Http1::new();
        let mut max_held = 0;
        let mut check = |h: &Http1, step: &str| {
            assert_eq!(h.held(), held_by_decoders(h), "after {step}");
            max_held = max_held.max(h.held());
        };
        // A connection caught mid-way: both sides hunt for frames, holding
        // the start of what may be a chain of them, until the server's
        // side locks on (the connection is WebSocket from then on) and the
        // client's, relaxed, still holds a frame cut by its segment's end.
        let mut offset = [0u64; 2];
        let hi: &[u8] = &[0x81, 0x02, b'h', b'i'];
        let pieces: [(usize, &[u8]); 7] = [
            (1, &[0x81, 0x85, 1, 2]),
            (0, hi),
            (0, hi),
            (1, &[3, 4, b'h' ^ 1, b'e' ^ 2]),
            (0, hi),
            (
                1,
                &[
                    b'l' ^ 3,
                    b'l' ^ 4,
                    b'o' ^ 1,
                    0x81,
                    0x85,
                    1,
                    2,
                    3,
                    4,
                    b'x' ^ 1,
                ],
            ),
            (1, &[b'y' ^ 2]),
        ];
        let mut ws_held = 0;
        for (n, (side, bytes)) in pieces.iter().enumerate() {
            let mut cx = Cx::new(&mut link, n as u64 + 2, 0.5, &cfg, &mut sink);
            h.data(&mut cx, *side, offset[*side], bytes);
            offset[*side] += bytes.len() as u64;
            check(&h, &format!("piece {n}"));
            if link.websocket {
                ws_held = ws_held.max(h.held());
            }
        }
        assert!(link.websocket, "the server's side did not lock on");
        assert!(
            ws_held > 0,
            "nothing was held once the connection was WebSocket"
        );
        let mut cx = Cx::new(&mut link, 9, 0.6, &cfg, &mut sink);
        h.gap(&mut cx, 1, offset[1], 10, GapKind::Lost);
        check(&h, "a gap");
        h.release_held();
        check(&h, "release");
        assert_eq!(h.held(), 0);
        let mut cx = Cx::new(&mut link, 10, 0.7, &cfg, &mut sink);
        h.finish(&mut cx);
        check(&h, "finish");
        assert!(
            max_held > 0,
            "no step held anything: the test shows nothing"
        );
    }
}
