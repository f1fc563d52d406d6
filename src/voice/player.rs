//! The live end of the voice: a bounded queue of speech samples that feeds the voice pipeline's
//! appsrc one Opus frame at a time, and silence while there is nothing to say.
//!
//! The appsrc asks for the next frame only when the previous one left (nekosink paces the stream
//! in real time), so at most a frame or two sit inside the pipeline: `/yap:stop` clears the queue
//! and the room hears silence within a couple of frames. Producers block while the queue holds
//! `YAP_JITTER_MAX_SEC` of speech, so it never grows without bound and nothing is dropped.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gst::prelude::*;

/// The speech queue's format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerFormat {
    /// Samples per second.
    pub rate: u32,
    /// Interleaved channels (1 or 2).
    pub channels: u32,
    /// Frame duration in milliseconds.
    pub frame_ms: u32,
    /// Most speech queued, in seconds.
    pub capacity_sec: f64,
}

impl PlayerFormat {
    fn frame_samples(&self) -> usize {
        (self.rate as usize * self.frame_ms as usize / 1000) * self.channels as usize
    }

    fn capacity_samples(&self) -> usize {
        (self.capacity_sec * f64::from(self.rate)) as usize * self.channels as usize
    }

    fn caps(&self) -> gst::Caps {
        gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .field("layout", "interleaved")
            .field("rate", self.rate as i32)
            .field("channels", self.channels as i32)
            .build()
    }
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub struct PlayerCounters {
    /// Frames handed to the pipeline.
    pub frames: AtomicU64,
    /// Frames that carried speech.
    pub speech_frames: AtomicU64,
    /// Samples (all channels) accepted into the queue.
    pub samples_queued: AtomicU64,
}

struct Queue {
    samples: VecDeque<i16>,
    epoch: u64,
    next_pts: Option<gst::ClockTime>,
}

struct Shared {
    format: PlayerFormat,
    queue: Mutex<Queue>,
    space: Condvar,
    counters: PlayerCounters,
    save_dir: Option<PathBuf>,
    saved: AtomicU64,
}

/// Why speech was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayError {
    /// `/yap:stop` (or a newer utterance epoch) came first.
    #[error("stopped before it was queued")]
    Stopped,
}

/// The speech queue and its appsrc feeder.
#[derive(Clone)]
pub struct Player {
    shared: Arc<Shared>,
}

impl Player {
    /// A player with an empty queue; `save_dir` keeps a WAV of every chunk queued.
    pub fn new(format: PlayerFormat, save_dir: Option<PathBuf>) -> Self {
        Self {
            shared: Arc::new(Shared {
                format,
                queue: Mutex::new(Queue {
                    samples: VecDeque::new(),
                    epoch: 0,
                    next_pts: None,
                }),
                space: Condvar::new(),
                counters: PlayerCounters::default(),
                save_dir,
                saved: AtomicU64::new(0),
            }),
        }
    }

    /// The queue's format.
    pub fn format(&self) -> PlayerFormat {
        self.shared.format
    }

    /// Counters since start.
    pub fn counters(&self) -> &PlayerCounters {
        &self.shared.counters
    }

    /// Makes `appsrc` pull its frames from this player.
    pub fn attach(&self, appsrc: &gst_app::AppSrc) {
        let format = self.shared.format;
        appsrc.set_caps(Some(&format.caps()));
        appsrc.set_format(gst::Format::Time);
        appsrc.set_is_live(true);
        // One frame waiting in the appsrc at most: the queue lives here, where stop can clear it.
        appsrc.set_max_bytes((format.frame_samples() * 2) as u64);
        let shared = self.shared.clone();
        appsrc.set_callbacks(
            gst_app::AppSrcCallbacks::builder()
                .need_data(move |appsrc, _| shared.feed(appsrc))
                .build(),
        );
    }

    /// The current utterance epoch; speech queued under an older one is refused.
    pub fn epoch(&self) -> u64 {
        self.shared.lock().epoch
    }

