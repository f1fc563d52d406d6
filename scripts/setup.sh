#!/usr/bin/env bash
# Installs what neko-agent needs on Debian 12 (bookworm), skipping what is already there.
set -euo pipefail

packages=(
  pkg-config gcc
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-nice libnice-dev
  gstreamer1.0-espeak gstreamer1.0-x fonts-dejavu-core
  python3-pip python3-venv
  # servers and tools the tests start themselves: TURN (coturn), a reverse proxy with TLS
  # (nginx), and the openssl CLI that makes the tests' certificates
  coturn nginx openssl
  # the Redis server the service store's tests and bench start (tests/common/redis.rs)
  redis-server
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The MDS cross-check test (tests/mds_python.rs) reads zstd shards with Python's zstandard.
if ! python3 -c 'import zstandard' 2>/dev/null; then
  echo "installing: python zstandard"
  if ! python3 -m pip install --quiet zstandard; then
    # Debian's system Python refuses pip installs (PEP 668): use its package instead.
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-zstandard
  fi
fi

# The capture S3 tests (tests/capture/s3.rs) run a local S3 server: moto from PyPI, in server
# mode. Into the system Python when pip may write there, else into .venv/ (PEP 668).
venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv"
if ! python3 -c 'import moto.server, flask_cors' 2>/dev/null \
  && ! "$venv/bin/python" -c 'import moto.server, flask_cors' 2>/dev/null; then
  echo "installing: python moto[server]"
  if ! python3 -m pip install --quiet 'moto[server]>=5,<6'; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'moto[server]>=5,<6'
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs) and run this again" >&2
  exit 1
fi

# ONNX Runtime for the model (src/model): the shared library from the PyPI wheel, into .ort/lib/.
# onnxruntime-gpu (CUDA and TensorRT providers) when NEKO_ORT_GPU=1 or nvidia-smi works;
# NEKO_ORT_GPU=0 forces the CPU build.
ort_version=1.31.1
ort_lib="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.ort/lib"
ort_package=onnxruntime
if [ "${NEKO_ORT_GPU:-}" = 1 ] || { [ "${NEKO_ORT_GPU:-}" != 0 ] && nvidia-smi >/dev/null 2>&1; }; then
  ort_package=onnxruntime-gpu
fi
ort_present=0
if [ -f "$ort_lib/libonnxruntime.so.$ort_version" ]; then
  if [ "$ort_package" = onnxruntime ] || [ -f "$ort_lib/libonnxruntime_providers_cuda.so" ]; then ort_present=1; fi
fi
if [ "$ort_present" = 0 ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "python3 with pip is needed to fetch ONNX Runtime: install python3-pip and run this again" >&2
    exit 1
  fi
  echo "installing $ort_package $ort_version into $ort_lib"
  ort_tmp="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check "$ort_package==$ort_version" \
    --no-deps --only-binary=:all: -d "$ort_tmp"
  mkdir -p "$ort_lib"
  rm -f "$ort_lib"/libonnxruntime*
  python3 - "$ort_tmp"/*.whl "$ort_lib" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/libonnxruntime") and ".so" in base:
            with z.open(name) as src, open(os.path.join(dest, base), "wb") as out:
                out.write(src.read())
PY
  rm -rf "$ort_tmp"
fi
