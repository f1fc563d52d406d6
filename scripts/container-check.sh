#!/usr/bin/env bash
# Builds Dockerfile.nvidia on this machine without any container registry, then runs the image.
#
# 1. A minimal Debian 12 root file system from Debian's mirror (debootstrap) becomes the local
#    image localhost/neko-base:bookworm (the BASE_IMAGE stand-in; no CUDA in it, so the image
#    takes its CPU paths, as it does on a host without a GPU).
# 2. That base plus the Rust toolchain installed here becomes localhost/neko-rust:<version>
#    (the RUST_IMAGE stand-in).
# 3. `buildah bud --isolation chroot` builds Dockerfile.nvidia with both arguments pointed at them.
# 4. Inside the built image: `neko-agent --version`, `gst-inspect-1.0 nekosrc`, and the demo (the
#    sandbox room and the agent with the fixture model, exit 0), timed; then the image's size on
#    disk and compressed.
#
# Idempotent: the base and Rust images are reused when present (FRESH=1 rebuilds them). Slow on
# two cores (a release build of the workspace), so it is not part of scripts/test.sh.
# Needs root, buildah, debootstrap (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
stage() { printf '\n== %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "container-check.sh needs root (debootstrap and buildah's chroot isolation)" >&2
  exit 1
fi
for tool in buildah debootstrap; do
  if ! command -v "$tool" >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah debootstrap
    break
  fi
done

# vfs works everywhere, including inside containers without overlay support.
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
export BUILDAH_ISOLATION=chroot
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base_image=localhost/neko-base:bookworm
rust_version="$(rustc --version | awk '{print $2}')"
rust_image="localhost/neko-rust:$rust_version"
image=localhost/neko-agent:check
work="${CONTAINER_CHECK_DIR:-/var/tmp/neko-container-check}"
mkdir -p "$work"

has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

if [ "${FRESH:-0}" = 1 ]; then
  buildah rmi -f "$image" "$rust_image" "$base_image" >/dev/null 2>&1 || true
fi

if ! has_image "$base_image"; then
  stage "debootstrap Debian 12 (minbase) from $mirror"
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$work/debootstrap.log"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
EOF
  # The stand-in base trusts the same local CAs as this machine, whose network may intercept
  # TLS (cargo and pip reach their registries from inside the build).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  container=$(buildah from scratch)
  mount=$(buildah mount "$container")
  cp -a "$rootfs"/. "$mount"/
  buildah umount "$container" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$container"
  buildah commit --quiet "$container" "$base_image" >/dev/null
  buildah rm "$container" >/dev/null
  rm -rf "$rootfs"
fi

if ! has_image "$rust_image"; then
  stage "Rust $rust_version builder image from this machine's toolchain"
  toolchain="$(rustc --print sysroot)"
  container=$(buildah from "$base_image")
  mount=$(buildah mount "$container")
  mkdir -p "$mount/usr/local/rust" "$mount/usr/local/cargo"
  # The toolchain without its offline documentation.
  tar -C "$toolchain" --exclude=share/doc -cf - . | tar -C "$mount/usr/local/rust" -xf -
  buildah umount "$container" >/dev/null
  buildah config \
    --env CARGO_HOME=/usr/local/cargo \
    --env PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "$container"
  buildah commit --quiet "$container" "$rust_image" >/dev/null
  buildah rm "$container" >/dev/null
fi

stage "buildah bud Dockerfile.nvidia"
build_started=$(date +%s)
buildah bud --isolation chroot --layers \
  --build-arg "BASE_IMAGE=$base_image" --build-arg "RUST_IMAGE=$rust_image" \
  -f Dockerfile.nvidia -t "$image" . 2>&1 | tee "$work/build.log" | grep -E '^(STEP|COMMIT)' || true
if ! has_image "$image"; then
  echo "the image did not build; see $work/build.log" >&2
  tail -30 "$work/build.log" >&2
  exit 1
fi
build_seconds=$(($(date +%s) - build_started))

stage "inside the image"
container=$(buildah from "$image")
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
in_image() { buildah run --isolation chroot --user 10001:10001 "$container" -- "$@"; }
in_image neko-agent --version
in_image gst-inspect-1.0 nekosrc | sed -n '1,12p'
demo_started=$(date +%s%N)
in_image neko-agent run --task "Open the red box" --refinement-steps 1 --metrics-port 0 \
  2>&1 | tee "$work/demo.log"
demo_ms=$((($(date +%s%N) - demo_started) / 1000000))
grep -E "execution provider|decoder|model:" "$work/demo.log" | head -5 || true

stage "cold start to first frame (watch on the embedded room)"
in_image neko-agent watch --duration 4 --interval 0.1 2>&1 | tee "$work/watch.log" | tail -3
first_frame=$(grep -E ' fps ' "$work/watch.log" | awk '$NF > 0' | head -n 1 | sed -E 's/^\[ *([0-9.]+)s\].*/\1 s/')
first_frame=${first_frame:-none}

stage "the image's HEALTHCHECK command against a running agent"
in_image sh -c '
  neko-agent run --online --metrics-port 9000 >/tmp/agent.log 2>&1 &
  agent=$!
  status=1
  for _ in $(seq 120); do
    if neko-agent healthcheck; then status=0; break; fi
    sleep 0.5
  done
  kill "$agent"
  exit "$status"'

stage "sizes"
size_on_disk=$(buildah images --noheading --format '{{.Size}}' "$image")
archive="$work/neko-agent.oci.tar"
rm -f "$archive"
buildah push --quiet "$image" "oci-archive:$archive" >/dev/null
compressed=$(gzip -c "$archive" | wc -c)
rm -f "$archive"
printf '\n| what | value |\n|---|---|\n'
printf '| image build (buildah bud) | %s s |\n' "$build_seconds"
printf '| image on disk | %s |\n' "$size_on_disk"
printf '| image compressed (gzip of the OCI archive) | %s MB |\n' "$((compressed / 1000000))"
printf '| demo in the image (start to exit) | %s ms |\n' "$demo_ms"
printf '| cold start to first frame (watch, seconds on its clock) | %s |\n' "$first_frame"
printf '| whole check | %s s |\n' "$(($(date +%s) - started))"
echo "container check passed"
