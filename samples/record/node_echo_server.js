// A Node `ws` echo server that stops by itself after LIFETIME_MS.
// Usage: node node_echo_server.js HOST PORT LIFETIME_MS [deflate]
// With `deflate`, permessage-deflate is offered and every message compressed.
'use strict';
const { WebSocketServer } = require('ws');
const [host, port, life, mode] = process.argv.slice(2);
const perMessageDeflate = mode === 'deflate' ? { threshold: 0 } : false;
const wss = new WebSocketServer({ host, port: Number(port), perMessageDeflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log('listening'));
setTimeout(() => process.exit(0), Number(life));
