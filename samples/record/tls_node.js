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
//
// TLS_ROLE=server|client runs one side only (in two network namespaces, as
// tls_record.sh's lossy recording does), the server on TLS_HOST (default
// 127.0.0.1), the client connecting to it; TLS_REPEAT=N sends the message
// set N times (default 1).
'use strict';
const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const { WebSocketServer, WebSocket } = require('ws');

const [logPath, keylogPath, cert, key, portStr, version, ciphers, etm] = process.argv.slice(2);
const port = Number(portStr);
const role = process.env.TLS_ROLE || 'both';
const host = process.env.TLS_HOST || '127.0.0.1';
const repeat = Number(process.env.TLS_REPEAT || 1);

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
function client() {
  const ws = new WebSocket(`wss://${role === 'both' ? 'localhost' : host}:${port}/tls`, {
    ...tlsOpts, rejectUnauthorized: false, servername: 'localhost', perMessageDeflate: false,
    ALPNProtocols: ['http/1.1'],
  });
  const big = Buffer.alloc(20000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const set = ['hello over TLS', 'Grüße, 世界', Buffer.from([...Array(300).keys()].map((i) => i & 0xff)), big, '{"done":true}'];
  const msgs = [].concat(...Array(repeat).fill(set));
  let got = 0;
  ws.on('open', () => {
    for (const m of msgs) { log('client', m, Buffer.isBuffer(m)); ws.send(m); }
    ws.ping(Buffer.from('tls-ping'));
  });
  ws.on('message', () => { if (++got === msgs.length) ws.close(1000, 'done'); });
  ws.on('close', () => {
    if (role === 'both') { wss.close(); server.close(); }
    setTimeout(() => process.exit(0), 200);
  });
}
if (role === 'client') client();
else server.listen(port, host, role === 'both' ? client : () => {});
if (role === 'server') wss.on('connection', (ws) => ws.on('close', () => setTimeout(() => process.exit(0), 500)));
setTimeout(() => process.exit(1), role === 'both' ? 10000 : 60000);
