#!/usr/bin/env bash
# Renders `explain --format html` in headless Chromium: a PNG, and a check
# that the browser's DOM has one sequence arrow per frame. Needs Debian's
# chromium (apt-get install chromium).
#   scripts/render-explain.sh [CAPTURE] [OUT.png]
# OUT.png defaults to a new temporary file (its path is printed); the
# README's picture is made with an explicit path under docs/. The binary is
# built where CARGO_TARGET_DIR says (default: target/ in the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cap=${1:-$root/samples/rfc-examples.pcap}
png=${2:-$(mktemp --suffix=.png "${TMPDIR:-/tmp}/wsdissect-explain.XXXXXX")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
CARGO_TARGET_DIR=$target cargo build --release --quiet --manifest-path "$root/Cargo.toml"
ws=$target/release/wsdissect
"$ws" explain --format html --max-frames 1000 "$cap" > "$tmp/explain.html"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$tmp/profile" --hide-scrollbars)
"${chrome[@]}" --window-size=1200,1500 --screenshot="$png" "file://$tmp/explain.html" 2>/dev/null
"${chrome[@]}" --dump-dom "file://$tmp/explain.html" 2>/dev/null > "$tmp/dom.html"
arrows=$(grep -o 'class="arrow"' "$tmp/dom.html" | wc -l)
frames=$("$ws" frames --format json "$cap" | grep -c '"conn":0,')
echo "$png: rendered; the browser's DOM has $arrows arrows for $frames frames of connection 0"
[ "$arrows" -eq "$frames" ]
