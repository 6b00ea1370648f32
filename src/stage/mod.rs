//! Stages: consumers that enrich the event stream. A stage sees every
//! event after the stages behind it and the sink have, and may emit events
//! of its own (records and findings) which go on through the later stages
//! to the sink, so every output, `check` first, sees them.
//!
//! To add a stage: write it in its own file here and add one line to
//! [`registered`].

pub mod app;
pub mod sse;

use std::ops::ControlFlow;

use crate::config::Config;
use crate::event::{Event, Sink};

/// A consumer that may emit events of its own.
pub trait Stage {
    /// Which events it looks at (a mask of [`kind`] bits): the others pass
    /// it by without a call. It may change after an event the stage looked at.
    fn interests(&self) -> u32;
    /// Sees one event (already delivered downstream) and emits what it
    /// derives from it into `out`.
    fn event(&mut self, ev: &Event<'_>, out: &mut dyn Sink) -> ControlFlow<()>;
}

/// Event kinds as bits, for [`Stage::interests`].
pub mod kinds {
    #![allow(missing_docs)]
    pub const START: u32 = 1 << 0;
    pub const TCP: u32 = 1 << 1;
    pub const HANDSHAKE: u32 = 1 << 2;
    pub const HTTP_HEAD: u32 = 1 << 3;
    pub const HTTP_BODY: u32 = 1 << 4;
    pub const HTTP_END: u32 = 1 << 5;
    pub const FRAME: u32 = 1 << 6;
    pub const MESSAGE: u32 = 1 << 7;
    pub const SSE: u32 = 1 << 8;
    pub const FINDING: u32 = 1 << 9;
    pub const CONN_END: u32 = 1 << 10;
    pub const APP: u32 = 1 << 11;
    pub const LAYER: u32 = 1 << 12;
    pub const SEGMENT: u32 = 1 << 13;
}

/// An event's kind as a bit of [`kinds`].
pub fn kind(ev: &Event<'_>) -> u32 {
    match ev {
        Event::Start(_) => kinds::START,
        Event::Tcp(_) => kinds::TCP,
        Event::Handshake(..) => kinds::HANDSHAKE,
        Event::HttpHead(_) => kinds::HTTP_HEAD,
        Event::HttpBody(_) => kinds::HTTP_BODY,
        Event::HttpEnd(_) => kinds::HTTP_END,
        Event::Frame(_) => kinds::FRAME,
        Event::Message(_) => kinds::MESSAGE,
        Event::Sse(_) => kinds::SSE,
        Event::Finding(_) => kinds::FINDING,
        Event::ConnEnd(_) => kinds::CONN_END,
        Event::App(_) => kinds::APP,
        Event::Layer(_) => kinds::LAYER,
        Event::Segment(_) => kinds::SEGMENT,
    }
}

/// The stages every run has, in order.
pub fn registered(cfg: &Config) -> Vec<Box<dyn Stage>> {
    vec![
        Box::new(sse::SseStage::default()),
        Box::new(app::AppStage::new(cfg)),
    ]
}

/// Delivers `ev` to the sink, then lets each stage derive from it (stage 0
/// last: its events pass through the stages after it).
fn deliver(stages: &mut [Box<dyn Stage>], sink: &mut dyn Sink, ev: Event<'_>) -> ControlFlow<()> {
    let k = kind(&ev);
    // Past the stages that do not look at this kind of event.
    let skip = stages.iter().take_while(|s| s.interests() & k == 0).count();
    match stages.get_mut(skip..).and_then(|s| s.split_first_mut()) {
        None => sink.event(ev),
        Some((first, rest)) => {
            deliver(rest, sink, ev)?;
            first.event(&ev, &mut Downstream { stages: rest, sink })
        }
    }
}

/// What is after a stage: the later stages, then the sink.
struct Downstream<'a> {
    stages: &'a mut [Box<dyn Stage>],
    sink: &'a mut dyn Sink,
}

impl Sink for Downstream<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        deliver(self.stages, self.sink, ev)
    }
}

/// The pipeline's output: the stages, then the consumer's sink. Once the
/// sink has asked to stop, nothing more is delivered.
pub struct Staged<'a> {
    stages: Vec<Box<dyn Stage>>,
    /// The kinds of event some stage looks at.
    interests: u32,
    sink: &'a mut dyn Sink,
    stopped: bool,
}

impl<'a> Staged<'a> {
    /// The registered stages in front of `sink`.
    pub fn new(cfg: &Config, sink: &'a mut dyn Sink) -> Self {
        let stages = registered(cfg);
        let interests = stages.iter().fold(0, |m, s| m | s.interests());
        Staged {
            stages,
            interests,
            sink,
            stopped: false,
        }
    }

    /// Whether the sink asked to stop.
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}

impl Sink for Staged<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if self.stopped {
            return ControlFlow::Break(());
        }
        // Most events (frames, messages) interest no stage: straight to the sink.
        let r = if self.interests & kind(&ev) == 0 {
            self.sink.event(ev)
        } else {
            let r = deliver(&mut self.stages, self.sink, ev);
            // What a stage saw may change what it looks at.
            self.interests = self.stages.iter().fold(0, |m, s| m | s.interests());
            r
        };
        if r.is_break() {
            self.stopped = true;
        }
        r
    }

    fn wants(&self) -> u32 {
        self.interests | self.sink.wants()
    }
}
