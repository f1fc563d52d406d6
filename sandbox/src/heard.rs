//! What the room heard, with arrival times, for tests to check: the microphone (audio that
//! clients send up, Neko's `can_share_media` path, §4.9, decoded) and the chat messages.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use gst::prelude::*;

/// Sample rate of everything the microphone keeps (mono S16).
pub const MICROPHONE_RATE: u32 = 48_000;

/// Most chat text the log keeps, in bytes; older messages are forgotten first.
pub const CHAT_LOG_BYTES: usize = 4 * 1024 * 1024;

/// Most audio the microphone keeps: the last 5 minutes (about 29 MB of samples).
pub const MICROPHONE_SAMPLES: usize = MICROPHONE_RATE as usize * 300;

/// A log that forgets its oldest entries once their total size passes a limit.
#[derive(Debug)]
struct BoundedLog<T> {
    entries: VecDeque<(T, usize)>,
    size: usize,
    limit: usize,
}

impl<T: Clone> BoundedLog<T> {
    fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            size: 0,
            limit,
        }
    }

    /// Appends `entry` of `size`, then drops the oldest entries until the total fits.
    fn push(&mut self, entry: T, size: usize) {
        self.entries.push_back((entry, size));
        self.size += size;
        while self.size > self.limit {
            match self.entries.pop_front() {
                Some((_, dropped)) => self.size -= dropped,
                None => break,
            }
        }
    }

    fn to_vec(&self) -> Vec<T> {
        self.entries
            .iter()
            .map(|(entry, _)| entry.clone())
            .collect()
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.size = 0;
    }
}

/// One decoded buffer as it reached the room.
#[derive(Debug, Clone)]
pub struct HeardAudio {
    /// When the room decoded it.
    pub at: Instant,
    /// The sending session.
    pub session_id: String,
    /// Mono S16 samples at [`MICROPHONE_RATE`].
    pub samples: Vec<i16>,
}

/// One chat message as the room received it.
#[derive(Debug, Clone)]
pub struct HeardChat {
    /// When it arrived.
    pub at: Instant,
    /// The sending session.
    pub session_id: String,
    /// Its text.
    pub text: String,
}

/// The microphone and the chat log.
#[derive(Debug)]
pub struct Heard {
    /// Audio sent up by clients.
    pub microphone: std::sync::Arc<Microphone>,
    chat: Mutex<BoundedLog<HeardChat>>,
}

impl Default for Heard {
    fn default() -> Self {
        Self {
            microphone: std::sync::Arc::default(),
            chat: Mutex::new(BoundedLog::new(CHAT_LOG_BYTES)),
        }
    }
}

impl Heard {
    /// Records one chat message.
    pub fn chat(&self, session_id: &str, text: &str) {
        self.chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(
                HeardChat {
                    at: Instant::now(),
                    session_id: session_id.to_owned(),
                    text: text.to_owned(),
                },
                text.len(),
            );
    }

    /// The chat messages received so far (the latest [`CHAT_LOG_BYTES`] of text).
    pub fn chat_messages(&self) -> Vec<HeardChat> {
        self.chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .to_vec()
    }
}

/// Everything heard so far (the last [`MICROPHONE_SAMPLES`]).
#[derive(Debug)]
pub struct Microphone {
    heard: Mutex<BoundedLog<HeardAudio>>,
}

impl Default for Microphone {
    fn default() -> Self {
        Self {
            heard: Mutex::new(BoundedLog::new(MICROPHONE_SAMPLES)),
        }
    }
}

impl Microphone {
    /// Every buffer heard, in arrival order.
    pub fn heard(&self) -> Vec<HeardAudio> {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .to_vec()
    }

    /// Forgets what was heard.
    pub fn clear(&self) {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn record(&self, session_id: &str, samples: Vec<i16>) {
        let size = samples.len();
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(
                HeardAudio {
                    at: Instant::now(),
                    session_id: session_id.to_owned(),
                    samples,
                },
                size,
            );
    }

    /// Everything heard as one mono S16 WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let samples: Vec<i16> = self
            .heard()
            .into_iter()
            .flat_map(|chunk| chunk.samples)
            .collect();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: MICROPHONE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
        // Writing to memory cannot fail, and the log is bounded far below WAV's 4 GiB.
        let mut writer = hound::WavWriter::new(&mut wav, spec).expect("a WAV header in memory");
        for sample in samples {
            writer.write_sample(sample).expect("a sample in memory");
        }
        writer.finalize().expect("a WAV file in memory");
        wav.into_inner()
    }

    /// Adds a decoder for one incoming Opus RTP pad of a peer pipeline; what it decodes is
    /// recorded for `session_id`.
    pub fn listen(
        self: &std::sync::Arc<Self>,
        pipeline: &gst::Pipeline,
        pad: &gst::Pad,
        session_id: &str,
    ) -> Result<(), ListenError> {
        let chain = gst::parse::bin_from_description(
            &format!(
                "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample \
                 ! audio/x-raw,format=S16LE,rate={MICROPHONE_RATE},channels=1 \
                 ! appsink name=heard sync=false emit-signals=false"
            ),
            true,
        )
        .map_err(ListenError::Build)?;
        let sink = chain
            .by_name("heard")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or(ListenError::NoAppsink)?;
        let microphone = self.clone();
        let session_id = session_id.to_owned();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let samples = map
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    microphone.record(&session_id, samples);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        pipeline.add(&chain).map_err(ListenError::Add)?;
        chain.sync_state_with_parent().map_err(ListenError::Add)?;
        let sink_pad = chain.static_pad("sink").ok_or(ListenError::NoSinkPad)?;
        pad.link(&sink_pad).map_err(ListenError::Link)?;
        Ok(())
    }
}

/// Why the room could not listen to a session's upstream audio.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The decoding chain could not be built.
    #[error("the microphone chain could not be built: {0}")]
    Build(#[source] gst::glib::Error),
    /// The chain has no appsink to read from.
    #[error("the microphone chain has no appsink")]
    NoAppsink,
    /// The chain could not join the peer's pipeline.
    #[error("the microphone chain could not be started: {0}")]
    Add(#[source] gst::glib::BoolError),
    /// The chain has no input.
    #[error("the chain has no sink pad")]
    NoSinkPad,
    /// The peer's audio pad did not link to the chain.
    #[error("the audio pad did not link to the microphone chain: {0:?}")]
    Link(#[source] gst::PadLinkError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_log_forgets_the_oldest_text_first() {
        let heard = Heard::default();
        let big = "c".repeat(CHAT_LOG_BYTES / 2);
        for _ in 0..5 {
            heard.chat("a", &big);
        }
        heard.chat("a", "latest");
        let kept = heard.chat_messages();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.last().map(|m| m.text.as_str()), Some("latest"));
    }

    #[test]
    fn wav_holds_every_sample_in_order() {
        let microphone = Microphone::default();
        microphone.record("a", vec![1, -2]);
        microphone.record("a", vec![3]);
        let wav = microphone.to_wav();
        assert_eq!(wav.len(), 44 + 6);
        assert_eq!(i16::from_le_bytes([wav[46], wav[47]]), -2);
        microphone.clear();
        assert!(microphone.heard().is_empty());
    }
}
