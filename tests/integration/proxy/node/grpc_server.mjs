// gRPC backend (@grpc/grpc-js), service Echo of grpc_echo.proto; h2c unless --cert/--key.
// Copy this directory's files into <prefix>, `npm install --prefix <prefix> --no-audit
// --no-fund --ignore-scripts`, then: node <prefix>/grpc_server.mjs [--port N] [--host 127.0.0.1]
// [--cert file --key file]. Prints "listening <port>".
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});

const proto = grpc.loadPackageDefinition(protoLoader.loadSync(fileURLToPath(new URL('./grpc_echo.proto', import.meta.url))));

function trailer(value) {
  const md = new grpc.Metadata();
  md.set('x-trailer', value);
  return md;
}

const server = new grpc.Server();
server.addService(proto.basalt.test.Echo.service, {
  // Unary: text back with seq + 1, trailer done-<seq>; "fail" is NOT_FOUND.
  Unary(call, callback) {
    const { text, seq } = call.request;
    if (text === 'fail') return callback({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
    callback(null, { text, seq: seq + 1 }, trailer(`done-${seq}`));
  },
  // Chat: every message back as it arrives; OK with trailer chat-done at the end.
  Chat(call) {
    call.on('data', (msg) => call.write(msg));
    call.on('end', () => call.end(trailer('chat-done')));
    call.on('error', (e) => process.stderr.write(`chat error: ${e.message}\n`));
  },
});

const credentials = args.cert
  ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(args.cert), private_key: fs.readFileSync(args.key) }])
  : grpc.ServerCredentials.createInsecure();
const host = args.host.includes(':') ? `[${args.host}]` : args.host;
server.bindAsync(`${host}:${args.port}`, credentials, (err, port) => {
  if (err) {
    process.stderr.write(`bind: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
