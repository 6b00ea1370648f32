#!/bin/sh
# Records samples/app/: real subprotocol traffic over kernel TCP on loopback.
#   mqtt311.pcap, mqtt5.pcap: mosquitto (Debian package) with a websockets
#     listener, paho-mqtt (PyPI) clients (mqtt_clients.py); logs *.log.jsonl
#   graphql-ws.pcap: npm graphql-ws server and client (graphql_ws.js); log
#     graphql-ws.log.jsonl
#   stomp.pcap: npm stomp-broker-js broker and two @stomp/stompjs clients
#     (stomp/stomp_demo.js); log stomp.log.jsonl
#   socketio-app.pcap: npm socket.io server and socket.io-client
#     (socketio_app.js: a namespace, acks, binary attachments); log
#     socketio-app.log.jsonl
# Needs: apt-get install mosquitto tcpdump; pip install paho-mqtt;
#        (cd samples/record/graphql && npm install)
#        (cd samples/record/stomp && npm install)
set -eu
# Runs itself in a fresh network namespace (only lo exists): mosquitto
# 2.0's websockets listener binds every interface whatever its address.
if [ -z "${APP_RECORD_NS:-}" ]; then
    APP_RECORD_NS=1 exec unshare -n sh -c 'ip link set lo up && exec sh "$0"' "$0"
fi
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../app"
mkdir -p "$out"
tmp=$(mktemp -d)

record() { # name port command...
    name=$1; port=$2; shift 2
    rm -f "$out/$name.log.jsonl"
    timeout 60 tcpdump -i lo -U -s 0 -w "$out/$name.pcap" "tcp port $port" 2>/dev/null &
    dump=$!
    sleep 1
    "$@" || true
    sleep 1
    kill "$dump"; wait "$dump" || true
}

cat > "$tmp/mosq.conf" <<CONF
# a plain listener as well: 2.0.x will not start with websockets only
listener 1883 127.0.0.1
listener 9883
protocol websockets
allow_anonymous true
persistence false
CONF
for v in 311 5; do
    timeout 40 mosquitto -c "$tmp/mosq.conf" >"$tmp/mosq.log" 2>&1 &
    mosq=$!
    sleep 1
    record "mqtt$v" 9883 timeout 30 python3 "$here/mqtt_clients.py" 9883 "$v" "$out/mqtt$v.log.jsonl"
    kill "$mosq"; wait "$mosq" || true
done

if [ -d "$here/graphql/node_modules/graphql-ws" ]; then
    record graphql-ws 9884 timeout 30 node "$here/graphql/graphql_ws.js" 9884 "$out/graphql-ws.log.jsonl"
fi
if [ -d "$here/stomp/node_modules/stomp-broker-js" ]; then
    record stomp 9886 timeout 30 node "$here/stomp/stomp_demo.js" 9886 "$out/stomp.log.jsonl"
fi
record socketio-app 9885 timeout 30 node "$here/socketio_app.js" 9885 "$out/socketio-app.log.jsonl"
rm -rf "$tmp"
