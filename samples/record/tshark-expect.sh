#!/usr/bin/env bash
# Writes NAME.tshark.jsonl beside each sample: tshark's view of every frame
# (../shared/tools/tshark-frames.py), with TCP out-of-order reassembly on.
# The ports each sample uses are in manifest.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
samples=$(cd "$here/.." && pwd)
tool=${TSHARK_FRAMES:-$samples/../../shared/tools/tshark-frames.py}
prefs=$(mktemp -d)
trap 'rm -rf "$prefs"' EXIT
echo "tcp.reassemble_out_of_order: TRUE" > "$prefs/preferences"
python3 - "$samples/manifest.json" <<'PY' | while read -r file ports; do
import json, sys
for s in json.load(open(sys.argv[1])):
    if s.get("tshark") != "none":
        print(s["file"], " ".join("--port %d" % p for p in s["ports"]))
PY
  name=${file%.*}
  WIRESHARK_CONFIG_DIR=$prefs "$tool" "$samples/$file" $ports > "$samples/$name.tshark.jsonl"
  echo "$name: $(wc -l < "$samples/$name.tshark.jsonl") frames" >&2
done
