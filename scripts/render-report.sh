#!/usr/bin/env bash
# Renders `wsdissect report` in headless Chromium: a PNG of the page's top
# (summary and charts), and a check that the browser's DOM has one
# connection row per WebSocket connection. Needs Debian's chromium
# (apt-get install chromium).
#   scripts/render-report.sh [CAPTURE] [OUT.png]
# OUT.png defaults to a new temporary file (its path is printed); the
# README's picture is docs/report.png:
#   scripts/render-report.sh samples/aiohttp-concurrent.pcap docs/report.png
# The binary is built where CARGO_TARGET_DIR says (default: target/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cap=${1:-$root/samples/aiohttp-concurrent.pcap}
png=${2:-$(mktemp --suffix=.png "${TMPDIR:-/tmp}/wsdissect-report.XXXXXX")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
CARGO_TARGET_DIR=$target cargo build --release --quiet --manifest-path "$root/Cargo.toml"
ws=$target/release/wsdissect
keys=()
[ -f "${cap%.*}.keys" ] && keys=(--keylog "${cap%.*}.keys")
# Named as the README shows it, relative to the repository.
(cd "$root" && "$ws" report "${keys[@]}" -o "$tmp/report.html" "$(realpath --relative-to="$root" "$cap")")
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$tmp/profile" --hide-scrollbars)
"${chrome[@]}" --window-size=1100,2300 --screenshot="$png" "file://$tmp/report.html" 2>/dev/null
"${chrome[@]}" --dump-dom "file://$tmp/report.html" 2>/dev/null > "$tmp/dom.html"
rows=$(grep -o '<tr class="conn"' "$tmp/dom.html" | wc -l)
conns=$("$ws" conns "${keys[@]}" --format json "$cap" | python3 -c '
import json, sys
n = 0
for l in sys.stdin:
    r = json.loads(l)
    if r["type"] == "conn" and (r["handshake"] or r["client_to_server"]["frames"] + r["server_to_client"]["frames"]):
        n += 1
print(n)')
echo "$png: rendered; the browser's DOM has $rows connection rows for $conns WebSocket connections"
[ "$rows" -eq "$conns" ]
