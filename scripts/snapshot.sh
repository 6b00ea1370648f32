#!/usr/bin/env bash
# The regression yardstick used when merging: every command's JSON output
# over every bundled capture, for comparing two builds.
#   scripts/snapshot.sh BINARY OUTDIR      (then scripts/snapshot_cmp.py OLD NEW)
set -uo pipefail
BIN=$(realpath "$1"); OUT=$(realpath -m "$2"); mkdir -p "$OUT"
cd "$(dirname "$0")/.."
for f in $(find samples -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' | sort); do
  n=$(echo "$f" | tr '/' '_')
  for cmd in frames messages conns; do
    "$BIN" $cmd --format json -q "$f" > "$OUT/$n.$cmd.json" 2> "$OUT/$n.$cmd.err"; echo $? >> "$OUT/$n.$cmd.err"
  done
  "$BIN" check --format json -q "$f" > "$OUT/$n.check.json" 2>&1; echo $? >> "$OUT/$n.check.json"
  "$BIN" push --format json -q "$f" > "$OUT/$n.push.json" 2>&1
  "$BIN" explain --format json -q "$f" > "$OUT/$n.explain.json" 2>&1
done
