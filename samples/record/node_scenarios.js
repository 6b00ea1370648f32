// WebSocket sessions between Node `ws` peers, for recording.
//
// Usage: node node_scenarios.js SCENARIO LOG HOST PORT
//
// fragments: a text message sent as fragments with pings between them (one
//   fragment splits a multi-byte character), a binary message in 1-byte
//   fragments, 50 small messages corked into one write, close with reason.
// stream: the client sends a message every 100 ms for STREAM_MS (default
//   3000) ms, for a capture that starts mid-connection.
// Every data message sent is logged to LOG as a JSON line (see py_scenarios.py).
'use strict';
const fs = require('fs');
const { WebSocketServer, WebSocket } = require('ws');

const [scenario, logPath, host, portStr] = process.argv.slice(2);
const port = Number(portStr);

function log(side, data, isBinary) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  fs.appendFileSync(logPath, JSON.stringify({
    side, opcode: isBinary ? 2 : 1, data_hex: buf.toString('hex'),
  }) + '\n');
}

// deflate: permessage-deflate with a 64-byte threshold (smaller messages go
// uncompressed), server_no_context_takeover and window bits 10/11; a
// compressed message in fragments with pings between them.
// stream-deflate / stream-deflate-nct: the stream scenario compressed
// (threshold 0), with context takeover, or with none in either direction.
const deflate = {
  deflate: { threshold: 64, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
  'stream-deflate': { threshold: 0 },
  'stream-deflate-nct': { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
}[scenario] || false;
const wss = new WebSocketServer({ host, port, perMessageDeflate: deflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    log('server', data, isBinary);
    ws.send(data, { binary: isBinary });
  });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function fragments(ws) {
  const text = Buffer.from('Fragmented héllo — with pings between fragments ✓');
  // Split inside the two-byte "é" (bytes 12..13) to make text valid only as a whole.
  const cuts = [0, 13, 25, 40, text.length];
  log('client', text, false);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const last = i + 2 === cuts.length;
    ws.send(text.subarray(cuts[i], cuts[i + 1]), { binary: false, fin: last });
    if (!last) ws.ping(Buffer.from(`ping ${i}`));
    await sleep(20);
  }
  await sleep(100);
  const bin = Buffer.from([0, 1, 2, 3, 250, 251, 252, 253]);
  log('client', bin, true);
  for (let i = 0; i < bin.length; i++) {
    ws.send(bin.subarray(i, i + 1), { binary: true, fin: i + 1 === bin.length });
    if (i === 3) ws.ping();
  }
  await sleep(100);
  // Fifty messages in one write: many frames in one TCP segment.
  ws._socket.cork();
  for (let i = 0; i < 50; i++) {
    const m = `burst ${i}`;
    log('client', m, false);
    ws.send(m);
  }
  ws._socket.uncork();
  await sleep(300);
  ws.close(1000, 'fragments done');
}

async function stream(ws) {
  const until = Date.now() + Number(process.env.STREAM_MS || 3000);
  let i = 0;
  while (Date.now() < until) {
    const m = `tick ${i++} ` + '-'.repeat(i % 40);
    log('client', m, false);
    ws.send(m);
    await sleep(100);
  }
  ws.close(1001, 'going away');
}

async function deflateScenario(ws) {
  const msgs = ['tiny', 'x'.repeat(63), 'y'.repeat(64), 'the quick brown fox '.repeat(40),
    Buffer.alloc(5000, 7), 'é✓'.repeat(3000), 'the quick brown fox '.repeat(40)];
  for (const m of msgs) {
    const bin = Buffer.isBuffer(m);
    log('client', m, bin);
    ws.send(m, { binary: bin });
    await sleep(30);
  }
  // One compressed message in three fragments with pings between them.
  const parts = ['compressed fragment one, ', 'compressed fragment two, ', 'and the last one ✓'.repeat(10)];
  log('client', parts.join(''), false);
  parts.forEach((p, i) => {
    ws.send(p, { fin: i === parts.length - 1, compress: true });
    if (i < parts.length - 1) ws.ping(Buffer.from(`between ${i}`));
  });
  await sleep(200);
  ws.close(1000, 'deflate done');
}

wss.on('listening', () => {
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}/${scenario}`;
  const clientDeflate = scenario === 'deflate' ? { threshold: 64, clientMaxWindowBits: 11 } : deflate;
  const ws = new WebSocket(url, { perMessageDeflate: clientDeflate });
  ws.on('open', async () => {
    const run = { fragments, stream, deflate: deflateScenario, 'stream-deflate': stream, 'stream-deflate-nct': stream };
    await run[scenario](ws);
  });
  ws.on('close', () => setTimeout(() => wss.close(() => process.exit(0)), 100));
});
setTimeout(() => process.exit(3), 60000);
