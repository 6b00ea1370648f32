// Node clients (global fetch) for the push recordings.
// Usage: node push_clients.js poll|longpoll|pollpost HOST PORT
'use strict';
const [mode, host, port] = process.argv.slice(2);
const base = `http://${host}:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  if (mode === 'poll') {
    for (let k = 0; k < 6; k++) {
      await (await fetch(`${base}/poll?k=${k}`)).text();
      await sleep(500);
    }
  } else if (mode === 'longpoll') {
    for (let k = 0; k < 5; k++) await (await fetch(`${base}/longpoll?k=${k}`)).text();
  } else if (mode === 'pollpost') {
    // Polls /poll with GET and, between polls, POSTs its own reports there:
    // the POSTs are the client sending, not asking for pushes.
    for (let k = 0; k < 6; k++) {
      await (await fetch(`${base}/poll?k=${k}`)).text();
      await sleep(250);
      if (k < 4) {
        const body = JSON.stringify({ report: k });
        await (await fetch(`${base}/poll`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })).text();
      }
      await sleep(250);
    }
  }
})();
