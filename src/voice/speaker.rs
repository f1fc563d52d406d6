//! Turns text chunks into speech in the room: `YAP_PARALLEL` workers synthesise and shape chunks
//! concurrently; one assembler thread takes their results back in order, crossfades them
//! (`YAP_OVERLAP_MS`) and queues the samples on the [`Player`]. `stop` cancels synthesis under
//! way, forgets pending chunks and silences the player at once.
//!
//! Workers only run ahead of the chunk being played by `2 × YAP_PARALLEL` chunks, and the
//! player's queue is bounded, so a long text never piles up audio in memory.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::cancel::CancelFlag;
use super::pcm;
use super::player::Player;
use super::reorder::InOrder;
use super::shaping::{ShapeError, Shaper};
use super::splice::Splicer;
use super::tts::{Synthesizer, TtsError, VoiceRequest};

/// What the speaker reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeakerEvent {
    /// The first samples of a chunk were queued for the room.
    Speaking {
        /// The chunk's text.
        text: String,
        /// Seconds from `say` to the chunk's audio being queued.
        latency: f64,
    },
    /// A chunk could not be spoken; the rest go on.
    Failed {
        /// The chunk's text.
        text: String,
        /// Why.
        error: String,
    },
    /// Synthesis statistics for one chunk.
    Synthesised {
        /// Seconds of audio produced.
        audio: f64,
        /// Seconds spent producing it.
        work: f64,
    },
}

