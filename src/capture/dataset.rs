//! `neko-agent dataset`: lists the episodes of a capture dataset and extracts them, checking
//! shard hashes and every episode zip on the way.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::package::EpisodeZip;
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
    match &args.action {
        DatasetAction::List { dir, json } => list(dir, *json),
        DatasetAction::Extract {
            dir,
            to,
            episodes,
            unzip,
        } => extract(dir, to, episodes, *unzip),
    }
}

/// Reads every episode it can; prints why the others cannot be read. False when some data is
/// damaged or unreadable (not merely uploaded and removed).
fn read(dir: &Path) -> Result<(Vec<Entry>, bool), String> {
    let reader = MdsReader::open(dir).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    let mut intact = true;
    for number in 0..reader.index().shards.len() {
        let shard = match reader.shard(number) {
            Ok(shard) => shard,
            Err(MdsError::Read { path, source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                eprintln!(
                    "note: shard {number} ({}) is not on disk (uploaded and removed locally with CAPTURE_KEEP_LOCAL=0?); its episodes are not shown",
                    path.display()
                );
                continue;
            }
            Err(error) => {
                eprintln!("error: shard {number}: {error}");
                intact = false;
                continue;
            }
        };
        for i in 0..shard.len() {
            match shard.get(i) {
                Ok(sample) => entries.push(Entry {
                    shard: number,
                    sample,
                }),
                Err(error) => {
                    eprintln!("error: {error}");
                    intact = false;
                }
            }
        }
    }
    Ok((entries, intact))
}

fn list(dir: &Path, as_json: bool) -> u8 {
    let (entries, mut intact) = match read(dir) {
        Ok(read) => read,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_FAILED;
        }
    };
    if !as_json {
        println!(
            "{:<5} {:<8} {:>6} {:>7} {:<19} {:<19} {:<9} {:<9} task",
            "shard", "episode", "frames", "actions", "started_at", "ended_at", "screen", "ended"
        );
    }
    for entry in &entries {
        let end_reason = match EpisodeZip::open(entry.payload()) {
            Ok(contents) => contents
                .meta
                .get("end_reason")
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_owned(),
            Err(reason) => {
                eprintln!(
                    "error: episode {}: its payload is not a valid episode: {reason}",
                    entry.text("episode_id")
                );
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
            println!("{line}");
        } else {
            println!(
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
            );
        }
    }
    if !as_json {
        println!("{} episode(s) in {}", entries.len(), dir.display());
    }
    if intact { EXIT_OK } else { EXIT_FAILED }
}

fn extract(dir: &Path, to: &Path, wanted: &[String], unzip: bool) -> u8 {
    let (entries, mut intact) = match read(dir) {
        Ok(read) => read,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_FAILED;
        }
    };
    if let Err(error) = fs::create_dir_all(to) {
        eprintln!("error: cannot create {}: {error}", to.display());
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
            fs::write(to.join(format!("{id}.zip")), entry.payload()).map_err(|e| {
                format!(
                    "cannot write {}: {e}",
                    to.join(format!("{id}.zip")).display()
                )
            })
        };
        match result {
            Ok(()) => written += 1,
            Err(error) => {
                eprintln!("error: episode {id}: {error}");
                intact = false;
            }
        }
    }
    let found: Vec<String> = entries.iter().map(|e| e.text("episode_id")).collect();
    for id in wanted.iter().filter(|id| !found.contains(id)) {
        eprintln!("error: there is no episode {id} in {}", dir.display());
        intact = false;
    }
    println!("{written} episode(s) written to {}", to.display());
    if intact { EXIT_OK } else { EXIT_FAILED }
}

/// Unpacks an episode zip into `dir` (checked first; names cannot leave `dir`).
fn unpack(zip: &[u8], dir: &Path) -> Result<(), String> {
    let contents = EpisodeZip::open(zip).map_err(|e| format!("not a valid episode: {e}"))?;
    for name in &contents.names {
        if name.starts_with('/') || name.split('/').any(|part| part == "..") {
            return Err(format!("the zip holds an unsafe name {name:?}"));
        }
        if name.ends_with('/') {
            continue;
        }
        let data = EpisodeZip::file(zip, name)?;
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
