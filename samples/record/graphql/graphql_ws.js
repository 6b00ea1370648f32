// graphql-ws (npm) server and client over ws, for samples/app/graphql-ws.pcap.
// Usage: node graphql_ws.js PORT LOG.jsonl
// LOG: one line per WebSocket message the client sent or received, as the
// client's socket saw it: {"side": "client"|"server", "opcode": 1, "data_hex"}
// (the samples' .sent.jsonl shape; "side" is the sender).
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { useServer } = require('graphql-ws/use/ws');
const { createClient } = require('graphql-ws');

const port = Number(process.argv[2]);
const logPath = process.argv[3];
const log = (side, data) => {
  const buf = Buffer.from(typeof data === 'string' ? data : data);
  fs.appendFileSync(logPath, JSON.stringify({ side, opcode: 1, data_hex: buf.toString('hex') }) + '\n');
};

const schema = buildSchema(`
  type Query { hello(name: String): String }
  type Subscription { countdown(from: Int!): Int }
`);
const roots = {
  query: { hello: ({ name }) => `Hello ${name || 'world'}` },
  subscription: {
    countdown: async function* ({ from }) {
      for (let i = from; i >= 0; i--) {
        await new Promise((r) => setTimeout(r, 50));
        yield { countdown: i };
      }
    },
  },
};

const wss = new WebSocket.Server({ host: '127.0.0.1', port, path: '/graphql' });
useServer(
  {
    schema,
    roots,
  },
  wss,
);

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

const client = createClient({
  url: `ws://127.0.0.1:${port}/graphql`,
  webSocketImpl: LoggingSocket,
  lazy: true,
  lazyCloseTimeout: 3000, // one connection for all operations
  keepAlive: 200, // client pings
});

async function run() {
  const sub = client.iterate({
    query: 'subscription Countdown($from: Int!) { countdown(from: $from) }',
    variables: { from: 3 },
  });
  const got = [];
  // a query while the subscription is active
  const early = (async () => {
    await new Promise((r) => setTimeout(r, 80));
    for await (const r of client.iterate({ query: 'mutation { __typename }' })) got.push(r);
  })();
  for await (const r of sub) got.push(r);
  await early;
  const q = client.iterate({
    query: 'query Hello { hello(name: "wsdissect") }',
    operationName: 'Hello',
  });
  for await (const r of q) got.push(r);
  // an operation without operationName in the payload: the name is parsed
  const q2 = client.iterate({ query: '{ hello }' });
  for await (const r of q2) got.push(r);
  // an error result
  const q3 = client.iterate({ query: 'query Broken { nope }' });
  try {
    for await (const r of q3) got.push(r);
  } catch (e) {
    got.push({ error: String(e) });
  }
  await new Promise((r) => setTimeout(r, 500));
  await client.dispose();
  await new Promise((r) => setTimeout(r, 300));
  wss.close();
  console.log(JSON.stringify(got));
}
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
setTimeout(() => process.exit(2), 20000).unref();
