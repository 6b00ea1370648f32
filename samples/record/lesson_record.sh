#!/usr/bin/env bash
# Records the capture of the lesson's chapter 11 (`wsdissect lesson`):
# the course's hand-written server (course_server.py: a plain TCP socket,
# the handshake by hand, the 7-bit length only) against a real client
# (Python websockets 17, course_client.py) sending a 125-byte and a
# 126-byte text message, over the kernel's TCP on loopback, port 9140.
# Writes ../lesson/handwritten-server.pcap and .log (JSON lines: what the
# server saw and did, what the client sent and got). Needs root (tcpdump).
#
# Usage: sudo samples/record/lesson_record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../lesson" && pwd)
py=${PYTHON:-python3}
pcap="$out/handwritten-server.pcap"
log="$out/handwritten-server.log"
rm -f "$pcap" "$log"

tcpdump -Z root -U --immediate-mode -i lo -w "$pcap" "tcp port 9140" 2>"$pcap.tcpdump.log" &
cap=$!
for _ in $(seq 50); do grep -q listening "$pcap.tcpdump.log" 2>/dev/null && break; sleep 0.1; done

"$py" "$here/course_server.py" "$log" 127.0.0.1 9140 &
srv=$!
sleep 0.5
"$py" "$here/course_client.py" "$log" 127.0.0.1 9140
wait $srv || true

sleep 2
kill -INT $cap
wait $cap || true
cat "$pcap.tcpdump.log" >&2
rm -f "$pcap.tcpdump.log"
