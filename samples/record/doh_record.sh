#!/usr/bin/env bash
# Records samples/h2/doh.pcap: DNS over HTTPS (RFC 8484) over h2c on
# loopback, HTTP/2 that is not WebSocket. Needs root, tcpdump, python3 with
# hypercorn 0.18, h2 4.4, dnspython 2.7 and httpx 0.28 with its http2
# extra (pip: 'dnspython==2.7.0' 'httpx[http2]'; dnspython 2.9 wants the
# httpx2 fork instead). The server stops by itself after 8 queries.
#   doh.pcap   doh_peers.py client: 4 names by GET ?dns=, then by POST, one connection, port 9207
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../h2}
mkdir -p "$out"
name=doh port=9207
rm -f "$out/$name.log.jsonl"
tcpdump -Z root -U --immediate-mode -i lo -w "$out/$name.pcap" "tcp port $port" 2>"$out/$name.tcpdump.log" &
cap=$!
for _ in $(seq 50); do grep -q listening "$out/$name.tcpdump.log" 2>/dev/null && break; sleep 0.1; done
python3 "$here/doh_peers.py" server "$port" "$out/$name.log.jsonl" 8 &
srv=$!
for _ in $(seq 100); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
python3 "$here/doh_peers.py" client "$port" "$out/$name.log.jsonl"
wait "$srv"
sleep 1; kill -INT "$cap"; wait "$cap" || true; rm -f "$out/$name.tcpdump.log"
