// STOMP over WebSocket: the npm stomp-broker-js 1.3 broker (STOMP 1.1, on
// ws) and the @stomp/stompjs 7 client, for samples/app/stomp.pcap.
// Usage: node stomp_demo.js PORT LOG.jsonl
// LOG: every WebSocket message each client's socket sent ("side": "client")
// and received ("side": "server"), {"client","side","opcode","data_hex"};
// and what the applications sent and received: {"client", "event":
// "send"|"message", "destination", "body", "headers"}.
'use strict';
const fs = require('fs');
const http = require('http');
const WebSocket = require('ws');
const StompServer = require('stomp-broker-js');
const { Client } = require('@stomp/stompjs');

const [port, logPath] = process.argv.slice(2);
const log = (o) => fs.appendFileSync(logPath, JSON.stringify(o) + '\n');
const raw = (client, side, data, isBinary) => {
  const buf = Buffer.from(data);
  log({ client, side, opcode: isBinary ? 2 : 1, data_hex: buf.toString('hex') });
};

const server = http.createServer();
const broker = new StompServer({ server, path: '/stomp', heartbeat: [300, 300] });
server.listen(Number(port), '127.0.0.1');

const make = (name) => {
  class LoggingSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on('message', (data, isBinary) => raw(name, 'server', data, isBinary));
    }
    send(data, ...rest) {
      raw(name, 'client', data, typeof data !== 'string');
      return super.send(data, ...rest);
    }
  }
  return new Client({
    webSocketFactory: () =>
      new LoggingSocket(`ws://127.0.0.1:${port}/stomp`, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    heartbeatIncoming: 300,
    heartbeatOutgoing: 300,
    reconnectDelay: 0,
  });
};
// The broker does not echo a client's own sends: a subscriber and a publisher.
const sub = make('sub');
const client = make('pub');
const sends = [
  { destination: '/topic/news', body: 'first: plain text' },
  { destination: '/topic/news', body: 'second with a\nnewline and ünïcode', headers: { 'x-tag': 'a:b' } },
  { destination: '/topic/other', body: 'not subscribed' },
  { destination: '/topic/news', body: '{"json":true}', headers: { 'content-type': 'application/json' } },
];
sub.onConnect = () => {
  sub.subscribe('/topic/news', (m) => {
    log({ client: 'sub', event: 'message', destination: m.headers.destination, body: m.body, headers: m.headers });
  });
  client.activate();
};
client.onConnect = () => {
  let i = 0;
  const next = () => {
    if (i === sends.length) {
      // idle: heart-beats both ways
      setTimeout(async () => {
        await client.deactivate();
        await sub.deactivate();
        setTimeout(() => {
          server.close();
          process.exit(0);
        }, 300);
      }, 1200);
      return;
    }
    const s = sends[i++];
    log({ client: 'pub', event: 'send', destination: s.destination, body: s.body, headers: s.headers || {} });
    client.publish(s);
    setTimeout(next, 150);
  };
  setTimeout(next, 200);
};
sub.activate();
setTimeout(() => process.exit(2), 15000).unref();
