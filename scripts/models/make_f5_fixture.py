#!/usr/bin/env python3
"""Tiny stand-ins for the F5-TTS ONNX export (DakeQQ/F5-TTS-ONNX, three graphs).

Writes two model directories laid out like the real export (F5_Preprocess.onnx,
F5_Transformer.onnx, F5_Decode.onnx, vocab.txt) with the real input/output names, element
types, ranks and channel counts (100 mels, 512 text channels, 16 heads of 64 for the RoPE
tables, the 2-batch classifier-free-guidance axis), but no weights. The graphs compute a
tone whose pitch counts the transformer calls, so a test can prove that an engine ran the loop
exactly as the real model needs it:

    F5_Preprocess    D = max_duration[0]; noise = zeros [1, D, 100]; RoPE tables cos/sin of
                     position x inverse frequency ([2, 16, D, 64] for q, transposed [2, 16, 64, D]
                     for k); cat_mel_text = [frame < ref_signal_len] x 100 ++ (text_ids + 1,
                     zero-padded or cut to D) x 512; cat_mel_text_drop = zeros;
                     ref_signal_len = N // 256 + 1
    F5_Transformer   denoised = noise + 1, time_step = time_step.1 + 1, when the call is wired
                     as the real loop needs it: noise[0,0,0] equals time_step.1 (denoised and
                     time_step fed back), the RoPE tables are in their slots (shapes against D,
                     cos = 1 and sin = 0 at position 0), cat_mel_text carries text ids and
                     cat_mel_text_drop none. Otherwise it adds 100 instead of 1.
    F5_Decode        output_audio int16 [1, 1, (D - ref_signal_len) x 256]: a sine of amplitude
                     0.25 at 200 + 10 x denoised[0,0,0] Hz, 24 kHz. After the 31 calls of the
                     real loop that is 510 Hz; 30 or 32 calls give 500 or 520 Hz, a miswired call
                     well over 1 kHz.

    models/f5-fixture/        float32 everywhere
    models/f5-fixture-fp16/   the transformer takes and returns float16 (as exported with
                              --fp16transformer); preprocess and decode stay float32, so an engine
                              must read the transformer's input types and convert

vocab.txt holds printable ASCII (space first, id = line index); fixture.json repeats the
constants for tests.

Usage (from the repository root, with scripts/models/requirements-fixture.txt installed):

    python3 scripts/models/make_f5_fixture.py            # (re)write both directories
    python3 scripts/models/make_f5_fixture.py --check    # write nothing; verify the committed
                                                         # files are what this script makes and
                                                         # drive them with onnxruntime

The output is byte-for-byte deterministic. docs/voice-models.md documents the real model.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
from onnx import TensorProto, helper

import onnx_graph


SAMPLE_RATE = 24000
HOP = 256
MELS = 100
TEXT_DIM = 512
HEADS = 16
HEAD_DIM = 64
CFG_BATCH = 2
TRANSFORMER_CALLS = 31  # NFE 32 -> 31 Euler steps
BASE_HZ = 200.0
HZ_PER_CALL = 10.0
AMPLITUDE = 0.25
GOOD_INCREMENT = 1.0
BAD_INCREMENT = 100.0

VOCAB = [chr(c) for c in range(0x20, 0x7F)]  # " " first, then printable ASCII


class Graph(onnx_graph.Graph):
    PRODUCER = "make_f5_fixture.py"

    def first(self, x, rank):
        """x[0, 0, ..., 0] as a [1] tensor."""
        zeros = [0] * rank
        ones = [1] * rank
        cell = self.op("Slice", x, self.i(zeros), self.i(ones))
        return self.op("Reshape", cell, self.i([1]))

    def dim(self, x, axis):
        """Size of axis `axis` of x as an int64 [1] tensor."""
        return self.op("Slice", self.op("Shape", x), self.i([axis]), self.i([axis + 1]))

def build_preprocess():
    g = Graph("F5_Preprocess")
    audio = g.input("audio", TensorProto.INT16, [1, 1, "audio_len"])
    text_ids = g.input("text_ids", TensorProto.INT32, [1, "text_ids_len"])
    max_duration = g.input("max_duration", TensorProto.INT64, [1])

    d = max_duration  # [1]
    d_scalar = g.op("Reshape", d, g.i([]))
    n = g.dim(audio, 2)
    ref_len = g.op("Add", g.op("Div", n, g.i([HOP])), g.i([1]))  # [1]
    g.op("Reshape", ref_len, g.i([]), out="ref_signal_len")

    g.op(
        "ConstantOfShape",
        g.op("Concat", g.i([1]), d, g.i([MELS]), axis=0),
        out="noise",
        value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]),
    )

    positions = g.op("Range", g.i(0), d_scalar, g.i(1))  # [D] int64
    pos_f = g.op("Cast", positions, to=TensorProto.FLOAT)
    k = np.arange(HEAD_DIM) // 2
    inv_freq = (1.0 / np.power(10000.0, 2.0 * k / HEAD_DIM)).astype(np.float32)
    angles = g.op("Mul", g.op("Unsqueeze", pos_f, g.i([1])), g.f(inv_freq))  # [D, 64]
    q_shape = g.op("Concat", g.i([CFG_BATCH, HEADS]), d, g.i([HEAD_DIM]), axis=0)
    for fn, q_name, k_name in (("Cos", "rope_cos_q", "rope_cos_k"), ("Sin", "rope_sin_q", "rope_sin_k")):
        table = g.op("Unsqueeze", g.op(fn, angles), g.i([0, 1]))  # [1, 1, D, 64]
        q = g.op("Expand", table, q_shape, out=q_name)
        g.op("Transpose", q, out=k_name, perm=[0, 1, 3, 2])

    in_ref = g.op("Cast", g.op("Less", positions, ref_len), to=TensorProto.FLOAT)  # [D]
    mel = g.op(
        "Expand",
        g.op("Unsqueeze", in_ref, g.i([0, 2])),
        g.op("Concat", g.i([1]), d, g.i([MELS]), axis=0),
    )
    ids = g.op("Cast", g.op("Add", text_ids, g.const([1], np.int32)), to=TensorProto.FLOAT)
    t = g.dim(text_ids, 1)
    pad_len = g.op("Max", g.op("Sub", d, t), g.i([0]))
    pads = g.op("Concat", g.i([0, 0, 0]), pad_len, axis=0)
    padded = g.op("Pad", ids, pads, g.f(0.0))  # [1, max(T, D)]
    fitted = g.op("Slice", padded, g.i([0]), d, g.i([1]))  # [1, D]
    text = g.op(
        "Expand",
        g.op("Unsqueeze", fitted, g.i([2])),
        g.op("Concat", g.i([1]), d, g.i([TEXT_DIM]), axis=0),
    )
    cat = g.op("Concat", mel, text, axis=2, out="cat_mel_text")
    g.op("Mul", cat, g.f(0.0), out="cat_mel_text_drop")

    g.output("noise", TensorProto.FLOAT, [1, "max_duration", MELS])
    g.output("rope_cos_q", TensorProto.FLOAT, [CFG_BATCH, HEADS, "max_duration", HEAD_DIM])
    g.output("rope_sin_q", TensorProto.FLOAT, [CFG_BATCH, HEADS, "max_duration", HEAD_DIM])
    g.output("rope_cos_k", TensorProto.FLOAT, [CFG_BATCH, HEADS, HEAD_DIM, "max_duration"])
    g.output("rope_sin_k", TensorProto.FLOAT, [CFG_BATCH, HEADS, HEAD_DIM, "max_duration"])
    g.output("cat_mel_text", TensorProto.FLOAT, [1, "max_duration", MELS + TEXT_DIM])
    g.output("cat_mel_text_drop", TensorProto.FLOAT, [1, "max_duration", MELS + TEXT_DIM])
    g.output("ref_signal_len", TensorProto.INT64, [])
    return g.model(
        "F5-TTS fixture preprocess: zero noise, RoPE tables, text ids + 1 in the 512 text channels, "
        "ref_signal_len = N // 256 + 1."
    )


def build_transformer(fp16):
    g = Graph("F5_Transformer")
    ftype = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    names = {}
    for name, dims in (
        ("noise", [1, "max_duration", MELS]),
        ("rope_cos_q", [CFG_BATCH, HEADS, "max_duration", HEAD_DIM]),
        ("rope_sin_q", [CFG_BATCH, HEADS, "max_duration", HEAD_DIM]),
        ("rope_cos_k", [CFG_BATCH, HEADS, HEAD_DIM, "max_duration"]),
        ("rope_sin_k", [CFG_BATCH, HEADS, HEAD_DIM, "max_duration"]),
        ("cat_mel_text", [1, "max_duration", MELS + TEXT_DIM]),
        ("cat_mel_text_drop", [1, "max_duration", MELS + TEXT_DIM]),
    ):
        g.input(name, ftype, dims)
        names[name] = g.op("Cast", name, to=TensorProto.FLOAT) if fp16 else name
    step = g.input("time_step.1", TensorProto.INT32, [1])

    noise = names["noise"]
    d = g.dim(noise, 1)
    checks = [
        g.op("Equal", g.first(noise, 3), g.op("Cast", step, to=TensorProto.FLOAT)),
        g.op("Equal", g.dim(names["rope_cos_q"], 2), d),
        g.op("Equal", g.dim(names["rope_sin_q"], 2), d),
        g.op("Equal", g.dim(names["rope_cos_k"], 3), d),
        g.op("Equal", g.dim(names["rope_sin_k"], 3), d),
        g.op("Equal", g.first(names["rope_cos_q"], 4), g.f([1.0])),
        g.op("Equal", g.first(names["rope_sin_q"], 4), g.f([0.0])),
        g.op("Equal", g.first(names["rope_cos_k"], 4), g.f([1.0])),
        g.op("Equal", g.first(names["rope_sin_k"], 4), g.f([0.0])),
        g.op(
            "Greater",
            g.op("Reshape", g.op("Slice", names["cat_mel_text"], g.i([0, 0, MELS]), g.i([1, 1, MELS + 1])), g.i([1])),
            g.f([0.5]),
        ),
        g.op(
            "Equal",
            g.op("Reshape", g.op("Slice", names["cat_mel_text_drop"], g.i([0, 0, MELS]), g.i([1, 1, MELS + 1])), g.i([1])),
            g.f([0.0]),
        ),
    ]
    ok = checks[0]
    for check in checks[1:]:
        ok = g.op("And", ok, check)
    increment = g.op("Where", ok, g.f([GOOD_INCREMENT]), g.f([BAD_INCREMENT]))
    denoised = g.op("Add", noise, increment)
    if fp16:
        g.op("Cast", denoised, to=TensorProto.FLOAT16, out="denoised")
    else:
        g.op("Identity", denoised, out="denoised")
    g.op("Add", step, g.const([1], np.int32), out="time_step")

    g.output("denoised", ftype, [1, "max_duration", MELS])
    g.output("time_step", TensorProto.INT32, [1])
    return g.model(
        "F5-TTS fixture transformer: denoised = noise + 1 and time_step + 1 when fed like the real "
        "loop (noise[0,0,0] == time_step.1, RoPE and cat tensors in their slots), + 100 otherwise."
    )


def build_decode():
    g = Graph("F5_Decode")
    denoised = g.input("denoised", TensorProto.FLOAT, [1, "max_duration", MELS])
    ref_len = g.input("ref_signal_len", TensorProto.INT64, [])
    d = g.dim(denoised, 1)
    frames = g.op("Max", g.op("Sub", d, g.op("Reshape", ref_len, g.i([1]))), g.i([0]))
    m = g.op("Mul", frames, g.i([HOP]))
    index = g.op("Cast", g.op("Range", g.i(0), g.op("Reshape", m, g.i([])), g.i(1)), to=TensorProto.FLOAT)
    hz = g.op("Add", g.f([BASE_HZ]), g.op("Mul", g.first(denoised, 3), g.f([HZ_PER_CALL])))
    # The phase is taken modulo one second of samples (whole cycles at any integer Hz), which
    # keeps float32 precise for long outputs.
    index = g.op("Mod", index, g.f([float(SAMPLE_RATE)]), fmod=1)
    phase = g.op("Mul", g.op("Mul", index, hz), g.f([2.0 * np.pi / SAMPLE_RATE]))
    wave = g.op("Mul", g.op("Sin", phase), g.f([AMPLITUDE * 32767.0]))
    samples = g.op("Cast", g.op("Round", wave), to=TensorProto.INT16)
    g.op("Reshape", samples, g.op("Concat", g.i([1, 1]), m, axis=0), out="output_audio")
    g.output("output_audio", TensorProto.INT16, [1, 1, "generated_len"])
    return g.model(
        "F5-TTS fixture decode: (D - ref_signal_len) x 256 int16 samples of a sine at "
        "200 + 10 x denoised[0,0,0] Hz, amplitude 0.25, 24 kHz."
    )


def fixture_json():
    return {
        "sample_rate": SAMPLE_RATE,
        "hop_length": HOP,
        "transformer_calls": TRANSFORMER_CALLS,
        "base_hz": BASE_HZ,
        "hz_per_call": HZ_PER_CALL,
        "amplitude": AMPLITUDE,
        "good_increment": GOOD_INCREMENT,
        "bad_increment": BAD_INCREMENT,
        "expected_hz": BASE_HZ + HZ_PER_CALL * TRANSFORMER_CALLS * GOOD_INCREMENT,
    }


def fixture_files():
    preprocess = build_preprocess().SerializeToString()
    decode = build_decode().SerializeToString()
    vocab = "".join(token + "\n" for token in VOCAB).encode("utf-8")
    meta = (json.dumps(fixture_json(), indent=2) + "\n").encode("utf-8")
    files = {}
    for name, fp16 in (("f5-fixture", False), ("f5-fixture-fp16", True)):
        files[f"{name}/F5_Preprocess.onnx"] = preprocess
        files[f"{name}/F5_Transformer.onnx"] = build_transformer(fp16).SerializeToString()
        files[f"{name}/F5_Decode.onnx"] = decode
        files[f"{name}/vocab.txt"] = vocab
        files[f"{name}/fixture.json"] = meta
    return dict(sorted(files.items()))


def write(out, files):
    for rel, data in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)


# ---------------------------------------------------------------------------------------------
# --check: a Python copy of the engine's loop, driven against the written files
# ---------------------------------------------------------------------------------------------
def run_checks(out):
    import onnxruntime as ort

    failures = []

    def expect(what, ok):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    def frequency(samples):
        x = samples.astype(np.float64)
        crossings = np.count_nonzero((x[:-1] < 0) & (x[1:] >= 0))
        return crossings * SAMPLE_RATE / len(x)

    for name in ("f5-fixture", "f5-fixture-fp16"):
        d = os.path.join(out, name)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        pre = ort.InferenceSession(os.path.join(d, "F5_Preprocess.onnx"), opts)
        tr = ort.InferenceSession(os.path.join(d, "F5_Transformer.onnx"), opts)
        dec = ort.InferenceSession(os.path.join(d, "F5_Decode.onnx"), opts)
        tr_inputs = [i.name for i in tr.get_inputs()]
        expect(f"{name}: transformer inputs are the real ones", tr_inputs == [
            "noise", "rope_cos_q", "rope_sin_q", "rope_cos_k", "rope_sin_k",
            "cat_mel_text", "cat_mel_text_drop", "time_step.1"])
        float_type = tr.get_inputs()[0].type
        expect(f"{name}: transformer float type", float_type == ("tensor(float16)" if "fp16" in name else "tensor(float)"))
        np_float = np.float16 if float_type == "tensor(float16)" else np.float32

        with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as fh:
            vocab = {line[:-1]: i for i, line in enumerate(fh)}
        expect(f"{name}: vocab id 0 is a space", vocab.get(" ") == 0)

        n = 24000 * 2 + 100
        audio = np.zeros((1, 1, n), dtype=np.int16)
        ref_text = "This is a default reference.  "
        gen_text = "Hello world, this is a test."
        ids = np.array([[vocab.get(c, 0) for c in ref_text + gen_text]], dtype=np.int32)
        ref_audio_len = n // HOP + 1
        max_duration = ref_audio_len + int(ref_audio_len / len(ref_text.encode()) * len(gen_text.encode()))

        def loop(calls, feed_time_step=True):
            outs = pre.run(None, {"audio": audio, "text_ids": ids, "max_duration": np.array([max_duration], np.int64)})
            named = dict(zip([o.name for o in pre.get_outputs()], outs))
            feed = {k: named[k].astype(np_float) for k in tr_inputs if k in named}
            step = np.array([0], np.int32)
            for _ in range(calls):
                feed["time_step.1"] = step
                denoised, new_step = tr.run(None, feed)
                feed["noise"] = denoised
                if feed_time_step:
                    step = new_step
            wav = dec.run(None, {"denoised": feed["noise"].astype(np.float32), "ref_signal_len": named["ref_signal_len"]})[0]
            return named, wav

        named, wav = loop(TRANSFORMER_CALLS)
        expect(f"{name}: ref_signal_len = N // 256 + 1", int(named["ref_signal_len"]) == ref_audio_len)
        expect(f"{name}: RoPE q/k shapes", named["rope_cos_q"].shape == (2, 16, max_duration, 64)
               and named["rope_sin_k"].shape == (2, 16, 64, max_duration))
        expect(f"{name}: cat_mel_text carries text ids + 1",
               named["cat_mel_text"].shape == (1, max_duration, 612)
               and named["cat_mel_text"][0, 0, MELS] == ids[0, 0] + 1
               and named["cat_mel_text"][0, ref_audio_len - 1, 0] == 1.0
               and named["cat_mel_text"][0, ref_audio_len, 0] == 0.0)
        expect(f"{name}: output length (D - ref) x 256", wav.shape == (1, 1, (max_duration - ref_audio_len) * HOP))
        hz = frequency(wav.reshape(-1))
        expect(f"{name}: 31 calls give {BASE_HZ + HZ_PER_CALL * 31:.0f} Hz (got {hz:.1f})", abs(hz - 510) < 3)
        expect(f"{name}: amplitude 0.25", abs(int(np.abs(wav).max()) - round(AMPLITUDE * 32767)) <= 1)
        _, wav = loop(30)
        expect(f"{name}: 30 calls give 500 Hz", abs(frequency(wav.reshape(-1)) - 500) < 3)
        _, wav = loop(TRANSFORMER_CALLS, feed_time_step=False)
        expect(f"{name}: a loop that drops time_step is far off", frequency(wav.reshape(-1)) > 1000)
    return failures


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        default=os.path.normpath(os.path.join(here, "..", "..", "models")),
        help="directory that holds f5-fixture/ and f5-fixture-fp16/",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; compare the files in --out with a fresh build and run them",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    files = fixture_files()
    if not args.check:
        write(args.out, files)
        total = sum(len(d) for d in files.values())
        for rel, data in files.items():
            print(f"{len(data):9d}  {os.path.join(args.out, rel)}")
        print(f"{total:9d}  total ({time.perf_counter() - t0:.1f} s)")
        return 0

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, fixture_files())  # a second build, to prove the output is deterministic
        for rel, data in files.items():
            with open(os.path.join(tmp, rel), "rb") as fh:
                if fh.read() != data:
                    failures.append(f"two builds differ: {rel}")
    for rel, data in files.items():
        path = os.path.join(args.out, rel)
        ok = False
        if os.path.exists(path):
            with open(path, "rb") as fh:
                ok = fh.read() == data
        print(("ok    " if ok else "FAIL  ") + f"{path} is what this script makes")
        if not ok:
            failures.append(f"stale or missing: {path} (rerun without --check)")
    if not failures:
        failures += run_checks(args.out)
    print(
        f"{'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
