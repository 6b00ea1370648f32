#!/usr/bin/env bash
# Records the TLS samples in samples/tls/ from real implementations over the
# kernel's TCP on loopback: Python websockets over TLS 1.3, Node ws over
# https with forced TLS 1.2 and 1.3 suites, openssl s_client/s_server with
# KeyUpdates, a pcapng with the keys injected (editcap --inject-secrets) and
# one capture whose keys were never written. Self-signed certificates are
# made here with openssl and thrown away. Needs root, tcpdump, editcap,
# openssl, python3 with websockets, node with `ws` (npm install here).
#
# Usage: sudo samples/record/tls_record.sh [NAME...]   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../tls" && pwd)
py=${PYTHON:-python3}
tmp=$(mktemp -d); CAP_PID=
trap '[ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null; rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

cap_start() { # FILE PORT
  tcpdump -Z root -U --immediate-mode -i lo -s 0 -w "$1" "tcp port $2" 2>"$tmp/tcpdump.log" &
  CAP_PID=$!
  for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
}
cap_stop() { sleep 1; kill -INT "$CAP_PID"; wait "$CAP_PID" || true; CAP_PID=; }
fresh() { rm -f "$out/$1".pcap "$out/$1".pcapng "$out/$1".keys "$out/$1.sent.jsonl"; }

node_sample() { # NAME PORT VERSION CIPHERS [no-etm]
  fresh "$1"
  cap_start "$out/$1.pcap" "$2"
  (cd "$here" && node tls_node.js "$out/$1.sent.jsonl" "$out/$1.keys" "$tmp/cert.pem" "$tmp/key.pem" "$2" "$3" "$4" "${5:-}")
  cap_stop
}

