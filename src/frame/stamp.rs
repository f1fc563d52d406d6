//! Reading the sandbox room's time stamp strip straight from a frame's mapped buffer, so
//! measuring latency costs a few rows of pixels, not a copy of the frame.

use neko_sandbox::stamp;

/// Milliseconds between the room stamping this picture and now, for a packed RGB sample that
/// carries a stamp; `None` for other formats, unstamped pictures and implausible values.
pub fn latency_ms(sample: &gst::Sample) -> Option<f64> {
    let info = gst_video::VideoInfo::from_caps(sample.caps()?).ok()?;
    if info.format() != gst_video::VideoFormat::Rgb {
        return None;
    }
    let map = sample.buffer()?.map_readable().ok()?;
    let sent = stamp::decode(map.as_slice(), info.stride()[0] as usize, 3)?;
    let modulus = 1u64 << stamp::VALUE_BITS;
    let elapsed = (stamp::now_ms() % modulus + modulus - sent % modulus) % modulus;
    // A wrapped or foreign value would be absurdly large: report nothing rather than garbage.
    (elapsed < 60_000).then_some(elapsed as f64)
}
