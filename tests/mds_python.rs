//! Cross-checks the MDS writer against `tests/mds_verify.py`, a Python
//! reader written from the format description alone: datasets written with
//! several settings must verify and decode to what was written, field for
//! field.
//!
//! Needs `python3`; zstd shards need the `zstandard` package, which
//! `scripts/setup.sh` installs (this test tries `pip install` once otherwise).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use neko_agent::mds::{
    Columns, Compression, Dtype, MdsWriter, NdArray, PilImage, Sample, Value, WriterOptions,
    parse_hash_list, parse_size_limit,
};
use serde_json::{Value as Json, json};

const VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mds_verify.py");

/// Makes sure `python3` can import `zstandard`, installing it once if needed.
fn python_ready() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let has_zstandard = || {
            Command::new("python3")
                .args(["-c", "import zstandard"])
                .stderr(Stdio::null())
                .status()
                .unwrap_or_else(|e| panic!("python3 is needed for this test: {e}"))
                .success()
        };
        if !has_zstandard() {
            let _ = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "zstandard"])
                .status();
        }
        assert!(
            has_zstandard(),
            "python3 cannot import zstandard; run scripts/setup.sh or `python3 -m pip install zstandard`"
        );
    });
}

/// Runs the verifier on `dir`: success and stdout, or failure and stderr.
fn run_verifier(dir: &Path) -> (bool, String, String) {
    python_ready();
    let out = Command::new("python3")
        .arg(VERIFIER)
        .arg(dir)
        .output()
        .expect("run python3");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Runs the verifier on `dir` and returns its JSON report.
fn verify(dir: &Path) -> Json {
    let (ok, stdout, stderr) = run_verifier(dir);
    assert!(ok, "mds_verify.py failed on {}:\n{stderr}", dir.display());
    serde_json::from_str(&stdout).expect("verifier prints JSON")
}

/// A value as the verifier prints it.
fn expected(value: &Value) -> Json {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match value {
        Value::Bytes(b) => json!({ "hex": hex(b) }),
        Value::Str(s) => json!(s),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Decimal(d) => json!({ "decimal": d }),
        Value::Json(j) => j.clone(),
        Value::NdArray(a) => json!({
            "ndarray": { "dtype": a.dtype().name(), "shape": a.shape(), "hex": hex(a.data()) }
        }),
        Value::Pil(p) => json!({
            "pil": { "width": p.width, "height": p.height, "mode": p.mode, "hex": hex(&p.raw) }
        }),
        Value::List(items) => Json::Array(items.iter().map(expected).collect()),
    }
}

fn sample(pairs: Vec<(&str, Value)>) -> Sample {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The columns the capture feature writes (one sample per episode).
fn capture_columns() -> Columns {
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
    .unwrap()
}

fn episode(i: u32) -> Sample {
    // Payload bytes that compress somewhat, of varying length.
    let payload: Vec<u8> = (0..(500 + i * 997))
        .map(|j| (j.wrapping_mul(2_654_435_761).rotate_left(i) >> 13) as u8 & 0x3f)
        .collect();
    sample(vec![
        ("episode_id", format!("{:08x}", i.wrapping_mul(0x9e37_79b9)).into()),
        ("task", format!("Öffne den Browser — Aufgabe {i} \"quoted\" 😀").into()),
        ("payload", payload.into()),
        ("num_frames", Value::Int(4 + i64::from(i))),
        ("num_actions", Value::Int(-(i64::from(i)))),
        ("started_at", "2026-05-01T12:00:00".into()),
        ("ended_at", "2026-05-01T12:15:00".into()),
        ("screen_w", Value::Int(1920)),
        ("screen_h", Value::Int(1080)),
        (
            "agent",
            json!({"source": "neko+showui", "notes": "frames via shot.jpg; actions via chat", "i": i, "x": 0.1})
                .into(),
        ),
    ])
}

/// Writes `samples` with the given settings and checks the verifier's view.
fn write_and_verify(
    columns: Columns,
    samples: &[Sample],
    compression: &str,
    hashes: &str,
    size_limit: &str,
) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        compression: Compression::parse_setting(compression).unwrap(),
        hashes: parse_hash_list(hashes).unwrap(),
        size_limit: parse_size_limit(size_limit).unwrap(),
    };
    let mut writer = MdsWriter::create(dir.path(), columns, options).unwrap();
    for s in samples {
        writer.write(s).unwrap();
    }
    writer.finish().unwrap();
    let shards = writer.index().shards.len();
    drop(writer);

    let report = verify(dir.path());
    let setting = format!("compression={compression:?} hashes={hashes:?} size={size_limit:?}");
    assert_eq!(
        report["shards"].as_array().unwrap().len(),
        shards,
        "{setting}"
    );
    let got = report["samples"].as_array().unwrap();
    assert_eq!(got.len(), samples.len(), "{setting}");
    for (i, (got, want)) in got.iter().zip(samples).enumerate() {
        let want: serde_json::Map<String, Json> =
            want.iter().map(|(k, v)| (k.clone(), expected(v))).collect();
        let got = got.as_object().unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{setting}"
        );
        for (column, want) in &want {
            assert_eq!(&got[column], want, "{setting}: sample {i} column {column}");
        }
    }
    // Every hashlib hash must have been checked; xxhash ones need the module.
    for shard in report["shards"].as_array().unwrap() {
        let checked: Vec<&str> = shard["checked_hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        for name in parse_hash_list(hashes).unwrap().iter().map(|h| h.name()) {
            if !name.starts_with("xxh") {
                assert!(checked.contains(&name), "{setting}: {name} not checked");
            }
        }
    }
    report
}

