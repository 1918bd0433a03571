// Drives smartdns 7.9.0's Smartdns client class on our binary (as its
// rustdns-client engine). Usage: node client_driver.mjs STRATEGY NAME TYPE
// Prints one JSON line: {records} or {error}.
import { Smartdns } from '@push.rocks/smartdns/client';

const [strategy, name, type] = process.argv.slice(2);
const client = new Smartdns({ strategy, allowDohFallback: false, timeoutMs: 5000 });
try {
  const records = await client.getRecords(name, type, 0);
  console.log(JSON.stringify({ records }));
} catch (err) {
  console.log(JSON.stringify({ error: String(err) }));
} finally {
  client.destroy();
}
