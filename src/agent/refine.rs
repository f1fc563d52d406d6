//! Click refinement: re-ask the model on ever smaller crops around its point (python-reference
//! §2.5, the Python agent's `_generate_action`).
//!
//! Each step starts with the whole (downscaled) frame. While the action has a single point and
//! passes remain (`REFINEMENT_STEPS`, default [`DEFAULT_REFINEMENT_STEPS`], counts every model
//! call of a step including the first), the next crop is half the previous one per side
//! ([`CROP_RATIO`], but never under [`MIN_CROP_SIDE`] pixels), centred on the latest estimate
//! and shifted, not clipped, to stay inside the frame. Refinement stops once a crop is at most
//! 32 pixels both ways. The model's point in a crop is mapped back to the whole frame
//! ([`CropBox::to_frame`]), so actions always carry frame-normalised points.
//!
//! Deliberate differences from the Python agent, in [`Refinement`]:
//! * the first pass decides the action; later passes only move its point. Python lets a later
//!   pass replace the action, so a zoomed crop could turn a CLICK into ENTER or ANSWER;
//! * a later pass without a single point ends refinement and keeps the last point;
//! * `REFINEMENT_STEPS` below 1 still makes one model call (Python would make none and lose
//!   the step).

use super::action::{Coord, ModelAction, Position};

/// Model calls per step when `REFINEMENT_STEPS` is not set.
pub const DEFAULT_REFINEMENT_STEPS: u32 = 5;

/// Each crop's side as a fraction of the previous crop's.
pub const CROP_RATIO: f64 = 0.5;

/// The smallest crop side in pixels.
pub const MIN_CROP_SIDE: u32 = 32;

/// The size in pixels of the frame the model is shown (after downscaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl FrameSize {
    /// A frame of this size.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }
}

/// A rectangle of the frame in pixels; `right` and `bottom` are exclusive (a PIL crop box).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First column.
    pub left: u32,
    /// First row.
    pub top: u32,
    /// One past the last column.
    pub right: u32,
    /// One past the last row.
    pub bottom: u32,
}

impl CropBox {
    /// The whole frame.
    pub fn full(frame: FrameSize) -> Self {
        Self {
            left: 0,
            top: 0,
            right: frame.width,
            bottom: frame.height,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.right - self.left
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.bottom - self.top
    }

    /// A point given as fractions of this crop → fractions of the whole frame, both clamped
    /// to 0..=1.
    pub fn to_frame(&self, frame: FrameSize, local: Coord) -> Coord {
        let local = Coord::new(local.x.clamp(0.0, 1.0), local.y.clamp(0.0, 1.0));
        if *self == Self::full(frame) {
            return local;
        }
        let axis = |start: u32, side: u32, fraction: f64, full: u32| {
            let pixel = f64::from(start) + fraction * f64::from(side.max(1));
            (pixel / f64::from(full.max(1))).clamp(0.0, 1.0)
        };
        Coord::new(
            axis(self.left, self.width(), local.x, frame.width),
            axis(self.top, self.height(), local.y, frame.height),
        )
    }

    /// The next, smaller crop centred on `center` (fractions of the frame), or None once this
    /// crop is at most [`MIN_CROP_SIDE`] pixels both ways.
    pub fn next(&self, frame: FrameSize, center: Coord) -> Option<Self> {
        if frame.width == 0 || frame.height == 0 {
            return None;
        }
        if self.width() <= MIN_CROP_SIDE && self.height() <= MIN_CROP_SIDE {
            return None;
        }
        let (left, right) = shrink(self.width(), center.x, frame.width);
        let (top, bottom) = shrink(self.height(), center.y, frame.height);
        Some(Self {
            left,
            top,
            right,
            bottom,
        })
    }
}

/// One axis of the next crop: half of `side` (at least the minimum), centred on `center`,
/// shifted back inside `0..full`; Python's `int(max(0, min(c - new/2, full - new)))`.
fn shrink(side: u32, center: f64, full: u32) -> (u32, u32) {
    // Truncation, as Python's int(); the product is non-negative and below u32::MAX.
    let new = ((f64::from(side) * CROP_RATIO) as u32).max(MIN_CROP_SIDE);
    let middle = center.clamp(0.0, 1.0) * f64::from(full);
    let start = (middle - f64::from(new) / 2.0)
        .min(f64::from(full) - f64::from(new))
        .max(0.0) as u32;
    (start, full.min(start + new))
}

/// The crop shown to the model in pass `pass` of a step (0 is the whole frame), when every
/// earlier pass pointed at `center`; None when refinement would have stopped before it.
pub fn crop_for_pass(frame: FrameSize, center: Coord, pass: u32) -> Option<CropBox> {
    (0..pass).try_fold(CropBox::full(frame), |crop, _| crop.next(frame, center))
}

/// One step's refinement: which crop to show the model next, and the action so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Refinement {
    frame: FrameSize,
    passes: u32,
    pass: u32,
    crop: CropBox,
    best: Option<ModelAction>,
}

