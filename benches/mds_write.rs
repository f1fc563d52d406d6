//! MDS writer throughput: samples the size of a 1080p JPEG (~200 KB of
//! high-entropy bytes) written with and without zstd, with and without a
//! shard hash. Prints MB/s of sample data, shards closed and bytes on disk.
//!
//! Each case runs `--runs` times (default 3) and the best run is shown, as
//! the machine may be busy. Run with `cargo bench --bench mds_write`
//! (options: `-- --mb 512 --runs 5 --dir /path/on/the/target/disk`; the
//! default directory is the system temp directory).

use std::path::PathBuf;
use std::time::Instant;

use neko_agent::mds::{
    Columns, Compression, MdsWriter, Sample, Value, WriterOptions, parse_hash_list,
};

const SAMPLE_BYTES: usize = 200 * 1024;

const CASES: [(&str, &str); 5] = [
    ("", ""),
    ("", "sha1"),
    ("zstd:3", ""),
    ("zstd:3", "sha1"),
    ("zstd:6", "sha1"),
];

/// JPEG-like bytes: a fixed header, then xorshift noise (entropy-coded data
/// barely compresses).
fn frame(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = vec![
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    out.resize(SAMPLE_BYTES, 0);
    for chunk in out[11..].chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let total_mb: usize = arg("--mb").map_or(256, |v| v.parse().expect("--mb takes a number"));
    let runs: usize = arg("--runs").map_or(3, |v| v.parse().expect("--runs takes a number"));
    let base = arg("--dir").map_or_else(std::env::temp_dir, PathBuf::from);
    let count = total_mb * 1024 * 1024 / SAMPLE_BYTES;
    let frames: Vec<Vec<u8>> = (0..16).map(frame).collect();
    let columns = Columns::new([("frame", "jpeg"), ("i", "int")]).unwrap();

    println!(
        "MDS write: {count} samples of {} KB ({total_mb} MB), 64 MiB shards, best of {runs}, in {}",
        SAMPLE_BYTES / 1024,
        base.display()
    );
    println!(
        "{:<12} {:<8} {:>10} {:>8} {:>12}",
        "compression", "hashes", "MB/s", "shards", "on disk MB"
    );
    for (compression, hashes) in CASES {
        let options = WriterOptions {
            compression: Compression::parse_setting(compression).unwrap(),
            hashes: parse_hash_list(hashes).unwrap(),
            ..WriterOptions::default()
        };
        let mut best = f64::INFINITY;
        let (mut shards, mut on_disk) = (0, 0);
        for _ in 0..runs {
            let dir = tempfile::tempdir_in(&base).expect("temp dir");
            let mut writer =
                MdsWriter::create(dir.path(), columns.clone(), options.clone()).unwrap();
            let start = Instant::now();
            for i in 0..count {
                let sample: Sample = [
                    (
                        "frame".to_owned(),
                        Value::Bytes(frames[i % frames.len()].clone()),
                    ),
                    ("i".to_owned(), Value::Int(i as i64)),
                ]
                .into();
                writer.write(&sample).unwrap();
            }
            writer.finish().unwrap();
            best = best.min(start.elapsed().as_secs_f64());
            shards = writer.index().shards.len();
            on_disk = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().len())
                .sum::<u64>();
        }
        let seconds = best;
        println!(
            "{:<12} {:<8} {:>10.0} {:>8} {:>12.1}",
            if compression.is_empty() {
                "none"
            } else {
                compression
            },
            if hashes.is_empty() { "-" } else { hashes },
            (count * SAMPLE_BYTES) as f64 / 1e6 / seconds,
            shards,
            on_disk as f64 / 1e6
        );
    }
}
