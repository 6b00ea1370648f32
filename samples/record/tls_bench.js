// The same WebSocket traffic in clear (ws://) and over TLS 1.3
// TLS_AES_128_GCM_SHA256 (wss://), for measuring what decryption costs
// (`check` on both; see samples/tls/README.md). Not committed: large.
//
// Usage: node tls_bench.js plain|tls PORT [KEYLOG CERT KEY] [N]
//
// The client sends N messages (text and binary, 10 to 4000 bytes, a fixed
// pseudo-random sequence) and the server echoes each; then close 1000.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer, WebSocket } = require('ws');

const [mode, portStr, keylog, cert, key, nStr] = process.argv.slice(2);
const port = Number(portStr);
const n = Number(nStr || 4000);
const tls = mode === 'tls';
const tlsOpts = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' };
const server = tls
  ? https.createServer({ ...tlsOpts, cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
if (tls) server.on('keylog', (line) => fs.appendFileSync(keylog, line));
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
server.listen(port, '127.0.0.1', () => {
  const url = `${tls ? 'wss' : 'ws'}://localhost:${port}/bench`;
  const ws = new WebSocket(url, { ...(tls ? tlsOpts : {}), rejectUnauthorized: false, perMessageDeflate: false });
  let sent = 0, got = 0;
  const next = () => {
    // A few messages in flight at a time.
    while (sent < n && sent - got < 8) {
      const len = 10 + (rnd() % 3990);
      if (sent % 3 === 0) ws.send(Buffer.alloc(len, sent & 0xff));
      else ws.send('x'.repeat(len));
      sent++;
    }
  };
  ws.on('open', next);
  ws.on('message', () => { got++; if (got === n) ws.close(1000, 'done'); else next(); });
  ws.on('close', () => { wss.close(); server.close(); setTimeout(() => process.exit(0), 200); });
});
setTimeout(() => process.exit(1), 60000);
