//! What the live view draws on the picture: the last action's point (a crosshair), the step
//! number and action label, and a banner while a person has control. The agent reports its steps
//! and takeovers here; the branch's `overlaycomposition` draws the crosshair and its
//! `textoverlay` shows the text.

use std::sync::{Arc, Mutex, PoisonError};

use gst::prelude::*;

/// The crosshair colour (opaque magenta, BGRA bytes).
const CROSSHAIR_BGRA: [u8; 4] = [255, 0, 255, 255];

/// The colour of the bar along the bottom while a person has control (opaque amber, BGRA).
const BANNER_BGRA: [u8; 4] = [0, 170, 255, 255];

/// What the overlay shows now.
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    /// The last step's number and label, e.g. `step 2: CLICK`.
    label: Option<String>,
    /// Where the last action acted, in 0..1 of the frame.
    point: Option<(f64, f64)>,
    /// A person has control (takeover).
    paused: bool,
}

/// The live view's marks, shared by the agent's observer and the branch's overlay elements.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    state: Arc<Mutex<State>>,
    text: Arc<Mutex<Option<gst::Element>>>,
}

impl Marks {
    /// Marks with nothing to show yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows the text on `textoverlay` (its `text` property) from now on.
    pub(super) fn show_text_on(&self, textoverlay: gst::Element) {
        textoverlay.set_property("text", self.text());
        *self.text.lock().unwrap_or_else(PoisonError::into_inner) = Some(textoverlay);
    }

    /// Step `step` acted with `action` (the action's JSON, None when it had no usable action).
    pub fn step(&self, step: u32, action: Option<&str>) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (name, point) = action
                .map(describe_action)
                .unwrap_or_else(|| ("no usable action".to_owned(), None));
            state.label = Some(format!("step {step}: {name}"));
            state.point = point;
        }
        self.refresh_text();
    }

    /// A person has control (true) or gave it back (false).
    pub fn set_person_in_control(&self, paused: bool) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .paused = paused;
        self.refresh_text();
    }

    fn refresh_text(&self) {
        let text = self.text();
        if let Some(overlay) = &*self.text.lock().unwrap_or_else(PoisonError::into_inner) {
            overlay.set_property("text", text);
        }
    }

    /// Where the last action acted, in 0..1 of the frame.
    pub fn point(&self) -> Option<(f64, f64)> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .point
    }

    /// The text line(s) of the overlay.
    pub fn text(&self) -> String {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let label = state
            .label
            .as_deref()
            .unwrap_or("waiting for the first step");
        if state.paused {
            format!("PAUSED - person in control\n{label}")
        } else {
            label.to_owned()
        }
    }

    /// What is drawn over a `width × height` frame: the crosshair on the last point, and an
    /// amber bar along the bottom while a person has control; None when there is nothing.
    pub(super) fn composition(
        &self,
        width: u32,
        height: u32,
    ) -> Option<gst_video::VideoOverlayComposition> {
        let (point, paused) = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            (state.point, state.paused)
        };
        let mut rectangles = point
            .map(|point| crosshair(point, width, height))
            .unwrap_or_default();
        if paused {
            let bar = (height / 12).max(6);
            rectangles.extend(solid_rectangle(
                0,
                (height - bar) as i32,
                width,
                bar,
                BANNER_BGRA,
            ));
        }
        if rectangles.is_empty() {
            return None;
        }
        gst_video::VideoOverlayComposition::new(rectangles.iter()).ok()
    }
}

/// The crosshair's rectangles at `point` (0..1) of a `width × height` frame.
fn crosshair((x, y): (f64, f64), width: u32, height: u32) -> Vec<gst_video::VideoOverlayRectangle> {
    let arm = (width.max(height) / 30).max(12) as i32;
    let thickness = (width.max(height) / 200).max(3) as i32;
    let cx = (x.clamp(0.0, 1.0) * f64::from(width)) as i32;
    let cy = (y.clamp(0.0, 1.0) * f64::from(height)) as i32;
    let bars = [
        // Horizontal and vertical bars, each leaving a gap of `thickness` at the point.
        (cx - arm, cy - thickness / 2, arm - thickness, thickness),
        (
            cx + thickness,
            cy - thickness / 2,
            arm - thickness,
            thickness,
        ),
        (cx - thickness / 2, cy - arm, thickness, arm - thickness),
        (
            cx - thickness / 2,
            cy + thickness,
            thickness,
            arm - thickness,
        ),
    ];
    bars.into_iter()
        .filter_map(|(x, y, w, h)| clip(x, y, w, h, width as i32, height as i32))
        .filter_map(|(x, y, w, h)| solid_rectangle(x, y, w as u32, h as u32, CROSSHAIR_BGRA))
        .collect()
}

