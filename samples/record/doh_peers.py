#!/usr/bin/env python3
"""DNS over HTTPS (RFC 8484) over h2c: a real DoH exchange that is HTTP/2
and not WebSocket, for samples/h2/doh.pcap (see doh_record.sh).

  doh_peers.py server PORT LOG N   Hypercorn (HTTP/2 with prior knowledge)
                                   serving /dns-query: GET ?dns=BASE64URL
                                   and POST application/dns-message,
                                   answered from a fixed zone with
                                   dnspython; stops after N queries.
  doh_peers.py client PORT LOG     dnspython's DoH client (dns.query.https)
                                   over an httpx client speaking HTTP/2
                                   with prior knowledge: the names of NAMES
                                   by GET, then by POST, on one connection.

Both append what they did to LOG (JSON lines): the client each query
(`kind: query`, method, name, type, the wire query's hex) and the answer
it got (rcode, answers); the server each request it answered (method,
path, the response's hex).
"""
import asyncio
import base64
import json
import sys

import dns.message
import dns.query
import dns.rcode
import dns.rrset

NAMES = [
    ("alpha.doh.test", "A", "192.0.2.1"),
    ("beta.doh.test", "AAAA", "2001:db8::2"),
    ("gamma.doh.test", "TXT", '"server push is not a websocket"'),
    ("missing.doh.test", "A", None),
]


def log(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    qname = q.question[0].name.to_text(omit_final_dot=True)
    rdtype = dns.rdatatype.to_text(q.question[0].rdtype)
    for name, t, value in NAMES:
        if name == qname and t == rdtype and value is not None:
            r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", t, value))
            break
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
    return r.to_wire()


def server(port, path, n):
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    done = asyncio.Event()
    count = 0

    async def app(scope, receive, send):
        nonlocal count
        if scope["type"] == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif m["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        if scope["method"] == "GET":
            qs = dict(
                kv.split("=", 1) for kv in scope["query_string"].decode().split("&") if "=" in kv
            )
            wire = base64.urlsafe_b64decode(qs["dns"] + "=" * (-len(qs["dns"]) % 4))
        else:
            wire = body
        resp = answer(wire)
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/dns-message"),
                (b"content-length", str(len(resp)).encode()),
                (b"cache-control", b"max-age=300"),
            ],
        })
        await send({"type": "http.response.body", "body": resp})
        log(path, {"kind": "served", "method": scope["method"], "path": scope["path"],
                   "response_hex": resp.hex()})
        count += 1
        if count >= n:
            done.set()

    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.loglevel = "warning"

    async def main():
        async def stop():
            try:
                await asyncio.wait_for(done.wait(), 20)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.3)

        await serve(app, cfg, shutdown_trigger=stop)

    asyncio.run(main())


def client(port, path):
    import httpx

    url = f"http://127.0.0.1:{port}/dns-query"
    with httpx.Client(http1=False, http2=True) as session:
        for post in (False, True):
            for name, t, _ in NAMES:
                q = dns.message.make_query(name, t)
                q.id = 0  # RFC 8484 section 4.1: 0 for cache friendliness
                r = dns.query.https(q, url, session=session, post=post)
                log(path, {
                    "kind": "query",
                    "method": "POST" if post else "GET",
                    "name": name,
                    "type": t,
                    "query_hex": q.to_wire().hex(),
                    "rcode": dns.rcode.to_text(r.rcode()),
                    "answers": [rr.to_text() for rr in r.answer],
                })


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        client(int(sys.argv[2]), sys.argv[3])
