//! The mouse pointer sprite: a black-outlined white arrow whose tip is the hot spot.

use super::canvas::{Canvas, Rgb};
use super::layout::Rect;

/// The arrow, one string per row: `#` outline, `o` fill, `.` transparent.
const ARROW: [&str; 19] = [
    "#...........",
    "##..........",
    "#o#.........",
    "#oo#........",
    "#ooo#.......",
    "#oooo#......",
    "#ooooo#.....",
    "#oooooo#....",
    "#ooooooo#...",
    "#oooooooo#..",
    "#ooooooooo#.",
    "#oooooo#####",
    "#ooo#oo#....",
    "#oo##oo#....",
    "#o#..#oo#...",
    "##...#oo#...",
    "#.....#oo#..",
    "......#oo#..",
    ".......##...",
];

const OUTLINE: Rgb = [0, 0, 0];
const FILL: Rgb = [255, 255, 255];

/// Draws the arrow with its tip at `(x, y)`, each sprite pixel `scale` pixels wide.
pub fn draw_cursor(canvas: &mut Canvas<'_>, x: u32, y: u32, scale: u32) {
    for (row, line) in (0u32..).zip(ARROW) {
        for (col, cell) in (0u32..).zip(line.bytes()) {
            let color = match cell {
                b'#' => OUTLINE,
                b'o' => FILL,
                _ => continue,
            };
            let at = Rect::new(
                x.saturating_add(col * scale),
                y.saturating_add(row * scale),
                scale,
                scale,
            );
            canvas.fill_rect(at, color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::canvas::BYTES_PER_PIXEL;

    #[test]
    fn tip_is_at_the_hot_spot_and_edges_clip() {
        let mut buf = vec![7u8; 40 * 40 * BYTES_PER_PIXEL];
        let mut canvas = Canvas::new(&mut buf, 40);
        draw_cursor(&mut canvas, 10, 10, 2);
        draw_cursor(&mut canvas, 39, 39, 2);
        let tip = (10 * 40 + 10) * BYTES_PER_PIXEL;
        assert_eq!(&buf[tip..tip + 3], &OUTLINE);
        let inside = (16 * 40 + 12) * BYTES_PER_PIXEL;
        assert_eq!(&buf[inside..inside + 3], &FILL);
        assert_eq!(buf[0], 7);
    }
}
