//! An episode in progress, on disk as it is recorded, so that a killed process loses nothing
//! that was written: `episode.json` (what it is about), `frames/NNNNNN.jpg` with one line each
//! in `frames.ndjson`, one line per action in `actions.ndjson`, and `end.json` once it ended.
//!
//! Lines are appended whole and a failed append is cut back, so the files only ever hold
//! complete lines (a kill can at worst leave the last line unfinished).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::{CaptureError, io_error};
use crate::mds::{sync_dir, write_atomically};
use crate::pyjson;

/// The file describing the episode, written when it starts.
pub(crate) const HEADER_FILE: &str = "episode.json";
/// The file written when the episode ends.
pub(crate) const END_FILE: &str = "end.json";
/// One line per frame: `{"i": …, "ts": …, "file": …}`.
pub(crate) const FRAMES_INDEX: &str = "frames.ndjson";
/// One line per action: `{"ts": …, "action": …, "raw": …}`.
pub(crate) const ACTIONS_LOG: &str = "actions.ndjson";
/// The folder of frame pictures.
pub(crate) const FRAMES_DIR: &str = "frames";

/// Why an episode ended (`end_reason` in `meta.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    /// `/stop` in chat, or the agent's task ended.
    Stopped,
    /// No action (or no frame) for `CAPTURE_EPISODE_TIMEOUT`.
    Timeout,
    /// The process was asked to stop (SIGINT/SIGTERM).
    Shutdown,
    /// The process died mid-episode; finished on the next start from what was on disk.
    Recovered,
}

impl EndReason {
    /// The name written to `meta.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Timeout => "timeout",
            Self::Shutdown => "shutdown",
            Self::Recovered => "recovered",
        }
    }
}

/// Screen size in pixels (0×0 when the server never said).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// What an episode is about: `episode.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeHeader {
    /// Eight hex digits.
    pub episode_id: String,
    /// The task text.
    pub task: String,
    /// Start time, unix seconds.
    pub started_ts: f64,
    /// Screen size the actions refer to.
    pub screen: ScreenSize,
    /// Who acted and how frames and actions were taken (`agent` in `meta.json`).
    pub agent: Value,
}

impl EpisodeHeader {
    /// A new episode starting now, with a fresh random id.
    pub fn new(task: &str, screen: ScreenSize, agent: Value) -> Self {
        Self {
            episode_id: format!("{:08x}", rand::random::<u32>()),
            task: task.to_owned(),
            started_ts: unix_now(),
            screen,
            agent,
        }
    }
}

/// How an episode ended: `end.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeEnd {
    /// End time, unix seconds.
    pub ended_ts: f64,
    /// Why it ended.
    pub end_reason: EndReason,
}

/// An episode being recorded into its folder.
pub struct EpisodeWriter {
    dir: PathBuf,
    header: EpisodeHeader,
    frames: u64,
    actions: u64,
    frames_index: AppendLog,
    actions_log: AppendLog,
}

impl std::fmt::Debug for EpisodeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpisodeWriter")
            .field("dir", &self.dir)
            .field("frames", &self.frames)
            .field("actions", &self.actions)
            .finish()
    }
}

impl EpisodeWriter {
    /// Creates the episode's folder under `root` and writes its header.
    pub fn create(root: &Path, header: EpisodeHeader) -> Result<Self, CaptureError> {
        let dir = root.join(&header.episode_id);
        fs::create_dir_all(dir.join(FRAMES_DIR))
            .map_err(io_error("create the episode folder", &dir))?;
        write_header(&dir, &header)?;
        sync_dir(root)?;
        Ok(Self {
            frames_index: AppendLog::open(&dir.join(FRAMES_INDEX))?,
            actions_log: AppendLog::open(&dir.join(ACTIONS_LOG))?,
            dir,
            header,
            frames: 0,
            actions: 0,
        })
    }

    /// The episode's header.
    pub fn header(&self) -> &EpisodeHeader {
        &self.header
    }

    /// The episode's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Frames recorded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Actions recorded so far.
    pub fn actions(&self) -> u64 {
        self.actions
    }

