// Shared by the peers in this directory: the clients' options, their one-line
// JSON result and overall deadline, a fixed address for --connect, and a
// minimal RFC 6455 frame codec for WebSocket over HTTP/2 (RFC 8441).
// Every peer runs from one directory holding all files of this one plus the
// node_modules of `npm install --prefix <that directory>`: ES modules find
// packages next to the script and ignore NODE_PATH.
import crypto from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';

// What a client is doing, named in the timeout error.
export const progress = { phase: 'start' };

export function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

export function fail(error) {
  report({ ok: false, error: String(error?.message ?? error) });
}

// The command line's --options; a bad one is a failure like any other.
export function parseOptions(options) {
  try {
    return parseArgs({ options }).values;
  } catch (e) {
    fail(e);
  }
}

// Fails the client after `ms` whatever it is waiting for.
export function deadline(ms) {
  setTimeout(() => fail(`timeout after ${ms} ms while ${progress.phase}`), ms);
}

// A dns lookup that answers `address` for any name: connect there while the
// URL's host still gives the Host header, the TLS server name and the name
// the certificate is checked against.
export function fixedLookup(address) {
  const family = net.isIP(address);
  if (!family) throw new Error(`--connect needs an IP address, not ${address}`);
  return (_host, opts, cb) => {
    if (typeof opts === 'function') [cb, opts] = [opts, {}];
    if (opts.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// One frame; `mask` for frames a client sends.
export function encodeFrame(opcode, payload, { mask = false, fin = true } = {}) {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = crypto.randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, body]);
}

export function closePayload(code, reason = '') {
  const p = Buffer.alloc(2 + Buffer.byteLength(reason));
  p.writeUInt16BE(code, 0);
  p.write(reason, 2);
  return p;
}

// Reassembles frames from a byte stream cut anywhere. push() returns the
// complete messages: {opcode, payload}, data messages joined from their
// fragments, control frames as they come. Throws on a protocol error.
export class FrameReader {
  constructor({ expectMasked }) {
    this.expectMasked = expectMasked;
    this.buf = Buffer.alloc(0);
    this.fragments = null; // {opcode, parts} while a fragmented message is open
  }

  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        pos = 10;
      }
      if (b[0] & 0x70) throw new Error('reserved bits set');
      if (masked !== this.expectMasked) throw new Error(masked ? 'masked frame from the server' : 'unmasked frame from the client');
      const key = masked ? b.subarray(pos, pos + 4) : null;
      if (masked) pos += 4;
      if (b.length < pos + len) break;
      const payload = Buffer.from(b.subarray(pos, pos + len));
      this.buf = b.subarray(pos + len);
      if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];

      if (opcode >= 8) {
        if (!fin || len > 125) throw new Error('bad control frame');
        out.push({ opcode, payload });
      } else if (opcode === OP.continuation) {
        if (!this.fragments) throw new Error('continuation without a message');
        this.fragments.parts.push(payload);
        if (fin) {
          out.push({ opcode: this.fragments.opcode, payload: Buffer.concat(this.fragments.parts) });
          this.fragments = null;
        }
      } else if (opcode === OP.text || opcode === OP.binary) {
        if (this.fragments) throw new Error('new message inside a fragmented one');
        if (fin) out.push({ opcode, payload });
        else this.fragments = { opcode, parts: [payload] };
      } else {
        throw new Error(`unknown opcode ${opcode}`);
      }
    }
    return out;
  }
}