impl Refinement {
    /// A step on a frame of this size, with at most `refinement_steps` model calls (at least 1).
    pub fn new(frame: FrameSize, refinement_steps: u32) -> Self {
        Self {
            frame,
            passes: refinement_steps.max(1),
            pass: 0,
            crop: CropBox::full(frame),
            best: None,
        }
    }

    /// The crop to show the model in the current pass.
    pub fn crop(&self) -> CropBox {
        self.crop
    }

    /// The current pass, 0 for the whole frame.
    pub fn pass(&self) -> u32 {
        self.pass
    }

    /// Takes the model's action for the current pass (its point relative to [`Self::crop`]);
    /// true when another pass should run on the new [`Self::crop`].
    ///
    /// Call it only while it has returned true so far. When the model's output does not parse
    /// in a later pass, stop and [`Self::finish`], as Python keeps the previous action.
    pub fn accept(&mut self, action: ModelAction) -> bool {
        let point = action.point().map(|p| self.crop.to_frame(self.frame, p));
        match (&mut self.best, point) {
            (None, _) => {
                let mut action = action;
                if let Some(point) = point {
                    action.position = Some(Position::Point(point));
                }
                self.best = Some(action);
            }
            (Some(best), Some(point)) => best.position = Some(Position::Point(point)),
            (Some(_), None) => return false,
        }
        let Some(center) = point else {
            return false;
        };
        if self.pass + 1 >= self.passes {
            return false;
        }
        match self.crop.next(self.frame, center) {
            Some(next) => {
                self.crop = next;
                self.pass += 1;
                true
            }
            None => false,
        }
    }

    /// The action to perform, with its point in whole-frame fractions; None if none was accepted.
    pub fn finish(self) -> Option<ModelAction> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::action::ActionKind;

    const FRAME: FrameSize = FrameSize {
        width: 1344,
        height: 756,
    };

    fn bx(left: u32, top: u32, right: u32, bottom: u32) -> CropBox {
        CropBox {
            left,
            top,
            right,
            bottom,
        }
    }

    fn click(x: f64, y: f64) -> ModelAction {
        ModelAction {
            position: Some(Position::Point(Coord::new(x, y))),
            ..ModelAction::new(ActionKind::Click)
        }
    }

    /// The frame point `p` as fractions of `crop` (the inverse of `to_frame`).
    fn to_crop(crop: CropBox, p: Coord) -> Coord {
        Coord::new(
            (p.x * f64::from(FRAME.width) - f64::from(crop.left)) / f64::from(crop.width()),
            (p.y * f64::from(FRAME.height) - f64::from(crop.top)) / f64::from(crop.height()),
        )
    }

    #[test]
    fn crops_halve_down_to_the_floor() {
        let center = Coord::new(0.5, 0.5);
        let sizes: Vec<Option<(u32, u32)>> = (0..9)
            .map(|pass| crop_for_pass(FRAME, center, pass).map(|c| (c.width(), c.height())))
            .collect();
        assert_eq!(
            sizes,
            [
                Some((1344, 756)),
                Some((672, 378)),
                Some((336, 189)),
                Some((168, 94)),
                Some((84, 47)),
                Some((42, 32)),
                Some((32, 32)),
                None,
                None
            ]
        );
    }

