//! The desktop itself: state, input handling and frame rendering.

use super::canvas::{BYTES_PER_PIXEL, Canvas};
use super::clipboard::Clipboard;
use super::held::Held;
use super::input::DesktopInput;
use super::keysym;
use super::layout::Layout;
use super::paint::{BaseScene, paint_base, paint_overlay};
use super::regions::{REGION_COUNT, Region, RegionView};
use super::scroll::ScrollStats;
use super::textbox::TextBox;
use crate::stamp;

/// Screen sides are clamped to `1..=MAX_SIDE` pixels.
const MAX_SIDE: u32 = 8192;
/// Mouse button that clicks regions.
const LEFT_BUTTON: u32 = 1;
/// Text lines one wheel event scrolls the text box by.
const SCROLL_LINES: i64 = 3;

/// The synthetic desktop of the sandbox room.
///
/// Feed it input with [`Desktop::apply`] and paint frames with [`Desktop::render`].
#[derive(Clone)]
pub struct Desktop {
    width: u32,
    height: u32,
    layout: Layout,
    regions: [Region; REGION_COUNT],
    text: TextBox,
    held: Held,
    cursor: (i32, i32),
    scroll: ScrollStats,
    base: Vec<u8>,
    dirty: bool,
}

impl Desktop {
    /// A fresh desktop of `width` × `height` pixels (each side clamped to 1..=8192),
    /// with the cursor in the middle.
    pub fn new(width: u32, height: u32) -> Self {
        let mut desktop = Self {
            width: 0,
            height: 0,
            layout: Layout::new(0, 0),
            regions: Region::all(),
            text: TextBox::default(),
            held: Held::default(),
            cursor: (0, 0),
            scroll: ScrollStats::default(),
            base: Vec::new(),
            dirty: true,
        };
        desktop.resize(width, height);
        let (w, h) = desktop.size();
        desktop.cursor = clamp_point(w, h, (w / 2) as i32, (h / 2) as i32);
        desktop
    }

