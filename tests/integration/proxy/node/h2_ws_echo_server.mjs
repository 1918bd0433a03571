// WebSocket-over-HTTP/2 (RFC 8441) echo backend on TLS (h2 only); a plain GET answers 200
// "h2-ws-backend\n"; echoes above 16 KiB go back as several fragments. No npm packages needed,
// but run it like the others from <prefix> (this directory's files copied there):
// node <prefix>/h2_ws_echo_server.mjs --cert file --key file [--port N] [--host 127.0.0.1]
// Prints "listening <port>".
import fs from 'node:fs';
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { FrameReader, OP, closePayload, encodeFrame } from './peer_lib.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});
if (!args.cert || !args.key) {
  process.stderr.write('--cert and --key are required\n');
  process.exit(2);
}

const FRAGMENT = 16384;

function echo(stream) {
  stream.respond({ ':status': 200 });
  const reader = new FrameReader({ expectMasked: true });
  stream.on('data', (chunk) => {
    let messages;
    try {
      messages = reader.push(chunk);
    } catch (e) {
      stream.end(encodeFrame(OP.close, closePayload(1002, e.message.slice(0, 100))));
      return;
    }
    for (const { opcode, payload } of messages) {
      if (opcode === OP.text || opcode === OP.binary) {
        for (let at = 0; at === 0 || at < payload.length; at += FRAGMENT) {
          const last = at + FRAGMENT >= payload.length;
          stream.write(encodeFrame(at === 0 ? opcode : OP.continuation, payload.subarray(at, at + FRAGMENT), { fin: last }));
        }
      } else if (opcode === OP.ping) {
        stream.write(encodeFrame(OP.pong, payload));
      } else if (opcode === OP.close) {
        stream.end(encodeFrame(OP.close, payload.subarray(0, 2)));
      }
    }
  });
}

const server = http2.createSecureServer({
  cert: fs.readFileSync(args.cert),
  key: fs.readFileSync(args.key),
  settings: { enableConnectProtocol: true },
});
server.on('stream', (stream, headers) => {
  stream.on('error', (e) => process.stderr.write(`stream error: ${e.message}\n`));
  if (headers[':method'] === 'CONNECT') {
    if (headers[':protocol'] === 'websocket' && headers['sec-websocket-version'] === '13') return echo(stream);
    stream.respond({ ':status': 400 });
    return stream.end();
  }
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end('h2-ws-backend\n');
});
server.on('sessionError', (e) => process.stderr.write(`session error: ${e.message}\n`));

server.listen(Number(args.port), args.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