rec_py_tls13() {
  fresh py-tls13
  cap_start "$out/py-tls13.pcap" 9401
  (cd "$here" && "$py" tls_py.py "$out/py-tls13.sent.jsonl" "$out/py-tls13.keys" "$tmp/cert.pem" "$tmp/key.pem" 9401)
  cap_stop
}
rec_py_tls13_nokeys() {
  fresh py-tls13-nokeys
  cap_start "$out/py-tls13-nokeys.pcap" 9402
  (cd "$here" && "$py" tls_py.py "$out/py-tls13-nokeys.sent.jsonl" - "$tmp/cert.pem" "$tmp/key.pem" 9402)
  cap_stop
}
rec_py_tls13_dsb() { # the py-tls13 capture with its key log inside, as a pcapng Decryption Secrets Block
  [ -f "$out/py-tls13.pcap" ] || rec_py_tls13
  editcap --inject-secrets "tls,$out/py-tls13.keys" "$out/py-tls13.pcap" "$out/py-tls13-dsb.pcapng"
}
rec_node_tls13_aes128() { node_sample node-tls13-aes128 9411 TLSv1.3 TLS_AES_128_GCM_SHA256; }
rec_node_tls13_aes256() { node_sample node-tls13-aes256 9412 TLSv1.3 TLS_AES_256_GCM_SHA384; }
rec_node_tls13_chacha() { node_sample node-tls13-chacha 9413 TLSv1.3 TLS_CHACHA20_POLY1305_SHA256; }
rec_node_tls12_aes128gcm() { node_sample node-tls12-aes128gcm 9421 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256; }
rec_node_tls12_aes256gcm() { node_sample node-tls12-aes256gcm 9422 TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384; }
rec_node_tls12_chacha() { node_sample node-tls12-chacha 9423 TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305; }
rec_node_tls12_cbc_sha384() { node_sample node-tls12-cbc-sha384 9424 TLSv1.2 ECDHE-RSA-AES256-SHA384; }
rec_node_tls12_cbc_sha1_mte() { node_sample node-tls12-cbc-sha1-mte 9425 TLSv1.2 AES128-SHA no-etm; }
rec_node_sse_tls13() { # an https SSE channel (two requests, the second with Last-Event-ID), TLS 1.3 AES-128-GCM
  fresh node-sse-tls13; rm -f "$out/node-sse-tls13.events.jsonl"
  cap_start "$out/node-sse-tls13.pcap" 9441
  (cd "$here" && node tls_sse.js "$out/node-sse-tls13.events.jsonl" "$out/node-sse-tls13.keys" "$tmp/cert.pem" "$tmp/key.pem" 9441)
  cap_stop
}
rec_chromium_wss_deflate() { # headless Chromium to a websockets server over wss://, permessage-deflate
  fresh chromium-wss-deflate
  cap_start "$out/chromium-wss-deflate.pcap" 9461
  (cd "$here" && "$py" tls_chromium.py "$out/chromium-wss-deflate.sent.jsonl" "$out/chromium-wss-deflate.keys" "$tmp/cert.pem" "$tmp/key.pem" 9461)
  cap_stop
}
netns_cleanup() { for n in tlsA tlsB tlsM; do ip netns del $n 2>/dev/null || true; done; }
rec_node_tls_lossy() { # NAME PORT VERSION CIPHERS: tlsA --va|fwa-- tlsM (lossy_bridge.py) --fwb|vb-- tlsB, captured on vb
  local name=$1 port=$2 version=$3 ciphers=$4
  fresh "$name"
  netns_cleanup
  ip netns add tlsA; ip netns add tlsB; ip netns add tlsM
  ip link add va type veth peer name fwa; ip link add vb type veth peer name fwb
  ip link set va netns tlsA; ip link set fwa netns tlsM; ip link set fwb netns tlsM; ip link set vb netns tlsB
  ip -n tlsA addr add 10.98.0.1/24 dev va; ip -n tlsB addr add 10.98.0.2/24 dev vb
  for p in "tlsA va" "tlsB vb" "tlsM fwa" "tlsM fwb"; do
    set -- $p
    ip -n "$1" link set "$2" mtu 1500 up; ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  done
  ip netns exec tlsM "$py" "$here/lossy_bridge.py" fwa fwb 40 11 &
  local br=$!
  sleep 0.5
  ip netns exec tlsB tcpdump -Z root -U --immediate-mode -i vb -s 0 -w "$out/$name.pcap" "tcp port $port" 2>"$tmp/tcpdump.log" &
  CAP_PID=$!
  for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  (cd "$here" && TLS_ROLE=server TLS_HOST=10.98.0.2 ip netns exec tlsB node tls_node.js "$out/$name.sent.jsonl" "$out/$name.keys" "$tmp/cert.pem" "$tmp/key.pem" "$port" "$version" "$ciphers") &
  local srv=$!
  sleep 0.7
  (cd "$here" && TLS_ROLE=client TLS_HOST=10.98.0.2 TLS_REPEAT=20 ip netns exec tlsA node tls_node.js "$out/$name.sent.jsonl" "$out/$name.keys" "$tmp/cert.pem" "$tmp/key.pem" "$port" "$version" "$ciphers")
  wait $srv || true
  cap_stop
  kill $br 2>/dev/null || true; wait $br 2>/dev/null || true
  netns_cleanup
}
rec_node_tls13_lossy() { rec_node_tls_lossy node-tls13-lossy 9471 TLSv1.3 TLS_AES_128_GCM_SHA256; }
rec_node_tls12_lossy() { rec_node_tls_lossy node-tls12-lossy 9472 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256; }
rec_openssl_keyupdate() { # TLS 1.3 KeyUpdates: s_client's `K` (update, request the peer's) and `k` commands
  fresh openssl-keyupdate
  cap_start "$out/openssl-keyupdate.pcap" 9431
  openssl s_server -accept 127.0.0.1:9431 -cert "$tmp/cert.pem" -key "$tmp/key.pem" -tls1_3 \
    -ciphersuites TLS_AES_128_GCM_SHA256 -rev -naccept 1 -quiet >/dev/null 2>&1 &
  srv=$!; sleep 0.5
  { echo "before key update"; sleep 0.3; echo K; sleep 0.3; echo "after K"; sleep 0.3; echo k; sleep 0.3;
    echo "after k"; sleep 0.5; } | openssl s_client -connect 127.0.0.1:9431 -tls1_3 -servername localhost \
    -keylogfile "$out/openssl-keyupdate.keys" >"$tmp/s_client.out" 2>&1 || true
  wait "$srv" || true
  cap_stop
}

