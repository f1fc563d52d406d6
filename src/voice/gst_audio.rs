//! Short offline GStreamer pipelines that produce mono float audio: decoding a reference
//! recording, and the shared loop that runs a pipeline to its end and hands over what its appsink
//! receives.
//!
//! They run on the calling thread, as fast as the elements go (appsinks are not synchronised to a
//! clock), and check a [`CancelFlag`] between buffers.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use super::cancel::CancelFlag;

/// How long one wait for a buffer lasts before the cancel flag and the bus are checked again.
const POLL: gst::ClockTime = gst::ClockTime::from_mseconds(20);

/// A GStreamer audio pipeline could not be built or failed.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// GStreamer itself cannot start.
    #[error("GStreamer cannot be initialised: {0}")]
    Init(#[source] gst::glib::Error),
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
        /// What went wrong.
        #[source]
        reason: DecodeFailure,
    },
    /// A file decoded to no samples at all.
    #[error("{0} holds no audio samples")]
    Empty(PathBuf),
    /// The cancel flag was raised.
    #[error("cancelled")]
    Cancelled,
}

/// Why a file could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeFailure {
    /// There is no file at the path.
    #[error("no such file")]
    NoSuchFile,
    /// GStreamer's `filesrc` takes UTF-8 locations only.
    #[error("the path is not valid UTF-8")]
    NotUtf8,
    /// The decoding pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineFailure),
}

/// A pipeline would not start or failed while it ran.
#[derive(Debug, thiserror::Error)]
pub enum PipelineFailure {
    /// An element posted an error.
    #[error("{error}{}", .debug.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Posted {
        /// The element's error.
        #[source]
        error: gst::glib::Error,
        /// GStreamer's debug details.
        debug: Option<String>,
    },
    /// The state change failed without an error on the bus.
    #[error("it refused to start")]
    Refused,
    /// A buffer could not be mapped.
    #[error("a buffer cannot be read")]
    Unreadable,
}

/// Debian package of each element these pipelines use.
fn package_of(element: &str) -> &'static str {
    match element {
        "espeak" => "gstreamer1.0-espeak",
        "filesrc" | "capsfilter" => "gstreamer1.0 (core)",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Initialises GStreamer (once per process; later calls are cheap).
pub(crate) fn init() -> Result<(), AudioError> {
    gst::init().map_err(AudioError::Init)
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

/// The first error message on `bus`, if there is one.
fn bus_error(bus: &gst::Bus) -> Option<PipelineFailure> {
    let message = bus.pop_filtered(&[gst::MessageType::Error])?;
    match message.view() {
        gst::MessageView::Error(error) => Some(PipelineFailure::Posted {
            error: error.error(),
            debug: error.debug().map(|d| d.to_string()),
        }),
        _ => None,
    }
}

/// Sets `pipeline` playing; a failure reports the bus's error.
pub(crate) fn start(pipeline: &gst::Pipeline) -> Result<(), PipelineFailure> {
    if pipeline.set_state(gst::State::Playing).is_ok() {
        return Ok(());
    }
    let reason = pipeline
        .bus()
        .and_then(|bus| bus_error(&bus))
        .unwrap_or(PipelineFailure::Refused);
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
                    break Err(DrainError::Failed(PipelineFailure::Unreadable));
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
    /// The pipeline failed.
    Failed(PipelineFailure),
}

/// Decodes the audio file at `path` (any format GStreamer can decode) to mono float samples at
/// `rate` Hz: `filesrc ! decodebin ! audioconvert ! audioresample ! capsfilter ! appsink`.
pub fn decode_file(path: &Path, rate: u32, cancel: &CancelFlag) -> Result<Vec<f32>, AudioError> {
    init()?;
    let decode_error = |reason: DecodeFailure| AudioError::Decode {
        path: path.to_owned(),
        reason,
    };
    if !path.is_file() {
        return Err(decode_error(DecodeFailure::NoSuchFile));
    }
    let location = path
        .to_str()
        .ok_or_else(|| decode_error(DecodeFailure::NotUtf8))?;
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
    start(&pipeline).map_err(|e| decode_error(e.into()))?;
    let mut audio = Vec::new();
    drain(&pipeline, &sink, cancel, &mut |chunk| {
        audio.extend_from_slice(chunk)
    })
    .map_err(|e| match e {
        DrainError::Cancelled => AudioError::Cancelled,
        DrainError::Failed(reason) => decode_error(reason.into()),
    })?;
    if audio.is_empty() {
        return Err(AudioError::Empty(path.to_owned()));
    }
    Ok(audio)
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
}
