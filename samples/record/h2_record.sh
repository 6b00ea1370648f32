#!/usr/bin/env bash
# Records samples/h2/: HTTP/2 over h2c between Hypercorn and real clients on
# loopback, captured with tcpdump. Needs root, tcpdump, python3 with
# hypercorn, h2, wsproto (pip), curl built with nghttp2, nghttp
# (nghttp2-client). Every server stops by itself.
#   h2-ws.pcap        h2_peers.py client ws  (RFC 8441 WebSockets, SSE, long polls), port 9201
#   h2-push.pcap      h2_peers.py client plain (SSE + long polls only), port 9202
#   h2-curl.pcap      curl --http2-prior-knowledge and nghttp against Hypercorn, port 9203
#   h2-upgrade.pcap   curl --http2 (HTTP/1.1 Upgrade: h2c) against Hypercorn, port 9204
#   h2-midconn.pcap   h2_peers.py client midconn, captured from 1.2 s in, port 9205
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../h2}
mkdir -p "$out"

cap_start() { # iface file filter
  tcpdump -Z root -U --immediate-mode -i "$1" -w "$2" "$3" 2>"$2.tcpdump.log" &
  cap_pid=$!
  for _ in $(seq 50); do grep -q listening "$2.tcpdump.log" 2>/dev/null && break; sleep 0.1; done
}
# Wait until PORT listens (without connecting, which would show in the capture).
wait_port() { for _ in $(seq 100); do ss -ltn "sport = :$1" | grep -q LISTEN && return; sleep 0.1; done; }
cap_stop() { sleep 1; kill -INT "$cap_pid"; wait "$cap_pid" || true; rm -f "$1.tcpdump.log"; }

record_py() { # name port scenario
  local name=$1 port=$2 scen=$3
  rm -f "$out/$name.sent.jsonl"
  cap_start lo "$out/$name.pcap" "tcp port $port"
  python3 "$here/h2_peers.py" server "$port" "$out/$name.sent.jsonl" 12 &
  local srv=$!
  wait_port "$port"
  python3 "$here/h2_peers.py" client "$port" "$out/$name.sent.jsonl" "$scen"
  wait "$srv"
  cap_stop "$out/$name.pcap"
}

record_py h2-ws 9201 ws
record_py h2-push 9202 plain

# curl and nghttp: prior knowledge.
rm -f "$out/h2-curl.sent.jsonl"
cap_start lo "$out/h2-curl.pcap" "tcp port 9203"
python3 "$here/h2_peers.py" server 9203 "$out/h2-curl.sent.jsonl" 6 &
srv=$!
wait_port 9203
curl -s --http2-prior-knowledge "http://127.0.0.1:9203/sse" -o /dev/null
curl -s --http2-prior-knowledge "http://127.0.0.1:9203/poll?n=curl" -o /dev/null
nghttp -n "http://127.0.0.1:9203/poll?n=nghttp" "http://127.0.0.1:9203/missing" || true
wait "$srv"
cap_stop "$out/h2-curl.pcap"

# curl --http2 on http:// sends Upgrade: h2c.
rm -f "$out/h2-upgrade.sent.jsonl"
cap_start lo "$out/h2-upgrade.pcap" "tcp port 9204"
python3 "$here/h2_peers.py" server 9204 "$out/h2-upgrade.sent.jsonl" 5 &
srv=$!
wait_port 9204
curl -s --http2 "http://127.0.0.1:9204/sse" "http://127.0.0.1:9204/poll?n=upgrade" -o /dev/null -o /dev/null
wait "$srv"
cap_stop "$out/h2-upgrade.pcap"
ls -l "$out"

# A capture that starts mid-connection: tcpdump starts 1.2 s after the
# client (no SYN, no preface, SETTINGS and the first HPACK entries unseen).
rm -f "$out/h2-midconn.sent.jsonl"
python3 "$here/h2_peers.py" server 9205 "$out/h2-midconn.sent.jsonl" 8 &
srv=$!
wait_port 9205
python3 "$here/h2_peers.py" client 9205 "$out/h2-midconn.sent.jsonl" midconn &
cli=$!
sleep 1.2
cap_start lo "$out/h2-midconn.pcap" "tcp port 9205"
wait "$cli"
wait "$srv"
cap_stop "$out/h2-midconn.pcap"

# tshark's view of the HTTP/2 layer, for tests/h2_core.rs.
py=$here/h2_tshark_expect.py
python3 "$py" "$out/h2-ws.pcap" 9201 > "$out/h2-ws.tshark-h2.jsonl"
python3 "$py" "$out/h2-push.pcap" 9202 > "$out/h2-push.tshark-h2.jsonl"
python3 "$py" "$out/h2-curl.pcap" 9203 > "$out/h2-curl.tshark-h2.jsonl"
python3 "$py" "$out/h2-upgrade.pcap" 9204 http > "$out/h2-upgrade.tshark-h2.jsonl"
python3 "$py" "$out/h2-midconn.pcap" 9205 > "$out/h2-midconn.tshark-h2.jsonl"