ossl_server() { # PORT NACCEPT ARGS...: a line-reversing TLS server that stops after NACCEPT connections
  local port=$1 n=$2; shift 2
  openssl s_server -accept "127.0.0.1:$port" -cert "$tmp/cert.pem" -key "$tmp/key.pem" -rev -naccept "$n" -quiet "$@" \
    >/dev/null 2>&1 &
  SRV_PID=$!; sleep 0.5
}
ossl_client() { # PORT KEYLOG ARGS...: two lines, then end of input (close_notify)
  local port=$1 keylog=$2; shift 2
  { echo "hello $port"; sleep 0.3; echo "second line"; sleep 0.5; } |
    openssl s_client -connect "127.0.0.1:$port" -servername localhost -keylogfile "$keylog" "$@" >/dev/null 2>&1 || true
}
rec_openssl_hrr() { # the client's key share is X25519, the server only takes P-256: HelloRetryRequest
  fresh openssl-hrr
  cap_start "$out/openssl-hrr.pcap" 9432
  ossl_server 9432 1 -tls1_3 -groups P-256
  ossl_client 9432 "$out/openssl-hrr.keys" -tls1_3 -groups X25519:P-256
  wait "$SRV_PID" || true
  cap_stop
}
resumed() { # NAME PORT VERSION-FLAG: a first connection saves its session (not captured), the second resumes it
  fresh "$1"
  ossl_server "$2" 2 "$3"
  ossl_client "$2" "$tmp/first.keys" "$3" -sess_out "$tmp/$1.sess"
  cap_start "$out/$1.pcap" "$2"
  ossl_client "$2" "$out/$1.keys" "$3" -sess_in "$tmp/$1.sess"
  wait "$SRV_PID" || true
  cap_stop
}
suite() { # NAME PORT ARGS...: one connection with the suite the args force on both sides
  local name=$1 port=$2; shift 2
  fresh "$name"
  cap_start "$out/$name.pcap" "$port"
  ossl_server "$port" 1 "$@"
  ossl_client "$port" "$out/$name.keys" "$@"
  wait "$SRV_PID" || true
  cap_stop
}
rec_openssl_tls13_ccm() { suite openssl-tls13-ccm 9435 -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256; }
rec_openssl_tls13_ccm8() { suite openssl-tls13-ccm8 9436 -tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256; }
rec_openssl_tls12_aria() { suite openssl-tls12-aria 9437 -tls1_2 -cipher ECDHE-ARIA128-GCM-SHA256; }
rec_openssl_early_data() { # TLS 1.3 0-RTT: a resumed session whose client sends early data before the ServerHello
  fresh openssl-early-data
  printf 'GET /early HTTP/1.0\r\n\r\n' >"$tmp/early.txt"
  # -early_data does not go with -rev: this server prints what it gets and sends nothing.
  sleep 5 | openssl s_server -accept 127.0.0.1:9438 -cert "$tmp/cert.pem" -key "$tmp/key.pem" -naccept 2 -quiet \
    -tls1_3 -early_data >/dev/null 2>&1 &
  SRV_PID=$!; sleep 0.5
  ossl_client 9438 "$tmp/first.keys" -tls1_3 -sess_out "$tmp/early.sess"
  cap_start "$out/openssl-early-data.pcap" 9438
  ossl_client 9438 "$out/openssl-early-data.keys" -tls1_3 -sess_in "$tmp/early.sess" -early_data "$tmp/early.txt"
  wait "$SRV_PID" || true
  cap_stop
}
rec_openssl_no_common_suite() { # the handshake fails: the server answers the ClientHello with a fatal alert
  fresh openssl-no-common-suite
  cap_start "$out/openssl-no-common-suite.pcap" 9439
  ossl_server 9439 1 -tls1_2 -cipher AES128-SHA
  ossl_client 9439 "$out/openssl-no-common-suite.keys" -tls1_2 -cipher AES256-SHA
  wait "$SRV_PID" || true
  cap_stop
}
rec_openssl_cert_rejected() { # TLS 1.3: the client rejects the self-signed certificate before the server's Finished is processed: its key log gets only the handshake secrets
  fresh openssl-cert-rejected
  cap_start "$out/openssl-cert-rejected.pcap" 9440
  ossl_server 9440 1 -tls1_3
  ossl_client 9440 "$out/openssl-cert-rejected.keys" -tls1_3 -verify_return_error -verify 1
  wait "$SRV_PID" || true
  cap_stop
}
rec_openssl_resume13() { resumed openssl-resume13 9433 -tls1_3; }
rec_openssl_resume12() { resumed openssl-resume12 9434 -tls1_2; }

all="py_tls13 py_tls13_nokeys py_tls13_dsb node_tls13_aes128 node_tls13_aes256 node_tls13_chacha
  node_tls12_aes128gcm node_tls12_aes256gcm node_tls12_chacha node_tls12_cbc_sha384 node_tls12_cbc_sha1_mte
  openssl_keyupdate openssl_hrr openssl_resume13 openssl_resume12
  openssl_tls13_ccm openssl_tls13_ccm8 openssl_tls12_aria openssl_early_data
  openssl_no_common_suite openssl_cert_rejected node_sse_tls13 chromium_wss_deflate
  node_tls13_lossy node_tls12_lossy"
for n in ${@:-$all}; do "rec_${n//-/_}"; done
