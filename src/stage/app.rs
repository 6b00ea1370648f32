//! The app stage: decodes the subprotocol each WebSocket session speaks
//! (MQTT, STOMP, Engine.IO/Socket.IO, GraphQL over WebSocket; see
//! [`crate::app`]) and emits one [`Event::App`] record per protocol unit,
//! with the decoders' findings as [`Event::Finding`]s, so `check` sees them.
//!
//! A session's decoder is chosen from its handshake: `--decode-as`
//! ([`Config::decode_as`]) wins, then the negotiated
//! `Sec-WebSocket-Protocol`, then Socket.IO's `/socket.io/?EIO=4` path
//! ([`crate::app::dispatch`]). With `--decode-as`, sessions caught without
//! their handshake are decoded too. Engine.IO's HTTP long-polling bodies
//! (requests to `/socket.io/?EIO=4...` that are not upgrades) go to one
//! decoder per Engine.IO session (`sid`), which the WebSocket transport of
//! the same `sid` continues, so the two transports read as one session.
//!
//! The decoders need the message bodies: a carrier keeps them for the
//! sessions [`protocol_for`] names even when the consumer keeps none
//! (`check`), so other sessions cost nothing more.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use foldhash::HashMap;

use crate::app::{self, AppCode, Decoder, Msg, Output, Protocol, Session};
use crate::config::Config;
use crate::event::{Event, HttpBodyRecord, HttpEndRecord, HttpHeadRecord, MessageRecord, Sink};
use crate::findings::{Code, Dir, Finding, Location};
use crate::session::SessionRef;
use crate::stage::Stage;
use crate::ws::frame::OpCode;

/// Engine.IO sessions (`sid`s) remembered at once.
const MAX_SIDS: usize = 10_000;
/// WebSocket sessions decoded at once.
const MAX_SESSIONS: usize = 100_000;
/// Polling requests awaiting their answer per connection.
const MAX_WAITING: usize = 1024;
/// Connections with polling exchanges tracked at once.
const MAX_POLL_CONNS: usize = 65_536;

/// The subprotocol a WebSocket session opened with `subprotocol` (the one
/// the server chose) on `path` is decoded as, if any. Carriers ask this to
/// keep the bodies of exactly the sessions this stage decodes.
pub fn protocol_for(cfg: &Config, subprotocol: Option<&str>, path: &str) -> Option<Protocol> {
    choose(cfg.decode_as, subprotocol, path)
}

fn choose(decode_as: Option<Protocol>, subprotocol: Option<&str>, path: &str) -> Option<Protocol> {
    if decode_as.is_some() {
        return decode_as;
    }
    // Most sessions negotiate nothing and are not Engine.IO: no parsing.
    if subprotocol.is_none() && !is_engineio(path) {
        return None;
    }
    app::dispatch(subprotocol, Some(path), None)
}

/// Whether a request target may be Engine.IO v4 (a quick look).
fn is_engineio(path: &str) -> bool {
    let p = path.as_bytes();
    memchr::memchr_iter(b'=', p).any(|i| {
        i >= 3 && p.get(i - 3..i) == Some(b"EIO".as_slice()) && p.get(i + 1) == Some(&b'4')
    })
}

/// Where a session's units go.
enum Slot {
    /// Its own decoder.
    Own(Box<Decoder>),
    /// The decoder of an Engine.IO session begun by polling.
    Sid(String),
}

/// One WebSocket session being decoded.
struct Tracked {
    stream: Option<u32>,
    session: SessionRef,
    slot: Slot,
}

/// A polling body being collected.
struct Body {
    sid: Option<String>,
    bytes: Vec<u8>,
    overflow: bool,
}

/// Polling exchanges of one connection (or HTTP/2 stream).
#[derive(Default)]
struct Poll {
    /// Per request awaiting its answer: its Engine.IO exchange (with the
    /// `sid`, if the request named one), or `None` for another request.
    waiting: VecDeque<Option<Option<String>>>,
    /// The bodies being read, client's and server's.
    body: [Option<Body>; 2],
}

/// See the module documentation.
pub struct AppStage {
    decode_as: Option<Protocol>,
    /// Decoded WebSocket sessions by connection.
    sessions: HashMap<u64, Vec<Tracked>>,
    count: usize,
    /// Engine.IO sessions by `sid`.
    by_sid: HashMap<String, Decoder>,
    polls: HashMap<(u64, Option<u32>), Poll>,
    /// `limit.reached` was reported (once a run).
    limit_reported: bool,
}

