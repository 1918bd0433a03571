// An HTTP/2 client on Node's http2 module for h2_stream_test.cpp: what curl
// cannot do (request trailers, RFC 8441 extended CONNECT, plain CONNECT).
//
//   node h2_stream_client.mjs <mode> <port> <ca.pem>
//
// Modes:
//   trailers   POST /trailers with a body and request trailers; prints the
//              response status, fields, body and trailers.
//   websocket  waits for the server's SETTINGS, then CONNECT with
//              :protocol websocket to /ws; sends "hello", waits for its echo,
//              sends "world" and ends; prints what came back.
//   connect    the same over a plain CONNECT (:authority only).
// Prints one JSON object on stdout and exits 0, or prints the error and exits 1.
import http2 from 'node:http2';
import fs from 'node:fs';

const [mode, port, caFile] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.stack || err) }));
  process.exit(1);
}
setTimeout(() => fail('timed out'), 15000).unref();

const client = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
client.on('error', fail);

function collect(req, result, onData) {
  const chunks = [];
  req.on('response', (headers) => {
    result.status = headers[':status'];
    result.headers = headers;
  });
  req.on('trailers', (trailers) => { result.trailers = trailers; });
  req.on('data', (d) => {
    chunks.push(d);
    if (onData) onData(Buffer.concat(chunks).toString());
  });
  req.on('error', fail);
  req.on('end', () => {
    result.body = Buffer.concat(chunks).toString();
    console.log(JSON.stringify(result));
    client.close();
  });
}

function tunnel(headers, result) {
  const req = client.request(headers, { endStream: false });
  let sentSecond = false;
  collect(req, result, (soFar) => {
    if (!sentSecond && soFar === 'hello') {
      sentSecond = true;
      req.end('world');
    }
  });
  req.write('hello');
}

if (mode === 'trailers') {
  const req = client.request({ ':method': 'POST', ':path': '/trailers', 'content-type': 'application/grpc' },
                             { waitForTrailers: true });
  req.on('wantTrailers', () => req.sendTrailers({ 'x-request-sum': 'abc123' }));
  collect(req, {});
  req.write('first part, ');
  req.end('second part');
} else if (mode === 'websocket') {
  client.once('remoteSettings', (settings) => {
    const result = { enableConnectProtocol: settings.enableConnectProtocol === true };
    if (!result.enableConnectProtocol) {
      console.log(JSON.stringify(result));
      process.exit(0);
    }
    tunnel({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/ws',
             ':authority': `localhost:${port}` }, result);
  });
} else if (mode === 'connect') {
  tunnel({ ':method': 'CONNECT', ':authority': 'tunnel.example:443' }, {});
} else {
  fail(`unknown mode ${mode}`);
}
