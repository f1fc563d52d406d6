//! `neko-agent dataset`: lists the episodes of a capture dataset and extracts them, checking
//! shard hashes and every episode zip on the way.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::package::{EpisodeZip, EpisodeZipError};
use crate::mds::{MdsError, MdsReader, Sample, Value as MdsValue};

/// Everything was read.
pub const EXIT_OK: u8 = 0;
/// Something could not be read or written, or an episode asked for is not there.
pub const EXIT_FAILED: u8 = 1;

/// `neko-agent dataset`.
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DatasetAction,
}

/// `neko-agent dataset` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DatasetAction {
    /// List the episodes: shard, id, frames, actions, times, screen, end reason, task.
    List {
        /// The dataset directory.
        #[arg(env = "CAPTURE_OUT", default_value = "./data/mds")]
        dir: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write episodes out as <id>.zip (or unpacked into <id>/ with --unzip).
    Extract {
        /// The dataset directory.
        #[arg(env = "CAPTURE_OUT", default_value = "./data/mds")]
        dir: PathBuf,
        /// Where to write them (created if missing).
        #[arg(long)]
        to: PathBuf,
        /// An episode id to extract (repeatable); all episodes when none is given.
        #[arg(long = "episode", value_name = "ID")]
        episodes: Vec<String>,
        /// Unpack each episode into a folder instead of writing its zip.
        #[arg(long)]
        unzip: bool,
    },
}

/// Something `dataset` could not read or write; the command goes on with the rest.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The dataset cannot be opened.
    #[error(transparent)]
    Open(MdsError),
    /// A shard cannot be read or is damaged.
    #[error("shard {number}: {source}")]
    Shard {
        /// The shard number.
        number: usize,
        /// What is wrong with it.
        #[source]
        source: MdsError,
    },
    /// A sample of a shard does not decode.
    #[error(transparent)]
    Sample(MdsError),
    /// An episode whose payload is not an episode zip.
    #[error("episode {episode}: its payload is not a valid episode: {source}")]
    DamagedPayload {
        /// The episode id.
        episode: String,
        /// What is wrong with the zip.
        #[source]
        source: EpisodeZipError,
    },
    /// The output directory cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateOutput {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An episode could not be written out.
    #[error("episode {episode}: {source}")]
    Extract {
        /// The episode id.
        episode: String,
        /// What failed.
        #[source]
        source: ExtractError,
    },
    /// An episode asked for is not in the dataset.
    #[error("there is no episode {episode} in {}", dir.display())]
    NoEpisode {
        /// The episode id.
        episode: String,
        /// The dataset directory.
        dir: PathBuf,
    },
}

