// The course's push techniques, served by Node's http module, logging every
// push it makes to LOG (one JSON line each). Stops by itself after LIFETIME_MS.
// Usage: node push_server.js HOST PORT LOG LIFETIME_MS
//
//   GET /page?mode=M  an HTML page whose script uses technique M in a browser
//   GET /poll         answered at once: {"n": k}
//   GET /longpoll     held until the next "news" (every 700 ms), then answered
//   GET /iframe       chunked text/html kept open: a <script> every 300 ms, 6 in all
//   GET /events       text/event-stream: retry, comments, ids, named events,
//                     multi-line data; ends after 3 events so the client
//                     reconnects with Last-Event-ID; 204 once all 7 are sent
'use strict';
const http = require('http');
const fs = require('fs');
const [host, port, log, life] = process.argv.slice(2);
const out = (o) => fs.appendFileSync(log, JSON.stringify(o) + '\n');

const SSE = [
  { id: '1', event: null, data: 'first event', retry: 1500 },
  { id: '2', event: 'tick', data: 'line one\nline two', retry: null },
  { id: '3', event: 'price', data: '{"sym":"WS","px":13}', retry: null },
  { id: '4', event: null, data: 'after the reconnect', retry: null },
  { id: '5', event: 'tick', data: 'é ✓ unicode', retry: null },
  { id: '6', event: null, data: '', retry: null },
  { id: '7', event: 'bye', data: 'last', retry: null },
];
function sseText(e) {
  let s = '';
  if (e.retry !== null) s += `retry: ${e.retry}\n`;
  s += `id: ${e.id}\n`;
  if (e.event) s += `event: ${e.event}\n`;
  for (const line of e.data.split('\n')) s += `data: ${line}\n`;
  return s + '\n';
}

const PAGE = {
  sse: `const es = new EventSource('/events'); es.addEventListener('bye', () => es.close());`,
  poll: `let k = 0; const t = setInterval(() => { const x = new XMLHttpRequest(); x.open('GET', '/poll?k=' + k); x.send(); if (++k === 5) clearInterval(t); }, 400);`,
  longpoll: `let k = 0; function go() { const x = new XMLHttpRequest(); x.open('GET', '/longpoll?k=' + k); x.onload = () => { if (++k < 4) go(); }; x.send(); } go();`,
  iframe: `const f = document.createElement('iframe'); f.style.display = 'none'; f.src = '/iframe'; document.body.appendChild(f);`,
};

let polls = 0;
let news = 0;
const waiting = [];
setInterval(() => {
  news++;
  for (const res of waiting.splice(0)) {
    const body = JSON.stringify({ news });
    out({ kind: 'response', path: '/longpoll', body });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}, 700);

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  out({ kind: 'request', method: req.method, path: url.pathname, last_event_id: req.headers['last-event-id'] || null });
  if (url.pathname === '/page') {
    const js = PAGE[url.searchParams.get('mode')] || '';
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!DOCTYPE html><html><body><p>push demo</p><script>${js}</script></body></html>`);
  } else if (url.pathname === '/poll') {
    const body = JSON.stringify({ n: ++polls });
    out({ kind: 'response', path: '/poll', method: req.method, body });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else if (url.pathname === '/longpoll') {
    waiting.push(res);
  } else if (url.pathname === '/iframe') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.write('<!DOCTYPE html><html><body>' + ' '.repeat(256) + '\n');
    let k = 0;
    const t = setInterval(() => {
      k++;
      out({ kind: 'script', n: k });
      res.write(`<script>parent.postMessage(${k}, '*')</script>\n`);
      if (k === 6) {
        clearInterval(t);
        res.end('</body></html>\n');
      }
    }, 300);
  } else if (url.pathname === '/events') {
    const last = Number(req.headers['last-event-id'] || 0);
    if (last >= SSE.length) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': hello, this is a comment\n\n');
    const batch = SSE.slice(last, last + 3);
    let i = 0;
    const t = setInterval(() => {
      const e = batch[i++];
      out({ kind: 'sse', id: e.id, event: e.event || 'message', data: e.data, retry: e.retry });
      res.write(sseText(e));
      if (i === batch.length) {
        clearInterval(t);
        setTimeout(() => res.end(), 100);
      }
    }, 150);
  } else {
    res.writeHead(404);
    res.end();
  }
}).listen(Number(port), host, () => console.log('listening'));
setTimeout(() => process.exit(0), Number(life));
