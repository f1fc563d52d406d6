//! Whole-module tests: golden bytes built by hand from the format
//! description, round trips through writer and reader, rollover, appending,
//! crash recovery, injected write failures and corrupt inputs.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::writer::FailPoint;
use super::*;

fn number_words() -> Columns {
    Columns::new([("number", "int"), ("words", "str")]).unwrap()
}

fn nw(number: i64, words: &str) -> Sample {
    [
        ("number".to_owned(), Value::Int(number)),
        ("words".to_owned(), Value::from(words)),
    ]
    .into()
}

fn options(compression: Option<&str>, hashes: &str, size_limit: Option<u64>) -> WriterOptions {
    WriterOptions {
        compression: compression.map(|c| Compression::parse(c).unwrap()),
        hashes: parse_hash_list(hashes).unwrap(),
        size_limit,
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_all(dir: &Path) -> Vec<Sample> {
    MdsReader::open(dir)
        .unwrap()
        .samples()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

const CONFIG: &str = r#"{"column_encodings": ["int", "str"], "column_names": ["number", "words"], "column_sizes": [8, null], "compression": null, "format": "mds", "hashes": [], "size_limit": 67108864, "version": 2}"#;

/// The worked example of the format notes, built byte by byte.
fn golden_shard() -> Vec<u8> {
    assert_eq!(CONFIG.len(), 190);
    let mut shard = Vec::new();
    for n in [2u32, 206, 220, 235] {
        shard.extend_from_slice(&n.to_le_bytes());
    }
    shard.extend_from_slice(CONFIG.as_bytes());
    for (number, words) in [(1i64, "hi"), (2, "abc")] {
        shard.extend_from_slice(&(words.len() as u32).to_le_bytes());
        shard.extend_from_slice(&number.to_le_bytes());
        shard.extend_from_slice(words.as_bytes());
    }
    assert_eq!(shard.len(), 235);
    shard
}

#[test]
fn writer_and_reader_can_move_to_a_blocking_thread() {
    fn send<T: Send>() {}
    send::<MdsWriter>();
    send::<MdsReader>();
    send::<ShardSamples>();
}

#[test]
fn golden_shard_and_index_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), WriterOptions::default()).unwrap();
    assert_eq!(writer.write(&nw(1, "hi")).unwrap(), None);
    assert_eq!(writer.write(&nw(2, "abc")).unwrap(), None);
    let closed = writer.finish().unwrap().unwrap();
    assert_eq!(closed.number, 0);
    assert_eq!(closed.path, dir.path().join("shard.00000.mds"));
    assert_eq!(closed.index_path, dir.path().join("index.json"));
    assert_eq!(files(dir.path()), ["index.json", "shard.00000.mds"]);
    assert_eq!(fs::read(&closed.path).unwrap(), golden_shard());
    let index = r#"{"shards": [{"column_encodings": ["int", "str"], "column_names": ["number", "words"], "column_sizes": [8, null], "compression": null, "format": "mds", "hashes": [], "raw_data": {"basename": "shard.00000.mds", "bytes": 235, "hashes": {}}, "samples": 2, "size_limit": 67108864, "version": 2, "zip_data": null}], "version": 2}"#;
    assert_eq!(fs::read_to_string(&closed.index_path).unwrap(), index);
    assert_eq!(read_all(dir.path()), [nw(1, "hi"), nw(2, "abc")]);
}

