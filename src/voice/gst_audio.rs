//! Short offline GStreamer pipelines that produce mono float audio: decoding a reference
//! recording, changing tempo and pitch (SoundTouch's `pitch` element), and the shared loop that
//! runs a pipeline to its end and hands over what its appsink receives.
//!
//! They run on the calling thread, as fast as the elements go (appsinks are not synchronised to a
//! clock), and check a [`CancelFlag`] between buffers.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use super::cancel::CancelFlag;
use super::voices::VoiceParams;

/// How long one wait for a buffer lasts before the cancel flag and the bus are checked again.
const POLL: gst::ClockTime = gst::ClockTime::from_mseconds(20);

/// A GStreamer audio pipeline could not be built or failed.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// GStreamer itself cannot start.
    #[error("GStreamer cannot be initialised: {0}")]
    Init(String),
    /// An element's plugin is not installed.
    #[error("the GStreamer element {element} is missing: install {package}")]
    MissingElement {
        /// Element factory name.
        element: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// A file cannot be read or decoded.
    #[error("cannot read audio from {path}: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What GStreamer reported.
        reason: String,
    },
    /// A file decoded to no samples at all.
    #[error("{0} holds no audio samples")]
    Empty(PathBuf),
    /// A pipeline failed.
    #[error("the {what} pipeline failed: {reason}")]
    Pipeline {
        /// Which pipeline.
        what: &'static str,
        /// What GStreamer reported.
        reason: String,
    },
    /// The cancel flag was raised.
    #[error("cancelled")]
    Cancelled,
}

/// Debian package of each element these pipelines use.
fn package_of(element: &str) -> &'static str {
    match element {
        "espeak" => "gstreamer1.0-espeak",
        "pitch" => "gstreamer1.0-plugins-bad (SoundTouch)",
        "filesrc" | "capsfilter" => "gstreamer1.0 (core)",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Initialises GStreamer (once per process; later calls are cheap).
pub(crate) fn init() -> Result<(), AudioError> {
    gst::init().map_err(|e| AudioError::Init(e.to_string()))
}

/// A new element from `factory`, or an error that names the package to install.
pub(crate) fn make(factory: &'static str) -> Result<gst::Element, AudioError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| AudioError::MissingElement {
            element: factory,
            package: package_of(factory),
        })
}

/// Caps of interleaved 32-bit float audio.
pub(crate) fn f32_caps(rate: u32, channels: u32) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", rate as i32)
        .field("channels", channels as i32)
        .build()
}

/// A `capsfilter` for mono float audio at `rate`.
pub(crate) fn mono_filter(rate: u32) -> Result<gst::Element, AudioError> {
    let filter = make("capsfilter")?;
    filter.set_property("caps", f32_caps(rate, 1));
    Ok(filter)
}

/// An appsink that takes buffers as fast as they come.
pub(crate) fn fast_sink() -> gst_app::AppSink {
    gst_app::AppSink::builder().sync(false).build()
}

/// SoundTouch's `pitch` element set to `params` (tempo factor, pitch factor), or `None` when the
/// params change nothing.
pub(crate) fn prosody_element(params: &VoiceParams) -> Result<Option<gst::Element>, AudioError> {
    if params.is_neutral() {
        return Ok(None);
    }
    let element = make("pitch")?;
    element.set_property("tempo", params.rate);
    element.set_property("pitch", params.pitch_factor());
    Ok(Some(element))
}

/// The text of the first error message on `bus`, if there is one.
fn bus_error(bus: &gst::Bus) -> Option<String> {
    let message = bus.pop_filtered(&[gst::MessageType::Error])?;
    match message.view() {
        gst::MessageView::Error(error) => Some(match error.debug() {
            Some(debug) => format!("{} ({debug})", error.error()),
            None => error.error().to_string(),
        }),
        _ => None,
    }
}

/// Sets `pipeline` playing; a failure reports the bus's error.
pub(crate) fn start(pipeline: &gst::Pipeline) -> Result<(), String> {
    if pipeline.set_state(gst::State::Playing).is_ok() {
        return Ok(());
    }
    let reason = pipeline
        .bus()
        .and_then(|bus| bus_error(&bus))
        .unwrap_or_else(|| "it refused to start".to_owned());
    let _ = pipeline.set_state(gst::State::Null);
    Err(reason)
}

