// bench/dns-doh/run.sh: @push.rocks/smartdns's DnsServer on basalt-dns with one
// TypeScript handler, UDP only.   node engine_driver.mjs UDP_PORT
import { DnsServer } from '@push.rocks/smartdns/server';

const udpPort = Number(process.argv[2]);
const server = new DnsServer({ udpPort, udpBindInterface: '127.0.0.1', manualHttpsMode: true, dnssecZone: 'example.com' });
server.registerHandler('*.example.com', ['A'], (q) => ({ name: q.name, type: 'A', class: 'IN', ttl: 300, data: '10.0.0.1' }));
await server.start();
process.on('SIGTERM', async () => { await server.stop(); process.exit(0); });