#[test]
fn golden_compressed_shard_with_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Some("zstd:7"), "xxh3_64,sha1", Some(DEFAULT_SIZE_LIMIT));
    let mut writer = MdsWriter::create(dir.path(), number_words(), opts).unwrap();
    writer.write(&nw(1, "hi")).unwrap();
    writer.write(&nw(2, "abc")).unwrap();
    let closed = writer.finish().unwrap().unwrap();
    assert_eq!(closed.path, dir.path().join("shard.00000.mds.zstd"));
    assert_eq!(files(dir.path()), ["index.json", "shard.00000.mds.zstd"]);

    let config = CONFIG
        .replace(r#""compression": null"#, r#""compression": "zstd:7""#)
        .replace(r#""hashes": []"#, r#""hashes": ["sha1", "xxh3_64"]"#);
    let mut raw = golden_shard();
    raw.splice(16..16 + CONFIG.len(), config.bytes());
    let grow = (config.len() - CONFIG.len()) as u32;
    for slot in 1..4 {
        let at = 4 * slot;
        let offset = u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) + grow;
        raw[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    }
    let zip = fs::read(&closed.path).unwrap();
    assert_eq!(zstd::stream::decode_all(&zip[..]).unwrap(), raw);

    let entry = &closed.entry;
    assert_eq!(entry, &writer.index().shards[0]);
    assert_eq!(entry.compression.as_deref(), Some("zstd:7"));
    assert_eq!(entry.hashes, ["sha1", "xxh3_64"]);
    assert_eq!(entry.raw_data.bytes, raw.len() as u64);
    assert_eq!(
        entry.raw_data.hashes["sha1"],
        HashAlgo::Sha1.hex_digest(&raw)
    );
    assert_eq!(
        entry.raw_data.hashes["xxh3_64"],
        HashAlgo::Xxh3_64.hex_digest(&raw)
    );
    let zip_data = entry.zip_data.as_ref().unwrap();
    assert_eq!(zip_data.basename, "shard.00000.mds.zstd");
    assert_eq!(zip_data.bytes, zip.len() as u64);
    assert_eq!(zip_data.hashes["sha1"], HashAlgo::Sha1.hex_digest(&zip));
    assert_eq!(read_all(dir.path()), [nw(1, "hi"), nw(2, "abc")]);
}

#[test]
fn every_compression_and_hash_round_trips() {
    let all_hashes: Vec<&str> = HashAlgo::ALL.iter().map(|h| h.name()).collect();
    for compression in [
        None,
        Some("zstd"),
        Some("gz:1"),
        Some("bz2"),
        Some("br:4"),
        Some("snappy"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(compression, &all_hashes.join(","), Some(300));
        let mut writer = MdsWriter::create(dir.path(), number_words(), opts).unwrap();
        let samples: Vec<Sample> = (0..40)
            .map(|i| nw(i, &"word ".repeat(i as usize)))
            .collect();
        for sample in &samples {
            writer.write(sample).unwrap();
        }
        writer.finish().unwrap();
        assert!(writer.index().shards.len() > 3, "{compression:?}");
        assert_eq!(read_all(dir.path()), samples, "{compression:?}");
    }
}

#[test]
fn all_value_kinds_round_trip() {
    let columns = Columns::new([
        ("bytes", "bytes"),
        ("str", "str"),
        ("int", "int"),
        ("u8", "uint8"),
        ("i32", "int32"),
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
        ("list_pil", "list[pil]"),
        ("jpeg_array", "jpeg_array"),
        ("nd_dynamic", "ndarray"),
        ("nd_fixed", "ndarray:int16:2,2"),
    ])
    .unwrap();
    let image = PilImage {
        width: 2,
        height: 1,
        mode: "L".into(),
        raw: vec![0, 255],
    };
    let sample: Sample = [
        ("bytes", Value::Bytes(vec![0, 1, 2])),
        ("str", "ünï 😀".into()),
        ("int", Value::Int(-5)),
        ("u8", Value::UInt(255)),
        ("i32", Value::Int(-70_000)),
        ("f16", Value::Float(0.5)),
        ("f32", Value::Float(0.25)),
        ("f64", Value::Float(0.1)),
        ("str_int", Value::Int(42)),
        ("str_float", Value::Float(1e-7)),
        ("str_decimal", Value::Decimal("3.14".into())),
        ("json", json!({"k": [1, "two", null]}).into()),
        ("jpeg", Value::Bytes(vec![0xff, 0xd8, 0xff, 0xd9])),
        ("png", Value::Bytes(b"\x89PNG".to_vec())),
        ("pil", Value::Pil(image.clone())),
        (
            "list_jpeg",
            Value::List(vec![Value::Bytes(vec![1]), Value::Bytes(vec![])]),
        ),
        ("list_pil", Value::List(vec![Value::Pil(image)])),
        ("jpeg_array", Value::List(vec![Value::Bytes(vec![7, 7])])),
        (
            "nd_dynamic",
            Value::NdArray(
                NdArray::new(Dtype::U32, vec![1, 2], vec![1, 0, 0, 0, 2, 0, 0, 0]).unwrap(),
            ),
        ),
        (
            "nd_fixed",
            Value::NdArray(NdArray::new(Dtype::I16, vec![2, 2], vec![1; 8]).unwrap()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = MdsWriter::create(dir.path(), columns, WriterOptions::default()).unwrap();
    writer.write(&sample).unwrap();
    writer.finish().unwrap();
    let mut back = read_all(dir.path());
    assert_eq!(back.len(), 1);
    // Unsigned scalar columns read back as UInt.
    assert_eq!(back[0]["u8"], Value::UInt(255));
    back[0].insert("u8".into(), Value::UInt(255));
    assert_eq!(back[0], sample);
}

/// Bytes in an empty shard of `number_words` with `size_limit`.
fn empty_shard_size(size_limit: Option<u64>) -> u64 {
    let columns = number_words();
    let config = shard::Config {
        columns: &columns,
        compression: None,
        hashes: &[],
        size_limit,
    }
    .to_json();
    8 + config.len() as u64
}

#[test]
fn rollover_follows_python_rule() {
    // Each (n, "hi") record is 14 bytes and counts 18 with its offset.
    let limit = empty_shard_size(Some(100)) + 2 * 18;
    assert_eq!(empty_shard_size(Some(limit)), empty_shard_size(Some(100)));
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), options(None, "", Some(limit))).unwrap();
    let mut closed = Vec::new();
    for i in 0..5 {
        closed.push(writer.write(&nw(i, "hi")).unwrap().map(|c| c.number));
    }
    // Two samples fill the limit exactly; the third starts a new shard.
    assert_eq!(closed, [None, None, Some(0), None, Some(1)]);
    assert_eq!(writer.finish().unwrap().map(|c| c.number), Some(2));
    let counts: Vec<u64> = writer.index().shards.iter().map(|s| s.samples).collect();
    assert_eq!(counts, [2, 2, 1]);
    for (i, shard) in writer.index().shards.iter().enumerate() {
        let len = fs::metadata(dir.path().join(raw_basename(i)))
            .unwrap()
            .len();
        assert_eq!(len, shard.raw_data.bytes);
        assert!(len <= limit);
    }
    assert_eq!(read_all(dir.path()).len(), 5);
}

#[test]
fn oversized_samples_get_their_own_shard_and_no_empty_shard() {
    let limit = empty_shard_size(Some(1000)) + 20;
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), options(None, "", Some(limit))).unwrap();
    let big = "x".repeat(500);
    assert_eq!(writer.write(&nw(0, &big)).unwrap(), None);
    assert_eq!(
        writer.write(&nw(1, "a")).unwrap().map(|c| c.number),
        Some(0)
    );
    assert_eq!(
        writer.write(&nw(2, &big)).unwrap().map(|c| c.number),
        Some(1)
    );
    writer.finish().unwrap();
    let counts: Vec<u64> = writer.index().shards.iter().map(|s| s.samples).collect();
    assert_eq!(counts, [1, 1, 1]);
}

#[test]
fn no_limit_keeps_one_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), options(None, "", None)).unwrap();
    for i in 0..100 {
        assert_eq!(writer.write(&nw(i, "some words")).unwrap(), None);
    }
    writer.finish().unwrap();
    assert_eq!(writer.index().shards.len(), 1);
    assert_eq!(writer.index().shards[0].size_limit, None);
    assert!(
        fs::read_to_string(dir.path().join("index.json"))
            .unwrap()
            .contains(r#""size_limit": null"#)
    );
}