/// Runs a started `pipeline` until `sink` sees the end of the stream, giving every buffer (mono
/// or interleaved F32LE) to `on_audio`; stops the pipeline in every case. Returns the bus's error
/// text if the pipeline fails, [`AudioError::Cancelled`] if `cancel` is raised.
pub(crate) fn drain(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    cancel: &CancelFlag,
    on_audio: &mut dyn FnMut(&[f32]),
) -> Result<(), DrainError> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let mut samples = Vec::new();
    let result = loop {
        if cancel.is_cancelled() {
            break Err(DrainError::Cancelled);
        }
        if let Some(reason) = bus_error(&bus) {
            break Err(DrainError::Failed(reason));
        }
        match sink.try_pull_sample(POLL) {
            Some(sample) => {
                let Some(buffer) = sample.buffer() else {
                    continue;
                };
                let Ok(map) = buffer.map_readable() else {
                    break Err(DrainError::Failed("a buffer cannot be read".to_owned()));
                };
                samples.clear();
                samples.extend(
                    map.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
                on_audio(&samples);
            }
            None if sink.is_eos() => break Ok(()),
            None => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Pushes mono F32LE `samples` at `rate` Hz into `source` as one buffer, then ends the stream.
pub(crate) fn feed_all(
    source: &gst_app::AppSrc,
    samples: &[f32],
    rate: u32,
) -> Result<gst::FlowSuccess, gst::FlowError> {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut buffer = gst::Buffer::from_mut_slice(bytes);
    {
        let buffer = buffer.get_mut().expect("a new buffer is writable");
        buffer.set_pts(gst::ClockTime::ZERO);
        buffer.set_duration(gst::ClockTime::from_nseconds(
            samples.len() as u64 * 1_000_000_000 / u64::from(rate),
        ));
    }
    source
        .push_buffer(buffer)
        .and_then(|_| source.end_of_stream())
}

/// Why [`drain`] stopped early.
#[derive(Debug)]
pub(crate) enum DrainError {
    /// The cancel flag was raised.
    Cancelled,
    /// The pipeline posted an error.
    Failed(String),
}

/// Decodes the audio file at `path` (any format GStreamer can decode) to mono float samples at
/// `rate` Hz: `filesrc ! decodebin ! audioconvert ! audioresample ! capsfilter ! appsink`.
pub fn decode_file(path: &Path, rate: u32, cancel: &CancelFlag) -> Result<Vec<f32>, AudioError> {
    init()?;
    let decode_error = |reason: String| AudioError::Decode {
        path: path.to_owned(),
        reason,
    };
    if !path.is_file() {
        return Err(decode_error("no such file".to_owned()));
    }
    let location = path
        .to_str()
        .ok_or_else(|| decode_error("the path is not valid UTF-8".to_owned()))?;
    let pipeline = gst::Pipeline::new();
    let source = make("filesrc")?;
    source.set_property("location", location);
    let decoder = make("decodebin")?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let filter = mono_filter(rate)?;
    let sink = fast_sink();
    pipeline
        .add_many([
            &source,
            &decoder,
            &convert,
            &resample,
            &filter,
            sink.upcast_ref(),
        ])
        .expect("fresh elements join a fresh pipeline");
    source.link(&decoder).expect("filesrc links to decodebin");
    gst::Element::link_many([&convert, &resample, &filter, sink.upcast_ref()])
        .expect("raw audio elements link");
    let convert_sink = convert
        .static_pad("sink")
        .expect("audioconvert has a sink pad");
    decoder.connect_pad_added(move |_, pad| {
        let is_audio = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|caps| caps.structure(0).map(|s| s.name().starts_with("audio/")))
            .unwrap_or(false);
        if is_audio && !convert_sink.is_linked() {
            let _ = pad.link(&convert_sink);
        }
    });
    start(&pipeline).map_err(decode_error)?;
    let mut audio = Vec::new();
    drain(&pipeline, &sink, cancel, &mut |chunk| {
        audio.extend_from_slice(chunk)
    })
    .map_err(|e| match e {
        DrainError::Cancelled => AudioError::Cancelled,
        DrainError::Failed(reason) => decode_error(reason),
    })?;
    if audio.is_empty() {
        return Err(AudioError::Empty(path.to_owned()));
    }
    Ok(audio)
}

/// `samples` (mono, `rate` Hz) played `params.rate` times faster and shifted by `params.pitch`
/// semitones, through SoundTouch; returned as they are when the params are neutral.
pub fn apply_prosody(
    samples: &[f32],
    rate: u32,
    params: &VoiceParams,
    cancel: &CancelFlag,
) -> Result<Vec<f32>, AudioError> {
    init()?;
    let Some(prosody) = prosody_element(params)? else {
        return Ok(samples.to_vec());
    };
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |reason: String| AudioError::Pipeline {
        what: "tempo/pitch",
        reason,
    };
    let pipeline = gst::Pipeline::new();
    let source = gst_app::AppSrc::builder()
        .caps(&f32_caps(rate, 1))
        .format(gst::Format::Time)
        .build();
    let convert_in = make("audioconvert")?;
    let convert_out = make("audioconvert")?;
    let filter = mono_filter(rate)?;
    let sink = fast_sink();
    let chain = [
        source.upcast_ref(),
        &convert_in,
        &prosody,
        &convert_out,
        &filter,
        sink.upcast_ref(),
    ];
    pipeline
        .add_many(chain)
        .expect("fresh elements join a fresh pipeline");
    gst::Element::link_many(chain).expect("raw audio elements link");
    start(&pipeline).map_err(failed)?;

    if let Err(flow) = feed_all(&source, samples, rate) {
        let _ = pipeline.set_state(gst::State::Null);
        return Err(failed(format!("the audio could not be fed in ({flow:?})")));
    }
    let mut out = Vec::with_capacity((samples.len() as f32 / params.rate) as usize + 1024);
    drain(&pipeline, &sink, cancel, &mut |chunk| {
        out.extend_from_slice(chunk)
    })
    .map_err(|e| match e {
        DrainError::Cancelled => AudioError::Cancelled,
        DrainError::Failed(reason) => failed(reason),
    })?;
    Ok(out)
}

/// Helpers for tests elsewhere in the voice module.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use gst::prelude::*;

    /// Writes a WAV file of `seconds` of a 440 Hz tone of peak `volume` at `rate` Hz, `channels`
    /// channels.
    pub(crate) fn write_wav(path: &Path, rate: u32, channels: u32, seconds: f32, volume: f64) {
        super::init().unwrap();
        let description = format!(
            "audiotestsrc freq=440 volume={volume} num-buffers={} samplesperbuffer={} ! \
             audio/x-raw,format=S16LE,rate={rate},channels={channels} ! wavenc ! filesink location={}",
            (seconds * 10.0) as u32,
            rate / 10,
            path.display()
        );
        let pipeline = gst::parse::launch(&description)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let message = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .unwrap();
        assert!(matches!(message.view(), gst::MessageView::Eos(_)));
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::testing::write_wav;
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Frequency estimated from upward zero crossings.
    fn frequency(samples: &[f32], rate: u32) -> f32 {
        let crossings = samples
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        crossings as f32 * rate as f32 / samples.len() as f32
    }

    #[test]
    fn a_stereo_wav_decodes_to_mono_at_the_asked_rate() {
        let path = std::env::temp_dir().join(format!("neko-decode-{}.wav", std::process::id()));
        write_wav(&path, 16000, 2, 1.0, 0.3);
        let audio = decode_file(&path, 24000, &CancelFlag::new()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!((audio.len() as i64 - 24000).abs() < 100, "{}", audio.len());
        let f = frequency(&audio, 24000);
        assert!((f - 440.0).abs() < 5.0, "{f}");
    }

    #[test]
    fn unreadable_files_are_named_in_the_error() {
        let missing = Path::new("/nonexistent/ref.wav");
        let error = decode_file(missing, 24000, &CancelFlag::new()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read audio from /nonexistent/ref.wav"),
            "{error}"
        );
        let path = std::env::temp_dir().join(format!("neko-notaudio-{}.wav", std::process::id()));
        std::fs::write(&path, b"this is not audio at all, just text").unwrap();
        let error = decode_file(&path, 24000, &CancelFlag::new()).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(error, AudioError::Decode { .. }), "{error}");
    }

    #[test]
    fn tempo_changes_length_and_pitch_changes_frequency() {
        let rate = 22050;
        let input = tone(300.0, rate, 2.0);
        let cancel = CancelFlag::new();
        let faster = apply_prosody(
            &input,
            rate,
            &VoiceParams {
                rate: 2.0,
                pitch: 0.0,
            },
            &cancel,
        )
        .unwrap();
        let ratio = faster.len() as f32 / input.len() as f32;
        assert!((ratio - 0.5).abs() < 0.05, "length ratio {ratio}");
        assert!((frequency(&faster, rate) - 300.0).abs() < 10.0);

        let higher = apply_prosody(
            &input,
            rate,
            &VoiceParams {
                rate: 1.0,
                pitch: 12.0,
            },
            &cancel,
        )
        .unwrap();
        let ratio = higher.len() as f32 / input.len() as f32;
        assert!((ratio - 1.0).abs() < 0.05, "length ratio {ratio}");
        let f = frequency(&higher[2000..higher.len() - 2000], rate);
        assert!((f - 600.0).abs() < 15.0, "{f}");

        let same = apply_prosody(&input, rate, &VoiceParams::default(), &cancel).unwrap();
        assert_eq!(same, input);
    }

    #[test]
    fn a_raised_flag_stops_the_pipeline() {
        let cancel = CancelFlag::new();
        cancel.cancel();
        let error = apply_prosody(
            &tone(300.0, 22050, 1.0),
            22050,
            &VoiceParams {
                rate: 1.5,
                pitch: 0.0,
            },
            &cancel,
        )
        .unwrap_err();
        assert!(matches!(error, AudioError::Cancelled));
    }
}
