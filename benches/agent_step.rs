//! The agent's per-step work outside the model's graphs, on one 1920×1080 frame: frame → model
//! input (conversion, downscale, normalise and patch), then the rest of the step's bookkeeping
//! (settle fingerprint, prompt building, output parsing, event planning).
//!
//! `cargo bench --bench agent_step` (model compute itself: `cargo bench --bench model`)

#[path = "support/median_time.rs"]
mod median_time;

use median_time::time;
use neko_agent::agent::{History, Mode, NavPrompt, parse_action, to_input};
use neko_agent::frame::RawFrame;
use neko_agent::frame::RgbImage;
use neko_agent::input::{Screen, plan};
use neko_agent::model::{ImageProcessor, PreprocessorConfig, SHOWUI_MAX_PIXELS, SHOWUI_MIN_PIXELS};

fn frame_1080p() -> RawFrame {
    gst::init().expect("GStreamer initialises");
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, 1920, 1080)
        .build()
        .unwrap();
    let data: Vec<u8> = (0..info.size()).map(|i| (i * 7 % 251) as u8).collect();
    let sample = gst::Sample::builder()
        .buffer(&gst::Buffer::from_mut_slice(data))
        .caps(&info.to_caps().unwrap())
        .build();
    RawFrame::from_sample(1, sample)
}

fn main() {
    let frame = frame_1080p();
    let output = "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}";
    let mut history = History::new();
    history.push(parse_action(output, Mode::Web).unwrap());
    let prompt = NavPrompt::new(Mode::Web);
    let screen = Screen::new(1920, 1080);

    let config = PreprocessorConfig::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/showui-fixture/preprocessor_config.json"
    )))
    .unwrap();
    let processor = ImageProcessor::new(config, SHOWUI_MIN_PIXELS, SHOWUI_MAX_PIXELS).unwrap();
    let rgb = frame.to_rgb(1344).unwrap();
    let rows = [
        (
            "I420 1920×1080 → RGB 1344×756 (Lanczos)",
            time(30, || frame.to_rgb(1344).unwrap()),
        ),
        (
            "model input from it (normalise, patch)",
            time(30, || {
                let image = RgbImage {
                    width: rgb.width,
                    height: rgb.height,
                    data: rgb.data.clone(),
                };
                processor.preprocess(&image).unwrap()
            }),
        ),
        (
            "settle fingerprint",
            time(100, || frame.fingerprint().unwrap()),
        ),
        (
            "prompt messages (with history)",
            time(1000, || prompt.messages("Search the weather", &history)),
        ),
        (
            "parse model output",
            time(1000, || parse_action(output, Mode::Web).unwrap()),
        ),
        (
            "action → control events",
            time(1000, || {
                let action = parse_action(output, Mode::Web).unwrap();
                let execution = to_input(&action).unwrap();
                plan(&execution.input[0], &screen).unwrap()
            }),
        ),
    ];
    println!("agent step work outside the model graphs (median ms, this machine)");
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    for (name, ms) in &rows {
        println!("{name:<width$}  {ms:>8.3}");
    }
    let total: f64 = rows.iter().map(|(_, ms)| ms).sum();
    println!("{:<width$}  {total:>8.3}", "total");
}
