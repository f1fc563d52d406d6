//! The remote backend's work per model call outside the HTTP round trip: scaling the frame to
//! the configured edge, encoding it (JPEG/PNG, base64 data URL), building the JSON request and
//! reading a typical answer, at 1280×720 and 1920×1080, on the sandbox room's desktop (flat
//! colours, as many UIs) and on a textured frame (gradients and fine patterns, a harder case
//! for the encoders).
//!
//! `cargo bench --bench remote_vlm`

#[path = "support/median_time.rs"]
mod median_time;

use std::time::Duration;

use median_time::time;
use neko_agent::agent::{History, Mode, NavPrompt, parse_action};
use neko_agent::frame::RgbImage;
use neko_agent::remote::{
    ImageFormat, RemoteSettings, chat_completions_url, encode_image, parse_response, request_body,
};
use neko_sandbox::desktop::Desktop;

const ROUNDS: usize = 15;
const ANSWER: &str = r#"{"id":"gen-1","object":"chat.completion","model":"qwen/qwen2.5-vl-72b-instruct","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}","reasoning":"The red box is in the top left corner; clicking it opens it."}}],"usage":{"prompt_tokens":1432,"completion_tokens":27,"total_tokens":1459}}"#;

/// Makes an RGB frame of a size.
type FrameMaker = fn(u32, u32) -> Vec<u8>;

/// The sandbox room's desktop as RGB.
fn sandbox_desktop(width: u32, height: u32) -> Vec<u8> {
    let mut rgbx = vec![0u8; (width * height * 4) as usize];
    Desktop::new(width, height).render(0, 0, &mut rgbx);
    rgbx.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// A textured frame: flat bars, gradients and a fine pattern.
fn textured(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let texture = ((x * 7 + y * 13) % 31) as u8;
            let pixel = if y < height / 12 {
                [40, 44, 52]
            } else if x < width / 5 {
                [230, 230, 235]
            } else {
                [
                    (x * 255 / width) as u8 ^ texture,
                    (y * 255 / height) as u8,
                    200u8.wrapping_add(texture),
                ]
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    rgb
}

fn settings(format: ImageFormat) -> RemoteSettings {
    RemoteSettings {
        url: chat_completions_url("http://127.0.0.1:8000/v1").unwrap(),
        api_key: Some("key".into()),
        model: "qwen/qwen2.5-vl-72b-instruct".into(),
        site_url: None,
        app_name: "Neko Agent".into(),
        max_tokens: 512,
        temperature: 0.0,
        top_p: 1.0,
        reasoning: true,
        reasoning_effort: None,
        max_retries: 3,
        timeout: Duration::from_secs(60),
        backoff: Duration::from_secs(2),
        image_edge: 1280,
        image_format: format,
    }
}

fn main() {
    let mut history = History::new();
    history.push(
        parse_action(
            "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}",
            Mode::Web,
        )
        .unwrap(),
    );
    let messages = NavPrompt::new(Mode::Web).messages("Open the red box", &history);
    println!(
        "remote backend per call outside the HTTP round trip (median of {ROUNDS}, ms; edge 1280)"
    );
    println!(
        "| frame | content | format | sent | scale + encode + data URL | request JSON | answer parse | total | request size |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let contents: [(&str, FrameMaker); 2] =
        [("sandbox desktop", sandbox_desktop), ("textured", textured)];
    for ((width, height), (content, make)) in [(1280, 720), (1920, 1080)]
        .into_iter()
        .flat_map(|size| contents.map(|c| (size, c)))
    {
        let rgb = make(width, height);
        let image = RgbImage {
            width,
            height,
            data: rgb.clone(),
        };
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            let settings = settings(format);
            let encoded = encode_image(&image, settings.image_edge, format).unwrap();
            let encode = time(ROUNDS, || {
                encode_image(&image, settings.image_edge, format).unwrap()
            });
            let build = time(ROUNDS, || {
                request_body(&settings, &messages, &encoded.data_url)
            });
            let parse = time(ROUNDS, || parse_response(ANSWER.as_bytes()).unwrap());
            let body = request_body(&settings, &messages, &encoded.data_url);
            println!(
                "| {width}×{height} | {content} | {format:?} | {}×{} | {encode:.2} | {build:.2} | {parse:.3} | {:.2} | {:.0} KiB |",
                encoded.width,
                encoded.height,
                encode + build + parse,
                body.len() as f64 / 1024.0
            );
        }
    }
}
