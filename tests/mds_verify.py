#!/usr/bin/env python3
"""Independent checker for MosaicML Streaming (MDS) dataset directories.

Written from the format description only (docs: mds-format.md), without
torch, numpy or the `streaming` package: Python 3 standard library, plus
`zstandard` for zstd shards and, when installed, `brotli` and `xxhash`.

    python3 tests/mds_verify.py [--episodes] DATASET_DIR

Checks that index.json is exactly what `json.dump(obj, sort_keys=True)`
writes, that every shard file has the listed size and hashes, that the
shard header, offsets and embedded config agree with the index, and that
every sample decodes. Prints one JSON document on stdout:

    {"shards": [{"file": ..., "samples": n, "checked_hashes": [...],
                 "unchecked_hashes": [...]}],
     "samples": [{column: value, ...}, ...]}

Values: str and json columns as themselves; integers and floats as numbers;
str_decimal as {"decimal": text}; bytes/jpeg/png as {"hex": ...}; pil as
{"pil": {"width", "height", "mode", "hex"}}; lists as lists; ndarray as
{"ndarray": {"dtype", "shape", "hex"}}. Any problem is printed to stderr as
"FAIL: ..." and the exit status is 1.

With --episodes the dataset must be a capture dataset (one episode per
sample, as the Python capture tool wrote them): every `payload` must be an
episode zip whose entries are stored (not deflated) in the order meta.json,
frames.ndjson, actions.ndjson, frames/NNNNNN.jpg; frames numbered from 0,
each a whole JPEG; meta.json agreeing with the sample's columns. The payload
is then printed as {"episode": {"meta", "frames", "actions", "frame_sha1"}}.
"""

import bz2
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import zipfile

INDEX_KEYS = [
    "column_encodings", "column_names", "column_sizes", "compression", "format",
    "hashes", "raw_data", "samples", "size_limit", "version", "zip_data",
]
CONFIG_KEYS = [k for k in INDEX_KEYS if k not in ("raw_data", "samples", "zip_data")]

# name -> (struct format, size)
SCALARS = {
    "int": ("<q", 8),
    "uint8": ("<B", 1), "uint16": ("<H", 2), "uint32": ("<I", 4), "uint64": ("<Q", 8),
    "int8": ("<b", 1), "int16": ("<h", 2), "int32": ("<i", 4), "int64": ("<q", 8),
    "float16": ("<e", 2), "float32": ("<f", 4), "float64": ("<d", 8),
}
DTYPE_CODES = {
    8: "uint8", 9: "int8", 16: "uint16", 17: "int16", 18: "float16", 32: "uint32",
    33: "int32", 34: "float32", 64: "uint64", 65: "int64", 66: "float64",
}
LEVELS = {"br": range(0, 12), "bz2": range(1, 10), "gz": range(0, 10), "zstd": range(1, 23)}


