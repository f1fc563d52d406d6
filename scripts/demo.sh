#!/usr/bin/env bash
# The main job on the embedded default: start the sandbox room and run the ShowUI agent on it
# with the fixture model (models/showui-fixture), printing each step; the steps' annotated
# frames go to out/clicks/. With NEKO_MODEL_DIR (a real export) or NEKO_URL (a real room) set,
# those are used instead. Extra arguments go to `neko-agent run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
extra=()
if [ -z "${NEKO_MODEL_DIR:-}" ] && [ -z "${REFINEMENT_STEPS:-}" ]; then
  # The fixture answers the same point for any picture, so zooming in on crops would move it.
  extra+=(--refinement-steps 1)
fi
exec target/release/neko-agent run --task "${NEKO_TASK:-Open the red box}" \
  --click-save-path "$PWD/out/clicks" --metrics-port 0 "${extra[@]}" "$@"
