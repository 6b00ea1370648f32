#!/usr/bin/env bash
# Writes samples/tls/NAME.tshark.jsonl beside each WebSocket-over-TLS sample:
# tshark's view of every frame, decrypted with the sample's own key log
# (../shared/tools/tshark-frames.py --keylog NAME.keys --tls-port PORT).
# TCP out-of-order reassembly is on (the lossy captures need it).
# tests/tls_wire.rs compares `wsdissect frames --keylog` with these.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$here/../tls" && pwd)
tool=${TSHARK_FRAMES:-$here/../../../shared/tools/tshark-frames.py}
[ -f "$tool" ] || tool=/work/shared/tools/tshark-frames.py
while read -r name port; do
  python3 "$tool" "$dir/$name.pcap" --keylog "$dir/$name.keys" --tls-port "$port" \
    -o tcp.reassemble_out_of_order:TRUE > "$dir/$name.tshark.jsonl"
  echo "$name: $(wc -l < "$dir/$name.tshark.jsonl") frames" >&2
done <<'LIST'
py-tls13 9401
node-tls13-aes128 9411
node-tls13-aes256 9412
node-tls13-chacha 9413
node-tls12-aes128gcm 9421
node-tls12-aes256gcm 9422
node-tls12-chacha 9423
node-tls12-cbc-sha384 9424
node-tls12-cbc-sha1-mte 9425
chromium-wss-deflate 9461
node-tls13-lossy 9471
node-tls12-lossy 9472
LIST
