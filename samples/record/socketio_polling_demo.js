// Socket.IO with many client POSTs (npm socket.io, socket.io-client): one
// server on PORT (all loopback addresses) and two clients, each to its own
// address so that their requests form separate channels:
//  - client A, http://127.0.0.1:PORT, transports: ['polling'] only: it
//    never upgrades, so every packet it emits goes up in a POST (engine.io's
//    polling transport) while its GETs are held until the server has packets;
//  - client B, http://127.0.0.2:PORT, the default: it starts with polling
//    (the namespace's CONNECT goes up in a POST), upgrades to WebSocket and
//    emits 3 messages once connected (on loopback the upgrade is complete
//    by then: the log names the transport of each).
// The server emits 3 "news" events to each client. Every emit and every
// message received is logged with the transport it used.
// Usage: node socketio_polling_demo.js PORT LOG
'use strict';
const fs = require('fs');
const { Server } = require('socket.io');
const { io: connect } = require('socket.io-client');
const [port, log] = process.argv.slice(2);
const out = (o) => fs.appendFileSync(log, JSON.stringify(o) + '\n');
const server = new Server(Number(port));
server.on('connection', (socket) => {
  const who = socket.handshake.headers.host;
  socket.on('chat', (m) => out({ kind: 'received', host: who, event: 'chat', n: m.n, transport: socket.conn.transport.name }));
  let k = 0;
  const t = setInterval(() => {
    k++;
    out({ kind: 'emit', host: who, event: 'news', n: k, transport: socket.conn.transport.name });
    socket.emit('news', { n: k });
    if (k === 3) clearInterval(t);
  }, 500);
});

let done = 0;
const finish = () => {
  if (++done < 2) return;
  setTimeout(() => {
    a.close();
    b.close();
    server.close();
    setTimeout(() => process.exit(0), 300);
  }, 300);
};

const a = connect(`http://127.0.0.1:${port}`, { transports: ['polling'] });
let aSent = 0;
a.on('connect', () => {
  const t = setInterval(() => {
    aSent++;
    out({ kind: 'emit', host: `127.0.0.1:${port}`, event: 'chat', n: aSent, transport: a.io.engine.transport.name });
    a.emit('chat', { n: aSent });
    if (aSent === 5) clearInterval(t);
  }, 250);
});
let aGot = 0;
a.on('news', () => { if (++aGot === 3) finish(); });

const b = connect(`http://127.0.0.2:${port}`);
let bSent = 0;
const bEmit = () => {
  bSent++;
  out({ kind: 'emit', host: `127.0.0.2:${port}`, event: 'chat', n: bSent, transport: b.io.engine.transport.name });
  b.emit('chat', { n: bSent });
};
b.on('connect', () => {
  for (let i = 0; i < 3; i++) bEmit();
});
let bGot = 0;
b.on('news', () => { if (++bGot === 3) finish(); });
setTimeout(() => process.exit(1), 10000);