#[test]
fn a_zero_limit_means_none_as_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), options(None, "", Some(0))).unwrap();
    writer.write(&nw(1, "a")).unwrap();
    writer.write(&nw(2, "b")).unwrap();
    writer.finish().unwrap();
    assert_eq!(writer.index().shards.len(), 1);
    assert_eq!(writer.index().shards[0].size_limit, None);
}

#[test]
fn empty_dataset_has_an_empty_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), WriterOptions::default()).unwrap();
    assert_eq!(writer.finish().unwrap(), None);
    assert_eq!(
        fs::read_to_string(dir.path().join("index.json")).unwrap(),
        r#"{"shards": [], "version": 2}"#
    );
    assert!(read_all(dir.path()).is_empty());
}

#[test]
fn reopen_appends_after_existing_shards() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Some("zstd"), "sha1", Some(DEFAULT_SIZE_LIMIT));
    let mut writer = MdsWriter::open(dir.path(), number_words(), opts.clone()).unwrap();
    writer.write(&nw(1, "one")).unwrap();
    writer.write(&nw(2, "two")).unwrap();
    writer.finish().unwrap();
    drop(writer);
    let first_index = fs::read_to_string(dir.path().join("index.json")).unwrap();

    // A later run may use other settings; the columns must stay.
    let opts2 = options(None, "md5", Some(1 << 20));
    let mut writer = MdsWriter::open(dir.path(), number_words(), opts2).unwrap();
    assert_eq!(writer.index().shards.len(), 1);
    writer.write(&nw(3, "three")).unwrap();
    let closed = writer.finish().unwrap().unwrap();
    assert_eq!(closed.number, 1);
    assert_eq!(closed.path, dir.path().join("shard.00001.mds"));
    drop(writer);

    let index = fs::read_to_string(dir.path().join("index.json")).unwrap();
    let first_entry = &first_index[..first_index.len() - "], \"version\": 2}".len()];
    assert!(index.starts_with(first_entry), "{index}");
    assert_eq!(
        read_all(dir.path()),
        [nw(1, "one"), nw(2, "two"), nw(3, "three")]
    );

    let other = Columns::new([("number", "int"), ("words", "json")]).unwrap();
    let err = MdsWriter::open(dir.path(), other, opts)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("[number:int, words:str]") && err.contains("[number:int, words:json]"),
        "{err}"
    );
    let err = MdsWriter::create(dir.path(), number_words(), WriterOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("index.json already exists"), "{err}");
}

