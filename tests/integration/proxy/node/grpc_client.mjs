// gRPC client (@grpc/grpc-js) for grpc_server.mjs: Unary + its trailer, Unary("fail") ->
// NOT_FOUND "no such thing", Chat of N messages each echoed before the next is sent.
// Copy this directory's files into <prefix>, `npm install --prefix <prefix> --no-audit
// --no-fund --ignore-scripts`, then: node <prefix>/grpc_client.mjs --target host:port
// [--tls --ca file [--server-name name]] [--authority name] [--messages N] [--timeout-ms MS].
// Prints one JSON line; exit 0/1.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { deadline, fail, parseOptions, progress, report } from './peer_lib.mjs';

const args = parseOptions({
  target: { type: 'string' },
  tls: { type: 'boolean', default: false },
  ca: { type: 'string' },
  'server-name': { type: 'string' },
  authority: { type: 'string' },
  messages: { type: 'string', default: '10' },
  'timeout-ms': { type: 'string', default: '20000' },
});

// A unary call's outcome: {err, reply, status} once both the callback and the status came.
function unary(client, request) {
  return new Promise((resolve) => {
    let err, reply, status;
    const settle = () => status && (reply || err) && resolve({ err, reply, status });
    const call = client.Unary(request, (e, r) => {
      [err, reply] = [e, r];
      settle();
    });
    call.on('status', (s) => {
      status = s;
      settle();
    });
  });
}

async function main() {
  const timeout = Number(args['timeout-ms']);
  deadline(timeout);
  if (!args.target) throw new Error('--target is required');
  const proto = grpc.loadPackageDefinition(protoLoader.loadSync(fileURLToPath(new URL('./grpc_echo.proto', import.meta.url))));
  const options = {};
  if (args['server-name']) options['grpc.ssl_target_name_override'] = args['server-name'];
  if (args.authority || args['server-name']) options['grpc.default_authority'] = args.authority ?? args['server-name'];
  const credentials = args.tls
    ? grpc.credentials.createSsl(args.ca ? fs.readFileSync(args.ca) : null)
    : grpc.credentials.createInsecure();
  const client = new proto.basalt.test.Echo(args.target, credentials, options);

  progress.phase = 'calling Unary';
  const ok = await unary(client, { text: 'hello', seq: 41 });
  if (ok.err) throw new Error(`Unary failed: ${ok.err.code} ${ok.err.details}`);
  if (ok.reply.text !== 'hello' || ok.reply.seq !== 42) throw new Error(`Unary replied ${JSON.stringify(ok.reply)}`);
  const unaryTrailer = ok.status.metadata.get('x-trailer')[0];
  if (unaryTrailer !== 'done-41') throw new Error(`Unary trailer x-trailer=${unaryTrailer}`);

  progress.phase = 'calling Unary("fail")';
  const bad = await unary(client, { text: 'fail', seq: 1 });
  if (!bad.err || bad.err.code !== grpc.status.NOT_FOUND || bad.err.details !== 'no such thing') {
    throw new Error(`Unary("fail") gave ${bad.err ? `${bad.err.code} ${bad.err.details}` : 'a reply'}`);
  }

  progress.phase = 'opening Chat';
  const chat = client.Chat({ deadline: Date.now() + timeout });
  const inbox = [];
  let wake = null;
  let status = null;
  chat.on('data', (m) => {
    inbox.push(m);
    wake?.();
  });
  chat.on('status', (s) => {
    status = s;
    wake?.();
  });
  chat.on('error', () => {}); // reported through 'status'
  const n = Number(args.messages);
  for (let i = 0; i < n; i++) {
    progress.phase = `waiting for the Chat echo of message ${i}`;
    chat.write({ text: `chat ${i}`, seq: i });
    while (inbox.length === 0 && !status) await new Promise((resolve) => (wake = resolve));
    if (inbox.length === 0) throw new Error(`Chat ended early: ${status.code} ${status.details}`);
    const m = inbox.shift();
    if (m.text !== `chat ${i}` || m.seq !== i) throw new Error(`Chat echo ${i} is ${JSON.stringify(m)}`);
  }
  progress.phase = 'waiting for the Chat status';
  chat.end();
  while (!status) await new Promise((resolve) => (wake = resolve));
  if (status.code !== grpc.status.OK) throw new Error(`Chat status ${status.code} ${status.details}`);
  const chatTrailer = status.metadata.get('x-trailer')[0];
  if (chatTrailer !== 'chat-done') throw new Error(`Chat trailer x-trailer=${chatTrailer}`);
  if (inbox.length) throw new Error(`${inbox.length} unexpected Chat messages`);

  client.close();
  report({ ok: true, messages: n, unaryTrailer, chatTrailer });
}

main().catch(fail);
