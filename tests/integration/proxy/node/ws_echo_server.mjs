// WebSocket echo backend (ws) on HTTP/1.1; plain GET answers 200 "ws-backend\n".
// Copy this directory's files into <prefix>, `npm install --prefix <prefix> --no-audit
// --no-fund --ignore-scripts`, then: node <prefix>/ws_echo_server.mjs [--port N]
// [--host 127.0.0.1] [--cert file --key file]  (TLS with both). Prints "listening <port>".
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});

function onRequest(_req, res) {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ws-backend\n');
}

const server = args.cert
  ? https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, onRequest)
  : http.createServer(onRequest);

const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (e) => process.stderr.write(`ws error: ${e.message}\n`));
});

server.listen(Number(args.port), args.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
