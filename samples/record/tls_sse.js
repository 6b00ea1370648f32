// An https Server-Sent Events channel for recording a TLS sample: a Node
// https server streams text/event-stream events to a Node https client
// (EventSource-like: Accept: text/event-stream, Last-Event-ID on its second
// request after the server ends the first stream).
//
// Usage: node tls_sse.js LOG KEYLOG CERT KEY PORT
//
// The server writes the TLS key log (its `keylog` event) to KEYLOG and logs
// every event it sends to LOG as a JSON line {"id", "event", "data"}.
'use strict';
const fs = require('fs');
const https = require('https');

const [logPath, keylogPath, cert, key, portStr] = process.argv.slice(2);
const port = Number(portStr);
const tlsOpts = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' };

let nextId = 1;
const server = https.createServer({ ...tlsOpts, cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
  (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    let n = 0;
    const t = setInterval(() => {
      const ev = { id: String(nextId++), event: n % 2 ? 'tick' : 'message', data: `update ${n} über TLS` };
      fs.appendFileSync(logPath, JSON.stringify(ev) + '\n');
      res.write(`id: ${ev.id}\n${ev.event === 'message' ? '' : `event: ${ev.event}\n`}data: ${ev.data}\n\n`);
      if (++n === 4) { clearInterval(t); res.end(); }
    }, 60);
  });
server.on('keylog', (line) => fs.appendFileSync(keylogPath, line));

function get(lastId, then) {
  const headers = { Accept: 'text/event-stream' };
  if (lastId) headers['Last-Event-ID'] = lastId;
  const agent = new https.Agent({ ...tlsOpts, keepAlive: true, maxSockets: 1 });
  https.get({ host: '127.0.0.1', servername: 'localhost', port, path: '/events', headers, agent,
    rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, (res) => {
    let last = lastId;
    res.setEncoding('utf8');
    res.on('data', (d) => { const m = d.match(/id: (\d+)/g); if (m) last = m[m.length - 1].slice(4); });
    res.on('end', () => { agent.destroy(); then(last); });
  });
}
server.listen(port, '127.0.0.1', () => {
  get(null, (last) => get(last, () => { server.close(); setTimeout(() => process.exit(0), 200); }));
});
setTimeout(() => process.exit(1), 10000);
