//! Capture settings: the Python tool's `CAPTURE_*` variables (and matching flags), checked at
//! start with every problem reported at once.

use std::path::PathBuf;
use std::time::Duration;

use crate::mds::{Compression, MdsError, WriterOptions, parse_hash_list, parse_size_limit};

use super::remote::{RemoteUrl, RemoteUrlError};

/// Capture flags and variables as given (text, so that every mistake can be reported together).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Capture")]
pub struct CaptureOptions {
    /// Local MDS dataset directory (also the home of episodes in progress).
    #[arg(
        long = "out",
        visible_alias = "output",
        env = "CAPTURE_OUT",
        default_value = "./data/mds"
    )]
    pub out: PathBuf,
    /// Remote copy of the dataset: s3://bucket/prefix (AWS_* variables, S3_ENDPOINT_URL for
    /// MinIO, R2…); empty for none.
    #[arg(long, env = "CAPTURE_REMOTE", default_value = "")]
    pub remote: String,
    /// Keep shard files on disk after they are uploaded (0/1, true/false).
    #[arg(long = "keep-local", env = "CAPTURE_KEEP_LOCAL", default_value = "0")]
    pub keep_local: String,
    /// Shard compression: none, zstd[:1-22], gz[:0-9], bz2[:1-9], br[:0-11] or snappy.
    #[arg(long, env = "CAPTURE_COMPRESSION", default_value = "zstd:6")]
    pub compression: String,
    /// Shard size limit before a new shard starts, e.g. 512mb, 1gb (below 4gb).
    #[arg(
        long = "shard-size",
        env = "CAPTURE_SHARD_SIZE",
        default_value = "512mb"
    )]
    pub shard_size: String,
    /// Hashes recorded for every shard, comma-separated (sha1, md5, xxh64…); empty for none.
    #[arg(long, env = "CAPTURE_HASHES", default_value = "sha1")]
    pub hashes: String,
    /// Frames per second recorded during an episode.
    #[arg(long, env = "CAPTURE_FPS", default_value = "2.0")]
    pub fps: String,
    /// JPEG quality of recorded frames (0-100).
    #[arg(
        long = "jpeg-quality",
        env = "CAPTURE_JPEG_QUALITY",
        default_value = "85"
    )]
    pub jpeg_quality: String,
    /// Episodes with fewer frames are discarded.
    #[arg(long = "min-frames", env = "CAPTURE_MIN_FRAMES", default_value = "4")]
    pub min_frames: String,
    /// Seconds without an action (or without frames) after which an episode ends (reason
    /// timeout).
    #[arg(
        long = "episode-timeout",
        env = "CAPTURE_EPISODE_TIMEOUT",
        default_value = "900"
    )]
    pub episode_timeout: String,
    /// Seconds to keep trying pending uploads at exit before leaving them for the next start.
    #[arg(
        long = "upload-wait",
        env = "CAPTURE_UPLOAD_WAIT",
        default_value = "30"
    )]
    pub upload_wait: String,
}

impl Default for CaptureOptions {
    /// The defaults of the flags (and of the Python tool).
    fn default() -> Self {
        Self {
            out: PathBuf::from("./data/mds"),
            remote: String::new(),
            keep_local: "0".into(),
            compression: "zstd:6".into(),
            shard_size: "512mb".into(),
            hashes: "sha1".into(),
            fps: "2.0".into(),
            jpeg_quality: "85".into(),
            min_frames: "4".into(),
            episode_timeout: "900".into(),
            upload_wait: "30".into(),
        }
    }
}

/// Checked capture settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureSettings {
    /// Local dataset directory.
    pub out: PathBuf,
    /// Where shards are copied, if anywhere.
    pub remote: Option<RemoteUrl>,
    /// Keep shard files after a successful upload.
    pub keep_local: bool,
    /// Shard compression, hashes and size limit.
    pub writer: WriterOptions,
    /// Frames per second.
    pub fps: f64,
    /// JPEG quality, 0-100.
    pub jpeg_quality: u8,
    /// Fewest frames an episode needs to be kept.
    pub min_frames: u64,
    /// Inactivity after which an episode ends.
    pub episode_timeout: Duration,
    /// How long pending uploads are retried at exit.
    pub upload_wait: Duration,
}

/// Highest frame rate accepted (the stream itself rarely exceeds 30).
const MAX_FPS: f64 = 60.0;

/// One problem with the capture options; all of them are reported together.
#[derive(Debug, thiserror::Error)]
pub enum SettingProblem {
    /// `--out` is empty.
    #[error("--out/CAPTURE_OUT is empty: give the dataset directory")]
    NoOut,
    /// An option whose value is not accepted.
    #[error("{option}: {reason}")]
    Invalid {
        /// The flag and variable, e.g. `--fps/CAPTURE_FPS`.
        option: &'static str,
        /// What is wrong with the value.
        #[source]
        reason: SettingError,
    },
}