#[test]
fn one_writer_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = MdsWriter::open(dir.path(), number_words(), WriterOptions::default()).unwrap();
    let err = MdsWriter::open(dir.path(), number_words(), WriterOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, MdsError::Locked { .. }), "{err}");
}

#[test]
fn shards_written_but_not_indexed_are_recovered() {
    for compression in [None, Some("zstd:5"), Some("snappy")] {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(compression, "sha1,xxh64", Some(200));
        let mut writer = MdsWriter::open(dir.path(), number_words(), opts.clone()).unwrap();
        for i in 0..12 {
            writer.write(&nw(i, "recover me")).unwrap();
        }
        writer.finish().unwrap();
        let shards = writer.index().shards.len();
        assert!(shards >= 3);
        drop(writer);
        let full_index = fs::read_to_string(dir.path().join("index.json")).unwrap();

        // A crash after a shard's rename but before the index rewrite.
        let truncated = Index {
            shards: MdsReader::open(dir.path()).unwrap().index().shards[..1].to_vec(),
        };
        fs::write(dir.path().join("index.json"), truncated.to_json()).unwrap();
        let writer = MdsWriter::open(dir.path(), number_words(), opts).unwrap();
        assert_eq!(writer.index().shards.len(), shards);
        drop(writer);
        assert_eq!(
            fs::read_to_string(dir.path().join("index.json")).unwrap(),
            full_index,
            "{compression:?}"
        );
        assert_eq!(read_all(dir.path()).len(), 12);
    }
}

