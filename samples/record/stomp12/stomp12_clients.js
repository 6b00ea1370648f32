// STOMP 1.2 over WebSocket: two @stomp/stompjs 7 clients against RabbitMQ's
// Web-STOMP plugin (ws://127.0.0.1:15674/ws), for samples/app/stomp12.pcap
// (started by ../stomp12_record.sh, which runs the broker).
// Usage: node stomp12_clients.js LOG.jsonl
// LOG: every WebSocket message each client's socket sent ("side": "client")
// and received ("side": "server"), {"client","side","opcode","data_hex"};
// and what the applications did: {"client", "event": "send"|"message"|
// "ack"|"nack"|"receipt", ...}.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const { Client, Versions } = require('@stomp/stompjs');

const [logPath] = process.argv.slice(2);
const log = (o) => fs.appendFileSync(logPath, JSON.stringify(o) + '\n');
const raw = (client, side, data, isBinary) => {
  const buf = Buffer.from(data);
  log({ client, side, opcode: isBinary ? 2 : 1, data_hex: buf.toString('hex') });
};

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
    // Only 1.2 on offer: the broker must answer with v12.stomp.
    webSocketFactory: () => new LoggingSocket('ws://127.0.0.1:15674/ws', ['v12.stomp']),
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    stompVersions: new Versions([Versions.V1_2]),
    heartbeatIncoming: 300,
    heartbeatOutgoing: 300,
    reconnectDelay: 0,
  });
};
const sub = make('sub');
const pub = make('pub');
// 1.2 escaping: a colon, a line feed, a carriage return and a backslash in
// one header value (stompjs writes \c \n \r \\).
const sends = [
  { destination: '/queue/q12', body: 'first: with content-length' },
  { destination: '/queue/q12', body: 'escaped header', headers: { 'x-esc': 'a:b\nc\rd\\e', 'x-plain': 'ok' } },
  { destination: '/queue/q12', body: 'no content-length header', skipContentLengthHeader: true },
  { destination: '/queue/q12', body: 'nack me once', headers: { 'x-nack': 'yes' } },
  { destination: '/queue/q12', body: '{"json":true,"text":"ünïcode"}', headers: { 'content-type': 'application/json', receipt: 'send-receipt-5' } },
];
let nacked = false;
sub.onConnect = () => {
  sub.watchForReceipt('sub-receipt-1', (f) => {
    log({ client: 'sub', event: 'receipt', headers: f.headers });
    pub.activate();
  });
  sub.subscribe(
    '/queue/q12',
    (m) => {
      log({ client: 'sub', event: 'message', destination: m.headers.destination, body: m.body, headers: m.headers });
      if (m.headers['x-nack'] === 'yes' && !nacked) {
        nacked = true;
        log({ client: 'sub', event: 'nack', id: m.headers.ack });
        m.nack();
      } else {
        log({ client: 'sub', event: 'ack', id: m.headers.ack });
        m.ack();
      }
    },
    { ack: 'client-individual', receipt: 'sub-receipt-1' },
  );
};
pub.onConnect = () => {
  pub.watchForReceipt('send-receipt-5', (f) => log({ client: 'pub', event: 'receipt', headers: f.headers }));
  let i = 0;
  const next = () => {
    if (i === sends.length) {
      // idle: heart-beats both ways, then DISCONNECT (with a receipt).
      setTimeout(async () => {
        await pub.deactivate();
        await sub.deactivate();
        setTimeout(() => process.exit(0), 300);
      }, 1500);
      return;
    }
    const s = sends[i++];
    log({ client: 'pub', event: 'send', destination: s.destination, body: s.body, headers: s.headers || {} });
    pub.publish(s);
    setTimeout(next, 150);
  };
  setTimeout(next, 200);
};
sub.activate();
setTimeout(() => process.exit(2), 20000).unref();
