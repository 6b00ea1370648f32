// Socket.IO server and client (npm socket.io, socket.io-client): the client
// starts with HTTP long polling and upgrades to WebSocket, as Socket.IO does.
// The server emits 4 "news" events, then the client disconnects.
// Usage: node socketio_demo.js HOST PORT LOG
'use strict';
const fs = require('fs');
const { Server } = require('socket.io');
const { io: connect } = require('socket.io-client');
const [host, port, log] = process.argv.slice(2);
const out = (o) => fs.appendFileSync(log, JSON.stringify(o) + '\n');
const server = new Server(Number(port));
server.on('connection', (socket) => {
  let k = 0;
  const t = setInterval(() => {
    k++;
    out({ kind: 'emit', event: 'news', n: k, transport: socket.conn.transport.name });
    socket.emit('news', { n: k });
    if (k === 4) clearInterval(t);
  }, 400);
});
const client = connect(`http://${host}:${port}`);
let got = 0;
client.on('news', () => {
  if (++got === 4) {
    setTimeout(() => {
      client.close();
      server.close();
      setTimeout(() => process.exit(0), 200);
    }, 200);
  }
});
setTimeout(() => process.exit(1), 8000);
