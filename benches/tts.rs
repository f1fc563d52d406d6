//! Speech benchmark: eSpeak NG time to first audio and real-time factor, F5-TTS full loop on
//! the fixture graphs (preprocess, 31 transformer calls, decode), each followed by the shaping
//! pipeline (`pipelines/voice-shaping.toml`: rate, pitch, 48 kHz) as the speaker runs it, and
//! crossfade splicing throughput.
//!
//! `cargo bench --bench tts` (needs gstreamer1.0-espeak and ONNX Runtime in .ort/lib). The F5
//! fixture has no weights, so its numbers measure the engine's own overhead (reference decoding,
//! tensor building, RoPE tables fed 31 times, conversions), not F5-TTS's compute. The real-time
//! factor is synthesis time over audio duration (below 1 is faster than real time).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_agent::voice::cancel::CancelFlag;
use neko_agent::voice::shaping::Shaper;
use neko_agent::voice::splice::Splicer;
use neko_agent::voice::tts::espeak::{DEFAULT_ESPEAK_VOICE, EspeakTts};
use neko_agent::voice::tts::f5::{F5Options, F5Tts};
use neko_agent::voice::tts::{Synthesizer, VoiceReference, VoiceRequest};
use neko_agent::voice::voices::VoiceParams;

const SENTENCE: &str = "The quick brown fox jumps over the lazy dog, then naps in the warm sun.";
/// The speech queue's rate (`YAP_SR`'s default).
const OUTPUT_RATE: u32 = 48_000;
/// Params a `/yap:voice set --rate 1.25 --pitch 2` gives.
const SET_PARAMS: VoiceParams = VoiceParams {
    rate: 1.25,
    pitch: 2.0,
};

/// The shaping pipeline the app loads by default, for mono output at [`OUTPUT_RATE`].
fn shaper() -> Shaper {
    Shaper::load("voice-shaping", OUTPUT_RATE, 1).expect("the shaping pipeline loads")
}

/// Synthesises `text` with `engine`, then shapes it with `params` as the speaker does; returns
/// the time taken and the seconds of audio queued.
fn speak(
    engine: &dyn Synthesizer,
    shaper: &Shaper,
    text: &str,
    request: &VoiceRequest,
    params: &VoiceParams,
) -> (Duration, f64) {
    let cancel = CancelFlag::new();
    let started = Instant::now();
    let audio = engine
        .synthesize(text, request, &cancel)
        .expect("the engine speaks");
    let shaped = shaper
        .shape(&audio, engine.sample_rate(), params, &cancel)
        .expect("the audio is shaped");
    (
        started.elapsed(),
        shaped.len() as f64 / f64::from(OUTPUT_RATE),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and minimum of `runs` measurements of `f`.
fn measure<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, Duration, T) {
    let mut results: Vec<(Duration, T)> = (0..runs).map(|_| f()).collect();
    results.sort_by_key(|(d, _)| *d);
    let min = results[0].0;
    let (median, value) = results.swap_remove(runs / 2);
    (median, min, value)
}

/// Writes 3 s of a 16 kHz stereo tone as a WAV reference for the F5 fixture.
fn reference_wav() -> PathBuf {
    let path = std::env::temp_dir().join(format!("neko-tts-bench-{}.wav", std::process::id()));
    let description = format!(
        "audiotestsrc freq=220 volume=0.3 num-buffers=30 samplesperbuffer=1600 ! \
         audio/x-raw,format=S16LE,rate=16000,channels=2 ! wavenc ! filesink location={}",
        path.display()
    );
    let pipeline = gst::parse::launch(&description)
        .expect("the WAV pipeline parses")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline.set_state(gst::State::Playing).expect("it starts");
    let bus = pipeline.bus().expect("a bus");
    bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    )
    .expect("it ends");
    pipeline.set_state(gst::State::Null).expect("it stops");
    path
}