    /// Changes the screen size (each side clamped to 1..=8192); the layout rescales
    /// and the cursor stays on screen.
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width.clamp(1, MAX_SIDE);
        self.height = height.clamp(1, MAX_SIDE);
        self.layout = Layout::new(self.width, self.height);
        self.base = vec![0; self.frame_len()];
        self.cursor = clamp_point(self.width, self.height, self.cursor.0, self.cursor.1);
        self.dirty = true;
    }

    /// The screen size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Bytes in one RGBx frame.
    fn frame_len(&self) -> usize {
        self.width as usize * self.height as usize * BYTES_PER_PIXEL
    }

    /// Applies one input event.
    pub fn apply(&mut self, input: &DesktopInput) {
        match input {
            DesktopInput::Move { x, y } => {
                self.cursor = clamp_point(self.width, self.height, *x, *y);
            }
            DesktopInput::ButtonDown { code } => self.button_down(*code),
            DesktopInput::ButtonUp { code } => self.held.release_button(*code),
            DesktopInput::Click { code } => {
                self.button_down(*code);
                self.held.release_button(*code);
            }
            DesktopInput::KeyDown { keysym } => self.key_down(*keysym),
            DesktopInput::KeyUp { keysym } => self.held.release_key(*keysym),
            DesktopInput::KeyPress { keysym } => {
                self.key_down(*keysym);
                self.held.release_key(*keysym);
            }
            DesktopInput::Scroll { delta_x, delta_y } => self.scroll(*delta_x, *delta_y),
            DesktopInput::Paste { text } => {
                self.text.paste(text);
                self.dirty = true;
            }
            DesktopInput::SetClipboard(clipboard) => self.text.set_clipboard(clipboard.clone()),
            DesktopInput::ReleaseAll => self.held.clear(),
        }
    }

    fn button_down(&mut self, code: u32) {
        self.held.press_button(code);
        if code != LEFT_BUTTON {
            return;
        }
        let (x, y) = self.cursor;
        let hit = self.layout.regions.iter().position(|r| r.contains(x, y));
        if let Some(region) = hit.and_then(|i| self.regions.get_mut(i)) {
            region.click();
            self.dirty = true;
        }
    }

    fn key_down(&mut self, key: u32) {
        self.held.press_key(key);
        let ctrl = self.held.ctrl();
        match key {
            keysym::BACKSPACE => self.text.backspace(),
            keysym::RETURN | keysym::KP_ENTER => self.text.insert("\n"),
            keysym::TAB => self.text.insert("\t"),
            _ if ctrl => match keysym::letter(key) {
                Some('a') => self.text.select_all(),
                Some('c') => self.text.copy(),
                Some('v') => self.text.paste_clipboard(),
                Some('x') => self.text.cut(),
                _ => return,
            },
            _ => match keysym::typed_char(key, self.held.shift()) {
                Some(c) => self.text.insert(c.encode_utf8(&mut [0; 4])),
                None => return,
            },
        }
        self.dirty = true;
    }

    fn scroll(&mut self, delta_x: i32, delta_y: i32) {
        self.scroll.record(delta_x, delta_y);
        let lines = -i64::from(delta_y.signum()) * SCROLL_LINES;
        let layout = &self.layout;
        self.text.scroll(lines, layout.text_cols, layout.text_rows);
        self.dirty = true;
    }

    /// Renders one frame as RGBx (4 bytes per pixel, stride = width * 4) into `out`
    /// (`width * height * 4` bytes), showing `frame_number` and carrying `stamp_ms`
    /// in the [`stamp`] strip. A shorter `out` gets the rows that fit.
    pub fn render(&mut self, frame_number: u64, stamp_ms: u64, out: &mut [u8]) {
        if self.dirty {
            self.repaint_base();
        }
        let n = out.len().min(self.base.len());
        out[..n].copy_from_slice(&self.base[..n]);
        let stride = self.width as usize * BYTES_PER_PIXEL;
        stamp::encode(&mut out[..n], stride, BYTES_PER_PIXEL, stamp_ms);
        let cursor = (self.cursor.0 as u32, self.cursor.1 as u32);
        let mut canvas = Canvas::new(&mut out[..n], self.width);
        paint_overlay(&mut canvas, &self.layout, frame_number, cursor);
    }

    fn repaint_base(&mut self) {
        let clicks: u32 = self.regions.iter().map(Region::clicks).sum();
        let status = format!(
            "clicks {clicks}   scroll {} {} ({} events)   {} chars",
            self.scroll.x,
            self.scroll.y,
            self.scroll.events,
            self.text.text().chars().count(),
        );
        let scene = BaseScene {
            layout: &self.layout,
            regions: &self.regions,
            text: &self.text,
            status: &status,
        };
        paint_base(&mut Canvas::new(&mut self.base, self.width), &scene);
        self.dirty = false;
    }

    /// Snapshots of the clickable regions, left to right.
    pub fn regions(&self) -> Vec<RegionView> {
        self.regions
            .iter()
            .zip(self.layout.regions)
            .map(|(region, rect)| region.view(rect))
            .collect()
    }

    /// The snapshot of the region called `name` (`"red"`, `"green"`, `"blue"` or `"yellow"`).
    pub fn region(&self, name: &str) -> Option<RegionView> {
        self.regions().into_iter().find(|r| r.name == name)
    }

    /// Everything the text box holds.
    pub fn text(&self) -> &str {
        self.text.text()
    }

    /// What the clipboard holds.
    pub fn clipboard(&self) -> &Clipboard {
        self.text.clipboard()
    }

    /// The pointer position, always on screen.
    pub fn cursor(&self) -> (i32, i32) {
        self.cursor
    }

    /// Keysyms currently held down.
    pub fn held_keys(&self) -> &[u32] {
        self.held.keys()
    }

    /// Mouse buttons currently held down.
    pub fn held_buttons(&self) -> &[u32] {
        self.held.buttons()
    }

    /// Totals of the scroll events received.
    pub fn scroll_stats(&self) -> ScrollStats {
        self.scroll
    }
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("size", &self.size())
            .field("regions", &self.regions)
            .field("text", &self.text)
            .field("held", &self.held)
            .field("cursor", &self.cursor)
            .field("scroll", &self.scroll)
            .finish_non_exhaustive()
    }
}

/// `(x, y)` moved onto a `width` × `height` screen.
fn clamp_point(width: u32, height: u32, x: i32, y: i32) -> (i32, i32) {
    let max_x = i32::try_from(width).unwrap_or(i32::MAX).saturating_sub(1);
    let max_y = i32::try_from(height).unwrap_or(i32::MAX).saturating_sub(1);
    (x.clamp(0, max_x.max(0)), y.clamp(0, max_y.max(0)))
}

#[cfg(test)]
#[path = "scene_tests.rs"]
mod tests;
