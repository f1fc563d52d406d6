//! The engine against the fixture graphs in `models/f5-fixture*` (see
//! `scripts/models/make_f5_fixture.py`): their output is a tone at 200 + 10·calls Hz, so the
//! tests can see that the transformer ran exactly 31 times, wired as the real model needs.

use std::path::{Path, PathBuf};

use super::*;
use crate::voice::gst_audio::decode_file;
use crate::voice::gst_audio::testing::write_wav;
use crate::voice::voices::VoiceParams;

const REF_TEXT: &str = "This is a default reference.";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

fn load(name: &str) -> F5Tts {
    F5Tts::load(&F5Options::new(fixture(name))).expect("the fixture loads")
}

/// A scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neko-f5-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 2 s, 16 kHz stereo reference of peak `volume`, and the request speaking with it.
fn reference(dir: &Path, volume: f64) -> (PathBuf, VoiceRequest) {
    let wav = dir.join("ref.wav");
    write_wav(&wav, 16000, 2, 2.0, volume);
    let request = VoiceRequest {
        speaker: "alice".into(),
        reference: VoiceReference::Recording {
            audio: wav.clone(),
            text: Some(REF_TEXT.into()),
        },
        params: VoiceParams::default(),
    };
    (wav, request)
}

/// Frequency from upward zero crossings.
fn frequency(samples: &[f32]) -> f32 {
    let crossings = samples
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f32 * F5_SAMPLE_RATE as f32 / samples.len() as f32
}

fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0, |m, s| m.max(s.abs()))
}

/// Samples the engine must produce for `gen_text`, from the duration maths written out.
fn expected_len(wav: &Path, gen_text: &str, rate: f32) -> usize {
    let n = decode_file(wav, 24000, &CancelFlag::new()).unwrap().len();
    let ref_frames = n / 256 + 1;
    let ref_text_bytes = "This is a default reference.  ".len();
    let generated = (ref_frames as f64 / ref_text_bytes as f64 * gen_text.len() as f64
        / f64::from(rate)) as usize;
    generated * 256
}