#[test]
fn capture_datasets_verify_in_python() {
    let episodes: Vec<Sample> = (0..12).map(episode).collect();
    let cases = [
        ("", "", ""),
        ("", "sha1", "64kb"),
        ("zstd:6", "sha1", "512mb"),
        ("zstd", "md5,sha256", "20kb"),
        ("gz", "sha1,sha3_256", "30kb"),
        ("bz2:1", "blake2b,blake2s,sha512", "30kb"),
        ("snappy", "sha224,sha384", "16kb"),
        ("zstd:19", "sha1,xxh3_64,xxh64,xxh32,xxh128", "10kb"),
    ];
    for (compression, hashes, size) in cases {
        let report = write_and_verify(capture_columns(), &episodes, compression, hashes, size);
        let shards = report["shards"].as_array().unwrap().len();
        if size.ends_with("kb") && size != "64kb" {
            assert!(
                shards > 1,
                "{compression} {size}: expected rollover, got {shards} shard"
            );
        }
    }
}

#[test]
fn every_encoding_decodes_in_python() {
    let columns = Columns::new([
        ("bytes", "bytes"),
        ("str", "str"),
        ("int", "int"),
        ("u8", "uint8"),
        ("u16", "uint16"),
        ("u32", "uint32"),
        ("u64", "uint64"),
        ("i8", "int8"),
        ("i16", "int16"),
        ("i32", "int32"),
        ("i64", "int64"),
        ("f16", "float16"),
        ("f32", "float32"),
        ("f64", "float64"),
        ("str_int", "str_int"),
        ("str_float", "str_float"),
        ("str_decimal", "str_decimal"),
        ("json", "json"),
        ("jpeg", "jpeg"),
        ("png", "png"),
        ("pil", "pil"),
        ("list_jpeg", "list[jpeg]"),
        ("list_png", "list[png]"),
        ("list_pil", "list[pil]"),
        ("jpeg_array", "jpeg_array"),
        ("nd", "ndarray"),
        ("nd_dtype", "ndarray:uint16"),
        ("nd_fixed", "ndarray:float32:2,2"),
    ])
    .unwrap();
    let image = PilImage {
        width: 2,
        height: 1,
        mode: "RGB".into(),
        raw: vec![1, 2, 3, 4, 5, 6],
    };
    let make = |i: u8| {
        let n = i64::from(i);
        sample(vec![
            ("bytes", vec![i; usize::from(i)].into()),
            ("str", format!("s{i} ü").into()),
            ("int", Value::Int(i64::MIN + n)),
            ("u8", Value::UInt(255 - u64::from(i))),
            ("u16", Value::UInt(65_535)),
            ("u32", Value::UInt(4_000_000_000)),
            ("u64", Value::UInt(u64::MAX - u64::from(i))),
            ("i8", Value::Int(-128 + n)),
            ("i16", Value::Int(-32_768)),
            ("i32", Value::Int(-2_000_000_000)),
            ("i64", Value::Int(i64::MAX - n)),
            ("f16", Value::Float(0.5 + n as f64)),
            ("f32", Value::Float(0.25)),
            ("f64", Value::Float(0.1 * (n + 1) as f64)),
            ("str_int", Value::Int(-n * 1_000_000_000_007)),
            (
                "str_float",
                Value::Float([1e-7, 1e16, 0.1, -2.5][usize::from(i) % 4]),
            ),
            ("str_decimal", Value::Decimal(format!("{i}.50"))),
            (
                "json",
                json!({"z": [1, 2.5, null, true], "a": "é", "i": i}).into(),
            ),
            ("jpeg", vec![0xff, 0xd8, i, 0xff, 0xd9].into()),
            ("png", b"\x89PNG\r\n\x1a\n".to_vec().into()),
            ("pil", Value::Pil(image.clone())),
            (
                "list_jpeg",
                Value::List(vec![vec![1u8, i].into(), vec![].into()]),
            ),
            ("list_png", Value::List(vec![])),
            ("list_pil", Value::List(vec![Value::Pil(image.clone()); 2])),
            ("jpeg_array", Value::List(vec![vec![i].into()])),
            (
                "nd",
                Value::NdArray(NdArray::new(Dtype::I8, vec![1, 300], vec![i; 300]).unwrap()),
            ),
            (
                "nd_dtype",
                Value::NdArray(NdArray::new(Dtype::U16, vec![3], vec![i; 6]).unwrap()),
            ),
            (
                "nd_fixed",
                Value::NdArray(NdArray::new(Dtype::F32, vec![2, 2], vec![0; 16]).unwrap()),
            ),
        ])
    };
    let samples: Vec<Sample> = (0..5).map(make).collect();
    write_and_verify(columns.clone(), &samples, "", "sha1", "");
    write_and_verify(columns, &samples, "zstd", "sha256", "2kb");
}

