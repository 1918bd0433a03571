// Drives basalt-dns as the engine of @push.rocks/smartdns's DnsServer, the
// way a user of the package writes it. Started by smartdns_test.cpp with the
// package installed next to it:
//   node smartdns_driver.mjs UDP_PORT HTTPS_PORT
// Prints `READY {json}` when the server runs (with the answer of one
// processRawDnsPacketAsync call), then stops the server when stdin closes;
// `START_FAILED <error>` (exit 1) when start() fails.
import { DnsServer } from '@push.rocks/smartdns/server';

const [udpPort, httpsPort] = process.argv.slice(2).map(Number);

// A raw DNS query: id 0x4242, RD, one question.
function rawQuery(name, type) {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
}

const server = new DnsServer({ udpPort, httpsPort, udpBindInterface: '127.0.0.1', httpsBindInterface: '127.0.0.1',
                               dnssecZone: 'example.com' });

// Every name below example.com has an A record ...
server.registerHandler('*.example.com', ['A'], (q) => ({ name: q.name, type: 'A', class: 'IN', ttl: 300, data: '10.0.0.1' }));
// ... and multi.example.com a second one from another handler.
server.registerHandler('multi.example.com', ['A'], (q) => ({ name: q.name, type: 'A', class: 'IN', ttl: 300, data: '10.0.0.2' }));
server.registerHandler('example.com', ['TXT'], (q) => ({ name: q.name, type: 'TXT', class: 'IN', ttl: 60, data: ['hello', 'world'] }));
server.registerHandler('mail.example.com', ['MX'], (q) => ({ name: q.name, type: 'MX', class: 'IN', ttl: 60,
                                                             data: { preference: 10, exchange: 'mx.example.com' } }));
// A pattern with capitals (the package compares case-sensitively).
server.registerHandler('UPPER.example.com', ['TXT'], (q) => ({ name: q.name, type: 'TXT', class: 'IN', ttl: 60, data: 'upper' }));
// Two handlers, one returning an invalid record.
server.registerHandler('bad.example.com', ['AAAA'], (q) => ({ name: q.name, type: 'AAAA', class: 'IN', ttl: 60, data: '2001:db8::5' }));
server.registerHandler('bad.example.com', ['AAAA'], (q) => ({ name: q.name, type: 'AAAA', class: 'IN', ttl: 60, data: 'not-an-ip' }));
// Outside the zone: offered to the handlers too.
server.registerHandler('outside.org', ['A'], (q) => ({ name: q.name, type: 'A', class: 'IN', ttl: 30, data: '10.9.9.9' }));

try {
  await server.start();
} catch (err) {
  console.log('START_FAILED ' + err.message);
  process.exit(1);
}

// Registered after start(): the engine asks the driver per query, so it counts.
server.registerHandler('late.example.com', ['AAAA'], (q) => ({ name: q.name, type: 'AAAA', class: 'IN', ttl: 300, data: '2001:db8::1' }));

const raw = await server.processRawDnsPacketAsync(rawQuery('Raw.Example.com', 1));
console.log('READY ' + JSON.stringify({ raw: raw.toString('base64') }));

process.stdin.resume();
process.stdin.on('end', async () => {
  await server.stop();
  console.log('STOPPED');
  process.exit(0);
});
