"""paho-mqtt clients over the WebSocket transport against a local mosquitto,
for samples/app/mqtt*.pcap. Usage: mqtt_clients.py PORT 311|5 LOG.jsonl

Every line of LOG is one event of a client: {"client", "event", ...}:
- "log": paho's own log line ("Sending PUBLISH (d0, q1, r0, m1), ..." /
  "Received PUBACK (Mid: 1)"): the packets it sent and received, in order;
- "publish": what the application published (topic, qos, retain,
  payload_hex, mid, properties);
- "message": what the application received (topic, qos, retain, mid,
  payload_hex, properties).
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port = int(sys.argv[1])
v5 = sys.argv[2] == "5"
log_path = sys.argv[3]
lock = threading.Lock()


def log(client, event, **kw):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps({"client": client, "event": event, **kw}) + "\n")


def props_dict(p):
    if p is None:
        return {}
    d = {}
    for name in ("MessageExpiryInterval", "ContentType", "UserProperty", "PayloadFormatIndicator"):
        if hasattr(p, name):
            d[name] = getattr(p, name)
    return d


def make(cid):
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=cid,
        transport="websockets",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    c.on_log = lambda cl, ud, level, buf: log(cid, "log", line=buf)
    c.on_message = lambda cl, ud, m: log(
        cid,
        "message",
        topic=m.topic,
        qos=m.qos,
        retain=bool(m.retain),
        mid=m.mid,
        payload_hex=m.payload.hex(),
        properties=props_dict(getattr(m, "properties", None)),
    )
    return c


def connect(c, keepalive):
    if v5:
        c.connect("127.0.0.1", port, keepalive=keepalive, clean_start=True)
    else:
        c.connect("127.0.0.1", port, keepalive=keepalive)
    c.loop_start()
    time.sleep(0.5)


def publish(c, cid, topic, payload, qos, retain=False, props=None):
    info = c.publish(topic, payload, qos=qos, retain=retain, properties=props)
    info.wait_for_publish(5)
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    log(cid, "publish", topic=topic, qos=qos, retain=retain, mid=info.mid,
        payload_hex=raw.hex(), properties=props_dict(props))
    time.sleep(0.2)


tag = "v5" if v5 else "v311"
pub_id, sub_id = f"wsd-pub-{tag}", f"wsd-sub-{tag}"
pub, sub = make(pub_id), make(sub_id)
connect(pub, 30)
publish(pub, pub_id, "wsd/retained", "retained hello", 1, retain=True)
connect(sub, 2)  # short keep-alive: PINGREQ/PINGRESP while idle
if v5:
    from paho.mqtt.subscribeoptions import SubscribeOptions
    sub.subscribe([("wsd/retained", SubscribeOptions(qos=1)),
                   ("wsd/data/#", SubscribeOptions(qos=2, noLocal=True, retainAsPublished=True))])
else:
    sub.subscribe([("wsd/retained", 1), ("wsd/data/#", 2)])
time.sleep(0.5)
props = None
if v5:
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 60
    props.ContentType = "text/plain"
    props.UserProperty = [("source", "wsdissect"), ("run", "1")]
publish(pub, pub_id, "wsd/data/q0", "qos zero", 0, props=props)
publish(pub, pub_id, "wsd/data/q1", "qos one \u00e9t\u00e9", 1, props=props)
publish(pub, pub_id, "wsd/data/q2", "qos two", 2)
publish(pub, pub_id, "wsd/data/bin", bytes([0, 1, 2, 0xff, 0xfe, 0x80]), 1)
publish(pub, pub_id, "wsd/data/big", "x" * 70000, 1)  # spans WebSocket frames
time.sleep(5)  # idle: keep-alive pings
sub.unsubscribe(["wsd/data/#"])
time.sleep(0.3)
publish(pub, pub_id, "wsd/retained", "", 1, retain=True)  # clears the retained message
for c in (sub, pub):
    c.disconnect()
    time.sleep(0.3)
    c.loop_stop()