    #[test]
    fn crops_are_centred_and_shifted_inside_the_frame() {
        let cases: &[((f64, f64), u32, CropBox)] = &[
            ((0.5, 0.5), 0, bx(0, 0, 1344, 756)),
            ((0.5, 0.5), 1, bx(336, 189, 1008, 567)),
            ((0.5, 0.5), 2, bx(504, 283, 840, 472)),
            ((0.0, 1.0), 1, bx(0, 378, 672, 756)),
            ((1.0, 0.0), 1, bx(672, 0, 1344, 378)),
            ((0.13, 0.24), 1, bx(0, 0, 672, 378)),
            ((0.13, 0.24), 2, bx(6, 86, 342, 275)),
            ((0.999, 0.001), 4, bx(1260, 0, 1344, 47)),
            // Out-of-range centres are clamped first.
            ((-3.0, 7.0), 1, bx(0, 378, 672, 756)),
        ];
        for ((x, y), pass, expected) in cases {
            let crop = crop_for_pass(FRAME, Coord::new(*x, *y), *pass);
            assert_eq!(crop, Some(*expected), "({x}, {y}) pass {pass}");
        }
    }

    #[test]
    fn small_frames() {
        let tiny = FrameSize::new(20, 10);
        assert_eq!(
            crop_for_pass(tiny, Coord::new(0.5, 0.5), 0),
            Some(bx(0, 0, 20, 10))
        );
        assert_eq!(crop_for_pass(tiny, Coord::new(0.5, 0.5), 1), None);
        // Wider than the floor one way only: the short side stays whole.
        let strip = FrameSize::new(100, 20);
        assert_eq!(
            crop_for_pass(strip, Coord::new(0.9, 0.5), 1),
            Some(bx(50, 0, 100, 20))
        );
        assert_eq!(
            crop_for_pass(strip, Coord::new(0.9, 0.5), 2),
            Some(bx(68, 0, 100, 20))
        );
        assert_eq!(crop_for_pass(strip, Coord::new(0.9, 0.5), 3), None);
        let empty = FrameSize::new(0, 0);
        assert_eq!(crop_for_pass(empty, Coord::new(0.5, 0.5), 1), None);
    }

    #[test]
    fn crop_points_map_back_to_the_frame() {
        let crop = bx(336, 189, 1008, 567);
        // (x, y in the crop) → (x, y in the frame).
        let cases: &[[f64; 4]] = &[
            [0.0, 0.0, 0.25, 0.25],
            [0.5, 0.5, 0.5, 0.5],
            [1.0, 1.0, 0.75, 0.75],
            [1.5, -0.2, 0.75, 0.25],
        ];
        for [lx, ly, fx, fy] in cases {
            let mapped = crop.to_frame(FRAME, Coord::new(*lx, *ly));
            assert_eq!(mapped, Coord::new(*fx, *fy), "({lx}, {ly})");
        }
        // The whole frame maps points onto themselves exactly, only clamping.
        let full = CropBox::full(FRAME);
        assert_eq!(
            full.to_frame(FRAME, Coord::new(0.13, 0.24)),
            Coord::new(0.13, 0.24)
        );
        assert_eq!(
            full.to_frame(FRAME, Coord::new(1.2, -1.0)),
            Coord::new(1.0, 0.0)
        );
    }

    #[test]
    fn round_trips_through_every_pass() {
        let targets = [
            (0.13, 0.24),
            (0.5, 0.5),
            (0.01, 0.99),
            (0.999, 0.0),
            (0.73, 0.21),
        ];
        for (x, y) in targets {
            let target = Coord::new(x, y);
            let mut pass = 0;
            while let Some(crop) = crop_for_pass(FRAME, target, pass) {
                let local = to_crop(crop, target);
                assert!((0.0..=1.0).contains(&local.x) && (0.0..=1.0).contains(&local.y));
                let back = crop.to_frame(FRAME, local);
                assert!(
                    (back.x - x).abs() < 1e-12 && (back.y - y).abs() < 1e-12,
                    "({x}, {y}) pass {pass}: {back:?}"
                );
                pass += 1;
            }
            assert_eq!(pass, 7, "({x}, {y})");
        }
    }