/// What is wrong with one option's value.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// A remote that is not an `s3://` URL.
    #[error(transparent)]
    Remote(#[from] RemoteUrlError),
    /// A compression, shard size or hash list that the dataset writer refuses.
    #[error(transparent)]
    Dataset(#[from] MdsError),
    /// Not a yes/no value.
    #[error("{0:?} is not a yes/no value: give 1 or 0 (true/false, yes/no, on/off)")]
    NotBool(String),
    /// Not a finite number.
    #[error("{text:?} is not a number of {what}")]
    NotNumber {
        /// The value given.
        text: String,
        /// What it counts, e.g. `seconds`.
        what: &'static str,
    },
    /// A frame rate of 0 or less, or above [`MAX_FPS`].
    #[error("{0} is out of range: give more than 0 and at most {MAX_FPS}")]
    FpsRange(f64),
    /// Not a JPEG quality.
    #[error("{0:?} is not a whole number from 0 to 100")]
    JpegQuality(String),
    /// Not a frame count.
    #[error("{0:?} is not a whole number of frames (0 or more)")]
    FrameCount(String),
    /// Seconds out of range.
    #[error("{text:?} is out of range: give {} seconds", if *zero_ok { "0 or more" } else { "more than 0" })]
    SecondsRange {
        /// The value given.
        text: String,
        /// Whether 0 is accepted.
        zero_ok: bool,
    },
}

/// Puts the option's name on a value's error.
fn named<T>(option: &'static str, result: Result<T, SettingError>) -> Result<T, SettingProblem> {
    result.map_err(|reason| SettingProblem::Invalid { option, reason })
}

impl CaptureSettings {
    /// Checks every option; the list of problems (each naming its flag and variable) otherwise.
    pub fn from_options(options: &CaptureOptions) -> Result<Self, Vec<SettingProblem>> {
        let mut problems = Vec::new();
        let mut check = |result: Result<(), SettingProblem>| {
            if let Err(problem) = result {
                problems.push(problem);
            }
        };
        let mut settings = CaptureSettings {
            out: options.out.clone(),
            remote: None,
            keep_local: false,
            writer: WriterOptions::default(),
            fps: 2.0,
            jpeg_quality: 85,
            min_frames: 4,
            episode_timeout: Duration::from_secs(900),
            upload_wait: Duration::from_secs(30),
        };
        check(if options.out.as_os_str().is_empty() {
            Err(SettingProblem::NoOut)
        } else {
            Ok(())
        });
        check(named(
            "--remote/CAPTURE_REMOTE",
            RemoteUrl::parse_setting(&options.remote)
                .map(|remote| settings.remote = remote)
                .map_err(SettingError::Remote),
        ));
        check(named(
            "--keep-local/CAPTURE_KEEP_LOCAL",
            parse_bool(&options.keep_local).map(|keep| settings.keep_local = keep),
        ));
        check(named(
            "--compression/CAPTURE_COMPRESSION",
            parse_compression(&options.compression).map(|c| settings.writer.compression = c),
        ));
        check(named(
            "--shard-size/CAPTURE_SHARD_SIZE",
            parse_size_limit(&options.shard_size)
                .map(|limit| settings.writer.size_limit = limit)
                .map_err(SettingError::from),
        ));
        check(named(
            "--hashes/CAPTURE_HASHES",
            parse_hash_list(&options.hashes)
                .map(|hashes| settings.writer.hashes = hashes)
                .map_err(SettingError::from),
        ));
        check(named(
            "--fps/CAPTURE_FPS",
            parse_number(&options.fps, "frames per second")
                .and_then(|fps| {
                    if fps > 0.0 && fps <= MAX_FPS {
                        Ok(fps)
                    } else {
                        Err(SettingError::FpsRange(fps))
                    }
                })
                .map(|fps| settings.fps = fps),
        ));
        check(named(
            "--jpeg-quality/CAPTURE_JPEG_QUALITY",
            options
                .jpeg_quality
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|q| *q <= 100)
                .map(|q| settings.jpeg_quality = q)
                .ok_or_else(|| SettingError::JpegQuality(options.jpeg_quality.clone())),
        ));
        check(named(
            "--min-frames/CAPTURE_MIN_FRAMES",
            options
                .min_frames
                .trim()
                .parse::<u64>()
                .map(|n| settings.min_frames = n)
                .map_err(|_| SettingError::FrameCount(options.min_frames.clone())),
        ));
        check(named(
            "--episode-timeout/CAPTURE_EPISODE_TIMEOUT",
            parse_seconds(&options.episode_timeout, false).map(|t| settings.episode_timeout = t),
        ));
        check(named(
            "--upload-wait/CAPTURE_UPLOAD_WAIT",
            parse_seconds(&options.upload_wait, true).map(|t| settings.upload_wait = t),
        ));
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// The frame rate as the fraction GStreamer caps take (`2/1`, `1/2`, `5/2`…).
    pub fn framerate(&self) -> String {
        let fraction =
            gst::Fraction::approximate_f64(self.fps).unwrap_or_else(|| gst::Fraction::new(2, 1));
        format!("{}/{}", fraction.numer(), fraction.denom())
    }

    /// The time between two frames.
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.fps)
    }
}

