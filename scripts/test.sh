#!/usr/bin/env bash
# Every check and test: formatting, lints, unit and integration tests over real GStreamer/WebRTC.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-parity.sh
bash scripts/setup-browser.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
