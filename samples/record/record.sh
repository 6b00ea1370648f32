#!/usr/bin/env bash
# Records the sample captures in samples/ from real WebSocket implementations
# talking over the kernel's TCP. Needs root (tcpdump, network namespaces),
# tcpdump, dumpcap (wireshark-common), ethtool, python3 with websockets,
# aiohttp and tornado, and node with `ws` (npm install in this folder).
#
# Usage: sudo samples/record/record.sh [NAME...]   (default: all)
#
# Each capture NAME.pcap[ng] gets NAME.sent.jsonl, the data messages the
# applications logged as sent. Servers and clients stop by themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
py=${PYTHON:-python3}

cap_start() { # IFACE FILE FILTER [netns]
  local ns_prefix=()
  [ -n "${4:-}" ] && ns_prefix=(ip netns exec "$4")
  "${ns_prefix[@]}" tcpdump -Z root -U --immediate-mode -i "$1" -w "$2" ${5:-} "$3" 2>"$2.tcpdump.log" &
  CAP_PID=$!
  for _ in $(seq 50); do grep -q listening "$2.tcpdump.log" 2>/dev/null && break; sleep 0.1; done
}
cap_stop() { sleep 2; kill -INT "$1"; wait "$1" || true; cat "$2.tcpdump.log" >&2; rm -f "$2.tcpdump.log"; }

fresh() { rm -f "$out/$1".pcap "$out/$1".pcapng "$out/$1.sent.jsonl"; }

rec_python_echo() {
  fresh python-echo
  cap_start lo "$out/python-echo.pcap" "tcp port 9001"
  "$py" "$here/py_scenarios.py" echo "$out/python-echo.sent.jsonl" 127.0.0.1 9001
  cap_stop $CAP_PID "$out/python-echo.pcap"
}

rec_node_fragments() {
  fresh node-fragments
  cap_start lo "$out/node-fragments.pcap" "tcp port 9002"
  (cd "$here" && node node_scenarios.js fragments "$out/node-fragments.sent.jsonl" 127.0.0.1 9002)
  cap_stop $CAP_PID "$out/node-fragments.pcap"
}

netns_pair() { # make namespaces wsA <-> wsB over one veth pair, MTU 1500, offloads off
  ip netns del wsA 2>/dev/null || true; ip netns del wsB 2>/dev/null || true
  ip netns add wsA; ip netns add wsB
  ip link add va type veth peer name vb
  ip link set va netns wsA; ip link set vb netns wsB
  ip -n wsA addr add 10.99.0.1/24 dev va; ip -n wsB addr add 10.99.0.2/24 dev vb
  for p in "wsA va" "wsB vb"; do
    set -- $p
    ip -n "$1" link set "$2" mtu 1500 up; ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  done
}
netns_cleanup() { ip netns del wsA 2>/dev/null || true; ip netns del wsB 2>/dev/null || true; ip netns del wsM 2>/dev/null || true; }
netns_bridged() { # ADDR_A ADDR_B [ADDR_OPTION]: wsA --va|fwa-- wsM --fwb|vb-- wsB, MTU 1500, offloads off (a bridge script in wsM forwards)
  local a="$1" b="$2" opt="${3:-}"
  netns_cleanup
  ip netns add wsA; ip netns add wsB; ip netns add wsM
  ip link add va type veth peer name fwa; ip link add vb type veth peer name fwb
  ip link set va netns wsA; ip link set fwa netns wsM; ip link set fwb netns wsM; ip link set vb netns wsB
  ip -n wsA addr add "$a" dev va $opt; ip -n wsB addr add "$b" dev vb $opt
  for p in "wsA va" "wsB vb" "wsM fwa" "wsM fwb"; do
    set -- $p
    ip -n "$1" link set "$2" mtu 1500 up; ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  done
}

rec_veth_lengths() {
  fresh veth-lengths
  netns_pair
  cap_start vb "$out/veth-lengths.pcap" "tcp port 9003" wsB
  ip netns exec wsB "$py" "$here/py_scenarios.py" lengths "$out/veth-lengths.sent.jsonl" 10.99.0.2 9003 server &
  srv=$!
  sleep 0.5
  ip netns exec wsA "$py" "$here/py_scenarios.py" lengths "$out/veth-lengths.sent.jsonl" 10.99.0.2 9003 client
  wait $srv || true
  cap_stop $CAP_PID "$out/veth-lengths.pcap"
  netns_cleanup
}

