#!/usr/bin/env bash
# Records samples/nonws/: real non-WebSocket TCP traffic on loopback (HTTPS
# with TLS 1.2 and 1.3, wss://, HTTP/2 h2c, PostgreSQL, MQTT, Redis, SSH,
# random bytes), then mid-stream versions of each capture made by dropping
# its first packets with editcap. None of it may yield a WebSocket frame.
#
# Needs root, tcpdump, editcap, curl, openssl, python3 with websockets, and
# the Debian packages nghttp2-client nghttp2-server postgresql mosquitto
# mosquitto-clients redis-server redis-tools openssh-server openssh-client
# dnsmasq-base bind9-dnsutils.
#
# Usage: sudo samples/record/nonws.sh
#
# Every server is started here and stopped here (or stops by itself).
# manifest.json (next to the captures) says what the recorder configured
# for each TLS capture: the tests check the `tls` object against it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)/nonws
py=${PYTHON:-python3}
mkdir -p "$out"
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

cap_start() { # FILE FILTER
  tcpdump -Z root -U --immediate-mode -i lo -s 0 -w "$1" "$2" 2>"$work/tcpdump.log" &
  CAP_PID=$!
  for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
}
cap_stop() { sleep 1; kill -INT "$CAP_PID"; wait "$CAP_PID" || true; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nonws.test \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# --- TLS ------------------------------------------------------------------
cap_start "$out/https-tls13.pcap" "tcp port 9101"
"$py" "$here/nonws_peers.py" https "$work/cert.pem" "$work/key.pem" 9101 \
  tls13.nonws.test 1.3 TLS_AES_128_GCM_SHA256 http/1.1 6
cap_stop

cap_start "$out/https-tls12.pcap" "tcp port 9102"
"$py" "$here/nonws_peers.py" https "$work/cert.pem" "$work/key.pem" 9102 \
  tls12.nonws.test 1.2 ECDHE-RSA-AES256-GCM-SHA384 http/1.1 6
cap_stop

cap_start "$out/wss.pcap" "tcp port 9103"
"$py" "$here/nonws_peers.py" wss "$work/cert.pem" "$work/key.pem" 9103 wss.nonws.test http/1.1
cap_stop

# --- HTTP/2 cleartext: prior knowledge and an Upgrade to h2c ----------------
mkdir -p "$work/htdocs"
for i in 1 2 3; do head -c 3000 /dev/urandom | base64 > "$work/htdocs/f$i.txt"; done
head -c 8000 /dev/urandom > "$work/htdocs/blob.bin"
nghttpd --no-tls -d "$work/htdocs" 9104 & srv=$!
sleep 0.5
cap_start "$out/h2c.pcap" "tcp port 9104"
nghttp -n http://127.0.0.1:9104/f1.txt http://127.0.0.1:9104/f2.txt http://127.0.0.1:9104/blob.bin
# nghttpd does not take the Upgrade: it answers in HTTP/2 at once (recorded as is).
nghttp -nu http://127.0.0.1:9104/f3.txt http://127.0.0.1:9104/blob.bin || true
cap_stop
kill "$srv"; wait "$srv" || true

# --- PostgreSQL (plaintext, a few queries) -------------------------------------
pgver=$(ls /usr/lib/postgresql | sort -n | tail -1)
pgdata="$work/pg"
install -d -o postgres "$pgdata"
su postgres -c "/usr/lib/postgresql/$pgver/bin/initdb -D $pgdata -A trust" >/dev/null
su postgres -c "/usr/lib/postgresql/$pgver/bin/pg_ctl -D $pgdata -o '-p 9105 -k $pgdata -c listen_addresses=127.0.0.1' -w start" >/dev/null
cap_start "$out/postgres.pcap" "tcp port 9105"
PGSSLMODE=disable psql -h 127.0.0.1 -p 9105 -U postgres -q -c "create table t(id int, name text, data bytea)" \
  -c "insert into t select g, md5(g::text), decode(md5(g::text), 'hex') from generate_series(1, 200) g" \
  -c "select * from t" -c "select count(*), sum(id) from t" -c "drop table t" >/dev/null
cap_stop
su postgres -c "/usr/lib/postgresql/$pgver/bin/pg_ctl -D $pgdata -w stop" >/dev/null

# --- MQTT over plain TCP --------------------------------------------------------
printf 'listener 9106 127.0.0.1\nallow_anonymous true\n' > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" 2>/dev/null & srv=$!
sleep 0.5
cap_start "$out/mqtt.pcap" "tcp port 9106"
mosquitto_sub -h 127.0.0.1 -p 9106 -t a/b -t c/d -t e/# -C 6 -W 10 >/dev/null & sub=$!
sleep 0.5
for i in 1 2 3; do
  mosquitto_pub -h 127.0.0.1 -p 9106 -t a/b -m "reading $i"
  head -c 300 /dev/urandom | mosquitto_pub -h 127.0.0.1 -p 9106 -t e/bin -s
done
wait "$sub" || true
cap_stop
# A raw client subscribing topic by topic: SUBSCRIBE is `82 LL`, a valid
# binary frame header; caught without its SYN it must not pass for frames.
cap_start "$out/mqtt-subs.pcap" "tcp port 9106"
"$py" "$here/nonws_peers.py" mqtt-subs 9106
cap_stop
kill "$srv"; wait "$srv" || true

# --- Redis --------------------------------------------------------------------
redis-server --port 9107 --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null & srv=$!
sleep 0.5
cap_start "$out/redis.pcap" "tcp port 9107"
redis-cli -p 9107 set greeting hello >/dev/null
head -c 4000 /dev/urandom | redis-cli -p 9107 -x set blob >/dev/null
redis-cli -p 9107 get blob >/dev/null
redis-cli -p 9107 lpush list a b c d >/dev/null
redis-cli -p 9107 lrange list 0 -1 >/dev/null
cap_stop
kill "$srv"; wait "$srv" || true

# --- SSH ------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$work/host"
ssh-keygen -q -t ed25519 -N '' -f "$work/user"
cp "$work/user.pub" "$work/authorized_keys"
mkdir -p /run/sshd
/usr/sbin/sshd -D -p 9108 -h "$work/host" -o ListenAddress=127.0.0.1 \
  -o AuthorizedKeysFile="$work/authorized_keys" -o StrictModes=no -o PermitRootLogin=yes & srv=$!
sleep 0.5
cap_start "$out/ssh.pcap" "tcp port 9108"
ssh -q -p 9108 -i "$work/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  root@127.0.0.1 'head -c 6000 /dev/urandom | base64; echo done' >/dev/null
cap_stop
kill "$srv"; wait "$srv" || true

# --- DNS over TCP: twelve queries on one connection ------------------------------
# Each message is prefixed by its 2-byte length: `00 LL` reads as a non-final
# continuation frame that reaches the next message exactly.
for i in $(seq 1 12); do echo "10.0.0.$i host$i.nonws.test"; done > "$work/hosts"
dnsmasq --no-daemon --port 9110 --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
  --no-hosts --addn-hosts="$work/hosts" -C /dev/null 2>/dev/null & srv=$!
sleep 0.5
cap_start "$out/dns-tcp.pcap" "tcp port 9110"
dig +tcp +keepopen @127.0.0.1 -p 9110 $(for i in $(seq 1 12); do echo "host$i.nonws.test"; done) +short >/dev/null
cap_stop
kill "$srv"; wait "$srv" || true

# --- Random bytes both ways ---------------------------------------------------------
cap_start "$out/random.pcap" "tcp port 9109"
"$py" "$here/nonws_peers.py" random 9109 12
cap_stop

# --- Mid-stream versions: the first packets dropped (SYN, hellos, first bytes) --------
for f in https-tls13 https-tls12 wss h2c postgres mqtt mqtt-subs redis ssh dns-tcp random; do
  n=$(tcpdump -r "$out/$f.pcap" 2>/dev/null | wc -l)
  for cut in 4 $((n / 2 + 1)); do
    editcap -r "$out/$f.pcap" "$out/mid-$f-$cut.pcap" "$((cut + 1))-$n" 2>/dev/null
  done
done

# What the recorder configured, for the tests (not read from our output).
cat > "$out/manifest.json" <<'JSON'
{
  "tls": [
    {"file": "https-tls13.pcap", "conns": 6, "version": "1.3", "cipher": "TLS_AES_128_GCM_SHA256",
     "sni": "tls13.nonws.test", "alpn": "http/1.1"},
    {"file": "https-tls12.pcap", "conns": 6, "version": "1.2", "cipher": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     "sni": "tls12.nonws.test", "alpn": "http/1.1"},
    {"file": "wss.pcap", "conns": 1, "version": "1.3", "cipher": null,
     "sni": "wss.nonws.test", "alpn": "http/1.1"}
  ]
}
JSON
ls -la "$out"
