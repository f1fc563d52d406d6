#!/usr/bin/env bash
# The main job on the embedded default: start the sandbox room, watch it for 10 s (live stats),
# and write the last frame to out/frame.png. Extra arguments go to `neko-agent watch`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
exec target/release/neko-agent watch --duration 10 --png out/frame.png "$@"
