#!/usr/bin/env bash
# The TCP reference for tests/explain_teach.rs: tshark's own per-packet
# analysis (relative sequence numbers, keepalive and keepalive-ACK flags) of
# the samples explain's TCP section is checked on, one tab-separated line a
# packet, written beside each capture as NAME.tshark-tcp.tsv.
# Usage: samples/record/tcp_tshark_expect.sh   (tshark 4.0.17 made the committed files)
set -euo pipefail
out=$(cd "$(dirname "$0")/.." && pwd)
for cap in tcp/keepalive.pcap python-echo.pcap lossy.pcap deflate/websockets-default.pcap deflate/node-deflate.pcap; do
  tshark -r "$out/$cap" -o tcp.relative_sequence_numbers:TRUE -o tcp.analyze_sequence_numbers:TRUE \
    -T fields -E header=y -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.flags.syn \
    -e tcp.flags.fin -e tcp.seq -e tcp.nxtseq -e tcp.ack -e tcp.len \
    -e tcp.analysis.keep_alive -e tcp.analysis.keep_alive_ack -e tcp.stream tcp \
    > "$out/${cap%.*}.tshark-tcp.tsv" 2>/dev/null
done