rec_aiohttp_concurrent() {
  fresh aiohttp-concurrent
  cap_start lo "$out/aiohttp-concurrent.pcap" "tcp port 9004"
  "$py" "$here/aiohttp_concurrent.py" "$out/aiohttp-concurrent.sent.jsonl" 127.0.0.1 9004 20
  cap_stop $CAP_PID "$out/aiohttp-concurrent.pcap"
}

rec_ipv6_echo() {
  fresh ipv6-echo
  cap_start lo "$out/ipv6-echo.pcap" "tcp port 9005"
  "$py" "$here/py_scenarios.py" echo "$out/ipv6-echo.sent.jsonl" ::1 9005
  cap_stop $CAP_PID "$out/ipv6-echo.pcap"
}

rec_any_sll2() {
  fresh any-sll2
  cap_start any "$out/any-sll2.pcap" "tcp port 9006" "" "-y LINUX_SLL2"
  (cd "$here" && node node_scenarios.js fragments "$out/any-sll2.sent.jsonl" 127.0.0.1 9006)
  cap_stop $CAP_PID "$out/any-sll2.pcap"
}

rec_any_sll() {
  fresh any-sll
  cap_start any "$out/any-sll.pcap" "tcp port 9007" "" "-y LINUX_SLL"
  "$py" "$here/py_scenarios.py" echo "$out/any-sll.sent.jsonl" 127.0.0.1 9007
  cap_stop $CAP_PID "$out/any-sll.pcap"
}

rec_multi_if() {
  # pcapng with two interfaces of different link types: lo (Ethernet) sees
  # port 9008 only, any (Linux cooked v2) sees port 9009 only.
  fresh multi-if
  dumpcap -q -i lo -f "tcp port 9008" -y EN10MB -i any -f "tcp port 9009" -y LINUX_SLL2 \
    -w "$out/multi-if.pcapng" 2>"$out/multi-if.log" &
  local pid=$!
  sleep 2
  "$py" "$here/py_scenarios.py" echo "$out/multi-if.sent.jsonl" 127.0.0.1 9008 &
  local a=$!
  (cd "$here" && node node_scenarios.js fragments "$out/multi-if.sent.jsonl" 127.0.0.1 9009)
  wait $a
  sleep 1; kill -INT $pid; wait $pid || true; rm -f "$out/multi-if.log"
}

rec_midconn() {
  # The capture starts about a second after the connection opened: no SYN,
  # no handshake, frames already flowing.
  fresh midconn
  (cd "$here" && STREAM_MS=3000 node node_scenarios.js stream "$out/midconn.sent.jsonl" 127.0.0.1 9010) &
  local n=$!
  sleep 1.2
  cap_start lo "$out/midconn.pcap" "tcp port 9010"
  wait $n
  cap_stop $CAP_PID "$out/midconn.pcap"
}

rec_lossy() {
  # wsA --va|ma-- wsM (lossy_bridge.py) --mb|vb-- wsB; captured in wsB.
  fresh lossy
  netns_bridged 10.99.0.1/24 10.99.0.2/24
  ip netns exec wsM "$py" "$here/lossy_bridge.py" fwa fwb 25 7 &
  local br=$!
  sleep 0.5
  cap_start vb "$out/lossy.pcap" "tcp port 9011" wsB
  ip netns exec wsB "$py" "$here/py_scenarios.py" lengths "$out/lossy.sent.jsonl" 10.99.0.2 9011 server &
  local srv=$!
  sleep 0.5
  ip netns exec wsA "$py" "$here/py_scenarios.py" lengths "$out/lossy.sent.jsonl" 10.99.0.2 9011 client
  wait $srv || true
  cap_stop $CAP_PID "$out/lossy.pcap"
  kill $br 2>/dev/null || true; wait $br 2>/dev/null || true
  netns_cleanup
}

