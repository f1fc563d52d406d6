//! The synthetic desktop the model benches feed the engine (and `bench_transformers.py` draws
//! the same way): a gradient background, coloured blocks and some texture, tightly packed RGB8.

/// A `width × height` desktop-like frame.
pub fn desktop_frame(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let block = (x / 160 + y / 90) % 4;
            rgb.extend_from_slice(&[
                ((x * 255 / width) ^ (block * 40)) as u8,
                (y * 255 / height) as u8,
                ((x * 7 + y * 13) % 251) as u8,
            ]);
        }
    }
    rgb
}
