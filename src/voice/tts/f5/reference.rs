//! Reference recordings for F5-TTS: decoded to 24 kHz mono with GStreamer, raised to an RMS of
//! 0.1 when quieter (the official code; the output is scaled back by the same factor), as int16,
//! and kept per file until the file changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::text::F5_SAMPLE_RATE;
use crate::voice::cancel::CancelFlag;
use crate::voice::gst_audio::{AudioError, decode_file};
use crate::voice::pcm::to_i16;

/// RMS the reference is raised to when quieter.
pub const TARGET_RMS: f32 = 0.1;

/// A reference recording ready for `F5_Preprocess`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Mono 24 kHz samples, loudness-raised, as int16.
    pub samples: Vec<i16>,
    /// Factor to multiply the generated audio by (the original RMS over 0.1 when the reference
    /// was raised, else 1).
    pub output_gain: f32,
}

impl Reference {
    /// The reference from mono 24 kHz float samples. `None` when they are silent.
    pub fn from_samples(mut samples: Vec<f32>) -> Option<Self> {
        let rms = (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>()
            / samples.len().max(1) as f64)
            .sqrt() as f32;
        if rms <= f32::EPSILON {
            return None;
        }
        let mut output_gain = 1.0;
        if rms < TARGET_RMS {
            let gain = TARGET_RMS / rms;
            samples.iter_mut().for_each(|s| *s *= gain);
            output_gain = rms / TARGET_RMS;
        }
        Some(Self {
            samples: to_i16(&samples),
            output_gain,
        })
    }
}

/// Why a reference cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Decoding failed (or was cancelled).
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The recording is all silence.
    #[error("the reference audio {0} is silent; record the speaker saying its transcript")]
    Silent(PathBuf),
}

/// Decoded references by path, reloaded when the file's size or modification time changes.
#[derive(Debug, Default)]
pub struct ReferenceCache {
    entries: Mutex<HashMap<PathBuf, (Stamp, Arc<Reference>)>>,
}

/// What identifies one version of a file.
type Stamp = (Option<SystemTime>, u64);

impl ReferenceCache {
    /// The reference for `path`, decoded now or taken from the cache.
    pub fn get(&self, path: &Path, cancel: &CancelFlag) -> Result<Arc<Reference>, ReferenceError> {
        let stamp = std::fs::metadata(path)
            .map(|m| (m.modified().ok(), m.len()))
            .ok();
        if let Some(stamp) = stamp {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((cached, reference)) = entries.get(path)
                && *cached == stamp
            {
                return Ok(reference.clone());
            }
        }
        let samples = decode_file(path, F5_SAMPLE_RATE, cancel)?;
        let reference = Arc::new(
            Reference::from_samples(samples)
                .ok_or_else(|| ReferenceError::Silent(path.to_owned()))?,
        );
        if let Some(stamp) = stamp {
            self.entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(path.to_owned(), (stamp, reference.clone()));
        }
        Ok(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::gst_audio::testing::write_wav;

    #[test]
    fn quiet_references_are_raised_and_the_output_gain_undoes_it() {
        let quiet = vec![0.02f32, -0.02, 0.02, -0.02];
        let reference = Reference::from_samples(quiet).unwrap();
        // RMS 0.02 → × 5 → 0.1 = 3277 as int16.
        assert_eq!(reference.samples, vec![3277, -3277, 3277, -3277]);
        assert!((reference.output_gain - 0.2).abs() < 1e-6);
        let loud = Reference::from_samples(vec![0.5, -0.5]).unwrap();
        assert_eq!(loud.samples, vec![16384, -16384]);
        assert_eq!(loud.output_gain, 1.0);
        assert_eq!(Reference::from_samples(vec![0.0; 10]), None);
    }

    #[test]
    fn references_are_decoded_once_per_file_version() {
        let path = std::env::temp_dir().join(format!("neko-f5-ref-{}.wav", std::process::id()));
        write_wav(&path, 16000, 1, 0.5, 0.3);
        let cache = ReferenceCache::default();
        let cancel = CancelFlag::new();
        let first = cache.get(&path, &cancel).unwrap();
        assert!((first.samples.len() as i64 - 12000).abs() < 50);
        assert!(Arc::ptr_eq(&first, &cache.get(&path, &cancel).unwrap()));
        write_wav(&path, 16000, 1, 1.0, 0.3);
        let second = cache.get(&path, &cancel).unwrap();
        assert!((second.samples.len() as i64 - 24000).abs() < 50);
        std::fs::remove_file(&path).unwrap();
        let error = cache.get(&path, &cancel).unwrap_err().to_string();
        assert!(error.contains("cannot read audio from"), "{error}");
    }
}