class Fail(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Fail(message)


def u32s(data, at, n, what):
    check(at + 4 * n <= len(data), f"{what}: needs {4 * n} bytes at {at}, file has {len(data)}")
    return list(struct.unpack_from(f"<{n}I", data, at))


# --- compression -----------------------------------------------------------

def snappy_raw_decompress(data):
    """The raw snappy block format: varint length, then literals and copies."""
    pos, length, shift = 0, 0, 0
    while True:
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                n = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            n += 1
            out += data[pos:pos + n]
            pos += n
            continue
        if kind == 1:
            n = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        check(0 < offset <= len(out), f"snappy copy offset {offset} out of range")
        for _ in range(n):
            out.append(out[-offset])
    check(len(out) == length, f"snappy: decoded {len(out)} bytes, header says {length}")
    return bytes(out)


def decompress(compression, data):
    family, _, level = compression.partition(":")
    if family == "snappy":
        check(level == "", "snappy takes no level")
    else:
        check(family in LEVELS, f"unknown compression {compression!r}")
        check(level == "" or (level.isdigit() and str(int(level)) == level
                              and int(level) in LEVELS[family]),
              f"bad level in {compression!r}")
    if family == "zstd":
        import zstandard
        # decompressobj also handles frames without a content size.
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if family == "gz":
        return gzip.decompress(data)
    if family == "bz2":
        return bz2.decompress(data)
    if family == "br":
        import brotli
        return brotli.decompress(data)
    return snappy_raw_decompress(data)


# --- hashes ----------------------------------------------------------------

def digest(algo, data):
    """Hex digest, or None when the algorithm's module is not installed."""
    if algo.startswith("xxh"):
        try:
            import xxhash
        except ImportError:
            return None
        return getattr(xxhash, algo)(data).hexdigest()
    check(hasattr(hashlib, algo) and not algo.startswith("shake_"), f"unknown hash {algo!r}")
    return getattr(hashlib, algo)(data).hexdigest()


def check_file(path, data, info, report):
    check(len(data) == info["bytes"],
          f"{path}: {len(data)} bytes, index says {info['bytes']}")
    for algo, want in sorted(info["hashes"].items()):
        got = digest(algo, data)
        if got is None:
            report["unchecked_hashes"].append(algo)
            continue
        check(got == want, f"{path}: {algo} is {got}, index says {want}")
        report["checked_hashes"].append(algo)


# --- column values ---------------------------------------------------------

def hexed(data):
    return {"hex": data.hex()}


def decode_parts(data, at, what):
    n = u32s(data, at, 1, what)[0]
    sizes = u32s(data, at + 4, n, what)
    at += 4 + 4 * n
    parts = []
    for size in sizes:
        check(at + size <= len(data), f"{what}: element runs past the value")
        parts.append(data[at:at + size])
        at += size
    check(at == len(data), f"{what}: {len(data) - at} trailing bytes")
    return parts


def decode_pil(data):
    width, height, mode_len = u32s(data, 0, 3, "pil")
    mode = data[12:12 + mode_len].decode("utf-8")
    return {"pil": {"width": width, "height": height, "mode": mode,
                    "hex": data[12 + mode_len:].hex()}}


def ndarray_config(encoding):
    args = encoding.split(":")[1:]
    dtype = args[0] if args and args[0] else None
    shape = [int(d) for d in args[1].split(",")] if len(args) > 1 else None
    check(dtype is None or dtype in SCALARS, f"bad ndarray dtype in {encoding!r}")
    return dtype, shape


def fixed_size(encoding):
    if encoding in SCALARS:
        return SCALARS[encoding][1]
    if encoding.startswith("ndarray:"):
        dtype, shape = ndarray_config(encoding)
        if dtype and shape:
            n = 1
            for d in shape:
                n *= d
            return n * SCALARS[dtype][1]
    return None


def decode_value(encoding, data):
    if encoding in SCALARS:
        fmt, size = SCALARS[encoding]
        check(len(data) == size, f"{encoding}: {len(data)} bytes")
        return struct.unpack(fmt, data)[0]
    if encoding in ("bytes", "jpeg", "png"):
        return hexed(data)
    if encoding == "str":
        return data.decode("utf-8")
    if encoding == "json":
        text = data.decode("utf-8")
        value = json.loads(text)
        check(json.dumps(value) == text, f"json value is not as json.dumps writes it: {text!r}")
        return value
    if encoding == "str_int":
        return int(data.decode("utf-8"))
    if encoding == "str_float":
        text = data.decode("utf-8")
        check(str(float(text)) == text, f"str_float {text!r} is not Python's str(float)")
        return float(text)
    if encoding == "str_decimal":
        from decimal import Decimal
        text = data.decode("utf-8")
        Decimal(text)
        return {"decimal": text}
    if encoding == "pil":
        return decode_pil(data)
    if encoding in ("list[jpeg]", "list[png]", "list[pil]"):
        check(u32s(data, 0, 1, encoding)[0] == 0, f"{encoding}: placeholder is not 0")
        parts = decode_parts(data, 4, encoding)
        if encoding == "list[pil]":
            return [decode_pil(p) for p in parts]
        return [hexed(p) for p in parts]
    if encoding in ("jpeg_array", "jpegarray"):
        parts = decode_parts(data, 0, encoding)
        check(parts, "jpeg_array with no images")
        return [hexed(p) for p in parts]
    if encoding == "ndarray" or encoding.startswith("ndarray:"):
        dtype, shape = ndarray_config(encoding)
        at = 0
        if dtype is None:
            check(data[0] in DTYPE_CODES, f"ndarray: unknown dtype code {data[0]}")
            dtype = DTYPE_CODES[data[0]]
            at = 1
        if shape is None:
            byte = data[at]
            ndim, width = byte >> 2, 1 << (byte & 3)
            at += 1
            shape = [int.from_bytes(data[at + i * width:at + (i + 1) * width], "little")
                     for i in range(ndim)]
            check(ndim >= 1 and all(d >= 1 for d in shape), f"ndarray: bad shape {shape}")
            # The shape dtype must be the smallest that fits, as Python picks it.
            smallest = next(w for w in (1, 2, 4, 8) if max(shape) < 1 << (8 * w))
            check(width == smallest, f"ndarray: shape stored in {width} bytes, not {smallest}")
            at += ndim * width
        values = data[at:]
        n = 1
        for d in shape:
            n *= d
        check(len(values) == n * SCALARS[dtype][1], "ndarray: value bytes do not match shape")
        return {"ndarray": {"dtype": dtype, "shape": shape, "hex": values.hex()}}
    raise Fail(f"unknown encoding {encoding!r}")


def decode_sample(names, encodings, record):
    sizes = []
    at = 0
    for encoding in encodings:
        size = fixed_size(encoding)
        if size is None:
            size = u32s(record, at, 1, "sample sizes")[0]
            at += 4
        sizes.append(size)
    sample = {}
    for name, encoding, size in zip(names, encodings, sizes):
        check(at + size <= len(record), f"column {name}: runs past the record")
        try:
            sample[name] = decode_value(encoding, record[at:at + size])
        except Fail as e:
            raise Fail(f"column {name}: {e}")
        at += size
    check(at == len(record), f"record has {len(record) - at} trailing bytes")
    return sample


# --- dataset ---------------------------------------------------------------

def verify(root):
    with open(os.path.join(root, "index.json"), "rb") as f:
        text = f.read().decode("utf-8")
    index = json.loads(text)
    check(json.dumps(index, sort_keys=True) == text,
          "index.json is not byte-identical to json.dump(obj, sort_keys=True)")
    check(sorted(index) == ["shards", "version"] and index["version"] == 2,
          "index.json must hold exactly shards and version 2")
    reports, samples = [], []
    for number, shard in enumerate(index["shards"]):
        where = f"shard {number}"
        check(sorted(shard) == INDEX_KEYS, f"{where}: keys {sorted(shard)}")
        check(shard["format"] == "mds" and shard["version"] == 2, f"{where}: not mds v2")
        check(shard["hashes"] == sorted(set(shard["hashes"])),
              f"{where}: hashes must be sorted and unique")
        check(shard["column_names"] == sorted(shard["column_names"]),
              f"{where}: column_names must be sorted")
        check(shard["column_sizes"] == [fixed_size(e) for e in shard["column_encodings"]],
              f"{where}: column_sizes do not match the encodings")
        raw_name = f"shard.{number:05}.mds"
        check(shard["raw_data"]["basename"] == raw_name, f"{where}: raw basename")
        report = {"file": raw_name, "samples": shard["samples"],
                  "checked_hashes": [], "unchecked_hashes": []}
        for info in (shard["raw_data"], shard["zip_data"]):
            if info is not None:
                check(sorted(info["hashes"]) == shard["hashes"],
                      f"{where}: {info['basename']} hashes differ from the hashes list")
        zip_info = shard["zip_data"]
        if shard["compression"] is None:
            check(zip_info is None, f"{where}: zip_data without compression")
            path = os.path.join(root, raw_name)
            with open(path, "rb") as f:
                raw = f.read()
        else:
            extension = shard["compression"].split(":")[0]
            check(zip_info is not None and zip_info["basename"] == f"{raw_name}.{extension}",
                  f"{where}: zip_data must name {raw_name}.{extension}")
            check(not os.path.exists(os.path.join(root, raw_name)),
                  f"{where}: only the compressed file should be written")
            path = os.path.join(root, zip_info["basename"])
            report["file"] = zip_info["basename"]
            with open(path, "rb") as f:
                zipped = f.read()
            check_file(path, zipped, zip_info, report)
            raw = decompress(shard["compression"], zipped)
        check_file(path + " (raw)", raw, shard["raw_data"], report)

        n = u32s(raw, 0, 1, where)[0]
        check(n == shard["samples"], f"{where}: header has {n} samples, index {shard['samples']}")
        offsets = u32s(raw, 4, n + 1, where)
        config = json.dumps({k: shard[k] for k in CONFIG_KEYS}, sort_keys=True).encode("utf-8")
        start = 4 + 4 * (n + 1)
        check(offsets[0] == start + len(config), f"{where}: first offset {offsets[0]}")
        check(raw[start:offsets[0]] == config, f"{where}: embedded config differs from index")
        check(offsets[-1] == len(raw), f"{where}: last offset {offsets[-1]} != {len(raw)}")
        check(shard["size_limit"] is None or shard["size_limit"] < 2 ** 32, f"{where}: size_limit")
        for i in range(n):
            check(offsets[i] <= offsets[i + 1], f"{where}: offsets go backwards at {i}")
            try:
                samples.append(decode_sample(shard["column_names"], shard["column_encodings"],
                                             raw[offsets[i]:offsets[i + 1]]))
            except Fail as e:
                raise Fail(f"{where} sample {i}: {e}")
        reports.append(report)
    return {"shards": reports, "samples": samples}


# --- capture episodes ------------------------------------------------------

EPISODE_COLUMNS = ["agent", "ended_at", "episode_id", "num_actions", "num_frames", "payload",
                   "screen_h", "screen_w", "started_at", "task"]


def check_episode(sample, where):
    check(sorted(sample) == EPISODE_COLUMNS, f"{where}: columns {sorted(sample)}")
    payload = bytes.fromhex(sample["payload"]["hex"])
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        check(names[:3] == ["meta.json", "frames.ndjson", "actions.ndjson"],
              f"{where}: zip starts with {names[:3]}")
        for info in infos:
            check(info.compress_type == zipfile.ZIP_STORED, f"{where}: {info.filename} is compressed")
        meta = json.loads(archive.read("meta.json").decode("utf-8"))
        lines = lambda name: [json.loads(l) for l in archive.read(name).decode("utf-8").splitlines() if l.strip()]
        frames, actions = lines("frames.ndjson"), lines("actions.ndjson")
        check(names[3:] == [f"frames/{i:06d}.jpg" for i in range(len(frames))],
              f"{where}: frame files {names[3:5]}... do not follow frames.ndjson")
        sha1 = []
        last_ts = None
        for i, frame in enumerate(frames):
            check(sorted(frame) == ["file", "i", "ts"], f"{where}: frame line keys {sorted(frame)}")
            check(frame["i"] == i and frame["file"] == f"frames/{i:06d}.jpg", f"{where}: frame {i} is {frame}")
            check(isinstance(frame["ts"], float), f"{where}: frame {i} ts is not a float")
            check(last_ts is None or frame["ts"] >= last_ts, f"{where}: frame {i} goes back in time")
            last_ts = frame["ts"]
            data = archive.read(frame["file"])
            check(data[:2] == b"\xff\xd8" and b"\xff\xd9" in data[-16:], f"{where}: frame {i} is not a whole JPEG")
            sha1.append(hashlib.sha1(data).hexdigest())
        for n, action in enumerate(actions):
            check(list(action)[:2] == ["ts", "action"] and set(action) <= {"ts", "action", "raw"},
                  f"{where}: action {n} keys {list(action)}")
            check(isinstance(action["action"], dict), f"{where}: action {n} is not an object")
    for key in ["episode_id", "task", "started_at", "ended_at", "num_frames", "agent", "schema",
                "tool", "tool_version", "screen"]:
        check(key in meta, f"{where}: meta.json lacks {key}")
    check(meta["episode_id"] == sample["episode_id"] and meta["task"] == sample["task"],
          f"{where}: meta.json names another episode")
    check(meta["started_at"] == sample["started_at"] and meta["ended_at"] == sample["ended_at"],
          f"{where}: meta.json times differ from the columns")
    for stamp in (meta["started_at"], meta["ended_at"]):
        check(len(stamp) == 19 and stamp[10] == "T", f"{where}: time {stamp!r} is not YYYY-MM-DDTHH:MM:SS")
    check(meta["screen"] == {"width": sample["screen_w"], "height": sample["screen_h"]},
          f"{where}: meta.json screen differs from the columns")
    check(meta["num_frames"] == sample["num_frames"] == len(frames),
          f"{where}: {len(frames)} frames, meta says {meta['num_frames']}, column {sample['num_frames']}")
    check(sample["num_actions"] == len(actions), f"{where}: {len(actions)} actions, column {sample['num_actions']}")
    check(meta["agent"] == sample["agent"], f"{where}: meta.json agent differs from the column")
    sample["payload"] = {"episode": {"meta": meta, "frames": frames, "actions": actions, "frame_sha1": sha1}}


def main():
    args = sys.argv[1:]
    episodes = "--episodes" in args
    args = [a for a in args if a != "--episodes"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        result = verify(args[0])
        if episodes:
            for i, sample in enumerate(result["samples"]):
                check_episode(sample, f"sample {i}")
    except (Fail, OSError, ValueError, KeyError, IndexError, ImportError, zipfile.BadZipFile) as e:
        print(f"FAIL: {type(e).__name__ + ': ' if not isinstance(e, Fail) else ''}{e}",
              file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
