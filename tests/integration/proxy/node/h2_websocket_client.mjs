// WebSocket over HTTP/2 (RFC 8441) with node:http2 and our own RFC 6455 frames: N text echoes,
// then close 1000. No npm packages needed, but run it like the others from <prefix> (this
// directory's files copied there): node <prefix>/h2_websocket_client.mjs --url https://host:port/path
// --ca file [--messages N] [--size BYTES] [--connect IP] [--timeout-ms MS]. --connect: dial IP
// instead of resolving the URL host (still :authority, SNI, certificate name). One JSON line; exit 0/1.
import fs from 'node:fs';
import http2 from 'node:http2';
import { FrameReader, OP, closePayload, deadline, encodeFrame, fail, fixedLookup, parseOptions, progress, report } from './peer_lib.mjs';

const args = parseOptions({
  url: { type: 'string' },
  ca: { type: 'string' },
  messages: { type: 'string', default: '10' },
  size: { type: 'string', default: '64' },
  connect: { type: 'string' },
  'timeout-ms': { type: 'string', default: '20000' },
});

function message(i, size) {
  let s = `h2 msg ${i} `;
  while (s.length < size) s += String.fromCharCode(97 + ((s.length + i) % 26));
  return Buffer.from(s);
}

async function main() {
  deadline(Number(args['timeout-ms']));
  if (!args.url) throw new Error('--url is required');
  const url = new URL(args.url);
  const options = {};
  if (args.ca) options.ca = fs.readFileSync(args.ca);
  if (args.connect) options.lookup = fixedLookup(args.connect);

  progress.phase = 'connecting';
  const session = http2.connect(url.origin, options);
  session.on('error', fail);
  const settings = new Promise((resolve) => session.once('remoteSettings', resolve));
  await new Promise((resolve) => session.once('connect', resolve));
  if (session.alpnProtocol !== 'h2') throw new Error(`ALPN gave ${session.alpnProtocol}, not h2`);
  progress.phase = 'waiting for the server SETTINGS';
  if (!(await settings).enableConnectProtocol) throw new Error('the server SETTINGS lack ENABLE_CONNECT_PROTOCOL');

  progress.phase = 'waiting for the CONNECT response';
  const stream = session.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': url.pathname + url.search,
    ':authority': url.host,
    'sec-websocket-version': '13',
  }, { endStream: false });
  stream.on('error', fail);
  const headers = await new Promise((resolve) => stream.once('response', resolve));
  if (headers[':status'] !== 200) throw new Error(`CONNECT answered ${headers[':status']}`);

  const reader = new FrameReader({ expectMasked: false });
  const inbox = [];
  let wake = null;
  let done = false;
  stream.on('data', (chunk) => {
    try {
      for (const m of reader.push(chunk)) {
        if (m.opcode === OP.ping) stream.write(encodeFrame(OP.pong, m.payload, { mask: true }));
        else if (m.opcode !== OP.pong) inbox.push(m);
      }
    } catch (e) {
      fail(e);
    }
    wake?.();
  });
  stream.on('close', () => {
    if (!done) fail(`stream closed early (${progress.phase}), rst code ${stream.rstCode}`);
  });
  async function next() {
    while (inbox.length === 0) await new Promise((resolve) => (wake = resolve));
    return inbox.shift();
  }

  const n = Number(args.messages);
  for (let i = 0; i < n; i++) {
    progress.phase = `waiting for the echo of message ${i}`;
    const sent = message(i, Number(args.size));
    stream.write(encodeFrame(OP.text, sent, { mask: true }));
    const got = await next();
    if (got.opcode !== OP.text || !got.payload.equals(sent)) {
      throw new Error(`echo ${i} differs: sent text ${sent.length} bytes, got opcode ${got.opcode} ${got.payload.length} bytes`);
    }
  }

  progress.phase = 'closing';
  stream.write(encodeFrame(OP.close, closePayload(1000), { mask: true }));
  const reply = await next();
  if (reply.opcode !== OP.close) throw new Error(`expected a close frame, got opcode ${reply.opcode}`);
  const closeCode = reply.payload.length >= 2 ? reply.payload.readUInt16BE(0) : 1005;
  if (closeCode !== 1000) throw new Error(`close code ${closeCode}`);
  done = true;
  stream.end();
  session.close();
  report({ ok: true, messages: n, closeCode });
}

main().catch(fail);
