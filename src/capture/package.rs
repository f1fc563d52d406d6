//! Packaging an episode folder into the Python tool's episode zip and MDS sample, and reading
//! both back.
//!
//! The zip (stored, not deflated: JPEGs do not shrink) holds, in this order, `meta.json`,
//! `frames.ndjson`, `actions.ndjson` and `frames/NNNNNN.jpg`. Packaging keeps every complete
//! frame and action on disk and says precisely what it had to leave out, so the same code
//! finishes a normal episode and recovers one whose process was killed.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::episode::{
    ACTIONS_LOG, END_FILE, EndReason, EpisodeEnd, EpisodeHeader, FRAMES_DIR, FRAMES_INDEX,
    HEADER_FILE, ScreenSize, frame_file, utc_text,
};
use super::error::{CaptureError, io_error};
use crate::mds::{Columns, Sample, Value as MdsValue};
use crate::pyjson;

/// `tool` in `meta.json`.
const TOOL: &str = "neko-agent";

/// Why an episode's zip could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ZipFailure {
    /// The zip writer failed.
    #[error("{0}")]
    Archive(#[source] ZipError),
    /// A file's data could not be written into the zip.
    #[error("{0}")]
    Data(#[source] std::io::Error),
}

/// Why bytes are not a readable episode zip.
#[derive(Debug, thiserror::Error)]
pub enum EpisodeZipError {
    /// Not a zip archive.
    #[error("not a zip: {0}")]
    NotZip(#[source] ZipError),
    /// A file name in the archive cannot be decoded.
    #[error("a file name in the zip cannot be read: {0}")]
    Names(#[source] ZipError),
    /// A file the episode needs is not in the zip.
    #[error("no {name}: {source}")]
    Missing {
        /// The file name.
        name: String,
        /// What the zip reader said.
        #[source]
        source: ZipError,
    },
    /// A file in the zip cannot be read.
    #[error("cannot read {name}: {source}")]
    Unreadable {
        /// The file name.
        name: String,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// `meta.json` is not a JSON object.
    #[error("meta.json is not a JSON object")]
    MetaNotObject,
    /// `meta.json` lacks a text field every episode has.
    #[error("meta.json has no {0:?}")]
    MetaField(&'static str),
    /// A line of an NDJSON file is not JSON.
    #[error("{file} line {line}: {source}")]
    Line {
        /// The NDJSON file.
        file: &'static str,
        /// 1-based line number, blank lines not counted.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A frame entry without a file name.
    #[error("{FRAMES_INDEX}: a frame without \"file\": {0}")]
    FrameWithoutFile(Value),
    /// A frame file the index lists but the zip lacks.
    #[error("{FRAMES_INDEX} lists {0}, which is not in the zip")]
    MissingFrame(String),
}

/// The MDS columns of a capture dataset: one sample per episode, as the Python tool wrote them.
pub fn episode_columns() -> Columns {
    Columns::new([
        ("episode_id", "str"),
        ("task", "str"),
        ("payload", "bytes"),
        ("num_frames", "int"),
        ("num_actions", "int"),
        ("started_at", "str"),
        ("ended_at", "str"),
        ("screen_w", "int"),
        ("screen_h", "int"),
        ("agent", "json"),
    ])
    .expect("the episode columns are valid")
}

/// A finished episode: its zip and the fields of its MDS sample.
#[derive(Debug, Clone, PartialEq)]
pub struct PackagedEpisode {
    /// Eight hex digits.
    pub episode_id: String,
    /// The task.
    pub task: String,
    /// UTC start, `YYYY-MM-DDTHH:MM:SS`.
    pub started_at: String,
    /// UTC end, same format.
    pub ended_at: String,
    /// Screen size the actions refer to.
    pub screen: ScreenSize,
    /// Frames in the zip.
    pub num_frames: u64,
    /// Actions in the zip.
    pub num_actions: u64,
    /// Who acted and how (the `agent` column and `meta.json` field).
    pub agent: Value,
    /// Why it ended.
    pub end_reason: EndReason,
    /// The episode zip (the `payload` column).
    pub zip: Vec<u8>,
}

/// What packaging had to leave out (nothing, normally).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Losses {
    /// One line per problem: which file, what was wrong.
    pub problems: Vec<String>,
}

impl Losses {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One line of `frames.ndjson`.
#[derive(Deserialize)]
struct FrameLine {
    ts: f64,
    file: String,
}

/// One line of `actions.ndjson` (kept as written).
#[derive(Deserialize)]
struct ActionLine {
    ts: f64,
    /// Present in every whole line; its value is kept as written.
    #[serde(rename = "action")]
    _action: serde::de::IgnoredAny,
}

/// A frame kept for the zip.
struct KeptFrame {
    ts: f64,
    path: PathBuf,
}

/// Packages the episode folder `dir`. Without `end.json` (the process died) the episode ends
/// with reason `recovered` at its last frame or action.
pub fn package(dir: &Path) -> Result<(PackagedEpisode, Losses), CaptureError> {
    let header_path = dir.join(HEADER_FILE);
    let header: EpisodeHeader = read_json(&header_path)?;
    let end: Option<EpisodeEnd> = match fs::read(dir.join(END_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(_) => None,
    };
    let mut losses = Losses::default();
    let frames = kept_frames(dir, &mut losses)?;
    let actions = kept_actions(dir, &mut losses)?;
    let last_seen = frames
        .iter()
        .map(|f| f.ts)
        .chain(actions.iter().map(|(ts, _)| *ts))
        .fold(header.started_ts, f64::max);
    let end = end.unwrap_or(EpisodeEnd {
        ended_ts: last_seen,
        end_reason: EndReason::Recovered,
    });

    let meta = meta_json(&header, &end, frames.len() as u64);
    let mut frames_index = String::new();
    for (i, frame) in frames.iter().enumerate() {
        frames_index.push_str(&pyjson::dumps(
            &json!({"i": i, "ts": frame.ts, "file": frame_file(i as u64)}),
            false,
        ));
        frames_index.push('\n');
    }
    let actions_text: String = actions
        .iter()
        .map(|(_, line)| format!("{line}\n"))
        .collect();

    let frame_bytes: u64 = frames
        .iter()
        .map(|f| fs::metadata(&f.path).map_or(0, |m| m.len()))
        .sum();
    let capacity = (frame_bytes as usize)
        .saturating_add(meta.len() + frames_index.len() + actions_text.len())
        .saturating_add(128 * (frames.len() + 3));
    let zip_error = |reason: ZipFailure| CaptureError::Zip {
        episode: header.episode_id.clone(),
        reason,
    };
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip_time(end.ended_ts))
        .unix_permissions(0o600)
        .large_file(capacity as u64 >= u32::MAX as u64);
    let mut add = |name: &str, data: &[u8]| -> Result<(), CaptureError> {
        zip.start_file(name, options)
            .map_err(|e| zip_error(ZipFailure::Archive(e)))?;
        zip.write_all(data)
            .map_err(|e| zip_error(ZipFailure::Data(e)))
    };
    add("meta.json", meta.as_bytes())?;
    add(FRAMES_INDEX, frames_index.as_bytes())?;
    add(ACTIONS_LOG, actions_text.as_bytes())?;
    for (i, frame) in frames.iter().enumerate() {
        let data = fs::read(&frame.path).map_err(io_error("read frame", &frame.path))?;
        add(&frame_file(i as u64), &data)?;
    }
    let zip = zip
        .finish()
        .map_err(|e| zip_error(ZipFailure::Archive(e)))?
        .into_inner();
    let episode = PackagedEpisode {
        episode_id: header.episode_id,
        task: header.task,
        started_at: utc_text(header.started_ts),
        ended_at: utc_text(end.ended_ts),
        screen: header.screen,
        num_frames: frames.len() as u64,
        num_actions: actions.len() as u64,
        agent: header.agent,
        end_reason: end.end_reason,
        zip,
    };
    Ok((episode, losses))
}

/// `meta.json`: the Python tool's fields in its order (indented, non-ASCII kept), plus
/// `end_reason`.
fn meta_json(header: &EpisodeHeader, end: &EpisodeEnd, num_frames: u64) -> String {
    let meta = json!({
        "episode_id": header.episode_id,
        "task": header.task,
        "started_at": utc_text(header.started_ts),
        "ended_at": utc_text(end.ended_ts),
        "screen": {"width": header.screen.width, "height": header.screen.height},
        "num_frames": num_frames,
        "agent": header.agent,
        "schema": {
            "frames": "frames/<NNNNNN>.jpg (JPEG, RGB)",
            "frames_index": "frames.ndjson (one JSON object per line: {i, ts, file})",
            "actions": "actions.ndjson (one JSON object per line: {ts, action, raw?})",
        },
        "tool": TOOL,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "end_reason": end.end_reason.as_str(),
    });
    serde_json::to_string_pretty(&meta).expect("meta.json serialises")
}

/// The frames listed in `frames.ndjson` whose pictures are whole, then any whole picture the
/// process wrote but did not list before it died (its time taken from the file).
fn kept_frames(dir: &Path, losses: &mut Losses) -> Result<Vec<KeptFrame>, CaptureError> {
    let mut kept = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    for (number, line) in lines(&dir.join(FRAMES_INDEX), losses)? {
        let Ok(frame) = serde_json::from_str::<FrameLine>(&line) else {
            losses
                .problems
                .push(format!("{FRAMES_INDEX} line {number} is incomplete"));
            continue;
        };
        listed.insert(frame.file.clone());
        let path = dir.join(&frame.file);
        if !frame.file.starts_with(&format!("{FRAMES_DIR}/")) || frame.file.contains("..") {
            losses.problems.push(format!(
                "{FRAMES_INDEX} line {number} names {:?}",
                frame.file
            ));
        } else if let Some(problem) = jpeg_problem(&path) {
            losses.problems.push(format!("{}: {problem}", frame.file));
        } else {
            kept.push(KeptFrame { ts: frame.ts, path });
        }
    }
    let frames_dir = dir.join(FRAMES_DIR);
    let mut unlisted: Vec<PathBuf> = match fs::read_dir(&frames_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                !listed.contains(&format!("{FRAMES_DIR}/{name}"))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    unlisted.sort();
    for path in unlisted {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match jpeg_problem(&path) {
            Some(problem) => losses
                .problems
                .push(format!("{FRAMES_DIR}/{name}: {problem}")),
            None => {
                let ts = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0.0, |d| d.as_micros() as f64 / 1e6);
                kept.push(KeptFrame { ts, path });
            }
        }
    }
    Ok(kept)
}

/// The whole lines of `actions.ndjson` that hold an action, with their times.
fn kept_actions(dir: &Path, losses: &mut Losses) -> Result<Vec<(f64, String)>, CaptureError> {
    let mut kept = Vec::new();
    for (number, line) in lines(&dir.join(ACTIONS_LOG), losses)? {
        match serde_json::from_str::<ActionLine>(&line) {
            Ok(action) => kept.push((action.ts, line)),
            Err(_) => losses
                .problems
                .push(format!("{ACTIONS_LOG} line {number} is incomplete")),
        }
    }
    Ok(kept)
}

/// The lines of a log with their numbers; an unfinished last line is reported and left out.
fn lines(path: &Path, losses: &mut Losses) -> Result<Vec<(usize, String)>, CaptureError> {
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = text.as_slice();
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            losses.problems.push(format!(
                "{name} line {number} was cut off ({} bytes)",
                rest.len()
            ));
            break;
        };
        match std::str::from_utf8(&rest[..end]) {
            Ok(line) if !line.trim().is_empty() => out.push((number, line.to_owned())),
            Ok(_) => {}
            Err(_) => losses
                .problems
                .push(format!("{name} line {number} is not UTF-8")),
        }
        rest = &rest[end + 1..];
    }
    Ok(out)
}

/// Why a frame file is not a whole JPEG, if it is not.
fn jpeg_problem(path: &Path) -> Option<String> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e) => return Some(format!("cannot be read ({e})")),
    };
    if data.len() < 4 || !data.starts_with(&[0xff, 0xd8]) {
        return Some(format!("not a JPEG ({} bytes)", data.len()));
    }
    // Encoders may pad after the end marker; look for it near the end.
    let tail = &data[data.len().saturating_sub(16)..];
    if !tail.windows(2).any(|w| w == [0xff, 0xd9]) {
        return Some(format!("the JPEG was cut off ({} bytes)", data.len()));
    }
    None
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CaptureError> {
    let bytes = fs::read(path).map_err(io_error("read", path))?;
    serde_json::from_slice(&bytes).map_err(|e| CaptureError::Corrupt {
        path: path.to_owned(),
        reason: format!("not a valid episode file: {e}"),
    })
}

/// A zip entry time (local time, as Python's `zipfile` writes it).
fn zip_time(ts: f64) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    let local = chrono::DateTime::from_timestamp(ts as i64, 0)
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    zip::DateTime::from_date_and_time(
        local.year().clamp(1980, 2107) as u16,
        local.month() as u8,
        local.day() as u8,
        local.hour() as u8,
        local.minute() as u8,
        local.second() as u8,
    )
    .unwrap_or_default()
}

impl PackagedEpisode {
    /// The MDS sample of the episode (see [`episode_columns`]).
    pub fn to_sample(&self) -> Sample {
        [
            ("episode_id", MdsValue::from(self.episode_id.as_str())),
            ("task", self.task.as_str().into()),
            ("payload", self.zip.clone().into()),
            ("num_frames", MdsValue::Int(self.num_frames as i64)),
            ("num_actions", MdsValue::Int(self.num_actions as i64)),
            ("started_at", self.started_at.as_str().into()),
            ("ended_at", self.ended_at.as_str().into()),
            ("screen_w", MdsValue::Int(i64::from(self.screen.width))),
            ("screen_h", MdsValue::Int(i64::from(self.screen.height))),
            ("agent", MdsValue::Json(self.agent.clone())),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Reads an episode back from its zip (the spool after a crash, or a dataset sample).
    pub fn from_zip(zip: Vec<u8>) -> Result<Self, EpisodeZipError> {
        let contents = EpisodeZip::open(&zip)?;
        let meta = &contents.meta;
        let text = |key: &'static str| {
            meta.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(EpisodeZipError::MetaField(key))
        };
        let size = |key: &str| {
            meta.get("screen")
                .and_then(|s| s.get(key))
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        };
        let end_reason = match meta.get("end_reason").and_then(Value::as_str) {
            Some("timeout") => EndReason::Timeout,
            Some("shutdown") => EndReason::Shutdown,
            Some("recovered") => EndReason::Recovered,
            _ => EndReason::Stopped,
        };
        Ok(Self {
            episode_id: text("episode_id")?,
            task: text("task")?,
            started_at: text("started_at")?,
            ended_at: text("ended_at")?,
            screen: ScreenSize {
                width: size("width"),
                height: size("height"),
            },
            num_frames: contents.frames.len() as u64,
            num_actions: contents.actions.len() as u64,
            agent: meta.get("agent").cloned().unwrap_or(Value::Null),
            end_reason,
            zip,
        })
    }
}

/// The parsed contents of an episode zip.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeZip {
    /// `meta.json`.
    pub meta: Map<String, Value>,
    /// `frames.ndjson`, one object per frame.
    pub frames: Vec<Value>,
    /// `actions.ndjson`, one object per action.
    pub actions: Vec<Value>,
    /// Every file name in the zip, in order.
    pub names: Vec<String>,
}

impl EpisodeZip {
    /// Reads and checks an episode zip: the three files present and every indexed frame there.
    pub fn open(zip: &[u8]) -> Result<Self, EpisodeZipError> {
        let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(EpisodeZipError::NotZip)?;
        let names: Vec<String> = archive
            .file_names()
            .map(|name| name.map(|n| n.into_owned()))
            .collect::<Result<_, _>>()
            .map_err(EpisodeZipError::Names)?;
        let mut read = |name: &str| -> Result<String, EpisodeZipError> {
            let mut text = String::new();
            archive
                .by_name(name)
                .map_err(|source| EpisodeZipError::Missing {
                    name: name.to_owned(),
                    source,
                })?
                .read_to_string(&mut text)
                .map_err(|source| EpisodeZipError::Unreadable {
                    name: name.to_owned(),
                    source,
                })?;
            Ok(text)
        };
        let meta = match serde_json::from_str(&read("meta.json")?) {
            Ok(Value::Object(map)) => map,
            _ => return Err(EpisodeZipError::MetaNotObject),
        };
        let parse_lines =
            |file: &'static str, text: String| -> Result<Vec<Value>, EpisodeZipError> {
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .enumerate()
                    .map(|(i, line)| {
                        serde_json::from_str(line).map_err(|source| EpisodeZipError::Line {
                            file,
                            line: i + 1,
                            source,
                        })
                    })
                    .collect()
            };
        let frames = parse_lines(FRAMES_INDEX, read(FRAMES_INDEX)?)?;
        let actions = parse_lines(ACTIONS_LOG, read(ACTIONS_LOG)?)?;
        for frame in &frames {
            let file = frame
                .get("file")
                .and_then(Value::as_str)
                .ok_or_else(|| EpisodeZipError::FrameWithoutFile(frame.clone()))?;
            if !names.iter().any(|n| n == file) {
                return Err(EpisodeZipError::MissingFrame(file.to_owned()));
            }
        }
        Ok(Self {
            meta,
            frames,
            actions,
            names,
        })
    }

    /// The bytes of one file in `zip`.
    pub fn file(zip: &[u8], name: &str) -> Result<Vec<u8>, EpisodeZipError> {
        let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(EpisodeZipError::NotZip)?;
        let mut data = Vec::new();
        archive
            .by_name(name)
            .map_err(|source| EpisodeZipError::Missing {
                name: name.to_owned(),
                source,
            })?
            .read_to_end(&mut data)
            .map_err(|source| EpisodeZipError::Unreadable {
                name: name.to_owned(),
                source,
            })?;
        Ok(data)
    }
}

