#!/usr/bin/env bash
# Installs what tests/browser.rs needs: Debian's chromium and playwright-core
# (tests/browser/package.json, locked in package-lock.json) to drive it.
# Idempotent, and quick when both are there; run as root (CI is). Without
# root or apt-get it only says what is missing (the browser test then skips
# when chromium is absent, and fails when only playwright-core is).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-browser-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get install -y -qq "${missing[@]}" >/dev/null \
        || echo "setup-browser-deps: could not install ${missing[*]}" >&2
    }
  else
    echo "setup-browser-deps: missing ${missing[*]} (not root or no apt-get)" >&2
  fi
fi

if [ ! -d "$root/tests/browser/node_modules/playwright-core" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "setup-browser-deps: installing playwright-core" >&2
    (cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent) \
      || echo "setup-browser-deps: npm ci failed in tests/browser" >&2
  else
    echo "setup-browser-deps: npm is missing (apt-get install npm)" >&2
  fi
fi
