// WebSocket client (ws): echoes of N messages (text and binary alternately), then close 1000.
// Copy this directory's files into <prefix>, `npm install --prefix <prefix> --no-audit
// --no-fund --ignore-scripts`, then: node <prefix>/ws_client.mjs --url ws[s]://host:port/path
// [--messages N] [--size BYTES] [--hold-ms MS] [--interval-ms MS (200): one echo per interval while holding] [--ca file] [--header 'Name: value']...
// [--connect IP] [--timeout-ms MS]. --connect: dial IP instead of resolving the URL host
// (which still gives Host, SNI and the certificate name). Prints one JSON line; exit 0/1.
import fs from 'node:fs';
import WebSocket from 'ws';
import { deadline, fail, fixedLookup, parseOptions, progress, report } from './peer_lib.mjs';

const args = parseOptions({
  url: { type: 'string' },
  messages: { type: 'string', default: '10' },
  size: { type: 'string', default: '64' },
  'hold-ms': { type: 'string', default: '0' },
  'interval-ms': { type: 'string', default: '200' },
  ca: { type: 'string' },
  header: { type: 'string', multiple: true, default: [] },
  connect: { type: 'string' },
  'timeout-ms': { type: 'string', default: '20000' },
});

// Message i: even i text, odd i binary; content differs for every i.
function message(i, size) {
  if (i % 2 === 0) {
    let s = `msg ${i} `;
    while (s.length < size) s += String.fromCharCode(97 + ((s.length + i) % 26));
    return { data: Buffer.from(s), isBinary: false };
  }
  const b = Buffer.alloc(Math.max(size, 4));
  for (let j = 4; j < b.length; j++) b[j] = (i * 7 + j * 13) & 0xff;
  b.writeUInt32BE(i, 0);
  return { data: b, isBinary: true };
}

async function main() {
  deadline(Number(args['timeout-ms']));
  if (!args.url) throw new Error('--url is required');
  const headers = {};
  for (const h of args.header) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new Error(`bad --header ${h}`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  const options = { headers };
  if (args.ca) options.ca = fs.readFileSync(args.ca);
  if (args.connect) options.lookup = fixedLookup(args.connect);

  progress.phase = 'connecting';
  const ws = new WebSocket(args.url, options);
  const inbox = [];
  let wake = null;
  let closing = false;
  ws.on('message', (data, isBinary) => {
    inbox.push({ data, isBinary });
    wake?.();
  });
  ws.on('error', fail);
  ws.on('close', (code, reason) => {
    if (!closing) fail(`closed by the server: ${code} ${reason}`);
  });
  await new Promise((resolve) => ws.once('open', resolve));

  const size = Number(args.size);
  async function exchange(i) {
    progress.phase = `waiting for the echo of message ${i}`;
    const sent = message(i, size);
    ws.send(sent.data, { binary: sent.isBinary });
    while (inbox.length === 0) await new Promise((resolve) => (wake = resolve));
    const got = inbox.shift();
    if (got.isBinary !== sent.isBinary || !got.data.equals(sent.data)) {
      throw new Error(`echo ${i} differs: sent ${sent.isBinary ? 'binary' : 'text'} ${sent.data.length} bytes, ` +
        `got ${got.isBinary ? 'binary' : 'text'} ${got.data.length} bytes`);
    }
  }

  const n = Number(args.messages);
  for (let i = 0; i < n; i++) await exchange(i);
  let held = 0;
  const holdUntil = Date.now() + Number(args['hold-ms']);
  while (Date.now() < holdUntil) {
    await new Promise((resolve) => setTimeout(resolve, Number(args['interval-ms'])));
    await exchange(n + held++);
  }

  progress.phase = 'closing';
  closing = true;
  const closeCode = await new Promise((resolve) => {
    ws.once('close', resolve);
    ws.close(1000);
  });
  if (closeCode !== 1000) throw new Error(`close code ${closeCode}`);
  report({ ok: true, messages: n, heldMessages: held, closeCode });
}

main().catch(fail);