/// The rectangle `x, y, w, h` inside a `width × height` frame, or None when nothing is left.
fn clip(x: i32, y: i32, w: i32, h: i32, width: i32, height: i32) -> Option<(i32, i32, i32, i32)> {
    let (left, top) = (x.max(0), y.max(0));
    let (right, bottom) = ((x + w).min(width), (y + h).min(height));
    (right > left && bottom > top).then_some((left, top, right - left, bottom - top))
}

/// An opaque rectangle of `colour` (BGRA).
fn solid_rectangle(
    x: i32,
    y: i32,
    w: u32,
    h: u32,
    colour: [u8; 4],
) -> Option<gst_video::VideoOverlayRectangle> {
    let pixels: Vec<u8> = colour
        .iter()
        .copied()
        .cycle()
        .take((w * h * 4) as usize)
        .collect();
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    gst_video::VideoMeta::add(
        buffer.get_mut()?,
        gst_video::VideoFrameFlags::empty(),
        gst_video::VideoFormat::Bgra,
        w,
        h,
    )
    .ok()?;
    Some(gst_video::VideoOverlayRectangle::new_raw(
        &buffer,
        x,
        y,
        w,
        h,
        gst_video::VideoOverlayFormatFlags::PREMULTIPLIED_ALPHA,
    ))
}

/// The action's name (and value) for the label, and its point, from the step's action JSON.
fn describe_action(json: &str) -> (String, Option<(f64, f64)>) {
    let Ok(action) = serde_json::from_str::<serde_json::Value>(json) else {
        return ("?".to_owned(), None);
    };
    let name = action["action"].as_str().unwrap_or("?").to_owned();
    let label = match action["value"].as_str() {
        Some(value) if !value.is_empty() => {
            let value: String = value.chars().take(40).collect();
            format!("{name} \"{value}\"")
        }
        _ => name,
    };
    let point = action["position"]
        .as_array()
        .and_then(|p| Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?)));
    (label, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(marks: &Marks, action: &str) {
        marks.step(2, Some(action));
    }

    #[test]
    fn a_step_sets_the_label_and_the_point_and_a_takeover_the_banner() {
        let marks = Marks::new();
        assert_eq!(marks.text(), "waiting for the first step");
        step(
            &marks,
            r#"{"action": "CLICK", "value": null, "position": [0.25, 0.5]}"#,
        );
        assert_eq!(marks.text(), "step 2: CLICK");
        marks.set_person_in_control(true);
        assert_eq!(marks.text(), "PAUSED - person in control\nstep 2: CLICK");
        marks.set_person_in_control(false);
        assert_eq!(marks.text(), "step 2: CLICK");
        step(
            &marks,
            r#"{"action": "INPUT", "value": "weather", "position": null}"#,
        );
        assert_eq!(marks.text(), "step 2: INPUT \"weather\"");
    }

    #[test]
    fn the_crosshair_sits_on_the_point_and_stays_inside_the_frame() {
        gst::init().unwrap();
        let marks = Marks::new();
        assert!(marks.composition(320, 180).is_none(), "no point yet");
        step(&marks, r#"{"action": "CLICK", "position": [0.5, 0.5]}"#);
        let crosshair = marks.composition(320, 180).unwrap();
        assert_eq!(crosshair.n_rectangles(), 4);
        let (x, _, w, _) = crosshair.rectangle(0).unwrap().render_rectangle();
        assert!(
            x < 160 && x + w as i32 <= 160,
            "left bar ends before the point"
        );
        step(&marks, r#"{"action": "CLICK", "position": [1.0, 0.0]}"#);
        let corner = marks.composition(320, 180).unwrap();
        for i in 0..corner.n_rectangles() {
            let (x, y, w, h) = corner.rectangle(i).unwrap().render_rectangle();
            assert!(x >= 0 && y >= 0 && x + w as i32 <= 320 && y + h as i32 <= 180);
        }
    }
}

#[cfg(test)]
mod banner_tests {
    use super::*;

    #[test]
    fn a_person_in_control_adds_the_bar_along_the_bottom() {
        gst::init().unwrap();
        let marks = Marks::new();
        marks.set_person_in_control(true);
        let banner = marks.composition(320, 180).unwrap();
        assert_eq!(banner.n_rectangles(), 1);
        let (x, y, w, h) = banner.rectangle(0).unwrap().render_rectangle();
        assert_eq!((x, y + h as i32, w), (0, 180, 320));
        marks.set_person_in_control(false);
        assert!(marks.composition(320, 180).is_none());
    }
}
