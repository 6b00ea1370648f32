#!/bin/sh
# Records samples/app/stomp12.pcap: STOMP 1.2 over WebSocket between
# RabbitMQ's Web-STOMP plugin (Debian's rabbitmq-server 3.10, run in the
# foreground here, under timeout, with its state in a temp dir) and two
# npm @stomp/stompjs 7 clients (stomp12/stomp12_clients.js) over kernel TCP
# on loopback, in a fresh network namespace; log stomp12.log.jsonl.
# Needs (as root): apt-get install rabbitmq-server tcpdump nodejs;
#   (cd samples/record/stomp12 && npm install)
# Leaves nothing running: the broker is stopped with rabbitmqctl (killed if
# that fails), epmd with `epmd -kill`, and the namespace goes with them.
set -eu
if [ -z "${APP_RECORD_NS:-}" ]; then
    APP_RECORD_NS=1 exec unshare -n sh -c 'ip link set lo up && exec sh "$0"' "$0"
fi
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../app"
name=stomp12 port=15674
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# rabbitmq-server drops to the rabbitmq user: its state dir must be theirs.
chmod 755 "$d"
echo '[rabbitmq_web_stomp].' > "$d/enabled_plugins"
printf 'listeners.tcp.default = 127.0.0.1:5672\nweb_stomp.tcp.ip = 127.0.0.1\nweb_stomp.tcp.port = %s\n' "$port" > "$d/rabbitmq.conf"
chown -R rabbitmq:rabbitmq "$d"
export RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_CONFIG_FILE="$d/rabbitmq"
timeout 120 rabbitmq-server > "$d/server.out" 2>&1 &
broker=$!
up=
for i in $(seq 60); do
    if bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null; then up=1; break; fi
    sleep 1
done
if [ -z "$up" ]; then
    cat "$d/server.out" >&2
    kill "$broker" 2>/dev/null || true
    epmd -kill >/dev/null 2>&1 || true
    exit 1
fi
rm -f "$out/$name.log.jsonl"
timeout 60 tcpdump -i lo -U -s 0 -w "$out/$name.pcap" "tcp port $port" 2>/dev/null &
dump=$!
sleep 1
timeout 30 node "$here/stomp12/stomp12_clients.js" "$out/$name.log.jsonl" || true
sleep 1
kill "$dump"; wait "$dump" || true
rabbitmqctl -n rabbit@localhost stop >/dev/null 2>&1 || kill "$broker" 2>/dev/null || true
wait "$broker" || true
epmd -kill >/dev/null 2>&1 || true
