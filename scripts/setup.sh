#!/usr/bin/env bash
# Installs what neko-agent needs on Debian 12 (bookworm), skipping what is already there.
set -euo pipefail

packages=(
  pkg-config gcc
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-nice libnice-dev
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

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs) and run this again" >&2
  exit 1
fi
