#!/usr/bin/env bash
# Soak test of reconnects (not part of the test suite): runs `neko-agent watch` against a
# sandbox room on loopback, kills the room (SIGKILL, as a crash) and starts it again on the same
# port every SOAK_PERIOD seconds, and prints a Markdown table of
#   - reconnects the client logged vs room restarts,
#   - time from each restart to the client's next new frame (min / median / max),
#   - the client's RSS and open descriptors, sampled every SOAK_SAMPLE seconds from the first
#     sample on (first/last/max), to show whether they grow.
#
# Settings (environment):
#   SOAK_DURATION  total seconds (default 600)      SOAK_PERIOD  seconds between restarts (60)
#   SOAK_OUTAGE    seconds the room stays down (3)  SOAK_SAMPLE  seconds between samples (10)
#   SOAK_PORT      room port (a free one)           NEKO_AGENT   binary (target/release/neko-agent,
#                                                   built when missing)
# Logs and samples are left in a temporary directory named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${SOAK_DURATION:-600}
period=${SOAK_PERIOD:-60}
outage=${SOAK_OUTAGE:-3}
sample_every=${SOAK_SAMPLE:-10}
agent=${NEKO_AGENT:-target/release/neko-agent}
port=${SOAK_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
if [ ! -x "$agent" ]; then
  cargo build --release --quiet --bin neko-agent
fi
work=$(mktemp -d /tmp/neko-soak.XXXXXX)
room_pid=
watch_pid=

start_room() {
  NEKO_LOGLEVEL=warn "$agent" room --bind "127.0.0.1:$port" --size 640x360 --rate 15 \
    >>"$work/room.log" 2>&1 &
  room_pid=$!
  # Serving once the port answers.
  for _ in $(seq 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then return; fi
    sleep 0.05
  done
}

stop_all() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  [ -n "$room_pid" ] && kill -9 "$room_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all EXIT

# The newest total frame count of the watch stats lines ("... frames N").
frames_now() {
  awk '/ frames [0-9]+$/ { n = $NF } END { print n + 0 }' "$work/watch.out"
}

now() { date +%s.%N; }

start_room
NEKO_LOGLEVEL=info NEKO_LOG_FORMAT=json "$agent" watch --neko-url "http://127.0.0.1:$port" \
  --username soak --password neko --ice-addresses 127.0.0.1 --interval 0.2 \
  --duration $((duration + 30)) >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!

started=$(now)
next_sample=$sample_every
next_restart=$period
restarts=0
: >"$work/samples.tsv"
: >"$work/to_frames.txt"
while :; do
  elapsed=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
  [ "$elapsed" -ge "$duration" ] && break
  if ! kill -0 "$watch_pid" 2>/dev/null; then
    echo "neko-agent watch ended early; see $work/watch.err" >&2
    exit 1
  fi
  if [ "$elapsed" -ge "$next_sample" ]; then
    rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$watch_pid/status")
    fds=$(ls "/proc/$watch_pid/fd" | wc -l)
    printf '%s\t%s\t%s\n' "$elapsed" "$rss_kb" "$fds" >>"$work/samples.tsv"
    next_sample=$((next_sample + sample_every))
  fi
  if [ "$elapsed" -ge "$next_restart" ] && [ "$((elapsed + 20))" -lt "$duration" ]; then
    kill -9 "$room_pid"
    wait "$room_pid" 2>/dev/null || true
    sleep "$outage"
    before=$(frames_now)
    restarted=$(now)
    start_room
    restarts=$((restarts + 1))
    # Time to the first new frame, given up after 60 s.
    while [ "$(frames_now)" -le "$before" ]; do
      if awk -v a="$restarted" -v b="$(now)" 'BEGIN { exit !(b - a > 60) }'; then break; fi
      sleep 0.05
    done
    if [ "$(frames_now)" -gt "$before" ]; then
      awk -v a="$restarted" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }' >>"$work/to_frames.txt"
    fi
    next_restart=$((next_restart + period))
  fi
  sleep 0.2
done

reconnects=$(grep -c '"reconnect":true' "$work/watch.err" || true)
recovered=$(wc -l <"$work/to_frames.txt")
to_frames=$(sort -n "$work/to_frames.txt" | awk '
  { v[NR] = $1 }
  END {
    if (NR == 0) { print "none"; exit }
    median = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f / %.1f / %.1f s", v[1], median, v[NR]
  }')
trend() {
  awk -v column="$1" -v scale="$2" -v unit="$3" '
    NR == 1 { first = $column } { last = $column; if ($column > max) max = $column }
    END { printf "%.0f%s → %.0f%s (max %.0f%s)", first / scale, unit, last / scale, unit, max / scale, unit }' \
    "$work/samples.tsv"
}

echo
echo "| soak ($((duration / 60)) min, room killed every ${period} s, down ${outage} s) | result |"
echo "|---|---|"
echo "| reconnects seen / room restarts | $reconnects / $restarts |"
echo "| restarts followed by frames again | $recovered / $restarts |"
echo "| restart → next frame (min / median / max) | $to_frames |"
echo "| client RSS first → last (max) | $(trend 2 1024 ' MB') |"
echo "| client open fds first → last (max) | $(trend 3 1 '') |"
echo
echo "logs and samples: $work"
