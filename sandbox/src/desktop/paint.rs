//! What the desktop looks like: the cached base image and the per-frame overlay.

use super::canvas::{Canvas, Rgb};
use super::cursor::draw_cursor;
use super::font::{GLYPH_SIZE, TextStyle, clip_chars, draw_text};
use super::layout::{Layout, Rect};
use super::regions::Region;
use super::textbox::TextBox;

const BACKGROUND: Rgb = [58, 84, 110];
const TITLE_BAR: Rgb = [32, 36, 44];
const TITLE_INK: Rgb = [235, 235, 235];
const BOX_BORDER: Rgb = [30, 30, 30];
const BOX_FILL: Rgb = [250, 250, 246];
const BOX_SELECTED: Rgb = [190, 215, 250];
const BOX_INK: Rgb = [20, 20, 20];
const SCROLL_TRACK: Rgb = [215, 215, 215];
const SCROLL_THUMB: Rgb = [110, 110, 110];
const STATUS_INK: Rgb = [230, 235, 240];
const TITLE: &str = "neko sandbox desktop";

/// The state the base image shows.
pub struct BaseScene<'a> {
    /// Where everything goes.
    pub layout: &'a Layout,
    /// The clickable regions, in layout order.
    pub regions: &'a [Region],
    /// The text box contents.
    pub text: &'a TextBox,
    /// The status line under the text box.
    pub status: &'a str,
}

/// Paints everything that changes only with the desktop's state.
pub fn paint_base(canvas: &mut Canvas<'_>, scene: &BaseScene<'_>) {
    let layout = scene.layout;
    canvas.fill(BACKGROUND);
    canvas.fill_rect(layout.title, TITLE_BAR);
    let (x, y, chars) = layout.title_text;
    draw_text(
        canvas,
        x,
        y,
        style(layout, TITLE_INK),
        clip_chars(TITLE, chars),
    );
    for (region, &rect) in scene.regions.iter().zip(&layout.regions) {
        paint_region(canvas, layout, region, rect);
    }
    paint_text_box(canvas, layout, scene.text);
    let (x, y, chars) = layout.status;
    let status = clip_chars(scene.status, chars);
    draw_text(canvas, x, y, style(layout, STATUS_INK), status);
}

/// Paints what moves every frame: the frame counter and the mouse cursor at `cursor`.
pub fn paint_overlay(canvas: &mut Canvas<'_>, layout: &Layout, frame: u64, cursor: (u32, u32)) {
    let (x, y) = layout.counter;
    let counter = format!("frame {frame}");
    draw_text(canvas, x, y, style(layout, TITLE_INK), &counter);
    draw_cursor(canvas, cursor.0, cursor.1, layout.cursor_scale);
}

fn style(layout: &Layout, color: Rgb) -> TextStyle {
    TextStyle {
        scale: layout.scale,
        color,
    }
}

/// A solid block in the region's colour, its name at the top and click count at the bottom,
/// leaving the centre plain for colour sampling.
fn paint_region(canvas: &mut Canvas<'_>, layout: &Layout, region: &Region, rect: Rect) {
    canvas.fill_rect(rect, region.color());
    let cell = GLYPH_SIZE * layout.scale;
    let chars = (rect.w.saturating_sub(2 * layout.pad) / cell) as usize;
    let ink = style(layout, region.ink());
    let x = rect.x + layout.pad;
    draw_text(
        canvas,
        x,
        rect.y + layout.pad,
        ink,
        clip_chars(region.name(), chars),
    );
    let bottom = (rect.y + rect.h).saturating_sub(layout.pad + cell);
    let clicks = format!("clicks {}", region.clicks());
    draw_text(canvas, x, bottom, ink, clip_chars(&clicks, chars));
}

/// The framed text box with the visible lines, a caret and, when needed, a scroll bar.
fn paint_text_box(canvas: &mut Canvas<'_>, layout: &Layout, text: &TextBox) {
    let frame = layout.text_box;
    let fill = if text.is_selected() {
        BOX_SELECTED
    } else {
        BOX_FILL
    };
    canvas.fill_rect(frame, fill);
    canvas.stroke_rect(frame, layout.border, BOX_BORDER);

    let (cols, rows) = (layout.text_cols, layout.text_rows);
    let view = text.view(cols, rows);
    let (x, y) = layout.text_origin;
    let ink = style(layout, BOX_INK);
    let mut line_y = y;
    for line in &view.lines {
        draw_text(canvas, x, line_y, ink, line);
        line_y += layout.line_height;
    }

    let cell = GLYPH_SIZE * layout.scale;
    let at_bottom = view.first + view.lines.len() == view.total;
    if let (true, Some(last)) = (at_bottom, view.lines.last()) {
        let col = last.chars().count();
        if col < cols {
            let caret_x = x + col as u32 * cell;
            let caret_y = line_y - layout.line_height;
            canvas.fill_rect(Rect::new(caret_x, caret_y, layout.scale, cell), BOX_INK);
        }
    }

    if view.total > rows {
        let track = layout.scroll_track;
        canvas.fill_rect(track, SCROLL_TRACK);
        let (h, total) = (u64::from(track.h), view.total as u64);
        let thumb_h = (h * rows as u64 / total)
            .max(u64::from(4 * layout.scale))
            .min(h);
        let travel = h - thumb_h;
        let offset = travel * view.first as u64 / (total - rows as u64);
        let thumb = Rect::new(track.x, track.y + offset as u32, track.w, thumb_h as u32);
        canvas.fill_rect(thumb, SCROLL_THUMB);
    }
}