    /// Stores a JPEG frame taken at `ts` (unix seconds). On failure nothing of it stays behind.
    pub fn add_frame(&mut self, jpeg: &[u8], ts: f64) -> Result<(), CaptureError> {
        let file = frame_file(self.frames);
        let path = self.dir.join(&file);
        let written = File::create(&path).and_then(|mut out| out.write_all(jpeg));
        if let Err(error) = written {
            let _ = fs::remove_file(&path);
            return Err(io_error("write frame", &path)(error));
        }
        let line = pyjson::dumps(&json!({"i": self.frames, "ts": ts, "file": file}), false);
        if let Err(error) = self.frames_index.append(&line) {
            let _ = fs::remove_file(&path);
            return Err(error);
        }
        self.frames += 1;
        Ok(())
    }

    /// Records an action received at `ts`, with the text it was read from (omitted when empty).
    pub fn add_action(
        &mut self,
        ts: f64,
        action: &Map<String, Value>,
        raw: &str,
    ) -> Result<(), CaptureError> {
        let mut entry = Map::new();
        entry.insert("ts".into(), json!(ts));
        entry.insert("action".into(), Value::Object(action.clone()));
        if !raw.is_empty() {
            entry.insert("raw".into(), json!(raw));
        }
        self.actions_log
            .append(&pyjson::dumps(&Value::Object(entry), false))?;
        self.actions += 1;
        Ok(())
    }

    /// Records a new screen size (the server resized, or reported its size late).
    pub fn set_screen(&mut self, screen: ScreenSize) -> Result<(), CaptureError> {
        if self.header.screen == screen {
            return Ok(());
        }
        self.header.screen = screen;
        write_header(&self.dir, &self.header)
    }

    /// Ends the episode: writes `end.json`; returns the folder, ready to be packaged.
    ///
    /// Frames are not flushed to disk one by one: a killed process loses nothing the kernel
    /// already has, and the packaged episode is flushed before the folder is removed.
    pub fn end(self, end: EpisodeEnd) -> Result<PathBuf, CaptureError> {
        let text = serde_json::to_vec(&end).expect("an episode end serialises");
        write_atomically(&self.dir, END_FILE, |out| out.write_all(&text))?;
        Ok(self.dir)
    }
}

/// `frames/NNNNNN.jpg`.
pub(crate) fn frame_file(number: u64) -> String {
    format!("{FRAMES_DIR}/{number:06}.jpg")
}

fn write_header(dir: &Path, header: &EpisodeHeader) -> Result<(), CaptureError> {
    let text = serde_json::to_vec_pretty(header).expect("an episode header serialises");
    write_atomically(dir, HEADER_FILE, |out| out.write_all(&text))?;
    Ok(())
}

/// A file that only ever grows by whole lines.
struct AppendLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl AppendLog {
    fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_error("create", path))?;
        let len = file.metadata().map_err(io_error("read", path))?.len();
        Ok(Self {
            path: path.to_owned(),
            file,
            len,
        })
    }

    /// Appends `line` and a newline in one write; on failure cuts the file back.
    fn append(&mut self, line: &str) -> Result<(), CaptureError> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match self.file.write_all(&bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(error) => {
                let _ = self.file.set_len(self.len);
                Err(io_error("append to", &self.path)(error))
            }
        }
    }
}

/// Now, as unix seconds with microseconds (Python's `time.time()`).
pub fn unix_now() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_micros() as f64) / 1e6
}

