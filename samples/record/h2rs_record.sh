#!/usr/bin/env bash
# Records samples/h2/h2rs-*.pcap: RFC 8441 WebSockets between two Rust
# programs built on the `h2` crate (0.4) and, for TLS, rustls 0.23
# (`h2rs/`, one binary: `h2rs server|client PORT TLS SCENARIO`), on
# loopback, captured with tcpdump. Needs root, tcpdump, openssl, cargo
# (crates.io). Each server accepts one connection and stops; everything
# runs under `timeout`.
#   h2rs-multi     scenario 1, h2c: WebSockets on streams 1 and 5 and a GET
#                  on stream 3 of one connection (see h2rs/src/main.rs)
#   h2rs-tls       scenario 1 over TLS 1.3 (ALPN h2), rustls's key log
#   h2rs-hpack-rst scenario 3, h2c: 25 custom request and 20 response
#                  headers over 10 streams, SETTINGS_HEADER_TABLE_SIZE 512,
#                  and the client's RST_STREAM(CANCEL) inside a frame
#   h2rs-edges     scenario 6, h2c: SETTINGS_MAX_FRAME_SIZE 1,000,000 (server)
#                  and 100,000 (client); a 500,000-byte frame; a WebSocket
#                  frame sent as one-byte DATA frames; empty DATA frames
#                  inside a frame; empty text, empty ping, close with a code
#   h2rs-refused   scenario 5, h2c: an extended CONNECT refused with 403
#                  (its body looks like WebSocket frames), two accepted
#                  WebSockets, HEADERS + CONTINUATION, SSE over HTTP/2 and a
#                  PUSH_PROMISE
#   h2rs-cert-rejected scenario 1 over TLS 1.3 with H2RS_REJECT: the client
#                  refuses the certificate (UnknownIssuer), sends an alert;
#                  its key log holds only the handshake secrets
# `H2RS_ONLY="h2rs-tls"` records only the ones named. h2rs-lossy.pcap is
# a recording of h2rs-hpack-rst in which the capture itself lost one of the
# client's segments (3,497 bytes; tshark: packet 94 "previous segment not
# captured"); kept for that, it cannot be made again on purpose.
# Beside each capture: NAME.client.log and NAME.server.log, JSON lines the
# peers printed: every WebSocket frame and message each sent and received
# (stream, opcode, fin, length, SHA-256 of the payload), requests,
# responses, resets; NAME.keys for TLS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../h2}
work=$(mktemp -d)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$work/target}
cargo build --release --quiet --manifest-path "$here/h2rs/Cargo.toml" || exit 1
bin=$CARGO_TARGET_DIR/release/h2rs
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || exit 1
export H2RS_CERT_DIR=$work

record() { # NAME PORT TLS SCENARIO
    local name=$1 port=$2 tls=$3 scen=$4
    rm -f "$out/$name".{pcap,keys,client.log,server.log}
    timeout 30 tcpdump -Z root -U --immediate-mode -i lo -w "$out/$name.pcap" "tcp port $port" 2>"$work/$name.tcpdump" &
    local cap=$!
    for _ in $(seq 50); do grep -q listening "$work/$name.tcpdump" && break; sleep 0.1; done
    timeout 20 "$bin" server "$port" "$tls" "$scen" >"$out/$name.server.log" 2>"$work/$name.server.err" &
    local srv=$!
    for _ in $(seq 100); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
    if [ "$tls" = 1 ]; then
        SSLKEYLOGFILE=$out/$name.keys timeout 20 "$bin" client "$port" "$tls" "$scen" >"$out/$name.client.log" 2>"$work/$name.client.err"
    else
        timeout 20 "$bin" client "$port" "$tls" "$scen" >"$out/$name.client.log" 2>"$work/$name.client.err"
    fi
    echo "$name: client exit $?"
    wait "$srv"; echo "$name: server exit $?"
    sleep 0.5
    kill -INT "$cap"; wait "$cap" || true
}

only=${H2RS_ONLY:-h2rs-multi h2rs-tls h2rs-hpack-rst h2rs-cert-rejected h2rs-edges h2rs-refused}
for name in $only; do
    case $name in
        h2rs-multi) record h2rs-multi 9208 0 1 ;;
        h2rs-tls) record h2rs-tls 9209 1 1 ;;
        h2rs-hpack-rst) record h2rs-hpack-rst 9210 0 3 ;;
        h2rs-cert-rejected) H2RS_REJECT=1 record h2rs-cert-rejected 9211 1 1 ;;
        h2rs-edges) record h2rs-edges 9212 0 6 ;;
        h2rs-refused) record h2rs-refused 9213 0 5 ;;
    esac
done
rm -rf "$work"
