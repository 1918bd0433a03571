// Peers of client_stream_test.cpp, one per mode; prints "READY <port>" once
// listening on 127.0.0.1 and runs until stdin closes.
//   download     cleartext HTTP/2 (prior knowledge): GET /bytes?n=N sends N
//                bytes, respecting flow control (waits for 'drain')
//   connect      cleartext HTTP/2 with SETTINGS_ENABLE_CONNECT_PROTOCOL = 1:
//                an extended CONNECT stream is answered 200 and echoed
//   no-connect   the same server without the setting
//   ws           a WebSocket echo server (the `ws` package, installed by the
//                test next to this file)
import http2 from 'node:http2';
import http from 'node:http';

const mode = process.argv[2];
let server;

function ready() {
  console.log(`READY ${server.address().port}`);
}

if (mode === 'download') {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const n = Number(new URL(headers[':path'], 'http://x').searchParams.get('n') || 0);
    // Trailers end the stream: Node answers end() with RST_STREAM(NO_ERROR)
    // as soon as its writable side finished, even while DATA still waits
    // for the client's window; 'wantTrailers' fires only once every DATA
    // frame went out.
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-total': String(n) }));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let left = n;
    const pump = () => {
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!stream.write(part)) {
          stream.once('drain', pump);
          return;
        }
      }
      stream.end();
    };
    stream.on('error', () => {});
    pump();
  });
} else if (mode === 'connect' || mode === 'no-connect') {
  const settings = mode === 'connect' ? { enableConnectProtocol: true } : {};
  server = http2.createServer({ settings });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 404 });
      stream.end();
      return;
    }
    stream.respond({ ':status': 200, 'x-protocol': String(headers[':protocol']) });
    stream.pipe(stream);
  });
} else if (mode === 'ws') {
  const { WebSocketServer } = await import('ws');
  server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

server.listen(0, '127.0.0.1', ready);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
