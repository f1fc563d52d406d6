//! Episodes written with several dataset settings, read back field for field by our reader and
//! by `tests/mds_verify.py --episodes`, an independent Python reader.

use std::path::Path;
use std::process::Command;

use neko_agent::capture::episode::{
    EndReason, EpisodeEnd, EpisodeHeader, EpisodeWriter, ScreenSize,
};
use neko_agent::capture::package::package;
use neko_agent::capture::store::EpisodeStore;
use neko_agent::capture::workspace::Workspace;
use neko_agent::capture::{EpisodeZip, PackagedEpisode};
use neko_agent::mds::{Compression, MdsReader, WriterOptions, parse_hash_list, parse_size_limit};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::support::python_ready;

const VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mds_verify.py");

/// A small JPEG with noise, so that it does not compress to nothing.
fn jpeg(seed: u32) -> Vec<u8> {
    let (width, height) = (96u16, 64u16);
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let rgb: Vec<u8> = (0..usize::from(width) * usize::from(height) * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// Records and packages episode `n`: a few frames, actions from people and from the agent.
fn record(root: &Path, n: u32) -> PackagedEpisode {
    let header = EpisodeHeader {
        episode_id: format!("{:08x}", 0xe915_0000 + n),
        task: format!("Aufgabe {n}: öffne das Formular — \"schnell\" 😀"),
        started_ts: 1_770_000_000.25 + f64::from(n) * 100.0,
        screen: ScreenSize {
            width: 1920,
            height: 1080,
        },
        agent: json!({"source": "neko+chat", "notes": "round trip", "n": n}),
    };
    let started = header.started_ts;
    let mut writer = EpisodeWriter::create(root, header).unwrap();
    for i in 0..(2 + n % 4) {
        writer
            .add_frame(&jpeg(n * 100 + i), started + 0.5 * f64::from(i + 1))
            .unwrap();
    }
    let actions = [
        (
            json!({"type": "click", "coordinate": [150, 200]}),
            r#"{"type": "click", "coordinate": [150, 200]}"#,
        ),
        (
            json!({"action": "INPUT", "value": "naïve ✓", "position": [0.5, 0.25]}),
            "",
        ),
    ];
    for (i, (action, raw)) in actions.iter().take(1 + n as usize % 2).enumerate() {
        writer
            .add_action(started + 0.7 + i as f64, action.as_object().unwrap(), raw)
            .unwrap();
    }
    let reason = [EndReason::Stopped, EndReason::Timeout, EndReason::Shutdown][n as usize % 3];
    let dir = writer
        .end(EpisodeEnd {
            ended_ts: started + 30.0,
            end_reason: reason,
        })
        .unwrap();
    let (episode, losses) = package(&dir).unwrap();
    assert!(losses.is_empty(), "{losses:?}");
    episode
}

fn verify_in_python(dir: &Path) -> Value {
    python_ready();
    let output = Command::new("python3")
        .arg(VERIFIER)
        .arg("--episodes")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mds_verify.py --episodes failed on {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn episodes_read_back_field_for_field_with_every_setting() {
    let cases = [
        ("", "", "512mb"),
        ("zstd:6", "sha1", "512mb"),
        ("zstd", "sha1,md5,xxh64", "40kb"),
        ("", "sha256", "30kb"),
        ("gz:6", "sha1", "60kb"),
    ];
    let scratch = tempfile::tempdir().unwrap();
    let episodes: Vec<PackagedEpisode> = (0..7).map(|n| record(scratch.path(), n)).collect();
    for (compression, hashes, size) in cases {
        let setting = format!("compression={compression:?} hashes={hashes:?} size={size}");
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            compression: Compression::parse_setting(compression).unwrap(),
            hashes: parse_hash_list(hashes).unwrap(),
            size_limit: parse_size_limit(size).unwrap(),
        };
        {
            let workspace = Workspace::lock(dir.path()).unwrap();
            let (mut store, _) =
                EpisodeStore::open(workspace.dataset(), workspace.spool(), options).unwrap();
            for episode in &episodes {
                store.commit(episode).unwrap();
            }
            store.flush().unwrap();
        }
        let reader = MdsReader::open(dir.path()).unwrap();
        let shards = reader.index().shards.len();
        if size != "512mb" {
            assert!(shards > 1, "{setting}: a small shard size must roll over");
        } else {
            assert_eq!(shards, 1, "{setting}");
        }
        // Our reader: every column of every sample as written.
        let samples: Vec<_> = reader.samples().map(|s| s.unwrap()).collect();
        assert_eq!(samples.len(), episodes.len(), "{setting}");
        for (sample, episode) in samples.iter().zip(&episodes) {
            assert_eq!(sample, &episode.to_sample(), "{setting}");
        }
        // The Python reader: the same episodes, zip and frames included.
        let report = verify_in_python(dir.path());
        let read = report["samples"].as_array().unwrap();
        assert_eq!(read.len(), episodes.len(), "{setting}");
        for (got, episode) in read.iter().zip(&episodes) {
            let zip = EpisodeZip::open(&episode.zip).unwrap();
            let summary = &got["payload"]["episode"];
            assert_eq!(
                summary["meta"],
                Value::Object(zip.meta.clone()),
                "{setting}"
            );
            assert_eq!(
                summary["frames"],
                Value::Array(zip.frames.clone()),
                "{setting}"
            );
            assert_eq!(
                summary["actions"],
                Value::Array(zip.actions.clone()),
                "{setting}"
            );
            let sha1: Vec<Value> = (0..zip.frames.len())
                .map(|i| {
                    let data =
                        EpisodeZip::file(&episode.zip, &format!("frames/{i:06}.jpg")).unwrap();
                    json!(format!("{:x}", Sha1::digest(&data)))
                })
                .collect();
            assert_eq!(summary["frame_sha1"], Value::Array(sha1), "{setting}");
            assert_eq!(got["episode_id"], json!(episode.episode_id), "{setting}");
            assert_eq!(got["task"], json!(episode.task), "{setting}");
            assert_eq!(got["num_frames"], json!(episode.num_frames), "{setting}");
            assert_eq!(got["num_actions"], json!(episode.num_actions), "{setting}");
            assert_eq!(got["agent"], episode.agent, "{setting}");
        }
    }
}

#[test]
fn the_python_reader_rejects_a_broken_episode() {
    let scratch = tempfile::tempdir().unwrap();
    let mut episode = record(scratch.path(), 1);
    // A frame listed in frames.ndjson but missing from the zip.
    let contents = EpisodeZip::open(&episode.zip).unwrap();
    let last = contents.names.last().unwrap().clone();
    let mut broken = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in contents.names.iter().filter(|n| **n != last) {
        broken
            .start_file(
                name,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored),
            )
            .unwrap();
        std::io::Write::write_all(&mut broken, &EpisodeZip::file(&episode.zip, name).unwrap())
            .unwrap();
    }
    episode.zip = broken.finish().unwrap().into_inner();
    let dir = tempfile::tempdir().unwrap();
    {
        let workspace = Workspace::lock(dir.path()).unwrap();
        let (mut store, _) = EpisodeStore::open(
            workspace.dataset(),
            workspace.spool(),
            WriterOptions::default(),
        )
        .unwrap();
        store.commit(&episode).unwrap();
        store.flush().unwrap();
    }
    python_ready();
    let output = Command::new("python3")
        .arg(VERIFIER)
        .arg("--episodes")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FAIL: sample 0") && stderr.contains("do not follow frames.ndjson"),
        "{stderr}"
    );
}

/// `neko-agent dataset …` with its output.
fn dataset(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let output = crate::support::neko_agent("dataset")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_dataset_command_lists_and_extracts_episodes() {
    let scratch = tempfile::tempdir().unwrap();
    let episodes: Vec<PackagedEpisode> = (0..3).map(|n| record(scratch.path(), n)).collect();
    let dir = tempfile::tempdir().unwrap();
    {
        let workspace = Workspace::lock(dir.path()).unwrap();
        let options = WriterOptions {
            compression: Compression::parse_setting("zstd").unwrap(),
            hashes: parse_hash_list("sha1").unwrap(),
            size_limit: parse_size_limit("1kb").unwrap(),
        };
        let (mut store, _) =
            EpisodeStore::open(workspace.dataset(), workspace.spool(), options).unwrap();
        for episode in &episodes {
            store.commit(episode).unwrap();
        }
        store.flush().unwrap();
    }
    let data = dir.path().as_os_str();
    let (code, stdout, stderr) = dataset(&["list".as_ref(), data, "--json".as_ref()]);
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 3, "{stdout}");
    for (n, (line, episode)) in listed.iter().zip(&episodes).enumerate() {
        assert_eq!(line["shard"], json!(n), "one episode per shard");
        assert_eq!(line["episode_id"], json!(episode.episode_id));
        assert_eq!(line["num_frames"], json!(episode.num_frames));
        assert_eq!(line["num_actions"], json!(episode.num_actions));
        assert_eq!(line["end_reason"], json!(episode.end_reason.as_str()));
    }
    let (code, table, _) = dataset(&["list".as_ref(), data]);
    assert_eq!(code, 0);
    assert!(
        table.contains(&episodes[1].episode_id) && table.contains("3 episode(s)"),
        "{table}"
    );

    let out = tempfile::tempdir().unwrap();
    let to = out.path().join("zips");
    let id = episodes[1].episode_id.as_str();
    let (code, stdout, stderr) = dataset(&[
        "extract".as_ref(),
        data,
        "--to".as_ref(),
        to.as_os_str(),
        "--episode".as_ref(),
        id.as_ref(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 episode(s) written"), "{stdout}");
    assert_eq!(
        std::fs::read(to.join(format!("{id}.zip"))).unwrap(),
        episodes[1].zip
    );
    let unpacked = out.path().join("folders");
    let (code, _, stderr) = dataset(&[
        "extract".as_ref(),
        data,
        "--to".as_ref(),
        unpacked.as_os_str(),
        "--unzip".as_ref(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for episode in &episodes {
        let folder = unpacked.join(&episode.episode_id);
        assert!(folder.join("meta.json").is_file() && folder.join("frames/000001.jpg").is_file());
    }
    let (code, _, stderr) = dataset(&[
        "extract".as_ref(),
        data,
        "--to".as_ref(),
        to.as_os_str(),
        "--episode".as_ref(),
        "deadbeef".as_ref(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("there is no episode deadbeef"), "{stderr}");

    // A shard uploaded and removed locally is noted; a damaged one is an error.
    std::fs::remove_file(dir.path().join("shard.00000.mds.zstd")).unwrap();
    let (code, stdout, stderr) = dataset(&["list".as_ref(), data, "--json".as_ref()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2);
    assert!(
        stderr.contains("shard 0") && stderr.contains("not on disk"),
        "{stderr}"
    );
    let damaged = dir.path().join("shard.00001.mds.zstd");
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    let (code, _, stderr) = dataset(&["list".as_ref(), data]);
    assert_eq!(code, 1);
    assert!(stderr.contains("shard 1"), "{stderr}");
}
