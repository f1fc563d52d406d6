//! [`RgbImage`]: the one picture type the agent, the model and the tools pass around.

/// A packed RGB picture (3 bytes per pixel, rows without padding).
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The RGB value at a pixel.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.data[i], self.data[i + 1], self.data[i + 2]])
    }

    /// The part inside `x, y, width, height` (clamped to the picture).
    pub fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> RgbImage {
        let x = x.min(self.width);
        let y = y.min(self.height);
        let width = width.min(self.width - x);
        let height = height.min(self.height - y);
        let mut data = Vec::with_capacity((width * height * 3) as usize);
        for row in y..y + height {
            let start = (row as usize * self.width as usize + x as usize) * 3;
            data.extend_from_slice(&self.data[start..start + width as usize * 3]);
        }
        RgbImage {
            width,
            height,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_are_clamped_to_the_picture() {
        let image = RgbImage {
            width: 4,
            height: 2,
            data: (0..24).collect(),
        };
        let crop = image.crop(3, 1, 5, 5);
        assert_eq!((crop.width, crop.height), (1, 1));
        assert_eq!(crop.data, vec![21, 22, 23]);
        assert_eq!(image.pixel(1, 0), Some([3, 4, 5]));
        assert_eq!(image.pixel(4, 0), None);
    }
}
