// The legacy graphql-ws subprotocol of npm subscriptions-transport-ws 0.11
// (server and client) over ws 7, for samples/app/graphql-legacy.pcap.
// Usage: node graphql_legacy.js PORT LOG.jsonl
// LOG: one line per WebSocket message the client's socket sent or received:
// {"side": "client"|"server", "opcode": 1, "data_hex"} ("side" is the sender).
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const { buildSchema, execute, subscribe } = require('graphql');
const { SubscriptionServer, SubscriptionClient } = require('subscriptions-transport-ws');

const port = Number(process.argv[2]);
const logPath = process.argv[3];
const log = (side, data) => {
  const buf = Buffer.from(data);
  fs.appendFileSync(logPath, JSON.stringify({ side, opcode: 1, data_hex: buf.toString('hex') }) + '\n');
};

const schema = buildSchema(`
  type Query { hello(name: String): String }
  type Subscription { countdown(from: Int!): Int, ticks: Int }
`);
const rootValue = {
  hello: ({ name }) => `Hello ${name || 'world'}`,
  countdown: async function* ({ from }) {
    for (let i = from; i >= 0; i--) {
      await new Promise((r) => setTimeout(r, 50));
      yield { countdown: i };
    }
  },
  ticks: async function* () {
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 60));
      yield { ticks: i };
    }
  },
};

const wss = new WebSocket.Server({ host: '127.0.0.1', port, path: '/subscriptions' });
SubscriptionServer.create({ schema, rootValue, execute, subscribe, keepAlive: 150 }, wss);

class LoggingSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on('message', (data) => log('server', data));
  }
  send(data, ...rest) {
    log('client', data);
    return super.send(data, ...rest);
  }
}

const client = new SubscriptionClient(
  `ws://127.0.0.1:${port}/subscriptions`,
  { reconnect: false, connectionParams: { token: 'demo' } },
  LoggingSocket,
);

const op = (req, stopAfter) =>
  new Promise((resolve) => {
    const got = [];
    const sub = client.request(req).subscribe({
      next: (r) => got.push(r),
      error: (e) => { got.push({ error: String(e && e.message || e) }); resolve(got); },
      complete: () => resolve(got),
    });
    if (stopAfter) setTimeout(() => { sub.unsubscribe(); resolve(got); }, stopAfter);
  });

async function run() {
  const out = [];
  out.push(await op({
    query: 'subscription Countdown($from: Int!) { countdown(from: $from) }',
    variables: { from: 3 },
    operationName: 'Countdown',
  }));
  out.push(await op({ query: 'query Hello { hello(name: "wsdissect") }', operationName: 'Hello' }));
  out.push(await op({ query: '{ hello }' }));
  out.push(await op({ query: 'query Broken { nope }' }));
  // a subscription the client stops itself (GQL_STOP)
  out.push(await op({ query: 'subscription { ticks }' }, 250));
  await new Promise((r) => setTimeout(r, 400)); // keep-alives
  client.close(); // GQL_CONNECTION_TERMINATE, then the close
  await new Promise((r) => setTimeout(r, 300));
  wss.close();
  console.log(JSON.stringify(out));
}
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
setTimeout(() => process.exit(2), 20000).unref();
