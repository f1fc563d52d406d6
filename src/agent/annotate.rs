//! Debug pictures: the frame a step looked at (`FRAME_SAVE_PATH`) and the same frame with the
//! chosen action drawn on it (`CLICK_SAVE_PATH`); [`crate::frame::write_png`] saves them.

use std::path::{Path, PathBuf};

use font8x8::legacy::BASIC_LEGACY;

use crate::frame::RgbImage;

/// Where relative debug paths are put, as the Python agent does.
const DEBUG_ROOT: &str = "/tmp/neko-agent";

const RED: [u8; 3] = [230, 20, 20];
const WHITE: [u8; 3] = [255, 255, 255];

/// `path` as given when absolute, else under `/tmp/neko-agent/`.
pub fn debug_path(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_owned()
    } else {
        Path::new(DEBUG_ROOT).join(path)
    }
}

/// A copy of `image` with the action marked: a red crosshair (±10 px) and circle (r = 5) at
/// each point (normalised 0..1), a line between two points, and `label` in red on a white box
/// above the first point (top-left when there is no point).
pub fn draw_action(image: &RgbImage, points: &[(f64, f64)], label: &str) -> RgbImage {
    let mut out = image.clone();
    let to_pixels = |(x, y): (f64, f64)| {
        (
            (x.clamp(0.0, 1.0) * f64::from(image.width)) as i64,
            (y.clamp(0.0, 1.0) * f64::from(image.height)) as i64,
        )
    };
    let pixels: Vec<(i64, i64)> = points.iter().copied().map(to_pixels).collect();
    if let [a, b] = pixels[..] {
        line(&mut out, a, b);
    }
    for &(x, y) in &pixels {
        for d in -10..=10 {
            put(&mut out, x + d, y, RED);
            put(&mut out, x, y + d, RED);
        }
        circle(&mut out, (x, y), 5);
    }
    let (anchor_x, anchor_y) = pixels.first().copied().unwrap_or((0, 20));
    let text_width = 8 * label.chars().count() as i64;
    let left = (anchor_x - text_width / 2).clamp(0, (i64::from(out.width) - text_width).max(0));
    let top = (anchor_y - 24).max(0);
    for y in top..top + 12 {
        for x in left - 2..left + text_width + 2 {
            put(&mut out, x, y, WHITE);
        }
    }
    text(&mut out, left, top + 2, label);
    out
}

fn put(image: &mut RgbImage, x: i64, y: i64, color: [u8; 3]) {
    if x < 0 || y < 0 || x >= i64::from(image.width) || y >= i64::from(image.height) {
        return;
    }
    let i = (y as usize * image.width as usize + x as usize) * 3;
    image.data[i..i + 3].copy_from_slice(&color);
}

fn circle(image: &mut RgbImage, (cx, cy): (i64, i64), radius: i64) {
    for step in 0..64 {
        let angle = f64::from(step) * std::f64::consts::TAU / 64.0;
        let x = cx + (radius as f64 * angle.cos()).round() as i64;
        let y = cy + (radius as f64 * angle.sin()).round() as i64;
        put(image, x, y, RED);
    }
}

fn line(image: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64)) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for i in 0..=steps {
        let x = x0 + (x1 - x0) * i / steps;
        let y = y0 + (y1 - y0) * i / steps;
        put(image, x, y, RED);
    }
}

/// ASCII text with the 8×8 font; other characters are drawn as `?`.
fn text(image: &mut RgbImage, left: i64, top: i64, label: &str) {
    for (index, c) in label.chars().enumerate() {
        let code = if (0x20..0x7f).contains(&(c as u32)) {
            c as usize
        } else {
            '?' as usize
        };
        for (row, bits) in BASIC_LEGACY[code].iter().enumerate() {
            for column in 0..8 {
                if bits & (1 << column) != 0 {
                    put(
                        image,
                        left + 8 * index as i64 + column,
                        top + row as i64,
                        RED,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(width: u32, height: u32) -> RgbImage {
        RgbImage {
            width,
            height,
            data: vec![128; (width * height * 3) as usize],
        }
    }

    #[test]
    fn relative_debug_paths_go_under_tmp() {
        assert_eq!(
            debug_path("a/b.png"),
            PathBuf::from("/tmp/neko-agent/a/b.png")
        );
        assert_eq!(debug_path("/x/y.png"), PathBuf::from("/x/y.png"));
    }

    #[test]
    fn the_action_is_marked_at_its_point() {
        let image = grey(200, 100);
        let marked = draw_action(&image, &[(0.5, 0.5)], "1. CLICK: ok");
        assert_eq!(marked.pixel(100, 50), Some(RED));
        assert_eq!(marked.pixel(110, 50), Some(RED));
        assert_eq!(marked.pixel(120, 50), Some([128; 3]));
        // The label box sits above the point.
        assert!((26..38).any(|y| marked.pixel(100, y) == Some(WHITE)));
        let swipe = draw_action(&image, &[(0.1, 0.1), (0.9, 0.9)], "SWIPE");
        assert_eq!(swipe.pixel(100, 50), Some(RED));
    }
}
