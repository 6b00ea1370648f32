// The browser half of tls_chromium.py: headless Chromium opens
// wss://localhost:PORT/chromium, sends text, binary and a compressible text,
// waits for each echo, and closes with 1000.
// Usage: node tls_chromium.mjs KEYLOG PORT
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const [keylog, port] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [`--ssl-key-log-file=${keylog}`, '--ignore-certificate-errors', '--no-sandbox'],
});
const page = await browser.newPage();
const ok = await page.evaluate(async (port) => {
  const ws = new WebSocket(`wss://localhost:${port}/chromium`);
  ws.binaryType = 'arraybuffer';
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
  const big = new Uint8Array(30000).map((_, i) => (i * 31 + 7) & 0xff);
  const msgs = ['hello from chromium', 'Grüße über wss ✓', new Uint8Array([0, 1, 2, 254, 255]).buffer,
    'compress me '.repeat(500), big.buffer, ''];
  for (const m of msgs) {
    const echoed = new Promise((res) => { ws.onmessage = res; });
    ws.send(m);
    await echoed;
  }
  const closed = new Promise((res) => { ws.onclose = res; });
  ws.close(1000, 'bye');
  await closed;
  return ws.extensions;
}, Number(port));
console.log(`extensions: ${ok}`);
await browser.close();