impl AppStage {
    /// The stage for a run with `cfg`.
    pub fn new(cfg: &Config) -> Self {
        AppStage {
            decode_as: cfg.decode_as,
            sessions: HashMap::default(),
            count: 0,
            by_sid: HashMap::default(),
            polls: HashMap::default(),
            limit_reported: false,
        }
    }

    fn tracked(&mut self, s: &SessionRef) -> Option<&mut Tracked> {
        self.sessions
            .get_mut(&s.conn)?
            .iter_mut()
            .find(|t| t.stream == s.stream)
    }

    /// Starts decoding session `s` as `p`.
    fn open(&mut self, s: SessionRef, p: Protocol, sid: Option<String>) -> ControlFlow<()> {
        if self.count >= MAX_SESSIONS {
            return ControlFlow::Continue(());
        }
        let slot = match sid {
            Some(sid) if p == Protocol::SocketIo && self.by_sid.contains_key(&sid) => {
                Slot::Sid(sid)
            }
            _ => Slot::Own(Box::new(Decoder::new(p, app_session(&s)))),
        };
        let list = self.sessions.entry(s.conn).or_default();
        if let Some(t) = list.iter_mut().find(|t| t.stream == s.stream) {
            // A second upgrade on the stream: the new session replaces it.
            *t = Tracked {
                stream: s.stream,
                session: s,
                slot,
            };
        } else {
            list.push(Tracked {
                stream: s.stream,
                session: s,
                slot,
            });
            self.count += 1;
        }
        ControlFlow::Continue(())
    }

    fn message(&mut self, m: &MessageRecord<'_>, out: &mut dyn Sink) -> ControlFlow<()> {
        if !matches!(m.opcode, OpCode::Text | OpCode::Binary) {
            return ControlFlow::Continue(());
        }
        if self.tracked(&m.session).is_none() {
            // --decode-as: sessions whose handshake was not captured too.
            match self.decode_as {
                Some(p) => self.open(m.session, p, None)?,
                None => return ControlFlow::Continue(()),
            }
        }
        // A body cut by --max-message-bytes is not decoded either (as
        // `messages` marks it `data_incomplete`, without a finding).
        let whole = m.decodable && m.data_complete;
        let AppStage {
            sessions, by_sid, ..
        } = self;
        let Some(t) = sessions
            .get_mut(&m.session.conn)
            .and_then(|l| l.iter_mut().find(|t| t.stream == m.session.stream))
        else {
            return ControlFlow::Continue(());
        };
        let session = t.session;
        let d: &mut Decoder = match &mut t.slot {
            Slot::Own(d) => d,
            Slot::Sid(sid) => match by_sid.get_mut(sid.as_str()) {
                Some(d) => {
                    d.set_session(app_session(&session));
                    d
                }
                None => return ControlFlow::Continue(()),
            },
        };
        let mut o = Output::default();
        if whole {
            let msg = Msg {
                from: m.from,
                binary: m.opcode == OpCode::Binary,
                payload: m.data,
                packet: m.last_packet,
                ts: m.last_ts,
            };
            d.message(&msg, &mut o);
        } else {
            // Bytes lost (a gap, an inflate failure) or not all kept: what
            // was being reassembled in this direction cannot be trusted.
            d.lost(m.from);
        }
        emit(&session, o, out)
    }

    /// The end of a connection: its decoders report what was left incomplete.
    fn conn_end(&mut self, conn: u64, out: &mut dyn Sink) -> ControlFlow<()> {
        if !self.polls.is_empty() {
            self.polls.retain(|k, _| k.0 != conn);
        }
        let Some(list) = self.sessions.remove(&conn) else {
            return ControlFlow::Continue(());
        };
        self.count = self.count.saturating_sub(list.len());
        for t in list {
            if let Slot::Own(mut d) = t.slot {
                let mut o = Output::default();
                d.finish(&mut o);
                emit(&t.session, o, out)?;
            }
        }
        ControlFlow::Continue(())
    }

