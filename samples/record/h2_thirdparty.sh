#!/usr/bin/env bash
# Records samples/h2/h2-nghttp2.pcap: HTTP/2 with prior knowledge (h2c)
# between third-party programs only, nghttpd (server) and nghttp2's
# h2load and nghttp (clients) on loopback, captured with tcpdump. Needs
# root, tcpdump, nghttp2-server and nghttp2-client. The server stops by
# itself (timeout).
#   h2load -n 40 -c 2 -m 8: 40 GETs of two files over two connections,
#     up to 8 concurrent streams each (responses interleave);
#   nghttp -n with a 30000-byte header: HEADERS + CONTINUATION;
#   nghttp -n of a missing file (404).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../h2}
port=9206
docs=$(mktemp -d)
head -c 3000 /dev/zero | tr '\0' 'a' > "$docs/a.txt"
head -c 4000 /dev/zero | tr "\0" b > "$docs/b.txt"
tcpdump -Z root -U --immediate-mode -i lo -w "$out/h2-nghttp2.pcap" "tcp port $port" 2>"$docs/tcpdump.log" &
cap=$!
for _ in $(seq 50); do grep -q listening "$docs/tcpdump.log" && break; sleep 0.1; done
timeout 8 nghttpd --no-tls -d "$docs" "$port" &
srv=$!
for _ in $(seq 100); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
h2load -n 40 -c 2 -m 8 "http://127.0.0.1:$port/a.txt" "http://127.0.0.1:$port/b.txt" >/dev/null
big=$(head -c 30000 /dev/zero | tr '\0' 'x')
nghttp -n -H "x-big: $big" "http://127.0.0.1:$port/a.txt"
nghttp -n "http://127.0.0.1:$port/missing.txt" || true
wait "$srv"
sleep 1
kill -INT "$cap"; wait "$cap" || true
rm -rf "$docs"
python3 "$here/h2_tshark_expect.py" "$out/h2-nghttp2.pcap" "$port" > "$out/h2-nghttp2.tshark-h2.jsonl"
