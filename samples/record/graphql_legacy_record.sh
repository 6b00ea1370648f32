#!/bin/sh
# Records samples/app/graphql-legacy.pcap: the legacy graphql-ws
# subprotocol of npm subscriptions-transport-ws 0.11 (server and client,
# graphql 15, ws 7; graphql-legacy/graphql_legacy.js) over kernel TCP on
# loopback, in a fresh network namespace; log graphql-legacy.log.jsonl.
# Needs: tcpdump, node; (cd samples/record/graphql-legacy && npm install)
set -eu
if [ -z "${APP_RECORD_NS:-}" ]; then
    APP_RECORD_NS=1 exec unshare -n sh -c 'ip link set lo up && exec sh "$0"' "$0"
fi
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../app"
name=graphql-legacy port=9887
rm -f "$out/$name.log.jsonl"
timeout 60 tcpdump -i lo -U -s 0 -w "$out/$name.pcap" "tcp port $port" 2>/dev/null &
dump=$!
sleep 1
timeout 30 node "$here/graphql-legacy/graphql_legacy.js" "$port" "$out/$name.log.jsonl" || true
sleep 1
kill "$dump"; wait "$dump" || true