    fn head(&mut self, h: &HttpHeadRecord<'_>) {
        let key = (h.session.conn, h.session.stream);
        match h.from {
            Dir::Client => {
                let path = h.head.path.as_deref().unwrap_or("");
                let polling = is_engineio(path)
                    && app::dispatch(None, Some(path), None) == Some(Protocol::SocketIo)
                    && !crate::handshake::is_upgrade_request(h.head);
                if !polling {
                    // Only connections with polling exchanges are followed.
                    if !self.polls.is_empty()
                        && let Some(p) = self.polls.get_mut(&key)
                        && p.waiting.len() < MAX_WAITING
                    {
                        p.waiting.push_back(None);
                    }
                    return;
                }
                if !self.polls.contains_key(&key) && self.polls.len() >= MAX_POLL_CONNS {
                    return;
                }
                let sid = sid_of(path);
                let p = self.polls.entry(key).or_default();
                if p.waiting.len() < MAX_WAITING {
                    p.waiting.push_back(Some(sid.clone()));
                }
                p.body[0] = Some(Body {
                    sid,
                    bytes: Vec::new(),
                    overflow: false,
                });
            }
            Dir::Server => {
                if self.polls.is_empty() {
                    return;
                }
                let status = h.head.status.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    return; // interim
                }
                let Some(p) = self.polls.get_mut(&key) else {
                    return;
                };
                p.body[1] = match p.waiting.pop_front() {
                    Some(Some(sid)) if status == 200 => Some(Body {
                        sid,
                        bytes: Vec::new(),
                        overflow: false,
                    }),
                    _ => None,
                };
            }
        }
    }

    fn body(&mut self, b: &HttpBodyRecord<'_>) {
        let Some(body) = self
            .polls
            .get_mut(&(b.session.conn, b.session.stream))
            .and_then(|p| p.body[b.from.index()].as_mut())
        else {
            return;
        };
        if body.bytes.len() + b.bytes.len() > app::MAX_UNIT {
            body.overflow = true;
        } else {
            body.bytes.extend_from_slice(b.bytes);
        }
    }

    fn end(&mut self, e: &HttpEndRecord, out: &mut dyn Sink) -> ControlFlow<()> {
        let key = (e.session.conn, e.session.stream);
        let Some(p) = self.polls.get_mut(&key) else {
            return ControlFlow::Continue(());
        };
        let Some(body) = p.body[e.from.index()].take() else {
            return ControlFlow::Continue(());
        };
        if p.waiting.is_empty() && p.body.iter().all(Option::is_none) {
            self.polls.remove(&key);
        }
        // A POST's answer ("ok"), an empty body, or one cut short.
        if !e.complete || body.bytes.is_empty() || body.bytes == b"ok" {
            return ControlFlow::Continue(());
        }
        if body.overflow {
            if !self.limit_reported {
                self.limit_reported = true;
                let at = Location::session(e.session)
                    .from(Some(e.from))
                    .packet(e.packet);
                let f = Finding::new(
                    Code::LimitReached,
                    at,
                    format!(
                        "an Engine.IO polling body is longer than {} bytes: it is not decoded",
                        app::MAX_UNIT
                    ),
                );
                out.event(Event::Finding(&f))?;
            }
            return ControlFlow::Continue(());
        }
        let msg = Msg {
            from: e.from,
            binary: false,
            payload: &body.bytes,
            packet: e.packet,
            ts: e.ts,
        };
        let mut o = Output::default();
        match body.sid {
            Some(sid) => {
                if !self.by_sid.contains_key(&sid) && self.by_sid.len() >= MAX_SIDS {
                    return ControlFlow::Continue(());
                }
                let d = self
                    .by_sid
                    .entry(sid)
                    .or_insert_with(|| Decoder::new(Protocol::SocketIo, app_session(&e.session)));
                d.set_session(app_session(&e.session));
                d.polling_body(&msg, &mut o);
            }
            None => {
                // The Engine.IO handshake: its open packet names the sid.
                let mut d = Decoder::new(Protocol::SocketIo, app_session(&e.session));
                d.polling_body(&msg, &mut o);
                let sid = o
                    .records
                    .iter()
                    .find_map(|r| r.get("sid")?.as_str().map(str::to_string));
                if let Some(sid) = sid
                    && (self.by_sid.len() < MAX_SIDS || self.by_sid.contains_key(&sid))
                {
                    self.by_sid.insert(sid, d);
                }
            }
        }
        emit(&e.session, o, out)
    }
}