#[test]
fn stray_shards_and_leftover_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".mds-tmp-abc123"), b"half a shard").unwrap();
    let mut writer = MdsWriter::open(dir.path(), number_words(), WriterOptions::default()).unwrap();
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    writer.write(&nw(1, "a")).unwrap();
    writer.finish().unwrap();
    drop(writer);

    fs::write(dir.path().join("shard.00005.mds"), b"junk").unwrap();
    let err = MdsWriter::open(dir.path(), number_words(), WriterOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(&err, MdsError::StrayShard { path } if path.ends_with("shard.00005.mds")),
        "{err}"
    );

    fs::rename(
        dir.path().join("shard.00005.mds"),
        dir.path().join("shard.00001.mds"),
    )
    .unwrap();
    let err = MdsWriter::open(dir.path(), number_words(), WriterOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("shard.00001.mds is corrupt"), "{err}");
}

#[test]
fn a_failed_shard_write_leaves_nothing_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Some("zstd"), "sha1", Some(DEFAULT_SIZE_LIMIT));
    let mut writer = MdsWriter::create(dir.path(), number_words(), opts).unwrap();
    for i in 0..3 {
        writer.write(&nw(i, "keep me")).unwrap();
    }
    writer.fail_next(FailPoint::Shard);
    let err = writer.flush().unwrap_err().to_string();
    assert!(err.contains("injected shard write failure"), "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    assert_eq!(writer.pending_samples(), 3);
    assert!(writer.index().shards.is_empty());

    writer.finish().unwrap();
    assert_eq!(files(dir.path()), ["index.json", "shard.00000.mds.zstd"]);
    assert_eq!(read_all(dir.path()).len(), 3);
}

#[test]
fn a_failed_index_write_keeps_the_old_index_and_heals() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), WriterOptions::default()).unwrap();
    writer.write(&nw(0, "first")).unwrap();
    writer.flush().unwrap();
    let old_index = fs::read_to_string(dir.path().join("index.json")).unwrap();

    writer.write(&nw(1, "second")).unwrap();
    writer.fail_next(FailPoint::Index);
    let err = writer.flush().unwrap_err().to_string();
    assert!(
        err.contains("injected index write failure") && err.contains(".mds-tmp-"),
        "{err}"
    );
    // The shard is on disk; the index on disk is the complete old one.
    assert_eq!(
        files(dir.path()),
        ["index.json", "shard.00000.mds", "shard.00001.mds"]
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("index.json")).unwrap(),
        old_index
    );
    assert_eq!(writer.pending_samples(), 0);

    // Whether the process goes on (next index write) or dies (next open),
    // the shard ends up listed.
    drop(writer);
    let mut writer = MdsWriter::open(dir.path(), number_words(), WriterOptions::default()).unwrap();
    assert_eq!(writer.index().shards.len(), 2);
    writer.finish().unwrap();
    assert_eq!(read_all(dir.path()), [nw(0, "first"), nw(1, "second")]);
}

