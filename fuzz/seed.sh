#!/usr/bin/env bash
# Seeds the fuzz corpora from the recorded samples (needs tshark for the
# stream-level targets, and a release build of wsdissect for the inflater;
# the pipeline target only copies captures).
#   fuzz/seed.sh        -> fuzz/corpus/{pipeline,frame_decoder,http_handshake,inflater}/
set -euo pipefail
cd "$(dirname "$0")"
S=../samples
mkdir -p corpus/pipeline corpus/frame_decoder corpus/http_handshake corpus/inflater corpus/tcp_reassembly
for f in $S/*.pcap $S/*.pcapng $S/violations/*.pcap $S/deflate/*.pcap; do
  if [ "$(stat -c %s "$f")" -le 262144 ]; then cp "$f" "corpus/pipeline/$(basename "$f")"; fi
done
command -v tshark >/dev/null || { echo "no tshark: only the pipeline corpus was seeded"; exit 0; }
python3 - "$S" <<'PY'
import glob, os, subprocess, sys, json
S = sys.argv[1]
def follow(cap):
    """The first TCP stream's two directions, as raw bytes."""
    out = subprocess.run(["tshark", "-n", "-r", cap, "-q", "-z", "follow,tcp,raw,0"],
                         capture_output=True, text=True).stdout
    c, s = bytearray(), bytearray()
    for line in out.splitlines():
        if not line or line.startswith(("=", "Follow", "Filter", "Node")):
            continue
        d = s if line.startswith("\t") else c
        try:
            d += bytes.fromhex(line.strip())
        except ValueError:
            pass
    return bytes(c), bytes(s)
caps = sorted(glob.glob(f"{S}/*.pcap") + glob.glob(f"{S}/violations/*.pcap") + glob.glob(f"{S}/deflate/*.pcap"))
for cap in caps:
    name = os.path.basename(cap)
    c, s = follow(cap)
    ch, _, cbody = c.partition(b"\r\n\r\n")
    sh, _, sbody = s.partition(b"\r\n\r\n")
    if not ch.startswith(b"GET"):
        continue
    deflate = 2 if b"permessage-deflate" in sh else 0
    for d, body, tag in [(0, cbody, "c"), (8, sbody, "s")]:
        if body:
            open(f"corpus/frame_decoder/{name}.{tag}", "wb").write(bytes([d | deflate | 0x30]) + body[:65536])
    open(f"corpus/http_handshake/{name}", "wb").write(b"\x10" + ch + b"\r\n\r\n" + b"\xff" + sh + b"\r\n\r\n")
for cap in glob.glob(f"{S}/deflate/*.pcap"):
    out = subprocess.run(["../target/release/wsdissect", "frames", "--format", "json",
                          "--payload", "hex", cap], capture_output=True, text=True).stdout
    msgs = [bytes.fromhex(json.loads(l)["payload_hex"]) for l in out.splitlines()
            if '"rsv1":true' in l][:20]
    if msgs:
        open(f"corpus/inflater/{os.path.basename(cap)}", "wb").write(b"\x00" + b"\xfe".join(msgs))
PY
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