/// The `sid` parameter of a request target.
fn sid_of(path: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix("sid="))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn app_session(s: &SessionRef) -> Session {
    Session {
        conn: s.conn,
        client: s.client.to_string(),
        server: s.server.to_string(),
        stream: s.stream.map(u64::from),
    }
}

/// The finding code of a decoder's finding.
pub fn code(c: AppCode) -> Code {
    match c {
        AppCode::MqttMalformed => Code::MqttMalformed,
        AppCode::MqttProtocolViolation => Code::MqttProtocolViolation,
        AppCode::StompMalformed => Code::StompMalformed,
        AppCode::SocketioMalformed => Code::SocketioMalformed,
        AppCode::GraphqlProtocolViolation => Code::GraphqlProtocolViolation,
    }
}

/// Sends a decoder's records, then its findings, downstream.
fn emit(session: &SessionRef, o: Output, out: &mut dyn Sink) -> ControlFlow<()> {
    for r in &o.records {
        out.event(Event::App(r))?;
    }
    for f in o.findings {
        let at = Location::session(*session)
            .from(Some(f.from))
            .packet(f.packet);
        out.event(Event::Finding(&Finding::new(code(f.code), at, f.message)))?;
    }
    ControlFlow::Continue(())
}

impl Stage for AppStage {
    fn interests(&self) -> u32 {
        use crate::stage::kinds::*;
        // Messages and bodies only while something is being decoded: the
        // rest of a run passes this stage by.
        let mut k = HANDSHAKE | HTTP_HEAD | CONN_END;
        if !self.sessions.is_empty() || self.decode_as.is_some() {
            k |= MESSAGE;
        }
        if !self.polls.is_empty() {
            k |= HTTP_BODY | HTTP_END;
        }
        k
    }

    fn event(&mut self, ev: &Event<'_>, out: &mut dyn Sink) -> ControlFlow<()> {
        match ev {
            Event::Message(m) => {
                if self.sessions.is_empty() && self.decode_as.is_none() {
                    return ControlFlow::Continue(());
                }
                self.message(m, out)
            }
            Event::Handshake(s, hs) => {
                if !hs.upgraded() {
                    return ControlFlow::Continue(());
                }
                match choose(self.decode_as, hs.subprotocol.as_deref(), &hs.path) {
                    Some(p) => self.open(*s, p, sid_of(&hs.path)),
                    None => ControlFlow::Continue(()),
                }
            }
            Event::HttpHead(h) => {
                self.head(h);
                ControlFlow::Continue(())
            }
            Event::HttpBody(b) => {
                if !self.polls.is_empty() {
                    self.body(b);
                }
                ControlFlow::Continue(())
            }
            Event::HttpEnd(e) => {
                if self.polls.is_empty() {
                    return ControlFlow::Continue(());
                }
                self.end(e, out)
            }
            Event::ConnEnd(s) => {
                if self.sessions.is_empty() && self.polls.is_empty() {
                    return ControlFlow::Continue(());
                }
                self.conn_end(s.session.conn, out)
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engineio_paths_and_sids() {
        assert!(is_engineio("/socket.io/?EIO=4&transport=polling"));
        assert!(is_engineio("/socket.io/?transport=websocket&EIO=4&sid=x"));
        assert!(!is_engineio("/socket.io/?EIO=3&transport=polling"));
        assert!(!is_engineio("/ws"));
        assert!(!is_engineio("=4"));
        assert_eq!(sid_of("/socket.io/?EIO=4&sid=abc"), Some("abc".into()));
        assert_eq!(sid_of("/socket.io/?EIO=4&sid="), None);
        assert_eq!(sid_of("/socket.io/?EIO=4"), None);
        let cfg = Config::default();
        assert_eq!(protocol_for(&cfg, Some("mqtt"), "/"), Some(Protocol::Mqtt));
        assert_eq!(protocol_for(&cfg, None, "/chat"), None);
        let cfg = Config {
            decode_as: Some(Protocol::Stomp),
            ..Config::default()
        };
        assert_eq!(protocol_for(&cfg, Some("mqtt"), "/"), Some(Protocol::Stomp));
    }
}