#[test]
fn appended_datasets_verify_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let episodes: Vec<Sample> = (0..6).map(episode).collect();
    for (run, chunk) in episodes.chunks(2).enumerate() {
        let compression = ["zstd:6", "", "gz"][run];
        let options = WriterOptions {
            compression: Compression::parse_setting(compression).unwrap(),
            hashes: parse_hash_list("sha1").unwrap(),
            size_limit: parse_size_limit("512mb").unwrap(),
        };
        let mut writer = MdsWriter::open(dir.path(), capture_columns(), options).unwrap();
        for s in chunk {
            writer.write(s).unwrap();
        }
        writer.finish().unwrap();
    }
    let report = verify(dir.path());
    let files: Vec<&str> = report["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "shard.00000.mds.zstd",
            "shard.00001.mds",
            "shard.00002.mds.gz"
        ]
    );
    assert_eq!(report["samples"].as_array().unwrap().len(), 6);
}

#[test]
fn the_verifier_notices_damage() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        compression: None,
        hashes: parse_hash_list("sha1").unwrap(),
        size_limit: None,
    };
    let mut writer = MdsWriter::create(dir.path(), capture_columns(), options).unwrap();
    writer.write(&episode(1)).unwrap();
    writer.finish().unwrap();
    drop(writer);
    verify(dir.path());

    let shard = dir.path().join("shard.00000.mds");
    let mut data = std::fs::read(&shard).unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    std::fs::write(&shard, &data).unwrap();
    let (ok, _, stderr) = run_verifier(dir.path());
    assert!(!ok && stderr.contains("sha1 is"), "{stderr}");

    let index = dir.path().join("index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace(", ", ",")).unwrap();
    let (ok, _, stderr) = run_verifier(dir.path());
    assert!(!ok && stderr.contains("byte-identical"), "{stderr}");
}