/// Real episodes for tests elsewhere in capture.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::capture::episode::EpisodeWriter;

    /// A packaged episode with `frames` frames of about `frame_bytes` bytes and one action.
    pub(crate) fn episode(id: &str, frames: usize, frame_bytes: usize) -> PackagedEpisode {
        let root = tempfile::tempdir().unwrap();
        let header = EpisodeHeader {
            episode_id: id.into(),
            task: format!("task {id}"),
            started_ts: 1714567890.0,
            screen: ScreenSize {
                width: 1280,
                height: 720,
            },
            agent: json!({"source": "test", "notes": "unit"}),
        };
        let mut writer = EpisodeWriter::create(root.path(), header).unwrap();
        for i in 0..frames {
            let mut jpeg = vec![0xff, 0xd8];
            jpeg.extend((0..frame_bytes).map(|j| (i * 31 + j * 7) as u8 & 0x7f));
            jpeg.extend([0xff, 0xd9]);
            writer
                .add_frame(&jpeg, 1714567890.5 + i as f64 * 0.5)
                .unwrap();
        }
        let action = json!({"action": "CLICK", "position": [0.5, 0.5]});
        writer
            .add_action(1714567891.0, action.as_object().unwrap(), "")
            .unwrap();
        let dir = writer.end(EpisodeEnd {
            ended_ts: 1714567900.0,
            end_reason: EndReason::Stopped,
        });
        package(&dir.unwrap()).unwrap().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::episode::EpisodeWriter;

    fn jpeg(tag: u8) -> Vec<u8> {
        vec![0xff, 0xd8, 0xff, 0xe0, tag, tag, 0xff, 0xd9]
    }

    fn recorded(root: &Path) -> PathBuf {
        let header = EpisodeHeader {
            episode_id: "0badcafe".into(),
            task: "Fill out the form — schnell".into(),
            started_ts: 1714567890.0,
            screen: ScreenSize {
                width: 1920,
                height: 1080,
            },
            agent: json!({"source": "neko+chat", "notes": "test"}),
        };
        let mut episode = EpisodeWriter::create(root, header).unwrap();
        for i in 0..3u8 {
            episode
                .add_frame(&jpeg(i), 1714567890.5 + f64::from(i) * 0.5)
                .unwrap();
        }
        let action = json!({"type": "click", "coordinate": [150, 200]});
        episode
            .add_action(
                1714567891.2,
                action.as_object().unwrap(),
                "{\"type\": \"click\", \"coordinate\": [150, 200]}",
            )
            .unwrap();
        episode.dir().to_owned()
    }

    #[test]
    fn a_finished_episode_packages_like_the_python_tool() {
        let root = tempfile::tempdir().unwrap();
        let dir = recorded(root.path());
        let (episode, losses) = package(&dir).unwrap();
        assert!(losses.is_empty(), "{losses:?}");
        // Without end.json: recovered, ending at the last thing recorded.
        assert_eq!(episode.end_reason, EndReason::Recovered);
        assert_eq!(episode.ended_at, utc_text(1714567891.5));
        assert_eq!((episode.num_frames, episode.num_actions), (3, 1));
        let contents = EpisodeZip::open(&episode.zip).unwrap();
        assert_eq!(
            contents.names,
            [
                "meta.json",
                "frames.ndjson",
                "actions.ndjson",
                "frames/000000.jpg",
                "frames/000001.jpg",
                "frames/000002.jpg"
            ]
        );
        let meta_text =
            String::from_utf8(EpisodeZip::file(&episode.zip, "meta.json").unwrap()).unwrap();
        assert!(
            meta_text.starts_with(
                "{\n  \"episode_id\": \"0badcafe\",\n  \"task\": \"Fill out the form — schnell\","
            ),
            "{meta_text}"
        );
        let keys: Vec<&str> = contents.meta.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "episode_id",
                "task",
                "started_at",
                "ended_at",
                "screen",
                "num_frames",
                "agent",
                "schema",
                "tool",
                "tool_version",
                "end_reason"
            ]
        );
        assert_eq!(
            contents.meta["screen"],
            json!({"width": 1920, "height": 1080})
        );
        assert_eq!(contents.meta["num_frames"], json!(3));
        assert_eq!(
            String::from_utf8(EpisodeZip::file(&episode.zip, "frames.ndjson").unwrap()).unwrap(),
            "{\"i\": 0, \"ts\": 1714567890.5, \"file\": \"frames/000000.jpg\"}\n\
             {\"i\": 1, \"ts\": 1714567891.0, \"file\": \"frames/000001.jpg\"}\n\
             {\"i\": 2, \"ts\": 1714567891.5, \"file\": \"frames/000002.jpg\"}\n"
        );
        assert_eq!(
            contents.actions[0]["raw"],
            json!("{\"type\": \"click\", \"coordinate\": [150, 200]}")
        );
        assert_eq!(
            EpisodeZip::file(&episode.zip, "frames/000001.jpg").unwrap(),
            jpeg(1)
        );
        let back = PackagedEpisode::from_zip(episode.zip.clone()).unwrap();
        assert_eq!(back, episode);
        let sample = episode.to_sample();
        assert_eq!(sample.len(), 10);
        episode_columns().encode_record(&sample).unwrap();
    }

    #[test]
    fn what_a_killed_process_left_is_kept_and_the_rest_reported() {
        let root = tempfile::tempdir().unwrap();
        let dir = recorded(root.path());
        // Killed while writing: a frame picture written but not listed, a half-written one,
        // and half an action line.
        fs::write(dir.join("frames/000003.jpg"), jpeg(3)).unwrap();
        fs::write(dir.join("frames/000004.jpg"), &jpeg(4)[..5]).unwrap();
        let mut actions = fs::OpenOptions::new()
            .append(true)
            .open(dir.join(ACTIONS_LOG))
            .unwrap();
        actions.write_all(b"{\"ts\": 1714567899.0, \"act").unwrap();
        let (episode, losses) = package(&dir).unwrap();
        assert_eq!((episode.num_frames, episode.num_actions), (4, 1));
        assert_eq!(
            losses.problems,
            [
                "frames/000004.jpg: the JPEG was cut off (5 bytes)",
                "actions.ndjson line 2 was cut off (25 bytes)"
            ]
        );
        assert_eq!(
            EpisodeZip::file(&episode.zip, "frames/000003.jpg").unwrap(),
            jpeg(3)
        );
    }

    #[test]
    fn an_ended_episode_keeps_its_reason() {
        let root = tempfile::tempdir().unwrap();
        let dir = recorded(root.path());
        let end = EpisodeEnd {
            ended_ts: 1714567900.0,
            end_reason: EndReason::Timeout,
        };
        fs::write(dir.join(END_FILE), serde_json::to_vec(&end).unwrap()).unwrap();
        let (episode, _) = package(&dir).unwrap();
        assert_eq!(episode.end_reason, EndReason::Timeout);
        assert_eq!(episode.ended_at, "2024-05-01T12:51:40");
        let contents = EpisodeZip::open(&episode.zip).unwrap();
        assert_eq!(contents.meta["end_reason"], json!("timeout"));
    }

    #[test]
    fn a_folder_without_its_header_is_an_error_that_names_it() {
        let root = tempfile::tempdir().unwrap();
        let error = package(root.path()).unwrap_err().to_string();
        assert!(error.contains("episode.json"), "{error}");
    }
}
