// A Node `ws` client and server over https/TLS with a forced version and
// cipher suite, for recording TLS samples.
//
// Usage: node tls_node.js LOG KEYLOG CERT KEY PORT VERSION CIPHERS [no-etm]
//
// VERSION is TLSv1.2 or TLSv1.3; CIPHERS an OpenSSL cipher (1.2) or TLS 1.3
// suite name; `no-etm` turns encrypt_then_mac off on the server,
// so CBC suites use the MAC-then-encrypt default of RFC 5246. The server
// writes the TLS key log (its `keylog` event) to KEYLOG. Every data message
// sent is logged to LOG as a JSON line (see msglog.py).
'use strict';
const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const { WebSocketServer, WebSocket } = require('ws');

const [logPath, keylogPath, cert, key, portStr, version, ciphers, etm] = process.argv.slice(2);
const port = Number(portStr);

function log(side, data, isBinary) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  fs.appendFileSync(logPath, JSON.stringify({
    side, opcode: isBinary ? 2 : 1, data_hex: buf.toString('hex'),
  }) + '\n');
}

const tlsOpts = { minVersion: version, maxVersion: version };
tlsOpts.ciphers = ciphers; // Node takes TLS 1.3 suite names here too
const server = https.createServer({
  ...tlsOpts,
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  secureOptions: etm === 'no-etm' ? crypto.constants.SSL_OP_NO_ENCRYPT_THEN_MAC : 0,
});
server.on('keylog', (line) => fs.appendFileSync(keylogPath, line));
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    log('server', data, isBinary);
    ws.send(data, { binary: isBinary });
  });
});
server.listen(port, '127.0.0.1', () => {
  const ws = new WebSocket(`wss://localhost:${port}/tls`, {
    ...tlsOpts, rejectUnauthorized: false, servername: 'localhost', perMessageDeflate: false,
    ALPNProtocols: ['http/1.1'],
  });
  const big = Buffer.alloc(20000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const msgs = ['hello over TLS', 'Grüße, 世界', Buffer.from([...Array(300).keys()].map((i) => i & 0xff)), big, '{"done":true}'];
  let got = 0;
  ws.on('open', () => {
    for (const m of msgs) { log('client', m, Buffer.isBuffer(m)); ws.send(m); }
    ws.ping(Buffer.from('tls-ping'));
  });
  ws.on('message', () => { if (++got === msgs.length) ws.close(1000, 'done'); });
  ws.on('close', () => { wss.close(); server.close(); setTimeout(() => process.exit(0), 200); });
});
setTimeout(() => process.exit(1), 10000);
