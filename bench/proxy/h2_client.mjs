// HTTP/2 by prior knowledge (h2c) load that behaves as RFC 9113 asks of a
// client when a server drains: after GOAWAY it opens a new connection, and a
// request the GOAWAY refused (a stream above its last stream id, or one it
// could no longer start) is sent again there, counted as `retried`, never
// as failed: `unsent` when the session had taken the GOAWAY before the
// request started, `refused` when the server refused the stream. Anything
// else that does not end in a 200 with a body is `failed`.
//
//   node h2_client.mjs URL CONNECTIONS STREAMS SECONDS
//
// Prints one JSON line: {requests, failed, unsent, refused, goaways, connections, errors: [...]}.
import http2 from 'node:http2';

const [url, connections, streams, seconds] = process.argv.slice(2);
const target = new URL(url);
const end = Date.now() + Number(seconds) * 1000;
const counts = { requests: 0, failed: 0, unsent: 0, refused: 0, goaways: 0, connections: 0, errors: [] };

function fail(what) {
  counts.failed++;
  if (counts.errors.length < 10) counts.errors.push(String(what));
}

// One connection slot: a session, replaced after GOAWAY or close.
class Slot {
  constructor() {
    this.session = null;
  }
  get() {
    if (!this.session || this.session.closed || this.session.destroyed || this.gone) {
      this.gone = false;
      counts.connections++;
      const s = http2.connect(target.origin);
      s.on('goaway', () => {
        counts.goaways++;
        if (this.session === s) this.gone = true;
      });
      s.on('error', () => {});
      s.on('close', () => {
        if (this.session === s) this.gone = true;
      });
      this.session = s;
    }
    return this.session;
  }
}

function once(slot) {
  return new Promise((resolve) => {
    let req;
    try {
      req = slot.get().request({ ':path': target.pathname });
    } catch (e) {
      // The session took a GOAWAY before this request could start: not sent.
      slot.gone = true;
      return resolve('unsent');
    }
    let status = 0;
    let body = 0;
    req.on('response', (h) => (status = h[':status']));
    req.on('data', (d) => (body += d.length));
    req.on('end', () => resolve(status === 200 && body > 0 ? 'ok' : `status ${status}, ${body} bytes`));
    req.on('error', (e) => {
      if (e.code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(e.message)) return resolve('refused');
      if (e.code === 'ERR_HTTP2_GOAWAY_SESSION') return resolve('unsent');
      resolve(`${e.code}: ${e.message}`);
    });
    req.end();
  });
}

async function worker(slot) {
  while (Date.now() < end) {
    const r = await once(slot);
    if (r === 'ok') counts.requests++;
    else if (r === 'unsent' || r === 'refused') counts[r]++;
    else fail(r);
  }
}

const slots = Array.from({ length: Number(connections) }, () => new Slot());
const all = [];
for (const slot of slots) for (let i = 0; i < Number(streams); i++) all.push(worker(slot));
await Promise.all(all);
for (const slot of slots) slot.session?.close();
console.log(JSON.stringify(counts));
process.exit(0);