/// Unix seconds as the Python tool wrote times: UTC `YYYY-MM-DDTHH:MM:SS`, no zone.
pub fn utc_text(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i64;
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(task: &str) -> EpisodeHeader {
        EpisodeHeader::new(
            task,
            ScreenSize {
                width: 1280,
                height: 720,
            },
            json!({"source": "test", "notes": "unit"}),
        )
    }

    #[test]
    fn frames_and_actions_land_on_disk_as_they_come() {
        let root = tempfile::tempdir().unwrap();
        let mut episode = EpisodeWriter::create(root.path(), header("Öffne")).unwrap();
        let dir = episode.dir().to_owned();
        episode
            .add_frame(b"\xff\xd8one\xff\xd9", 1714567890.5)
            .unwrap();
        episode
            .add_frame(b"\xff\xd8two\xff\xd9", 1714567891.0)
            .unwrap();
        let action = json!({"type": "click", "coordinate": [1, 2]});
        episode
            .add_action(
                1714567890.75,
                action.as_object().unwrap(),
                r#"{"type": "click"}"#,
            )
            .unwrap();
        episode
            .add_action(1714567890.8, action.as_object().unwrap(), "")
            .unwrap();
        assert_eq!((episode.frames(), episode.actions()), (2, 2));
        // Everything is readable before the episode ends (a kill now loses nothing).
        assert_eq!(
            fs::read(dir.join("frames/000001.jpg")).unwrap(),
            b"\xff\xd8two\xff\xd9"
        );
        assert_eq!(
            fs::read_to_string(dir.join(FRAMES_INDEX)).unwrap(),
            "{\"i\": 0, \"ts\": 1714567890.5, \"file\": \"frames/000000.jpg\"}\n\
             {\"i\": 1, \"ts\": 1714567891.0, \"file\": \"frames/000001.jpg\"}\n"
        );
        assert_eq!(
            fs::read_to_string(dir.join(ACTIONS_LOG)).unwrap(),
            "{\"ts\": 1714567890.75, \"action\": {\"type\": \"click\", \"coordinate\": [1, 2]}, \"raw\": \"{\\\"type\\\": \\\"click\\\"}\"}\n\
             {\"ts\": 1714567890.8, \"action\": {\"type\": \"click\", \"coordinate\": [1, 2]}}\n"
        );
        let stored: EpisodeHeader =
            serde_json::from_slice(&fs::read(dir.join(HEADER_FILE)).unwrap()).unwrap();
        assert_eq!(&stored, episode.header());
        episode
            .set_screen(ScreenSize {
                width: 1920,
                height: 1080,
            })
            .unwrap();
        let end = EpisodeEnd {
            ended_ts: 1714567899.0,
            end_reason: EndReason::Stopped,
        };
        assert_eq!(episode.end(end).unwrap(), dir);
        let stored: EpisodeEnd =
            serde_json::from_slice(&fs::read(dir.join(END_FILE)).unwrap()).unwrap();
        assert_eq!(stored, end);
        let stored: EpisodeHeader =
            serde_json::from_slice(&fs::read(dir.join(HEADER_FILE)).unwrap()).unwrap();
        assert_eq!(stored.screen.width, 1920);
    }

    #[test]
    fn ids_and_times_look_like_the_python_tool_s() {
        let header = header("x");
        assert_eq!(header.episode_id.len(), 8);
        assert!(header.episode_id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(utc_text(0.0), "1970-01-01T00:00:00");
        assert_eq!(utc_text(1714567890.9), "2024-05-01T12:51:30");
        assert_eq!(EndReason::Shutdown.as_str(), "shutdown");
    }

    #[test]
    fn a_failed_frame_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let mut episode = EpisodeWriter::create(root.path(), header("x")).unwrap();
        let dir = episode.dir().to_owned();
        episode.add_frame(b"\xff\xd8a\xff\xd9", 1.0).unwrap();
        // The frames folder disappears: the next write fails with a clear message.
        fs::remove_dir_all(dir.join(FRAMES_DIR)).unwrap();
        let error = episode.add_frame(b"\xff\xd8b\xff\xd9", 2.0).unwrap_err();
        assert!(
            error.to_string().contains("cannot write frame")
                && error.to_string().contains("000001.jpg"),
            "{error}"
        );
        assert_eq!(episode.frames(), 1);
        fs::create_dir(dir.join(FRAMES_DIR)).unwrap();
        episode.add_frame(b"\xff\xd8c\xff\xd9", 3.0).unwrap();
        let index = fs::read_to_string(dir.join(FRAMES_INDEX)).unwrap();
        assert_eq!(index.lines().count(), 2, "{index}");
        assert!(
            index.ends_with("\"file\": \"frames/000001.jpg\"}\n"),
            "{index}"
        );
    }
}
