//! Bitmap text drawing with the `font8x8` glyphs.
//!
//! Characters the font lacks are drawn as a hollow placeholder box.

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};
use font8x8::{BLOCK_FONTS, BOX_FONTS, GREEK_FONTS, HIRAGANA_FONTS, UnicodeFonts};

use super::canvas::{Canvas, Rgb};
use super::layout::Rect;

/// Width and height of an unscaled glyph, in pixels.
pub const GLYPH_SIZE: u32 = 8;

/// Drawn for characters the font does not have: a hollow square.
const PLACEHOLDER: [u8; 8] = [0xff, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xff];

/// How text is drawn: magnification and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// Each font pixel becomes a `scale` × `scale` square.
    pub scale: u32,
    /// Ink colour; the background is left untouched.
    pub color: Rgb,
}

/// The 8×8 bitmap of `c`: one byte per row, bit 0 is the leftmost pixel.
pub fn glyph(c: char) -> [u8; 8] {
    let code = c as usize;
    match code {
        0x20..=0x7e => BASIC_LEGACY[code],
        0xa0..=0xff => LATIN_LEGACY[code - 0xa0],
        _ => GREEK_FONTS
            .get(c)
            .or_else(|| BOX_FONTS.get(c))
            .or_else(|| BLOCK_FONTS.get(c))
            .or_else(|| HIRAGANA_FONTS.get(c))
            .unwrap_or(PLACEHOLDER),
    }
}

/// The first `max_chars` characters of `text`.
pub fn clip_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Draws `text` on one line with its top-left corner at `(x, y)`.
pub fn draw_text(canvas: &mut Canvas<'_>, x: u32, y: u32, style: TextStyle, text: &str) {
    let advance = GLYPH_SIZE * style.scale;
    let mut pen = x;
    for c in text.chars() {
        if c != ' ' {
            draw_glyph(canvas, pen, y, style, glyph(c));
        }
        pen = pen.saturating_add(advance);
    }
}

/// Draws one glyph, filling each horizontal run of set bits as a single rectangle.
fn draw_glyph(canvas: &mut Canvas<'_>, x: u32, y: u32, style: TextStyle, bits: [u8; 8]) {
    let s = style.scale;
    for (row, &byte) in (0u32..).zip(bits.iter()) {
        let mut col = 0;
        while col < GLYPH_SIZE {
            if byte >> col & 1 == 0 {
                col += 1;
                continue;
            }
            let start = col;
            while col < GLYPH_SIZE && byte >> col & 1 == 1 {
                col += 1;
            }
            let rect = Rect::new(
                x.saturating_add(start * s),
                y.saturating_add(row * s),
                (col - start) * s,
                s,
            );
            canvas.fill_rect(rect, style.color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::canvas::BYTES_PER_PIXEL;

    #[test]
    fn known_and_unknown_glyphs() {
        assert_ne!(glyph('A'), [0; 8]);
        assert_ne!(glyph('é'), [0; 8]);
        assert_eq!(glyph(' '), [0; 8]);
        assert_eq!(glyph('漢'), PLACEHOLDER);
        assert_eq!(glyph('\u{7}'), PLACEHOLDER);
    }

    #[test]
    fn clip_chars_respects_char_boundaries() {
        assert_eq!(clip_chars("héllo", 2), "hé");
        assert_eq!(clip_chars("hi", 5), "hi");
        assert_eq!(clip_chars("hi", 0), "");
    }

    #[test]
    fn placeholder_is_drawn_for_missing_glyphs() {
        let mut buf = vec![0u8; 32 * 16 * BYTES_PER_PIXEL];
        let mut canvas = Canvas::new(&mut buf, 32);
        let style = TextStyle {
            scale: 2,
            color: [255, 255, 255],
        };
        draw_text(&mut canvas, 0, 0, style, "漢");
        // Top-left corner of the hollow box is inked, its middle is not.
        assert_eq!(buf[0], 255);
        let middle = (7 * 32 + 7) * BYTES_PER_PIXEL;
        assert_eq!(buf[middle], 0);
    }

    #[test]
    fn text_off_screen_is_clipped() {
        let mut buf = vec![0u8; 4 * 4 * BYTES_PER_PIXEL];
        let mut canvas = Canvas::new(&mut buf, 4);
        let style = TextStyle {
            scale: 3,
            color: [1, 2, 3],
        };
        draw_text(&mut canvas, u32::MAX - 5, 2, style, "WWW");
        draw_text(&mut canvas, 0, 0, style, "W\u{10ffff}");
    }
}