#[test]
fn bad_samples_are_refused_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        MdsWriter::create(dir.path(), number_words(), WriterOptions::default()).unwrap();
    let mut extra = nw(1, "a");
    extra.insert("oops".into(), Value::Int(1));
    let err = writer.write(&extra).unwrap_err().to_string();
    assert!(err.contains(r#"unexpected ["oops"]"#), "{err}");
    let mut wrong = nw(1, "a");
    wrong.insert("number".into(), "one".into());
    let err = writer.write(&wrong).unwrap_err().to_string();
    assert_eq!(err, "column `number` (int): expected an integer, got str");
    assert_eq!(writer.pending_samples(), 0);
}

#[test]
fn corrupt_datasets_are_reported_with_the_file() {
    let write = |opts: WriterOptions| {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = MdsWriter::create(dir.path(), number_words(), opts).unwrap();
        writer.write(&nw(1, "hello")).unwrap();
        writer.write(&nw(2, "world")).unwrap();
        writer.finish().unwrap();
        dir
    };
    let first_error = |dir: &Path| {
        MdsReader::open(dir)
            .unwrap()
            .samples()
            .find_map(|s| s.err())
            .unwrap()
    };

    // A flipped byte with a hash: the hash catches it.
    let dir = write(options(None, "sha256", Some(DEFAULT_SIZE_LIMIT)));
    let shard = dir.path().join("shard.00000.mds");
    let mut data = fs::read(&shard).unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    fs::write(&shard, &data).unwrap();
    let err = first_error(dir.path());
    assert!(
        matches!(err, MdsError::HashMismatch { ref algo, .. } if algo == "sha256"),
        "{err}"
    );
    // Without checking hashes, the bytes decode (to other text).
    let reader = MdsReader::open(dir.path()).unwrap().verify_hashes(false);
    assert_eq!(reader.samples().count(), 2);

    // Broken offsets without hashes: the layout check catches it.
    let dir = write(WriterOptions::default());
    let shard = dir.path().join("shard.00000.mds");
    let mut data = fs::read(&shard).unwrap();
    data[8..12].copy_from_slice(&10u32.to_le_bytes());
    fs::write(&shard, &data).unwrap();
    let err = first_error(dir.path()).to_string();
    assert!(
        err.contains("shard.00000.mds is corrupt: sample 0 ends before it starts"),
        "{err}"
    );

    // A record whose size prefix is wrong.
    let dir = write(WriterOptions::default());
    let shard = dir.path().join("shard.00000.mds");
    let mut data = fs::read(&shard).unwrap();
    let first = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    data[first..first + 4].copy_from_slice(&1000u32.to_le_bytes());
    fs::write(&shard, &data).unwrap();
    let err = first_error(dir.path()).to_string();
    assert!(
        err.contains("is corrupt: sample 0: column `words`"),
        "{err}"
    );

    // A truncated file.
    let dir = write(WriterOptions::default());
    let shard = dir.path().join("shard.00000.mds");
    let data = fs::read(&shard).unwrap();
    fs::write(&shard, &data[..data.len() - 3]).unwrap();
    let err = first_error(dir.path()).to_string();
    assert!(err.contains("index.json says"), "{err}");

    // Garbage instead of zstd, with the index updated to match its size.
    let dir = write(options(Some("zstd"), "", Some(DEFAULT_SIZE_LIMIT)));
    let shard = dir.path().join("shard.00000.mds.zstd");
    let garbage = vec![0x55u8; fs::metadata(&shard).unwrap().len() as usize];
    fs::write(&shard, &garbage).unwrap();
    let err = first_error(dir.path()).to_string();
    assert!(
        err.contains("shard.00000.mds.zstd is corrupt: cannot decompress as zstd"),
        "{err}"
    );

    // A missing shard file.
    let dir = write(WriterOptions::default());
    fs::remove_file(dir.path().join("shard.00000.mds")).unwrap();
    let err = first_error(dir.path()).to_string();
    assert!(
        err.starts_with("cannot read shard ") && err.contains("shard.00000.mds"),
        "{err}"
    );

    // No dataset at all.
    let empty = tempfile::tempdir().unwrap();
    let err = MdsReader::open(empty.path()).unwrap_err().to_string();
    assert!(
        err.contains("index.json") && err.contains("MDS dataset"),
        "{err}"
    );
}