/// Why one episode could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The payload is not an episode zip.
    #[error("not a valid episode: {0}")]
    NotEpisode(#[source] EpisodeZipError),
    /// A name in the zip that would leave the episode's folder.
    #[error("the zip holds an unsafe name {0:?}")]
    UnsafeName(String),
    /// A file of the zip cannot be read.
    #[error(transparent)]
    File(EpisodeZipError),
    /// A folder cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// A shard that is listed but not on disk: uploaded and removed locally, not damaged.
struct ShardNotOnDisk {
    number: usize,
    path: PathBuf,
}

/// What `dataset` shows: results on stdout, notes and problems on stderr.
struct Console;

impl Console {
    fn result(&self, text: &str) {
        println!("{text}");
    }

    fn not_on_disk(&self, shard: &ShardNotOnDisk) {
        eprintln!(
            "note: shard {} ({}) is not on disk (uploaded and removed locally with CAPTURE_KEEP_LOCAL=0?); its episodes are not shown",
            shard.number,
            shard.path.display()
        );
    }

    fn error(&self, error: &DatasetError) {
        eprintln!("error: {error}");
    }
}

/// What [`read`] found, in dataset order.
enum Found {
    /// An episode.
    Entry(Entry),
    /// A shard that is not on disk.
    NotOnDisk(ShardNotOnDisk),
    /// A shard or sample that cannot be read.
    Damaged(DatasetError),
}

/// One episode as read from the dataset.
struct Entry {
    shard: usize,
    sample: Sample,
}

impl Entry {
    fn text(&self, column: &str) -> String {
        match self.sample.get(column) {
            Some(MdsValue::Str(text)) => text.clone(),
            Some(MdsValue::Int(n)) => n.to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        }
    }

    fn payload(&self) -> &[u8] {
        match self.sample.get("payload") {
            Some(MdsValue::Bytes(bytes)) => bytes,
            _ => &[],
        }
    }
}

/// Runs a dataset command; returns the exit status.
pub fn run(args: &DatasetArgs) -> u8 {
    let console = Console;
    match &args.action {
        DatasetAction::List { dir, json } => list(&console, dir, *json),
        DatasetAction::Extract {
            dir,
            to,
            episodes,
            unzip,
        } => extract(&console, dir, to, episodes, *unzip),
    }
}

/// Reads every episode it can, and says which shards and samples it cannot read.
fn read(dir: &Path) -> Result<Vec<Found>, DatasetError> {
    let reader = MdsReader::open(dir).map_err(DatasetError::Open)?;
    let mut found = Vec::new();
    for number in 0..reader.index().shards.len() {
        let shard = match reader.shard(number) {
            Ok(shard) => shard,
            Err(MdsError::Read { path, source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                found.push(Found::NotOnDisk(ShardNotOnDisk { number, path }));
                continue;
            }
            Err(source) => {
                found.push(Found::Damaged(DatasetError::Shard { number, source }));
                continue;
            }
        };
        for i in 0..shard.len() {
            found.push(match shard.get(i) {
                Ok(sample) => Found::Entry(Entry {
                    shard: number,
                    sample,
                }),
                Err(error) => Found::Damaged(DatasetError::Sample(error)),
            });
        }
    }
    Ok(found)
}

/// The episodes [`read`] found, after showing what it could not read. False when some data is
/// damaged or unreadable (not merely uploaded and removed).
fn readable(console: &Console, found: Vec<Found>) -> (Vec<Entry>, bool) {
    let mut entries = Vec::new();
    let mut intact = true;
    for item in found {
        match item {
            Found::Entry(entry) => entries.push(entry),
            Found::NotOnDisk(shard) => console.not_on_disk(&shard),
            Found::Damaged(error) => {
                console.error(&error);
                intact = false;
            }
        }
    }
    (entries, intact)
}

fn list(console: &Console, dir: &Path, as_json: bool) -> u8 {
    let (entries, mut intact) = match read(dir) {
        Ok(found) => readable(console, found),
        Err(error) => {
            console.error(&error);
            return EXIT_FAILED;
        }
    };
    if !as_json {
        console.result(&format!(
            "{:<5} {:<8} {:>6} {:>7} {:<19} {:<19} {:<9} {:<9} task",
            "shard", "episode", "frames", "actions", "started_at", "ended_at", "screen", "ended"
        ));
    }
    for entry in &entries {
        let end_reason = match EpisodeZip::open(entry.payload()) {
            Ok(contents) => contents
                .meta
                .get("end_reason")
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_owned(),
            Err(source) => {
                console.error(&DatasetError::DamagedPayload {
                    episode: entry.text("episode_id"),
                    source,
                });
                intact = false;
                "damaged".to_owned()
            }
        };
        if as_json {
            let line = json!({
                "shard": entry.shard,
                "episode_id": entry.text("episode_id"),
                "task": entry.text("task"),
                "num_frames": entry.text("num_frames").parse::<i64>().unwrap_or(-1),
                "num_actions": entry.text("num_actions").parse::<i64>().unwrap_or(-1),
                "started_at": entry.text("started_at"),
                "ended_at": entry.text("ended_at"),
                "screen_w": entry.text("screen_w").parse::<i64>().unwrap_or(0),
                "screen_h": entry.text("screen_h").parse::<i64>().unwrap_or(0),
                "end_reason": end_reason,
                "payload_bytes": entry.payload().len(),
            });
            console.result(&line.to_string());
        } else {
            console.result(&format!(
                "{:<5} {:<8} {:>6} {:>7} {:<19} {:<19} {:<9} {:<9} {}",
                entry.shard,
                entry.text("episode_id"),
                entry.text("num_frames"),
                entry.text("num_actions"),
                entry.text("started_at"),
                entry.text("ended_at"),
                format!("{}x{}", entry.text("screen_w"), entry.text("screen_h")),
                end_reason,
                entry.text("task")
            ));
        }
    }
    if !as_json {
        console.result(&format!(
            "{} episode(s) in {}",
            entries.len(),
            dir.display()
        ));
    }
    if intact { EXIT_OK } else { EXIT_FAILED }
}

fn extract(console: &Console, dir: &Path, to: &Path, wanted: &[String], unzip: bool) -> u8 {
    let (entries, mut intact) = match read(dir) {
        Ok(found) => readable(console, found),
        Err(error) => {
            console.error(&error);
            return EXIT_FAILED;
        }
    };
    if let Err(source) = fs::create_dir_all(to) {
        console.error(&DatasetError::CreateOutput {
            path: to.to_owned(),
            source,
        });
        return EXIT_FAILED;
    }
    let mut written = 0;
    for entry in &entries {
        let id = entry.text("episode_id");
        if !wanted.is_empty() && !wanted.contains(&id) {
            continue;
        }
        let result = if unzip {
            unpack(entry.payload(), &to.join(&id))
        } else {
            let path = to.join(format!("{id}.zip"));
            fs::write(&path, entry.payload()).map_err(|source| ExtractError::Write { path, source })
        };
        match result {
            Ok(()) => written += 1,
            Err(source) => {
                console.error(&DatasetError::Extract {
                    episode: id,
                    source,
                });
                intact = false;
            }
        }
    }
    let found: Vec<String> = entries.iter().map(|e| e.text("episode_id")).collect();
    for id in wanted.iter().filter(|id| !found.contains(id)) {
        console.error(&DatasetError::NoEpisode {
            episode: id.clone(),
            dir: dir.to_owned(),
        });
        intact = false;
    }
    console.result(&format!("{written} episode(s) written to {}", to.display()));
    if intact { EXIT_OK } else { EXIT_FAILED }
}

/// Unpacks an episode zip into `dir` (checked first; names cannot leave `dir`).
fn unpack(zip: &[u8], dir: &Path) -> Result<(), ExtractError> {
    let contents = EpisodeZip::open(zip).map_err(ExtractError::NotEpisode)?;
    for name in &contents.names {
        if name.starts_with('/') || name.split('/').any(|part| part == "..") {
            return Err(ExtractError::UnsafeName(name.clone()));
        }
        if name.ends_with('/') {
            continue;
        }
        let data = EpisodeZip::file(zip, name).map_err(ExtractError::File)?;
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|source| ExtractError::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        fs::write(&path, data).map_err(|source| ExtractError::Write { path, source })?;
    }
    Ok(())
}