    #[test]
    fn refinement_runs_all_passes_for_a_click() {
        let mut refinement = Refinement::new(FRAME, DEFAULT_REFINEMENT_STEPS);
        let mut crops = vec![refinement.crop()];
        // A model that always points at the centre of what it sees.
        while refinement.accept(click(0.5, 0.5)) {
            crops.push(refinement.crop());
        }
        assert_eq!(refinement.pass(), 4);
        assert_eq!(crops.len(), 5);
        assert_eq!(crops[1], bx(336, 189, 1008, 567));
        // Odd heights truncate: each crop's centre is half a pixel above the previous one
        // (the Python agent's crops, too).
        assert_eq!(crops[4], bx(630, 353, 714, 400));
        let point = refinement.finish().and_then(|a| a.point());
        assert_eq!(point, Some(Coord::new(0.5, 376.5 / 756.0)));
    }

    #[test]
    fn refinement_converges_on_a_target() {
        let target = Coord::new(0.13, 0.24);
        let mut refinement = Refinement::new(FRAME, DEFAULT_REFINEMENT_STEPS);
        // A model that is 10 % of its view off, to the right, on every pass.
        loop {
            let crop = refinement.crop();
            let seen = to_crop(crop, target);
            if !refinement.accept(click(seen.x + 0.1, seen.y)) {
                break;
            }
        }
        let point = refinement.finish().and_then(|a| a.point()).unwrap();
        assert!((point.y - 0.24).abs() < 1e-12);
        // The last crop is 84 px wide, so the error is 8.4 px of 1344.
        assert!((point.x - (0.13 + 8.4 / 1344.0)).abs() < 1e-12, "{point:?}");
    }

    #[test]
    fn one_step_means_no_refinement() {
        for steps in [0, 1] {
            let mut refinement = Refinement::new(FRAME, steps);
            assert!(!refinement.accept(click(0.13, 0.24)), "{steps}");
            assert_eq!(refinement.finish(), Some(click(0.13, 0.24)));
        }
        let mut two = Refinement::new(FRAME, 2);
        assert!(two.accept(click(0.13, 0.24)));
        assert_eq!(two.crop(), bx(0, 0, 672, 378));
        assert!(!two.accept(click(0.5, 0.5)));
        assert_eq!(two.finish(), Some(click(0.25, 0.25)));
    }

    #[test]
    fn actions_without_a_point_are_not_refined() {
        let enter = ModelAction::new(ActionKind::Enter);
        let mut refinement = Refinement::new(FRAME, 5);
        assert!(!refinement.accept(enter.clone()));
        assert_eq!(refinement.finish(), Some(enter));

        let select = ModelAction {
            position: Some(Position::Range(Coord::new(0.1, 0.2), Coord::new(0.3, 0.4))),
            ..ModelAction::new(ActionKind::SelectText)
        };
        let mut refinement = Refinement::new(FRAME, 5);
        assert!(!refinement.accept(select.clone()));
        assert_eq!(refinement.finish(), Some(select));
    }

    #[test]
    fn later_passes_only_move_the_point() {
        let input = ModelAction {
            value: Some("hello".into()),
            position: Some(Position::Point(Coord::new(0.5, 0.5))),
            ..ModelAction::new(ActionKind::Input)
        };
        let mut refinement = Refinement::new(FRAME, 5);
        assert!(refinement.accept(input));
        // The crop pass answers CLICK: the kind and value of pass 0 stay, the point moves.
        assert!(refinement.accept(click(0.0, 0.0)));
        // Then an answer without a point: refinement stops and keeps the last point.
        assert!(!refinement.accept(ModelAction::new(ActionKind::Enter)));
        let done = refinement.finish().unwrap();
        assert_eq!(done.kind, ActionKind::Input);
        assert_eq!(done.value.as_deref(), Some("hello"));
        assert_eq!(done.point(), Some(Coord::new(0.25, 0.25)));
    }

    #[test]
    fn nothing_accepted_is_none() {
        assert_eq!(Refinement::new(FRAME, 5).finish(), None);
    }
}