    /// Queues interleaved samples, waiting while the queue is full. Fails once a stop has moved
    /// the epoch past `epoch`. Blocks: call it from a plain thread.
    pub fn push(&self, samples: &[i16], epoch: u64) -> Result<(), PlayError> {
        let shared = &self.shared;
        let capacity = shared
            .format
            .capacity_samples()
            .max(shared.format.frame_samples());
        let mut rest = samples;
        let mut queue = shared.lock();
        while !rest.is_empty() {
            if queue.epoch != epoch {
                return Err(PlayError::Stopped);
            }
            let room = capacity.saturating_sub(queue.samples.len());
            if room == 0 {
                queue = shared
                    .space
                    .wait_timeout(queue, Duration::from_millis(100))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            let take = room.min(rest.len());
            queue.samples.extend(&rest[..take]);
            shared
                .counters
                .samples_queued
                .fetch_add(take as u64, Ordering::Relaxed);
            rest = &rest[take..];
        }
        drop(queue);
        self.save(samples);
        Ok(())
    }

    /// Drops everything queued and refuses speech of the current epoch; returns the new epoch.
    pub fn stop(&self) -> u64 {
        let mut queue = self.shared.lock();
        queue.samples.clear();
        queue.epoch += 1;
        let epoch = queue.epoch;
        drop(queue);
        self.shared.space.notify_all();
        epoch
    }

    /// Speech waiting in the queue.
    pub fn queued(&self) -> Duration {
        let format = self.shared.format;
        let samples = self.shared.lock().samples.len();
        Duration::from_secs_f64(samples as f64 / f64::from(format.rate * format.channels))
    }

    fn save(&self, samples: &[i16]) {
        let Some(dir) = &self.shared.save_dir else {
            return;
        };
        let index = self.shared.saved.fetch_add(1, Ordering::Relaxed);
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let path = dir.join(format!("chunk_{stamp}_{index:04}.wav"));
        let format = self.shared.format;
        let spec = hound::WavSpec {
            channels: format.channels as u16,
            sample_rate: format.rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let written = std::fs::create_dir_all(dir)
            .map_err(hound::Error::from)
            .and_then(|()| {
                let mut writer = hound::WavWriter::create(&path, spec)?;
                for sample in samples {
                    writer.write_sample(*sample)?;
                }
                writer.finalize()
            });
        if let Err(error) = written {
            tracing::warn!(path = %path.display(), %error, "could not save the chunk (YAP_SAVE_AUDIO_DIR)");
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes the next frame: queued speech, padded with silence when it runs short.
    fn feed(&self, appsrc: &gst_app::AppSrc) {
        let frame = self.format.frame_samples();
        let duration = gst::ClockTime::from_mseconds(u64::from(self.format.frame_ms));
        let mut samples = Vec::with_capacity(frame);
        let pts = {
            let mut queue = self.lock();
            let take = frame.min(queue.samples.len());
            samples.extend(queue.samples.drain(..take));
            let pts = match queue.next_pts {
                Some(pts) => pts,
                None => running_time(appsrc),
            };
            queue.next_pts = Some(pts + duration);
            pts
        };
        self.space.notify_all();
        let speech = !samples.is_empty();
        samples.resize(frame, 0);
        let mut buffer = gst::Buffer::with_size(frame * 2).expect("a frame-sized buffer");
        {
            let buffer = buffer.get_mut().expect("a new buffer is writable");
            buffer.set_pts(pts);
            buffer.set_duration(duration);
            if let Ok(mut map) = buffer.map_writable() {
                for (bytes, sample) in map.chunks_exact_mut(2).zip(&samples) {
                    bytes.copy_from_slice(&sample.to_le_bytes());
                }
            }
        }
        self.counters.frames.fetch_add(1, Ordering::Relaxed);
        if speech {
            self.counters.speech_frames.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(error) = appsrc.push_buffer(buffer) {
            tracing::debug!(?error, "the voice pipeline refused a frame");
        }
    }
}

/// The pipeline's running time now (zero before it runs).
fn running_time(element: &impl IsA<gst::Element>) -> gst::ClockTime {
    match (element.clock(), element.base_time()) {
        (Some(clock), Some(base)) => clock.time().saturating_sub(base),
        _ => gst::ClockTime::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(capacity_sec: f64) -> Player {
        Player::new(
            PlayerFormat {
                rate: 1000,
                channels: 1,
                frame_ms: 20,
                capacity_sec,
            },
            None,
        )
    }

    #[test]
    fn a_full_queue_makes_producers_wait_until_stop() {
        let player = player(0.1);
        let epoch = player.epoch();
        player.push(&[1; 100], epoch).unwrap();
        assert_eq!(player.queued(), Duration::from_millis(100));
        let waiting = player.clone();
        let producer = std::thread::spawn(move || waiting.push(&[2; 10], epoch));
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            !producer.is_finished(),
            "a full queue must make the producer wait"
        );
        player.stop();
        assert_eq!(producer.join().unwrap(), Err(PlayError::Stopped));
        assert_eq!(player.queued(), Duration::ZERO);
        assert_eq!(player.push(&[3; 5], epoch), Err(PlayError::Stopped));
        assert!(player.push(&[3; 5], player.epoch()).is_ok());
    }

    #[test]
    fn saved_chunks_are_wav_files_named_like_the_python_tool() {
        let dir = tempfile::tempdir().unwrap();
        let player = Player::new(
            PlayerFormat {
                rate: 48_000,
                channels: 1,
                frame_ms: 20,
                capacity_sec: 1.0,
            },
            Some(dir.path().join("out")),
        );
        player.push(&[7; 480], player.epoch()).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with("chunk_") && names[0].ends_with("_0000.wav"));
    }

    #[test]
    fn frames_carry_speech_then_silence_with_contiguous_timestamps() {
        gst::init().unwrap();
        let player = player(1.0);
        let appsrc = gst_app::AppSrc::builder().build();
        let sink = gst_app::AppSink::builder().sync(false).build();
        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many([appsrc.upcast_ref::<gst::Element>(), sink.upcast_ref()])
            .unwrap();
        appsrc.link(&sink).unwrap();
        player.attach(&appsrc);
        player.push(&[1000; 30], player.epoch()).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut frames = Vec::new();
        for _ in 0..3 {
            let sample = sink.pull_sample().unwrap();
            let buffer = sample.buffer().unwrap();
            let map = buffer.map_readable().unwrap();
            let values: Vec<i16> = map
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            frames.push((buffer.pts().unwrap(), values));
        }
        pipeline.set_state(gst::State::Null).unwrap();
        assert_eq!(frames[0].1.len(), 20);
        assert!(frames[0].1.iter().all(|&s| s == 1000));
        assert_eq!(&frames[1].1[..10], &[1000; 10]);
        assert!(frames[1].1[10..].iter().all(|&s| s == 0));
        assert!(frames[2].1.iter().all(|&s| s == 0));
        let step = gst::ClockTime::from_mseconds(20);
        assert_eq!(frames[1].0, frames[0].0 + step);
        assert_eq!(frames[2].0, frames[1].0 + step);
        assert_eq!(player.counters().speech_frames.load(Ordering::Relaxed), 2);
    }
}