rec_deflate() {
  # Compressed sessions, one capture each, in deflate/.
  mkdir -p "$out/deflate"
  local port=9200
  for v in websockets-default websockets-nct-server websockets-nct-client websockets-nct-both \
           websockets-bits-9 websockets-bits-15 aiohttp tornado; do
    port=$((port + 1))
    rm -f "$out/deflate/$v.pcap" "$out/deflate/$v.sent.jsonl"
    cap_start lo "$out/deflate/$v.pcap" "tcp port $port"
    "$py" "$here/deflate_scenarios.py" "$v" "$out/deflate/$v.sent.jsonl" 127.0.0.1 $port
    cap_stop $CAP_PID "$out/deflate/$v.pcap"
  done
  port=$((port + 1))
  rm -f "$out/deflate/node-deflate.pcap" "$out/deflate/node-deflate.sent.jsonl"
  cap_start lo "$out/deflate/node-deflate.pcap" "tcp port $port"
  node "$here/node_scenarios.js" deflate "$out/deflate/node-deflate.sent.jsonl" 127.0.0.1 $port
  cap_stop $CAP_PID "$out/deflate/node-deflate.pcap"
  # Compressed streams captured from 1.2 s in: no handshake, no history.
  for v in stream-deflate stream-deflate-nct; do
    port=$((port + 1))
    rm -f "$out/deflate/midconn-$v.pcap" "$out/deflate/midconn-$v.sent.jsonl"
    STREAM_MS=3000 node "$here/node_scenarios.js" $v "$out/deflate/midconn-$v.sent.jsonl" 127.0.0.1 $port &
    local n=$!
    sleep 1.2
    cap_start lo "$out/deflate/midconn-$v.pcap" "tcp port $port"
    wait $n
    cap_stop $CAP_PID "$out/deflate/midconn-$v.pcap"
  done
  "$py" "$here/compact_log.py" "$out"/deflate/*.sent.jsonl
}

rec_violations() {
  # Each violation is its own capture in violations/, made by raw_peer.py
  # against a real Node ws server (c-*) or a real websockets client (s-*).
  mkdir -p "$out/violations"
  local names
  names=$("$py" -c "import sys; sys.path.insert(0, '$here'); import raw_peer; print(' '.join(list(raw_peer.CLIENT) + list(raw_peer.SERVER)))")
  for n in ${VIOLATIONS:-$names}; do
    rm -f "$out/violations/$n.pcap"
    cap_start lo "$out/violations/$n.pcap" "tcp port 9100"
    if [[ $n == c-* ]]; then
      node "$here/node_echo_server.js" 127.0.0.1 9100 4000 > /dev/null &
      local srv=$!
      sleep 0.6
      "$py" "$here/raw_peer.py" "$n" 127.0.0.1 9100
      kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true
    else
      "$py" "$here/raw_peer.py" "$n" 127.0.0.1 9100
    fi
    cap_stop $CAP_PID "$out/violations/$n.pcap"
  done
}

rec_rfc_examples() {
  # RFC 6455's own worked examples (sample key, 37 fa 21 3d mask, 16/64-bit
  # lengths) from a valid raw client to a Node ws echo server.
  fresh rfc-examples
  cap_start lo "$out/rfc-examples.pcap" "tcp port 9015"
  node "$here/node_echo_server.js" 127.0.0.1 9015 4000 > /dev/null &
  local srv=$!
  sleep 0.6
  "$py" "$here/raw_peer.py" rfc-examples 127.0.0.1 9015 "$out/rfc-examples.sent.jsonl"
  "$py" "$here/compact_log.py" "$out/rfc-examples.sent.jsonl"
  kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true
  cap_stop $CAP_PID "$out/rfc-examples.pcap"
}

rec_escapes() {
  # Control bytes (ESC sequences, BEL, C1) in messages, a close reason and a
  # header value, from a raw client to a Node ws echo server: what no
  # table or text output may copy to a terminal.
  mkdir -p "$out/escapes"
  rm -f "$out/escapes/control-bytes.pcap"
  cap_start lo "$out/escapes/control-bytes.pcap" "tcp port 9110"
  node "$here/node_echo_server.js" 127.0.0.1 9110 5000 > /dev/null &
  local srv=$!
  sleep 0.6
  "$py" "$here/raw_peer.py" control-bytes 127.0.0.1 9110
  "$py" "$here/raw_peer.py" control-bytes-header 127.0.0.1 9110
  "$py" "$here/raw_peer.py" control-bytes-c1 127.0.0.1 9110
  "$py" "$here/raw_peer.py" control-bytes-version 127.0.0.1 9110
  kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true
  cap_stop $CAP_PID "$out/escapes/control-bytes.pcap"
}

# Server push (issue 8): each technique from real programs over loopback TCP,
# in samples/push/. NAME.log is what the programs did (requests made, events
# pushed), the reference the tests compare against.
push_rec() { # NAME PORT then a command line run while capturing
  local name=$1 port=$2; shift 2
  rm -f "$out/push/$name.pcap" "$out/push/$name.log"
  cap_start lo "$out/push/$name.pcap" "tcp port $port"
  "$@"
  cap_stop $CAP_PID "$out/push/$name.pcap"
}
push_server() { # PORT NAME LIFETIME_MS
  node "$here/push_server.js" 127.0.0.1 "$1" "$out/push/$2.log" "$3" > /dev/null &
  sleep 0.5
}
chromium_page() { # URL SECONDS
  local prof; prof=$(mktemp -d)
  timeout "$2" chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" "$1" > /dev/null 2>&1 || true
  rm -rf "$prof"
}
rec_push() {
  mkdir -p "$out/push"
  push_rec node-poll 9020 bash -c "$(declare -f push_server); here=$here out=$out; push_server 9020 node-poll 5000; node $here/push_clients.js poll 127.0.0.1 9020; wait"
  push_rec node-longpoll 9021 bash -c "$(declare -f push_server); here=$here out=$out; push_server 9021 node-longpoll 6000; node $here/push_clients.js longpoll 127.0.0.1 9021; wait"
  push_rec python-sse 9022 bash -c "$(declare -f push_server); here=$here out=$out; push_server 9022 python-sse 9000; $py $here/sse_peers.py client 127.0.0.1 9022 $out/push/python-sse.log; wait"
  push_rec http10-sse 9023 "$py" "$here/sse_peers.py" http10 127.0.0.1 9023 "$out/push/http10-sse.log"
  for mode in sse poll longpoll iframe; do
    local port=$((9024 + $(echo "sse poll longpoll iframe" | tr ' ' '\n' | grep -n "^$mode$" | cut -d: -f1)))
    push_rec "chromium-$mode" $port bash -c "$(declare -f push_server chromium_page); here=$here out=$out; push_server $port chromium-$mode 9000; chromium_page http://127.0.0.1:$port/page?mode=$mode 7; wait"
  done
  push_rec malformed-push 9031 "$py" "$here/sse_peers.py" malformed 127.0.0.1 9031 "$out/push/malformed-push.log"
  push_rec node-pollpost 9032 bash -c "$(declare -f push_server); here=$here out=$out; push_server 9032 node-pollpost 6000; node $here/push_clients.js pollpost 127.0.0.1 9032; wait"
  push_rec socketio 9030 bash -c "cd $here && node socketio_demo.js 127.0.0.1 9030 $out/push/socketio.log"
  push_rec socketio-polling 9033 bash -c "cd $here && node socketio_polling_demo.js 9033 $out/push/socketio-polling.log"
  "$py" "$here/push_expect.py"
}

rec_snapped() {
  # tcpdump -s 120 cuts every packet after 120 bytes: frames beyond it are snapped.
  fresh snapped
  cap_start lo "$out/snapped.pcap" "tcp port 9013" "" "-s 120"
  "$py" "$here/py_scenarios.py" echo "$out/snapped.sent.jsonl" 127.0.0.1 9013
  cap_stop $CAP_PID "$out/snapped.pcap"
}

rec_snapped_deflate() {
  # A permessage-deflate session (websockets, context takeover) captured with
  # tcpdump -s 128: the upgrade request and the 101 are cut by the snapshot
  # length, so the negotiation is never seen; frames past 128 bytes are cut.
  mkdir -p "$out/deflate"
  rm -f "$out/deflate/snapped-128.pcap" "$out/deflate/snapped-128.sent.jsonl"
  cap_start lo "$out/deflate/snapped-128.pcap" "tcp port 9230" "" "-s 128"
  "$py" "$here/deflate_scenarios.py" websockets-default "$out/deflate/snapped-128.sent.jsonl" 127.0.0.1 9230
  cap_stop $CAP_PID "$out/deflate/snapped-128.pcap"
  "$py" "$here/compact_log.py" "$out/deflate/snapped-128.sent.jsonl"
  # The same with -s 356: the request (282 bytes) is whole, the 101 (303
  # bytes) loses its last 13 to the snapshot length.
  rm -f "$out/deflate/snapped-101.pcap" "$out/deflate/snapped-101.sent.jsonl"
  cap_start lo "$out/deflate/snapped-101.pcap" "tcp port 9232" "" "-s 356"
  "$py" "$here/deflate_scenarios.py" websockets-default "$out/deflate/snapped-101.sent.jsonl" 127.0.0.1 9232
  cap_stop $CAP_PID "$out/deflate/snapped-101.pcap"
  "$py" "$here/compact_log.py" "$out/deflate/snapped-101.sent.jsonl"
}

rec_oversized_extensions() {
  # One Sec-WebSocket-Extensions header of 10,000 offers (~300 KiB) from
  # raw_peer.py, accepted with permessage-deflate by a Node ws echo server
  # whose HTTP parser allows 1 MiB heads; then compressed messages both ways.
  mkdir -p "$out/deflate"
  rm -f "$out/deflate/oversized-extensions.pcap" "$out/deflate/oversized-extensions.sent.jsonl"
  cap_start lo "$out/deflate/oversized-extensions.pcap" "tcp port 9231"
  node --max-http-header-size=1048576 "$here/node_echo_server.js" 127.0.0.1 9231 4000 deflate > /dev/null &
  local srv=$!
  sleep 0.6
  "$py" "$here/raw_peer.py" oversized-extensions 127.0.0.1 9231 "$out/deflate/oversized-extensions.sent.jsonl"
  "$py" "$here/compact_log.py" "$out/deflate/oversized-extensions.sent.jsonl"
  kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true
  cap_stop $CAP_PID "$out/deflate/oversized-extensions.pcap"
}

rec_port_reuse() {
  fresh port-reuse
  cap_start lo "$out/port-reuse.pcap" "tcp port 9014"
  "$py" "$here/port_reuse.py" "$out/port-reuse.sent.jsonl" 127.0.0.1 9014 45678
  cap_stop $CAP_PID "$out/port-reuse.pcap"
}

# Fragmented IP: captured with a filter that keeps non-first fragments
# (they carry no TCP header, so "tcp port P" alone would miss them).
FRAG_FILTER="tcp or (ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)"

rec_ipv4_fragments() {
  # wsA =1500= wsR1 =576= wsR2 =1500= wsB. Both ends clear DF
  # (ip_no_pmtu_disc=1) and advertise a 1460-byte MSS, so the routers'
  # kernels fragment every full segment onto the 576-byte link, both ways.
  # Captured on that link (wsR1's side), where both directions are in
  # fragments.
  fresh ipv4-fragments
  netns_cleanup
  for n in wsA wsR1 wsR2 wsB; do ip netns add $n; ip -n $n link set lo up; done
  ip link add va type veth peer name r1a; ip link add r1b type veth peer name r2a; ip link add r2b type veth peer name vb
  ip link set va netns wsA; ip link set r1a netns wsR1; ip link set r1b netns wsR1
  ip link set r2a netns wsR2; ip link set r2b netns wsR2; ip link set vb netns wsB
  ip -n wsA addr add 10.99.1.1/24 dev va; ip -n wsR1 addr add 10.99.1.254/24 dev r1a
  ip -n wsR1 addr add 10.99.2.1/24 dev r1b; ip -n wsR2 addr add 10.99.2.2/24 dev r2a
  ip -n wsR2 addr add 10.99.3.254/24 dev r2b; ip -n wsB addr add 10.99.3.2/24 dev vb
  for p in "wsA va 1500" "wsR1 r1a 1500" "wsR1 r1b 576" "wsR2 r2a 576" "wsR2 r2b 1500" "wsB vb 1500"; do
    set -- $p
    ip -n "$1" link set "$2" mtu "$3" up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  done
  ip -n wsA route add default via 10.99.1.254; ip -n wsB route add default via 10.99.3.254
  ip -n wsR1 route add 10.99.3.0/24 via 10.99.2.2; ip -n wsR2 route add 10.99.1.0/24 via 10.99.2.1
  for n in wsR1 wsR2; do ip netns exec $n sysctl -qw net.ipv4.ip_forward=1; done
  for n in wsA wsB; do ip netns exec $n sysctl -qw net.ipv4.ip_no_pmtu_disc=1; done
  cap_start r1b "$out/ipv4-fragments.pcap" "$FRAG_FILTER" wsR1 "-B 65536"
  ip netns exec wsB "$py" "$here/py_scenarios.py" lengths "$out/ipv4-fragments.sent.jsonl" 10.99.3.2 9016 server &
  local srv=$!
  sleep 0.5
  ip netns exec wsA "$py" "$here/py_scenarios.py" lengths "$out/ipv4-fragments.sent.jsonl" 10.99.3.2 9016 client
  wait $srv || true
  cap_stop $CAP_PID "$out/ipv4-fragments.pcap"
  for n in wsR1 wsR2; do ip netns del $n; done
  netns_cleanup
}

rec_ipv6_fragments() {
  # wsA --va|fwa-- wsM (frag_bridge.py) --fwb|vb-- wsB over IPv6: the bridge
  # fragments every TCP packet larger than 600 bytes (some reversed, some
  # with a duplicate fragment); wsB's kernel reassembles them. Captured in
  # wsB, as the fragments arrive.
  fresh ipv6-fragments
  netns_bridged fd00:99::1/64 fd00:99::2/64 nodad
  ip netns exec wsM "$py" "$here/frag_bridge.py" fwa fwb 25 16 600 &
  local br=$!
  sleep 0.5
  cap_start vb "$out/ipv6-fragments.pcap" "$FRAG_FILTER" wsB "-B 65536"
  ip netns exec wsB "$py" "$here/py_scenarios.py" lengths "$out/ipv6-fragments.sent.jsonl" fd00:99::2 9017 server &
  local srv=$!
  sleep 0.5
  ip netns exec wsA "$py" "$here/py_scenarios.py" lengths "$out/ipv6-fragments.sent.jsonl" fd00:99::2 9017 client
  wait $srv || true
  cap_stop $CAP_PID "$out/ipv6-fragments.pcap"
  kill $br 2>/dev/null || true; wait $br 2>/dev/null || true
  netns_cleanup
}

rec_ipv4_fragments_reordered() {
  # As ipv6-fragments, over IPv4: both ends clear DF, frag_bridge.py
  # fragments every TCP packet over 600 bytes (some fragments reversed, some
  # sent twice) and wsB's kernel reassembles them. Captured in wsB.
  fresh ipv4-fragments-reordered
  netns_bridged 10.99.0.1/24 10.99.0.2/24
  for n in wsA wsB; do ip netns exec $n sysctl -qw net.ipv4.ip_no_pmtu_disc=1; done
  ip netns exec wsM "$py" "$here/frag_bridge.py" fwa fwb 25 23 600 &
  local br=$!
  sleep 0.5
  cap_start vb "$out/ipv4-fragments-reordered.pcap" "$FRAG_FILTER" wsB "-B 65536"
  ip netns exec wsB "$py" "$here/py_scenarios.py" lengths "$out/ipv4-fragments-reordered.sent.jsonl" 10.99.0.2 9018 server &
  local srv=$!
  sleep 0.5
  ip netns exec wsA "$py" "$here/py_scenarios.py" lengths "$out/ipv4-fragments-reordered.sent.jsonl" 10.99.0.2 9018 client
  wait $srv || true
  cap_stop $CAP_PID "$out/ipv4-fragments-reordered.pcap"
  kill $br 2>/dev/null || true; wait $br 2>/dev/null || true
  netns_cleanup
}

rec_tcp_keepalive() {
  # The TCP-teaching sample (tcp_teach.py): python websockets, client and
  # server in one namespace (wsT) over its loopback; the client's socket has
  # SO_KEEPALIVE with TCP_KEEPIDLE/TCP_KEEPINTVL of 1 s, so its kernel sends
  # keepalive probes while the connection idles between the 4 s pings.
  mkdir -p "$out/tcp"
  rm -f "$out/tcp/keepalive.pcap" "$out/tcp/keepalive.sent.jsonl"
  ip netns del wsT 2>/dev/null || true
  ip netns add wsT; ip -n wsT link set lo up
  cap_start lo "$out/tcp/keepalive.pcap" "tcp port 9030" wsT
  ip netns exec wsT "$py" "$here/tcp_teach.py" server "$out/tcp/keepalive.sent.jsonl" 127.0.0.1 9030 &
  local srv=$!
  sleep 0.5
  ip netns exec wsT "$py" "$here/tcp_teach.py" client "$out/tcp/keepalive.sent.jsonl" 127.0.0.1 9030
  wait $srv || true
  cap_stop $CAP_PID "$out/tcp/keepalive.pcap"
  ip netns del wsT 2>/dev/null || true
}

all="python_echo node_fragments veth_lengths aiohttp_concurrent ipv6_echo any_sll2 any_sll multi_if midconn lossy snapped snapped_deflate oversized_extensions port_reuse violations deflate rfc_examples push ipv4_fragments ipv6_fragments ipv4_fragments_reordered escapes tcp_keepalive"
for name in ${@:-$all}; do
  echo "recording ${name//_/-}" >&2
  "rec_${name//-/_}"
done