/// Why one chunk could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeakError {
    /// The engine failed.
    #[error(transparent)]
    Synthesis(#[from] TtsError),
    /// The shaping pipeline failed.
    #[error(transparent)]
    Shaping(#[from] ShapeError),
}

impl SpeakError {
    /// Whether the chunk was stopped on purpose (`/yap:stop`) rather than failing.
    fn is_cancelled(&self) -> bool {
        matches!(
            self,
            SpeakError::Synthesis(TtsError::Cancelled) | SpeakError::Shaping(ShapeError::Cancelled)
        )
    }
}

struct Job {
    seq: u64,
    epoch: u64,
    text: String,
    voice: VoiceRequest,
    cancel: CancelFlag,
    queued_at: Instant,
}

struct Done {
    seq: u64,
    epoch: u64,
    text: String,
    queued_at: Instant,
    audio: Result<Vec<f32>, SpeakError>,
}

enum ToAssembler {
    Done(Done),
    Stopped { next_seq: u64 },
}

#[derive(Default)]
struct Work {
    pending: VecDeque<Job>,
    next_seq: u64,
    /// First chunk whose turn has not come yet (workers stay within a window of it).
    playing_seq: u64,
    /// First chunk whose audio is not yet on the player's queue (or reported failed).
    queued_seq: u64,
    cancel: CancelFlag,
    closed: bool,
}

struct Shared {
    work: Mutex<Work>,
    ready: Condvar,
    window: u64,
    player: Player,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Work> {
        self.work.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The synthesis workers and the assembler.
pub struct Speaker {
    shared: Arc<Shared>,
    to_assembler: mpsc::Sender<ToAssembler>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// How the speaker is set up.
pub struct SpeakerConfig {
    /// The engine.
    pub engine: Arc<dyn Synthesizer>,
    /// Rate, pitch and output format.
    pub shaper: Shaper,
    /// Where the speech goes.
    pub player: Player,
    /// Synthesis workers.
    pub parallel: usize,
    /// Crossfade between chunks, in milliseconds.
    pub overlap_ms: u32,
}

impl Speaker {
    /// Starts the workers and the assembler; `events` receives what happens.
    pub fn start(config: SpeakerConfig, events: UnboundedSender<SpeakerEvent>) -> Self {
        let parallel = config.parallel.max(1);
        let shared = Arc::new(Shared {
            work: Mutex::new(Work::default()),
            ready: Condvar::new(),
            window: 2 * parallel as u64,
            player: config.player.clone(),
        });
        let (to_assembler, from_workers) = mpsc::channel();
        let mut threads = Vec::new();
        for index in 0..parallel {
            let shared = shared.clone();
            let engine = config.engine.clone();
            let shaper = config.shaper.clone();
            let done = to_assembler.clone();
            let events = events.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tts-worker-{index}"))
                .spawn(move || worker(&shared, engine.as_ref(), &shaper, &done, &events));
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(error) => tracing::error!(%error, "could not start a synthesis worker"),
            }
        }
        let format = config.player.format();
        let splicer = Splicer::new(format.channels as usize, format.rate, config.overlap_ms);
        let assembler_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("tts-assembler".into())
            .spawn(move || assemble(&assembler_shared, splicer, from_workers, &events));
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(error) => tracing::error!(%error, "could not start the speech assembler"),
        }
        Self {
            shared,
            to_assembler,
            threads,
        }
    }

    /// Queues `chunks` to be spoken with `voice`, after whatever is already queued.
    pub fn say(&self, chunks: Vec<String>, voice: &VoiceRequest) {
        let epoch = self.shared.player.epoch();
        let mut work = self.shared.lock();
        let now = Instant::now();
        for text in chunks.into_iter().filter(|c| !c.trim().is_empty()) {
            let seq = work.next_seq;
            work.next_seq += 1;
            let cancel = work.cancel.clone();
            work.pending.push_back(Job {
                seq,
                epoch,
                text,
                voice: voice.clone(),
                cancel,
                queued_at: now,
            });
        }
        drop(work);
        self.shared.ready.notify_all();
    }

    /// Stops speech under way: cancels synthesis, drops pending chunks and silences the player.
    pub fn stop(&self) {
        let mut work = self.shared.lock();
        work.cancel.cancel();
        work.cancel = CancelFlag::new();
        work.pending.clear();
        work.playing_seq = work.next_seq;
        work.queued_seq = work.next_seq;
        let next_seq = work.next_seq;
        self.shared.player.stop();
        drop(work);
        let _ = self.to_assembler.send(ToAssembler::Stopped { next_seq });
        self.shared.ready.notify_all();
    }

    /// Whether chunks are waiting, being synthesised, or not yet on the player's queue.
    pub fn busy(&self) -> bool {
        let work = self.shared.lock();
        !work.pending.is_empty() || work.queued_seq < work.next_seq
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop();
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        let (to_assembler, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.to_assembler, to_assembler));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Takes jobs within the window, synthesises and shapes them, hands them to the assembler.
fn worker(
    shared: &Shared,
    engine: &dyn Synthesizer,
    shaper: &Shaper,
    done: &mpsc::Sender<ToAssembler>,
    events: &UnboundedSender<SpeakerEvent>,
) {
    loop {
        let job = {
            let mut work = shared.lock();
            loop {
                if work.closed {
                    return;
                }
                let within = work
                    .pending
                    .front()
                    .is_some_and(|job| job.seq < work.playing_seq + shared.window);
                if within {
                    break work.pending.pop_front();
                }
                work = shared
                    .ready
                    .wait(work)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some(job) = job else { continue };
        let started = Instant::now();
        // The engine speaks plainly; the shaping pipeline applies the voice's rate and pitch.
        let audio = engine
            .synthesize(&job.text, &job.voice, &job.cancel)
            .map_err(SpeakError::from)
            .and_then(|samples| {
                let seconds = samples.len() as f64 / f64::from(engine.sample_rate());
                let _ = events.send(SpeakerEvent::Synthesised {
                    audio: seconds,
                    work: started.elapsed().as_secs_f64(),
                });
                shaper
                    .shape(
                        &samples,
                        engine.sample_rate(),
                        &job.voice.params,
                        &job.cancel,
                    )
                    .map_err(SpeakError::from)
            });
        let _ = done.send(ToAssembler::Done(Done {
            seq: job.seq,
            epoch: job.epoch,
            text: job.text,
            queued_at: job.queued_at,
            audio,
        }));
    }
}

/// Puts results back in order, crossfades them and queues them on the player.
fn assemble(
    shared: &Shared,
    mut splicer: Splicer,
    from_workers: mpsc::Receiver<ToAssembler>,
    events: &UnboundedSender<SpeakerEvent>,
) {
    let channels = splicer.channels();
    let mut in_order: InOrder<(String, Instant, Vec<f32>), (String, SpeakError)> = InOrder::new(0);
    for message in from_workers {
        let done = match message {
            ToAssembler::Stopped { next_seq } => {
                in_order.reset(next_seq);
                splicer.clear();
                continue;
            }
            ToAssembler::Done(done) => done,
        };
        if done.epoch != shared.player.epoch() || done.seq < in_order.next_seq() {
            continue;
        }
        let result = match done.audio {
            Ok(audio) => Ok((done.text, done.queued_at, audio)),
            Err(error) => Err((done.text, error)),
        };
        if let Err(error) = in_order.insert(done.seq, result) {
            tracing::debug!(%error, "a chunk result was not used");
            continue;
        }
        for (seq, result) in in_order.drain_ready() {
            match result {
                Ok((text, queued_at, audio)) => {
                    let mut samples = splicer.push(&audio, channels);
                    let last = {
                        let work = shared.lock();
                        work.pending.is_empty() && seq + 1 >= work.next_seq
                    };
                    if last {
                        // Nothing follows yet: hand over the held-back tail too.
                        samples.extend(splicer.finish());
                    }
                    let _ = events.send(SpeakerEvent::Speaking {
                        text,
                        latency: queued_at.elapsed().as_secs_f64(),
                    });
                    mark_playing(shared, seq + 1);
                    let pushed = shared.player.push(&pcm::to_i16(&samples), done.epoch);
                    mark_queued(shared, seq + 1);
                    if pushed.is_err() {
                        break;
                    }
                }
                Err((text, error)) => {
                    mark_playing(shared, seq + 1);
                    if !error.is_cancelled() {
                        let _ = events.send(SpeakerEvent::Failed {
                            text,
                            error: error.to_string(),
                        });
                    }
                    mark_queued(shared, seq + 1);
                }
            }
        }
    }
}

/// Moves the workers' window forward.
fn mark_playing(shared: &Shared, seq: u64) {
    let mut work = shared.lock();
    work.playing_seq = work.playing_seq.max(seq);
    drop(work);
    shared.ready.notify_all();
}

/// Records that a chunk's audio is on the player's queue, so `busy` can turn false.
fn mark_queued(shared: &Shared, seq: u64) {
    let mut work = shared.lock();
    work.queued_seq = work.queued_seq.max(seq);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::player::PlayerFormat;
    use crate::voice::tts::TtsError;
    use std::time::Duration;

    /// An engine whose chunks are constant tones: the value is the chunk's number, and chunks
    /// with lower numbers take longer, so parallel workers finish out of order.
    struct Numbered;

    impl Synthesizer for Numbered {
        fn name(&self) -> &str {
            "numbered"
        }

        fn sample_rate(&self) -> u32 {
            8_000
        }

        fn synthesize(
            &self,
            text: &str,
            _voice: &VoiceRequest,
            cancel: &CancelFlag,
        ) -> Result<Vec<f32>, TtsError> {
            let number: u32 = text.trim().parse().unwrap_or(0);
            if text.contains("fail") {
                return Err(TtsError::Voice {
                    engine: "numbered",
                    speaker: "x".into(),
                    reason: "asked to fail".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(u64::from(40 - number.min(4) * 10)));
            if cancel.is_cancelled() {
                return Err(TtsError::Cancelled);
            }
            Ok(vec![number as f32 / 10.0; 800])
        }
    }

    fn speaker(
        parallel: usize,
    ) -> (
        Speaker,
        Player,
        tokio::sync::mpsc::UnboundedReceiver<SpeakerEvent>,
    ) {
        gst::init().unwrap();
        let player = Player::new(
            PlayerFormat {
                rate: 8_000,
                channels: 1,
                frame_ms: 20,
                capacity_sec: 10.0,
            },
            None,
        );
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        let speaker = Speaker::start(
            SpeakerConfig {
                engine: Arc::new(Numbered),
                shaper: Shaper::load("voice-shaping", 8_000, 1).unwrap(),
                player: player.clone(),
                parallel,
                overlap_ms: 0,
            },
            events,
        );
        (speaker, player, received)
    }

    fn wait_idle(speaker: &Speaker) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while speaker.busy() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn parallel_chunks_are_spoken_in_order_and_failures_are_reported() {
        let (speaker, player, mut events) = speaker(3);
        let chunks = ["1", "2", "fail", "3", "4"].map(String::from).to_vec();
        speaker.say(chunks, &VoiceRequest::espeak("en-us"));
        wait_idle(&speaker);
        let spoken: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
            .filter_map(|e| match e {
                SpeakerEvent::Speaking { text, .. } => Some(text),
                SpeakerEvent::Failed { text, .. } => Some(format!("failed {text}")),
                SpeakerEvent::Synthesised { .. } => None,
            })
            .collect();
        assert_eq!(spoken, ["1", "2", "failed fail", "3", "4"]);
        assert_eq!(
            player
                .counters()
                .samples_queued
                .load(std::sync::atomic::Ordering::Relaxed),
            3_200
        );
    }

    #[test]
    fn stop_drops_pending_chunks_and_the_queue() {
        let (speaker, player, _events) = speaker(1);
        let chunks = (0..20).map(|_| "0".to_owned()).collect();
        speaker.say(chunks, &VoiceRequest::espeak("en-us"));
        std::thread::sleep(Duration::from_millis(100));
        speaker.stop();
        assert_eq!(player.queued(), Duration::ZERO);
        wait_idle(&speaker);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(player.queued(), Duration::ZERO, "nothing queued after stop");
        speaker.say(vec!["2".into()], &VoiceRequest::espeak("en-us"));
        wait_idle(&speaker);
        assert_eq!(player.queued(), Duration::from_millis(100));
    }
}