fn espeak_rows() {
    let engine = match EspeakTts::new(DEFAULT_ESPEAK_VOICE) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("eSpeak unavailable: {e}");
            return;
        }
    };
    let request = VoiceRequest::espeak(DEFAULT_ESPEAK_VOICE);
    let rate = f64::from(engine.sample_rate());
    let (median, min, ()) = measure(20, || {
        let started = Instant::now();
        let mut first = None;
        engine
            .synthesize_streaming(SENTENCE, &request, &CancelFlag::new(), &mut |_| {
                first.get_or_insert_with(|| started.elapsed());
            })
            .expect("eSpeak speaks");
        (first.expect("some audio"), ())
    });
    println!(
        "| eSpeak time to first audio ({} chars) | {:.2} | {:.2} |",
        SENTENCE.len(),
        ms(median),
        ms(min)
    );
    let (median, min, samples) = measure(20, || {
        let started = Instant::now();
        let audio = engine
            .synthesize(SENTENCE, &request, &CancelFlag::new())
            .expect("eSpeak speaks");
        (started.elapsed(), audio.len())
    });
    let seconds = samples as f64 / rate;
    println!(
        "| eSpeak whole sentence ({seconds:.2} s of audio; RTF {:.4}) | {:.2} | {:.2} |",
        median.as_secs_f64() / seconds,
        ms(median),
        ms(min)
    );
    let shaper = shaper();
    for (label, params) in [
        ("neutral voice", VoiceParams::default()),
        ("rate 1.25, pitch +2", SET_PARAMS),
    ] {
        let (median, min, seconds) =
            measure(20, || speak(&engine, &shaper, SENTENCE, &request, &params));
        println!(
            "| eSpeak sentence + shaping to 48 kHz, {label} ({seconds:.2} s; RTF {:.4}) | {:.2} | {:.2} |",
            median.as_secs_f64() / seconds,
            ms(median),
            ms(min)
        );
    }
}

fn f5_rows() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/f5-fixture");
    let started = Instant::now();
    let engine = match F5Tts::load(&F5Options::new(dir)) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("cannot load the F5 fixture: {e}");
            return;
        }
    };
    println!(
        "| F5 fixture load (3 sessions) | {:.2} | |",
        ms(started.elapsed())
    );
    let wav = reference_wav();
    let request = VoiceRequest {
        speaker: "bench".into(),
        reference: VoiceReference::Recording {
            audio: wav.clone(),
            text: Some("This is a three second reference recording.".into()),
        },
        params: VoiceParams::default(),
    };
    let rate = f64::from(engine.sample_rate());
    let (median, min, samples) = measure(10, || {
        let started = Instant::now();
        let audio = engine
            .synthesize(SENTENCE, &request, &CancelFlag::new())
            .expect("the fixture speaks");
        (started.elapsed(), audio.len())
    });
    let seconds = samples as f64 / rate;
    println!(
        "| F5 fixture full loop, 3 s reference ({seconds:.2} s of audio; RTF {:.4}) | {:.2} | {:.2} |",
        median.as_secs_f64() / seconds,
        ms(median),
        ms(min)
    );
    let shaper = shaper();
    let (median, min, seconds) = measure(10, || {
        speak(&engine, &shaper, SENTENCE, &request, &SET_PARAMS)
    });
    println!(
        "| F5 fixture full loop + shaping to 48 kHz, rate 1.25, pitch +2 ({seconds:.2} s; RTF {:.4}) | {:.2} | {:.2} |",
        median.as_secs_f64() / seconds,
        ms(median),
        ms(min)
    );
    let long = SENTENCE.repeat(12);
    let (median, min, samples) = measure(5, || {
        let started = Instant::now();
        let audio = engine
            .synthesize(&long, &request, &CancelFlag::new())
            .expect("the fixture speaks");
        (started.elapsed(), audio.len())
    });
    let seconds = samples as f64 / rate;
    println!(
        "| F5 fixture, {} chars in chunks ({seconds:.1} s of audio; RTF {:.4}) | {:.2} | {:.2} |",
        long.len(),
        median.as_secs_f64() / seconds,
        ms(median),
        ms(min)
    );
    let _ = std::fs::remove_file(wav);
}

fn splice_rows() {
    let rate = 48000;
    let chunk: Vec<f32> = (0..rate * 3)
        .map(|i| (i as f32 * 0.01).sin() * 0.3)
        .collect();
    let (median, min, frames) = measure(10, || {
        let mut splicer = Splicer::new(2, rate as u32, 30);
        let started = Instant::now();
        let mut frames = 0;
        for _ in 0..100 {
            frames += splicer.push(&chunk, 1).len() / 2;
        }
        frames += splicer.finish().len() / 2;
        (started.elapsed(), frames)
    });
    let audio_seconds = frames as f64 / f64::from(rate as u32);
    println!(
        "| splice 100 × 3 s mono chunks to 48 kHz stereo, 30 ms fades ({:.0}× real time) | {:.2} | {:.2} |",
        audio_seconds / median.as_secs_f64(),
        ms(median),
        ms(min)
    );
}

fn main() {
    gst::init().expect("GStreamer initialises");
    println!("| measurement | median ms | min ms |");
    println!("|---|---|---|");
    espeak_rows();
    f5_rows();
    splice_rows();
}
