#!/usr/bin/env bash
# The model's GPU path, on a machine with an NVIDIA GPU (not part of CI; there is no GPU there):
#   0. the live view's encoder on NVENC: nekoliveenc picks nvh264enc, and its tests (baseline
#      profile, a key frame on request) pass on it;
#   1. ONNX Runtime's GPU build (scripts/setup.sh with NEKO_ORT_GPU=1) and the parity environment;
#   2. the parity test (tests/model_parity.rs) with the engine on the CUDA provider, then TensorRT
#      (where the decoder must be built for explicit shape ranges and refuse a longer call);
#   3. a full-size random-weight Qwen2-VL with ShowUI-2B's shapes (28 LM layers, 32 vision blocks,
#      2.2 B parameters), exported by `neko-agent model export` in fp32 and fp16;
#   4. `cargo bench --bench model_vs_transformers` on it with NEKO_BENCH_DEVICE=cuda: the engine
#      on the CUDA provider against transformers on the same GPU, per phase.
# Idempotent: the model and its exports are kept under target/ and reused. Needs ~40 GB of RAM
# (the export) and ~40 GB of disk. Prints each step's result; exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
NEKO_ORT_GPU=1 bash scripts/setup.sh
bash scripts/setup-parity.sh

echo "== the live view's encoder on NVENC"
cargo build --release -p gst-plugin-neko
GST_PLUGIN_PATH=target/release GST_DEBUG=nekoliveenc:4 gst-launch-1.0 -q videotestsrc num-buffers=90 \
    ! video/x-raw,width=1280,height=720,framerate=30/1 ! videoconvert ! nekoliveenc ! h264parse \
    ! fakesink 2>&1 | tee target/nekoliveenc-gpu.log
grep -q "with nvh264enc (hardware)" target/nekoliveenc-gpu.log
cargo test --release -p gst-plugin-neko --test nekoliveenc

echo "== parity on CUDA, then TensorRT"
NEKO_PARITY_PROVIDER=cuda cargo test --release --test model_parity -- --nocapture
NEKO_PARITY_PROVIDER=tensorrt cargo test --release --test model_parity -- --include-ignored --nocapture

source=target/random-full
if [ ! -f "$source/config.json" ]; then
    .venv-parity/bin/python scripts/models/make_random_qwen2vl.py --out "$source"
fi
cargo build --release
for dtype in fp32 fp16; do
    if [ ! -f "$source-onnx/onnx/decoder_model_merged$([ $dtype = fp16 ] && echo _fp16).onnx" ]; then
        echo "== export $dtype"
        target/release/neko-agent model export --model "$source" --processor "$source" \
            --dtype "$dtype" --out "$source-onnx" --python-env .venv-parity
    fi
done

echo "== engine (CUDA) against transformers (GPU), fp32 and fp16 graphs"
NEKO_BENCH_DEVICE=cuda cargo bench --bench model_vs_transformers -- "$source-onnx" "$source" fp32
NEKO_BENCH_DEVICE=cuda cargo bench --bench model_vs_transformers -- "$source-onnx" "$source" fp16
