//! What one WebSocket session knows across its two directions, which a
//! per-direction decoder cannot: which ping each pong answers.
//!
//! A carrier that drives both decoders of a session (HTTP/1.1 today, each
//! HTTP/2 stream tomorrow) keeps one [`Pings`] per session and passes every
//! frame through [`Pings::frame`] before emitting it, setting
//! [`FrameRecord::answers`] from the result.

use std::collections::VecDeque;

use crate::ws::frame::OpCode;
use crate::ws::record::{FrameRecord, PingRef};

/// Unanswered pings remembered per direction; past it the oldest is
/// forgotten (a pong for it is then paired with nothing).
pub const MAX_OUTSTANDING: usize = 32;

/// The longest payload a control frame may carry (RFC 6455 section 5.5).
const MAX_CONTROL: usize = 125;

/// A ping waiting for its pong.
struct Waiting {
    at: PingRef,
    len: u8,
    payload: [u8; MAX_CONTROL],
}

impl Waiting {
    fn payload(&self) -> &[u8] {
        self.payload
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }
}

/// The pings of each side not answered yet, in the order they were sent,
/// at most [`MAX_OUTSTANDING`] per side, no more than 125 bytes each.
#[derive(Default)]
pub struct Pings {
    waiting: [VecDeque<Waiting>; 2],
}

impl Pings {
    /// Notes a ping; for a pong, returns the ping of the other side it
    /// answers and forgets that ping. RFC 6455 section 5.5.3: a pong sent in
    /// response carries the ping's application data unchanged, so the pong
    /// answers an unanswered ping of the other side with exactly its
    /// payload; of several such, the oldest (a peer answers pings in the
    /// order it read them). A ping whose payload was not all captured, or
    /// longer than a control frame may be, waits for nothing.
    pub fn frame(&mut self, f: &FrameRecord<'_>) -> Option<PingRef> {
        let d = f.from.index();
        if !f.payload_complete || f.payload.len() > MAX_CONTROL {
            return None;
        }
        match f.header.opcode {
            OpCode::Ping => {
                let q = self.waiting.get_mut(d)?;
                if q.len() >= MAX_OUTSTANDING {
                    q.pop_front();
                }
                let mut payload = [0u8; MAX_CONTROL];
                payload
                    .get_mut(..f.payload.len())?
                    .copy_from_slice(f.payload);
                q.push_back(Waiting {
                    at: PingRef {
                        offset: f.offset,
                        packet: f.packet,
                        ts: f.ts,
                    },
                    len: u8::try_from(f.payload.len()).ok()?,
                    payload,
                });
                None
            }
            OpCode::Pong => {
                let q = self.waiting.get_mut(1 - d)?;
                let i = q.iter().position(|p| p.payload() == f.payload)?;
                q.remove(i).map(|p| p.at)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Dir;
    use crate::session::SessionRef;
    use crate::ws::frame::{FrameHeader, LengthForm};

    fn control(op: OpCode, from: Dir, offset: u64, ts: f64, payload: &[u8]) -> FrameRecord<'_> {
        let a = "10.0.0.1:1000".parse().unwrap();
        let b = "10.0.0.2:80".parse().unwrap();
        FrameRecord {
            session: SessionRef::conn(0, a, b),
            from,
            packet: offset + 1,
            ts,
            first_packet: offset + 1,
            segments: 1,
            offset,
            header: FrameHeader {
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: op,
                mask_key: None,
                payload_len: payload.len() as u64,
                length_form: LengthForm::Short,
                header_len: 2,
            },
            header_bytes: &[],
            payload,
            payload_complete: true,
            message: None,
            answers: None,
            close_code: None,
            close_reason: None,
            findings: &[],
        }
    }

    #[test]
    fn a_pong_answers_the_ping_with_its_exact_payload() {
        let mut p = Pings::default();
        // Two pings whose first 40 bytes agree: a preview cannot tell them apart.
        let a = [b'x'; 50];
        let mut b = [b'x'; 50];
        b[49] = b'y';
        assert_eq!(
            p.frame(&control(OpCode::Ping, Dir::Client, 0, 1.0, &a)),
            None
        );
        assert_eq!(
            p.frame(&control(OpCode::Ping, Dir::Client, 60, 2.0, &b)),
            None
        );
        // The server answers only the most recent (section 5.5.3 allows it).
        let got = p.frame(&control(OpCode::Pong, Dir::Server, 0, 3.0, &b));
        assert_eq!(got.map(|r| (r.offset, r.ts)), Some((60, 2.0)));
        // A pong from the pinging side answers nothing; a second pong for b neither.
        assert_eq!(
            p.frame(&control(OpCode::Pong, Dir::Client, 70, 3.5, &a)),
            None
        );
        assert_eq!(
            p.frame(&control(OpCode::Pong, Dir::Server, 60, 4.0, &b)),
            None
        );
        // a is still waiting.
        let got = p.frame(&control(OpCode::Pong, Dir::Server, 120, 5.0, &a));
        assert_eq!(got.map(|r| r.offset), Some(0));
    }

    #[test]
    fn equal_payloads_are_answered_in_order_and_the_set_is_bounded() {
        let mut p = Pings::default();
        for i in 0..(MAX_OUTSTANDING as u64 + 5) {
            p.frame(&control(OpCode::Ping, Dir::Server, i * 2, i as f64, b""));
        }
        // The 5 oldest were forgotten: the first pong answers the 6th ping.
        let got = p.frame(&control(OpCode::Pong, Dir::Client, 0, 99.0, b""));
        assert_eq!(got.map(|r| r.offset), Some(10));
        assert!(p.waiting[1].len() < MAX_OUTSTANDING);
    }
}
