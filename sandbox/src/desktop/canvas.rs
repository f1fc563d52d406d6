//! A clipped RGBx drawing surface over a borrowed byte buffer.

use super::layout::Rect;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Bytes per pixel of every frame the desktop paints (RGBx).
pub const BYTES_PER_PIXEL: usize = 4;

/// Draws into an RGBx buffer whose stride is `width * 4`; everything is clipped.
pub struct Canvas<'a> {
    buf: &'a mut [u8],
    width: u32,
    height: u32,
}

impl<'a> Canvas<'a> {
    /// Wraps `buf`; the height is however many whole rows of `width` pixels it holds.
    pub fn new(buf: &'a mut [u8], width: u32) -> Self {
        let stride = width as usize * BYTES_PER_PIXEL;
        let rows = buf.len().checked_div(stride).unwrap_or(0);
        let height = u32::try_from(rows).unwrap_or(u32::MAX);
        Self { buf, width, height }
    }

    /// Fills the whole surface.
    pub fn fill(&mut self, color: Rgb) {
        self.fill_rect(Rect::new(0, 0, self.width, self.height), color);
    }

    /// Fills `rect`, clipped to the surface.
    pub fn fill_rect(&mut self, rect: Rect, color: Rgb) {
        let x0 = rect.x.min(self.width) as usize;
        let x1 = rect.x.saturating_add(rect.w).min(self.width) as usize;
        let y0 = rect.y.min(self.height) as usize;
        let y1 = rect.y.saturating_add(rect.h).min(self.height) as usize;
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let stride = self.width as usize * BYTES_PER_PIXEL;
        let start = y0 * stride + x0 * BYTES_PER_PIXEL;
        let first = start..start + (x1 - x0) * BYTES_PER_PIXEL;
        let pixel = [color[0], color[1], color[2], 0xff];
        for px in self.buf[first.clone()].chunks_exact_mut(BYTES_PER_PIXEL) {
            px.copy_from_slice(&pixel);
        }
        for row in 1..y1 - y0 {
            self.buf.copy_within(first.clone(), start + row * stride);
        }
    }

    /// Draws the `thickness`-pixel outline of `rect`, inside it.
    pub fn stroke_rect(&mut self, rect: Rect, thickness: u32, color: Rgb) {
        let t = thickness.min(rect.w).min(rect.h);
        let right = rect.x.saturating_add(rect.w) - t;
        let bottom = rect.y.saturating_add(rect.h) - t;
        self.fill_rect(Rect::new(rect.x, rect.y, rect.w, t), color);
        self.fill_rect(Rect::new(rect.x, bottom, rect.w, t), color);
        self.fill_rect(Rect::new(rect.x, rect.y, t, rect.h), color);
        self.fill_rect(Rect::new(right, rect.y, t, rect.h), color);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(buf: &[u8], width: u32, x: u32, y: u32) -> [u8; 4] {
        let i = (y * width + x) as usize * BYTES_PER_PIXEL;
        [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
    }

    #[test]
    fn fill_rect_is_clipped() {
        let mut buf = vec![0u8; 10 * 5 * BYTES_PER_PIXEL];
        let mut canvas = Canvas::new(&mut buf, 10);
        canvas.fill_rect(Rect::new(8, 3, 100, 100), [1, 2, 3]);
        canvas.fill_rect(Rect::new(50, 50, 3, 3), [9, 9, 9]);
        assert_eq!(pixel(&buf, 10, 9, 4), [1, 2, 3, 255]);
        assert_eq!(pixel(&buf, 10, 8, 3), [1, 2, 3, 255]);
        assert_eq!(pixel(&buf, 10, 7, 4), [0, 0, 0, 0]);
        assert_eq!(pixel(&buf, 10, 9, 2), [0, 0, 0, 0]);
    }

    #[test]
    fn stroke_leaves_the_inside_alone() {
        let mut buf = vec![0u8; 6 * 6 * BYTES_PER_PIXEL];
        let mut canvas = Canvas::new(&mut buf, 6);
        canvas.stroke_rect(Rect::new(0, 0, 6, 6), 1, [5, 5, 5]);
        assert_eq!(pixel(&buf, 6, 0, 0), [5, 5, 5, 255]);
        assert_eq!(pixel(&buf, 6, 5, 5), [5, 5, 5, 255]);
        assert_eq!(pixel(&buf, 6, 3, 3), [0, 0, 0, 0]);
    }

    #[test]
    fn odd_buffers_do_not_panic() {
        let mut empty: Vec<u8> = Vec::new();
        Canvas::new(&mut empty, 0).fill([1, 1, 1]);
        let mut short = vec![0u8; 7];
        Canvas::new(&mut short, 3).fill([1, 1, 1]);
        assert_eq!(short, vec![0u8; 7]);
    }
}
