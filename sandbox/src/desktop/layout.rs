//! Geometry of the desktop: where each element sits for a given screen size.
//!
//! Everything is placed at fixed fractions of the screen so the scene scales
//! with the resolution; text and cursor sizes step with the height.

use serde::Serialize;

use super::font::GLYPH_SIZE;
use super::regions::REGION_COUNT;
use crate::stamp::{STAMP_HEIGHT, STAMP_WIDTH};

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    /// Creates a rectangle from its top-left corner and size.
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    /// Whether the pixel `(x, y)` lies inside the rectangle.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        let (x, y) = (i64::from(x), i64::from(y));
        let (left, top) = (i64::from(self.x), i64::from(self.y));
        x >= left && y >= top && x < left + i64::from(self.w) && y < top + i64::from(self.h)
    }

    /// The centre pixel.
    pub fn center(&self) -> (u32, u32) {
        (
            self.x.saturating_add(self.w / 2),
            self.y.saturating_add(self.h / 2),
        )
    }
}

/// Maximum number of characters the frame counter is laid out for ("frame " + 12 digits).
const COUNTER_CHARS: u32 = 18;

/// Positions of every element for one screen size.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Text magnification of the 8×8 font.
    pub scale: u32,
    /// Magnification of the mouse cursor sprite.
    pub cursor_scale: u32,
    /// Padding used around text, in pixels.
    pub pad: u32,
    /// The title bar across the top (the stamp strip overlays its left end).
    pub title: Rect,
    /// Where the title text starts and how many characters fit.
    pub title_text: (u32, u32, usize),
    /// Where the frame counter starts.
    pub counter: (u32, u32),
    /// The clickable regions, in palette order.
    pub regions: [Rect; REGION_COUNT],
    /// The text box frame.
    pub text_box: Rect,
    /// Thickness of the text box border.
    pub border: u32,
    /// Top-left of the first text line.
    pub text_origin: (u32, u32),
    /// Characters per text line.
    pub text_cols: usize,
    /// Visible text lines.
    pub text_rows: usize,
    /// Distance between text baselines.
    pub line_height: u32,
    /// Track of the text box scroll bar.
    pub scroll_track: Rect,
    /// Where the status line starts and how many characters fit.
    pub status: (u32, u32, usize),
}

/// `total * permille / 1000`.
fn frac(total: u32, permille: u32) -> u32 {
    u32::try_from(u64::from(total) * u64::from(permille) / 1000).unwrap_or(u32::MAX)
}

impl Layout {
    /// Lays the scene out on a `width` × `height` screen.
    pub fn new(width: u32, height: u32) -> Self {
        let scale = (height / 360).clamp(1, 3);
        let cursor_scale = (height / 540).clamp(1, 2);
        let cell = GLYPH_SIZE * scale;
        let pad = 4 * scale;

        let title = Rect::new(0, 0, width, (STAMP_HEIGHT + 2 * pad).max(height / 16));
        let text_y = title.h.saturating_sub(cell) / 2;
        let counter_x = width.saturating_sub(pad + COUNTER_CHARS * cell);
        let title_x = STAMP_WIDTH + 2 * pad;
        let title_chars = (counter_x.saturating_sub(title_x + pad) / cell) as usize;

        let regions = std::array::from_fn(|i| {
            let i = i as u32;
            Rect::new(
                frac(width, 40 + 240 * i),
                frac(height, 140),
                frac(width, 180),
                frac(height, 200),
            )
        });

        let text_box = Rect::new(
            frac(width, 40),
            frac(height, 400),
            frac(width, 920),
            frac(height, 440),
        );
        let border = scale;
        let inset = border + pad;
        let line_height = cell + 2 * scale;
        let bar = 2 * scale;
        let text_cols = text_box.w.saturating_sub(2 * inset + 2 * bar) / cell;
        let text_rows = text_box.h.saturating_sub(2 * inset) / line_height;
        let scroll_track = Rect::new(
            (text_box.x + text_box.w).saturating_sub(border + scale + bar),
            text_box.y + border + scale,
            bar,
            text_box.h.saturating_sub(2 * (border + scale)),
        );

        Self {
            scale,
            cursor_scale,
            pad,
            title,
            title_text: (title_x, text_y, title_chars),
            counter: (counter_x, text_y),
            regions,
            text_box,
            border,
            text_origin: (text_box.x + inset, text_box.y + inset),
            text_cols: text_cols as usize,
            text_rows: text_rows as usize,
            line_height,
            scroll_track,
            status: (text_box.x, frac(height, 880), (text_box.w / cell) as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_handles_edges_and_negatives() {
        let r = Rect::new(10, 20, 5, 5);
        assert!(r.contains(10, 20));
        assert!(r.contains(14, 24));
        assert!(!r.contains(15, 24));
        assert!(!r.contains(-1, 22));
        assert_eq!(r.center(), (12, 22));
    }

    #[test]
    fn regions_are_large_and_disjoint() {
        let layout = Layout::new(1280, 720);
        for pair in layout.regions.windows(2) {
            assert!(pair[0].x + pair[0].w < pair[1].x);
        }
        for r in layout.regions {
            assert!(r.w >= 128);
            assert!(r.y >= layout.title.h);
        }
        assert!(layout.text_cols > 40 && layout.text_rows > 5);
    }

    #[test]
    fn tiny_screens_do_not_underflow() {
        let layout = Layout::new(1, 1);
        assert_eq!(layout.text_cols, 0);
        assert_eq!(layout.scale, 1);
    }
}