#[test]
fn the_full_loop_runs_31_transformer_calls_and_the_duration_maths_sets_the_length() {
    let engine = load("f5-fixture");
    assert_eq!(engine.sample_rate(), 24000);
    assert_eq!(engine.transformer_kind(), FloatKind::F32);
    assert_eq!(engine.execution_provider(), ExecutionProvider::Cpu);
    let dir = scratch("loop");
    let (wav, request) = reference(&dir, 0.3);
    let text = "Hello world, this is a test.";
    let audio = engine
        .synthesize(text, &request, &CancelFlag::new())
        .unwrap();
    assert_eq!(audio.len(), expected_len(&wav, text, 1.0));
    let hz = frequency(&audio);
    // 200 + 10 × 31; 30 or 32 calls would give 500 or 520 Hz, a miswired loop over 1 kHz.
    assert!((hz - 510.0).abs() < 3.0, "{hz} Hz");
    assert!((peak(&audio) - 0.25).abs() < 0.001, "{}", peak(&audio));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_float16_transformer_is_detected_and_fed_float16() {
    let engine = load("f5-fixture-fp16");
    assert_eq!(engine.transformer_kind(), FloatKind::F16);
    let dir = scratch("fp16");
    let (wav, request) = reference(&dir, 0.3);
    let text = "Hello world, this is a test.";
    let audio = engine
        .synthesize(text, &request, &CancelFlag::new())
        .unwrap();
    assert_eq!(audio.len(), expected_len(&wav, text, 1.0));
    assert!((frequency(&audio) - 510.0).abs() < 3.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn long_text_is_split_into_chunks_that_each_run_the_loop() {
    let engine = load("f5-fixture");
    let dir = scratch("chunks");
    let (wav, request) = reference(&dir, 0.3);
    let sentence = "This is one sentence of a long text, spoken in many chunks. ";
    let text = sentence.repeat(30);
    let samples = decode_file(&wav, 24000, &CancelFlag::new()).unwrap().len();
    let budget = ChunkBudget {
        ref_samples: samples,
        ref_text_bytes: normalise_ref_text(REF_TEXT).len(),
    };
    let chunks = budget.plan(text.trim()).unwrap();
    assert!(chunks.len() >= 4, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| budget.frames_for(c) <= MAX_FRAMES));
    let expected: usize = chunks
        .iter()
        .map(|c| (budget.frames_for(c) - ref_audio_frames(samples)) * HOP_LENGTH)
        .sum();
    let audio = engine
        .synthesize(&text, &request, &CancelFlag::new())
        .unwrap();
    assert_eq!(audio.len(), expected);
    assert!((frequency(&audio) - 510.0).abs() < 3.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn quiet_references_scale_the_output_back() {
    let engine = load("f5-fixture");
    let dir = scratch("quiet");
    // Peak 0.05: RMS 0.035, raised to 0.1 for the model; the output is scaled by 0.035 / 0.1.
    let (_, request) = reference(&dir, 0.05);
    let audio = engine
        .synthesize("Hello world, this is a test.", &request, &CancelFlag::new())
        .unwrap();
    let expected = 0.25 * 0.05 / std::f32::consts::SQRT_2 / 0.1;
    assert!((peak(&audio) - expected).abs() < 0.003, "{}", peak(&audio));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn short_text_is_spoken_at_speed_0_3() {
    let engine = load("f5-fixture");
    let dir = scratch("short");
    let (wav, request) = reference(&dir, 0.3);
    let audio = engine
        .synthesize("Hi.", &request, &CancelFlag::new())
        .unwrap();
    assert_eq!(audio.len(), expected_len(&wav, "Hi.", 0.3));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn voices_f5_cannot_use_are_explained() {
    let engine = load("f5-fixture");
    let cancel = CancelFlag::new();
    let error = engine
        .synthesize("Hello.", &VoiceRequest::espeak("en-us"), &cancel)
        .unwrap_err()
        .to_string();
    assert!(error.contains("needs a reference recording"), "{error}");
    let no_text = VoiceRequest {
        speaker: "bob".into(),
        reference: VoiceReference::Recording {
            audio: "bob.wav".into(),
            text: None,
        },
        params: VoiceParams::default(),
    };
    let error = engine.synthesize("Hello.", &no_text, &cancel).unwrap_err();
    assert!(error.to_string().contains("has no ref_text"), "{error}");
    let missing = VoiceRequest {
        reference: VoiceReference::Recording {
            audio: "/nonexistent/bob.wav".into(),
            text: Some("Hi.".into()),
        },
        ..no_text
    };
    let error = engine.synthesize("Hello.", &missing, &cancel).unwrap_err();
    assert!(matches!(error, TtsError::Audio(_)), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/bob.wav"),
        "{error}"
    );
    assert!(
        engine
            .synthesize("  ", &missing, &cancel)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_raised_flag_cancels() {
    let engine = load("f5-fixture");
    let dir = scratch("cancel");
    let (_, request) = reference(&dir, 0.3);
    let cancel = CancelFlag::new();
    cancel.cancel();
    assert!(matches!(
        engine.synthesize("Hello world, this is a test.", &request, &cancel),
        Err(TtsError::Cancelled)
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_models_say_where_to_get_them() {
    let error = F5Tts::load(&F5Options::new("/nonexistent/f5"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("/nonexistent/f5 does not exist"), "{error}");
    assert!(error.contains("H5N1AIDS/F5-TTS-ONNX"), "{error}");
    assert!(error.contains("YAP_F5_MODEL_DIR"), "{error}");

    let dir = scratch("missing-file");
    for name in ["F5_Preprocess.onnx", "F5_Transformer.onnx", "vocab.txt"] {
        std::fs::copy(fixture("f5-fixture").join(name), dir.join(name)).unwrap();
    }
    let error = F5Tts::load(&F5Options::new(&dir)).unwrap_err().to_string();
    assert!(error.contains("F5_Decode.onnx is missing"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn graphs_with_the_wrong_signature_are_refused() {
    let dir = scratch("signature");
    for name in F5_FILES {
        std::fs::copy(fixture("f5-fixture").join(name), dir.join(name)).unwrap();
    }
    // The decoder where the transformer belongs.
    std::fs::copy(
        fixture("f5-fixture").join("F5_Decode.onnx"),
        dir.join("F5_Transformer.onnx"),
    )
    .unwrap();
    let error = F5Tts::load(&F5Options::new(&dir)).unwrap_err().to_string();
    assert!(error.contains("F5_Transformer.onnx"), "{error}");
    assert!(error.contains("no input named noise"), "{error}");
    assert!(error.contains("DakeQQ/F5-TTS-ONNX"), "{error}");

    // A vocabulary that is not F5's.
    std::fs::copy(
        fixture("f5-fixture").join("F5_Transformer.onnx"),
        dir.join("F5_Transformer.onnx"),
    )
    .unwrap();
    std::fs::write(dir.join("vocab.txt"), "a\nb\n").unwrap();
    let error = F5Tts::load(&F5Options::new(&dir)).unwrap_err().to_string();
    assert!(
        error.contains("first line must be a single space"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_loop_checks_the_flag_between_transformer_calls() {
    let engine = load("f5-fixture");
    let cancel = CancelFlag::new();
    cancel.cancel();
    let mut graphs = engine.graphs.lock().unwrap();
    let ids = vec![1; 40];
    let result = graphs.generate(&[0i16; 4800], &ids, 40, &cancel);
    assert!(matches!(result, Err(GraphError::Cancelled)));
    let audio = graphs
        .generate(&[0i16; 4800], &ids, 40, &CancelFlag::new())
        .unwrap();
    // 4800 samples are 19 reference frames: (40 − 19) × 256 generated samples.
    assert_eq!(audio.len(), 21 * 256);
}
