//! The live view's frame rate: frames that come sooner than the view's rate allows are dropped
//! as they arrive at the branch, so the rest pass at once (no frame is held back to choose
//! between it and the next, as `videorate` does at a fixed output rate) and nothing is
//! converted or encoded for a frame nobody will see.

use std::sync::Mutex;

use gst::prelude::*;

/// Decides which frames pass, from their time stamps.
#[derive(Debug)]
pub struct RateGate {
    /// Time between frames at the view's rate.
    gap: gst::ClockTime,
    /// When the next frame is due; none before the first.
    next: Option<gst::ClockTime>,
}

impl RateGate {
    /// A gate for at most `fps` frames per second (`fps` ≥ 1).
    pub fn new(fps: u32) -> Self {
        Self {
            gap: gst::ClockTime::SECOND / u64::from(fps.max(1)),
            next: None,
        }
    }

    /// Whether the frame stamped `pts` passes. A frame up to a fifth of the gap early still
    /// passes (a room at exactly the view's rate jitters), and the schedule keeps its beat
    /// rather than restarting at each frame, so the rate is met on average; after a pause it
    /// starts again from the frame that ends it.
    pub fn pass(&mut self, pts: gst::ClockTime) -> bool {
        let tolerance = self.gap / 5;
        match self.next {
            Some(next) if pts + tolerance < next => false,
            Some(next) if pts < next + self.gap => {
                self.next = Some(next + self.gap);
                true
            }
            _ => {
                self.next = Some(pts + self.gap);
                true
            }
        }
    }

    /// The gate on `pad`: buffers it drops never reach the elements after it. Caps of a
    /// variable rate (`0/1`) or a higher one are given the view's rate, which encoders use to
    /// share out the bit rate.
    pub fn install(pad: &gst::Pad, fps: u32) {
        let gate = Mutex::new(Self::new(fps));
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(pts) = info.buffer().and_then(|buffer| buffer.pts()) else {
                return gst::PadProbeReturn::Ok;
            };
            let passes = gate
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pass(pts);
            if passes {
                gst::PadProbeReturn::Ok
            } else {
                gst::PadProbeReturn::Drop
            }
        });
        let rate = gst::Fraction::new(fps as i32, 1);
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            let Some(gst::EventView::Caps(caps)) = info.event().map(|e| e.view()) else {
                return gst::PadProbeReturn::Ok;
            };
            let mut caps = caps.caps().to_owned();
            let mut changed = false;
            for s in caps.make_mut().iter_mut() {
                let within = matches!(
                    s.get::<gst::Fraction>("framerate"),
                    Ok(current) if current.numer() != 0 && current <= rate
                );
                if !within {
                    s.set("framerate", rate);
                    changed = true;
                }
            }
            if changed {
                info.data = Some(gst::PadProbeData::Event(gst::event::Caps::new(&caps)));
            }
            gst::PadProbeReturn::Ok
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passed(fps: u32, room_fps: u64, seconds: u64) -> usize {
        let mut gate = RateGate::new(fps);
        (0..room_fps * seconds)
            .filter(|i| gate.pass(gst::ClockTime::SECOND * *i / room_fps))
            .count()
    }

    #[test]
    fn a_faster_room_is_thinned_to_the_view_s_rate() {
        assert_eq!(passed(15, 30, 10), 150);
        assert_eq!(passed(15, 60, 10), 150);
        assert_eq!(passed(10, 30, 10), 100);
    }

    #[test]
    fn a_room_at_or_below_the_rate_loses_nothing() {
        assert_eq!(passed(15, 15, 10), 150);
        assert_eq!(passed(15, 10, 10), 100);
        // Jitter of a few milliseconds around 15 fps.
        let mut gate = RateGate::new(15);
        let stamps = (0..150u64).map(|i| {
            let jitter = if i % 2 == 0 { 4 } else { 0 };
            gst::ClockTime::from_mseconds(i * 1000 / 15 + jitter)
        });
        assert_eq!(stamps.filter(|&pts| gate.pass(pts)).count(), 150);
    }

    #[test]
    fn after_a_pause_the_next_frame_passes() {
        let mut gate = RateGate::new(15);
        assert!(gate.pass(gst::ClockTime::ZERO));
        assert!(!gate.pass(gst::ClockTime::from_mseconds(10)));
        assert!(gate.pass(gst::ClockTime::from_seconds(5)));
        assert!(!gate.pass(gst::ClockTime::from_mseconds(5010)));
        assert!(gate.pass(gst::ClockTime::from_mseconds(5067)));
    }
}
