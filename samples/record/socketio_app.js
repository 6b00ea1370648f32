// Socket.IO acks, a namespace and binary attachments over the WebSocket
// transport (npm socket.io 4.8 server and socket.io-client), for
// samples/app/socketio-app.pcap.
// Usage: node socketio_app.js PORT LOG.jsonl
// LOG: one line per emit and per ack, as the application made it:
// {"side" (the sender), "namespace", "kind": "emit"|"ack", "event",
//  "args"} with Buffers written as {"_binary_hex": HEX}.
'use strict';
const fs = require('fs');
const { Server } = require('socket.io');
const { io: connect } = require('socket.io-client');
const [port, logPath] = process.argv.slice(2);
const enc = (v) => {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { _binary_hex: Buffer.from(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v).toString('hex') };
  }
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
};
const log = (o) => fs.appendFileSync(logPath, JSON.stringify(enc(o)) + '\n');

const server = new Server(Number(port), { transports: ['websocket'] });
server.of('/chat').on('connection', (socket) => {
  socket.on('hello', (msg, ack) => {
    log({ side: 'server', namespace: '/chat', kind: 'ack', event: 'hello', args: ['hi', msg.n + 1] });
    ack('hi', msg.n + 1);
  });
  socket.on('upload', (buf, meta) => {
    const a = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const b = Buffer.from('second attachment');
    log({ side: 'server', namespace: '/chat', kind: 'emit', event: 'file', args: [{ name: meta.name, a, b }] });
    socket.emit('file', { name: meta.name, a, b });
  });
});
server.on('connection', (socket) => {
  socket.on('plain', (x) => {
    log({ side: 'server', namespace: '/', kind: 'emit', event: 'echo', args: [x, 'ünïcode'] });
    socket.emit('echo', x, 'ünïcode');
  });
});

const root = connect(`http://127.0.0.1:${port}/`, { transports: ['websocket'] });
const chat = root.io.socket('/chat');
chat.on('connect', () => {
  log({ side: 'client', namespace: '/chat', kind: 'emit', event: 'hello', args: [{ n: 1 }] });
  chat.emit('hello', { n: 1 }, () => {
    const up = Buffer.from([0, 1, 2, 255]);
    log({ side: 'client', namespace: '/chat', kind: 'emit', event: 'upload', args: [up, { name: 'a.bin' }] });
    chat.emit('upload', up, { name: 'a.bin' });
  });
});
chat.on('file', () => {
  log({ side: 'client', namespace: '/', kind: 'emit', event: 'plain', args: [[1, 2, { deep: true }]] });
  root.emit('plain', [1, 2, { deep: true }]);
});
root.on('echo', () => {
  setTimeout(() => {
    chat.disconnect();
    root.disconnect();
    server.close();
    setTimeout(() => process.exit(0), 300);
  }, 300);
});
setTimeout(() => process.exit(2), 15000).unref();
