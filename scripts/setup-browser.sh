#!/usr/bin/env bash
# What the live page's browser test (tests/live.rs) needs, run by scripts/test.sh after
# scripts/setup.sh, idempotent: Debian's Chromium, Node.js with npm, and playwright-core (pinned
# in tests/browser/package-lock.json) in tests/browser/node_modules. Playwright's own browser
# download is never used: the test drives /usr/bin/chromium.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(chromium)
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})) && ! { [ "${missing[*]}" = chromium ] && [ -x /usr/bin/chromium ]; }; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
browser="$root/tests/browser"
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.installed-from-lock"; then
  echo "installing: playwright-core into tests/browser"
  npm ci --prefix "$browser" --no-audit --no-fund --silent
  cp "$browser/package-lock.json" "$browser/node_modules/.installed-from-lock"
fi
