#!/usr/bin/env bash
# Renders `explain --format html` in headless Chromium: a PNG for the README
# (docs/explain.png) and a check that the browser's DOM has one sequence
# arrow per frame. Needs Debian's chromium (apt-get install chromium).
#   scripts/render-explain.sh [CAPTURE] [OUT.png]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cap=${1:-$root/samples/rfc-examples.pcap}
png=${2:-$root/docs/explain.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
ws=$root/target/release/wsdissect
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
