#!/usr/bin/env bash
# tshark's view of the HTTP/2 samples cut mid-connection, for tests/h2_midconn.rs.
#   samples/record/h2_cuts_expect.sh > samples/h2/cuts.tshark.jsonl
# For each sample and cut K: `editcap -r NAME.pcap cut.pcap K-LAST` (the
# capture from packet K on: no SYN, no preface, HPACK history lost), then
# tshark 4.0.17 with the port decoded as http2; one line per cut with the
# (client port, direction) pairs whose header blocks tshark shows a field
# of as `<unknown>` (a reference into a header table the cut lost).
set -euo pipefail
cd "$(dirname "$0")/../h2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for s in ws:9201 push:9202 curl:9203 upgrade:9204 nghttp2:9206; do
  name=h2-${s%%:*}.pcap; port=${s##*:}
  total=$(tshark -r "$name" 2>/dev/null | wc -l)
  for k in 2 5 10 16 20 30 45; do
    [ "$k" -lt "$total" ] || continue
    editcap -r "$name" "$tmp/cut.pcap" "$k-$total"
    tshark -r "$tmp/cut.pcap" -d "tcp.port==$port,http2" -T fields \
        -e tcp.srcport -e tcp.dstport -e http2.header.name 2>/dev/null |
      python3 -c '
import json, sys
name, k, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
unknown = set()
for line in sys.stdin:
    src, dst, names = (line.rstrip("\n").split("\t") + ["", "", ""])[:3]
    if "<unknown>" in names.split(","):
        if int(src) == port:
            unknown.add((int(dst), "server"))
        else:
            unknown.add((int(src), "client"))
print(json.dumps({"capture": name, "cut": k, "server_port": port,
                  "unknown": sorted([list(u) for u in unknown])}))
' "$name" "$k" "$port"
  done
done
