//! What the room heard, with arrival times, for tests to check: the microphone (audio that
//! clients send up, Neko's `can_share_media` path, §4.9, decoded) and the chat messages.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use gst::prelude::*;

/// Sample rate of everything the microphone keeps (mono S16).
pub const MICROPHONE_RATE: u32 = 48_000;

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
#[derive(Debug, Default)]
pub struct Heard {
    /// Audio sent up by clients.
    pub microphone: std::sync::Arc<Microphone>,
    chat: Mutex<Vec<HeardChat>>,
}

impl Heard {
    /// Records one chat message.
    pub fn chat(&self, session_id: &str, text: &str) {
        self.chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(HeardChat {
                at: Instant::now(),
                session_id: session_id.to_owned(),
                text: text.to_owned(),
            });
    }

    /// Every chat message received so far.
    pub fn chat_messages(&self) -> Vec<HeardChat> {
        self.chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Everything heard so far.
#[derive(Debug, Default)]
pub struct Microphone {
    heard: Mutex<Vec<HeardAudio>>,
}

impl Microphone {
    /// Every buffer heard, in arrival order.
    pub fn heard(&self) -> Vec<HeardAudio> {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets what was heard.
    pub fn clear(&self) {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn record(&self, session_id: &str, samples: Vec<i16>) {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(HeardAudio {
                at: Instant::now(),
                session_id: session_id.to_owned(),
                samples,
            });
    }

    /// Everything heard as one mono S16 WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let samples: Vec<i16> = self
            .heard()
            .into_iter()
            .flat_map(|chunk| chunk.samples)
            .collect();
        crate::wav::encode(&samples, MICROPHONE_RATE, 1)
    }

    /// Adds a decoder for one incoming Opus RTP pad of a peer pipeline; what it decodes is
    /// recorded for `session_id`.
    pub fn listen(
        self: &std::sync::Arc<Self>,
        pipeline: &gst::Pipeline,
        pad: &gst::Pad,
        session_id: &str,
    ) -> Result<(), String> {
        let chain = gst::parse::bin_from_description(
            &format!(
                "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample \
                 ! audio/x-raw,format=S16LE,rate={MICROPHONE_RATE},channels=1 \
                 ! appsink name=heard sync=false emit-signals=false"
            ),
            true,
        )
        .map_err(|e| e.to_string())?;
        let sink = chain
            .by_name("heard")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or("the microphone chain has no appsink")?;
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
        pipeline.add(&chain).map_err(|e| e.to_string())?;
        chain.sync_state_with_parent().map_err(|e| e.to_string())?;
        let sink_pad = chain
            .static_pad("sink")
            .ok_or("the chain has no sink pad")?;
        pad.link(&sink_pad).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