/// `CAPTURE_KEEP_LOCAL`-style booleans: 1/0, true/false, yes/no, on/off.
fn parse_bool(text: &str) -> Result<bool, SettingError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(SettingError::NotBool(text.to_owned())),
    }
}

/// `CAPTURE_COMPRESSION`: empty or `none` for no compression.
fn parse_compression(text: &str) -> Result<Option<Compression>, SettingError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    Ok(Compression::parse_setting(text)?)
}

fn parse_number(text: &str, what: &'static str) -> Result<f64, SettingError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| SettingError::NotNumber {
            text: text.to_owned(),
            what,
        })
}

/// Seconds as a whole or decimal number; zero only when `zero_ok`.
fn parse_seconds(text: &str, zero_ok: bool) -> Result<Duration, SettingError> {
    let seconds = parse_number(text, "seconds")?;
    if seconds < 0.0 || (!zero_ok && seconds == 0.0) || seconds > 1e9 {
        return Err(SettingError::SecondsRange {
            text: text.to_owned(),
            zero_ok,
        });
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mds::{Family, HashAlgo};

    #[test]
    fn the_defaults_are_the_python_tool_s() {
        let settings = CaptureSettings::from_options(&CaptureOptions::default()).unwrap();
        assert_eq!(settings.out, PathBuf::from("./data/mds"));
        assert_eq!(settings.remote, None);
        assert!(!settings.keep_local);
        let compression = settings.writer.compression.unwrap();
        assert_eq!(compression.family(), Family::Zstd);
        assert_eq!(compression.to_string(), "zstd:6");
        assert_eq!(settings.writer.size_limit, Some(512 << 20));
        assert_eq!(
            settings.writer.hashes,
            vec![HashAlgo::parse("sha1").unwrap()]
        );
        assert_eq!(settings.fps, 2.0);
        assert_eq!(settings.framerate(), "2/1");
        assert_eq!(settings.jpeg_quality, 85);
        assert_eq!(settings.min_frames, 4);
        assert_eq!(settings.episode_timeout, Duration::from_secs(900));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let options = CaptureOptions {
            remote: "gs://bucket".into(),
            keep_local: "maybe".into(),
            compression: "lz4".into(),
            shard_size: "5gb".into(),
            hashes: "sha1,crc".into(),
            fps: "0".into(),
            jpeg_quality: "101".into(),
            min_frames: "-1".into(),
            episode_timeout: "soon".into(),
            upload_wait: "-3".into(),
            ..CaptureOptions::default()
        };
        let problems = CaptureSettings::from_options(&options).unwrap_err();
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        for variable in [
            "CAPTURE_REMOTE",
            "CAPTURE_KEEP_LOCAL",
            "CAPTURE_COMPRESSION",
            "CAPTURE_SHARD_SIZE",
            "CAPTURE_HASHES",
            "CAPTURE_FPS",
            "CAPTURE_JPEG_QUALITY",
            "CAPTURE_MIN_FRAMES",
            "CAPTURE_EPISODE_TIMEOUT",
            "CAPTURE_UPLOAD_WAIT",
        ] {
            assert!(text.contains(variable), "{variable} missing from:\n{text}");
        }
        assert_eq!(problems.len(), 10, "{text}");
    }

    #[test]
    fn empty_values_switch_features_off() {
        let options = CaptureOptions {
            compression: "".into(),
            hashes: " ".into(),
            shard_size: "".into(),
            keep_local: "yes".into(),
            fps: "0.5".into(),
            ..CaptureOptions::default()
        };
        let settings = CaptureSettings::from_options(&options).unwrap();
        assert_eq!(settings.writer.compression, None);
        assert!(settings.writer.hashes.is_empty());
        assert_eq!(settings.writer.size_limit, None);
        assert!(settings.keep_local);
        assert_eq!(settings.framerate(), "1/2");
        assert_eq!(settings.frame_interval(), Duration::from_secs(2));
        let none = CaptureOptions {
            compression: "None".into(),
            ..CaptureOptions::default()
        };
        assert_eq!(
            CaptureSettings::from_options(&none)
                .unwrap()
                .writer
                .compression,
            None
        );
    }
}
