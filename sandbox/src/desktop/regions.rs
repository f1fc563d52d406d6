//! The clickable regions: names, colours and toggle state.
//!
//! Each region shows a saturated colour while idle and its RGB complement
//! (`255 - c`) while clicked, so the two are far apart even after lossy coding.

use serde::Serialize;

use super::canvas::Rgb;
use super::layout::Rect;

/// How many clickable regions the desktop has.
pub const REGION_COUNT: usize = 4;

/// Name and idle colour of each region, left to right.
const PALETTE: [(&str, Rgb); REGION_COUNT] = [
    ("red", [220, 40, 40]),
    ("green", [40, 180, 60]),
    ("blue", [40, 90, 220]),
    ("yellow", [230, 200, 40]),
];

/// A snapshot of one clickable region, as exposed to tests and control APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionView {
    /// The region's name, e.g. `"red"`.
    pub name: String,
    /// Where it is on the screen, in pixels.
    pub rect: Rect,
    /// The RGB colour it is painted in now.
    pub color: [u8; 3],
    /// Whether it is toggled on (an odd number of clicks).
    pub clicked: bool,
    /// How many left clicks it has received.
    pub clicks: u32,
}

/// State of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    name: &'static str,
    idle: Rgb,
    clicked: bool,
    clicks: u32,
}

impl Region {
    /// All regions, unclicked, in palette order.
    pub fn all() -> [Region; REGION_COUNT] {
        PALETTE.map(|(name, idle)| Region {
            name,
            idle,
            clicked: false,
            clicks: 0,
        })
    }

    /// The region's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many left clicks it has received.
    pub fn clicks(&self) -> u32 {
        self.clicks
    }

    /// The colour it is painted in now.
    pub fn color(&self) -> Rgb {
        if self.clicked {
            self.idle.map(|c| 255 - c)
        } else {
            self.idle
        }
    }

    /// Black or white, whichever reads better on [`Self::color`].
    pub fn ink(&self) -> Rgb {
        let [r, g, b] = self.color().map(u32::from);
        if r * 299 + g * 587 + b * 114 > 128_000 {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        }
    }

    /// Counts a click and flips the toggle.
    pub fn click(&mut self) {
        self.clicked = !self.clicked;
        self.clicks = self.clicks.saturating_add(1);
    }

    /// A snapshot of the region placed at `rect`.
    pub fn view(&self, rect: Rect) -> RegionView {
        RegionView {
            name: self.name.to_owned(),
            rect,
            color: self.color(),
            clicked: self.clicked,
            clicks: self.clicks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicking_toggles_to_a_distant_colour_and_back() {
        let mut red = Region::all()[0].clone();
        assert_eq!(red.color(), [220, 40, 40]);
        red.click();
        let active = red.color();
        let distance: i32 = active
            .iter()
            .zip([220, 40, 40])
            .map(|(&a, b)| (i32::from(a) - b).abs())
            .sum();
        assert!(distance > 300);
        red.click();
        let view = red.view(Rect::new(1, 2, 3, 4));
        assert_eq!(view.color, [220, 40, 40]);
        assert!(!view.clicked);
        assert_eq!(view.clicks, 2);
    }

    #[test]
    fn ink_contrasts() {
        let regions = Region::all();
        assert_eq!(regions[3].ink(), [0, 0, 0]);
        assert_eq!(regions[2].ink(), [255, 255, 255]);
    }
}
