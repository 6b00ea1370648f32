//! Stages: consumers that enrich the event stream. A stage sees every
//! event after the stages behind it and the sink have, and may emit events
//! of its own (records and findings) which go on through the later stages
//! to the sink, so every output, `check` first, sees them.
//!
//! To add a stage: write it in its own file here and add one line to
//! [`registered`].

pub mod sse;

use std::ops::ControlFlow;

use crate::config::Config;
use crate::event::{Event, Sink};

/// A consumer that may emit events of its own.
pub trait Stage {
    /// Sees one event (already delivered downstream) and emits what it
    /// derives from it into `out`.
    fn event(&mut self, ev: &Event<'_>, out: &mut dyn Sink) -> ControlFlow<()>;
}

/// The stages every run has, in order.
pub fn registered(_cfg: &Config) -> Vec<Box<dyn Stage>> {
    vec![Box::new(sse::SseStage::default())]
}

/// Delivers `ev` to the sink, then lets each stage derive from it (stage 0
/// last: its events pass through the stages after it).
fn deliver(stages: &mut [Box<dyn Stage>], sink: &mut dyn Sink, ev: Event<'_>) -> ControlFlow<()> {
    match stages.split_first_mut() {
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
    sink: &'a mut dyn Sink,
    stopped: bool,
}

impl<'a> Staged<'a> {
    /// The registered stages in front of `sink`.
    pub fn new(cfg: &Config, sink: &'a mut dyn Sink) -> Self {
        Staged {
            stages: registered(cfg),
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
        let r = deliver(&mut self.stages, self.sink, ev);
        if r.is_break() {
            self.stopped = true;
        }
        r
    }
}
