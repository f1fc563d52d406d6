#!/usr/bin/env bash
# The Python environment of the parity test only (the demo does not need it): run by
# scripts/test.sh after scripts/setup.sh, idempotent.
set -euo pipefail
# The parity test (tests/model_parity.rs) builds a small Qwen2-VL with transformers, exports it
# with scripts/models/export_showui.py and compares the engine with transformers: PyTorch and
# friends at the versions in scripts/models/requirements-parity.txt, into .venv-parity/ (~5.4 GB,
# ~1.5 min on a fast link). NEKO_PARITY_ENV=0 skips it (the parity test then fails, saying so).
parity_env="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-parity"
parity_requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/models/requirements-parity.txt"
if [ "${NEKO_PARITY_ENV:-}" != 0 ] && ! cmp -s "$parity_requirements" "$parity_env/requirements-parity.txt"; then
  echo "installing the parity environment into $parity_env"
  rm -rf "$parity_env"
  # The wheels (~2.6 GB) and the installed environment (~5.4 GB) are on disk together for a while;
  # no pip cache is kept, so nothing stays behind but the environment.
  needed_kib=$((9 * 1024 * 1024))
  free_kib="$(df -Pk "$(dirname "$parity_env")" | awk 'NR == 2 { print $4 }')"
  if [ "$free_kib" -lt "$needed_kib" ]; then
    echo "the parity environment needs about 9 GB free next to $parity_env; there are $((free_kib / 1024)) MB:" \
      "free some disk (cargo's target/debug/incremental is often the largest) or set NEKO_PARITY_ENV=0 to skip it" >&2
    exit 1
  fi
  python3 -m venv "$parity_env"
  "$parity_env/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir -r "$parity_requirements"
  cp "$parity_requirements" "$parity_env/requirements-parity.txt"
fi
