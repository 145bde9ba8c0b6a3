// The report's delivery rehearsed on loopback while the checks wait: it goes through the whole
// delivery once, to a stand-in in the agent itself, and a real delivery works after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverReport, rehearseDelivery } from '../../src/agent/reporter.ts';

test('rehearseDelivery delivers once to a stand-in on loopback; a real delivery after it arrives whole', async (t) => {
  const document = { pod: { name: 'rehearsed' }, delaySeconds: 1.5 };
  assert.deepEqual(await rehearseDelivery('token-1', document, 'netready/test'), { ok: true, attempts: 1 });

  const received: { auth?: string; body: string }[] = [];
  const collector = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, body });
      res.writeHead(202).end();
    });
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  t.after(() => collector.close());
  const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  assert.deepEqual(await deliverReport(url, 'token-1', document, 2_000, 'netready/test'), { ok: true, attempts: 1 });
  assert.deepEqual(received, [{ auth: 'Bearer token-1', body: JSON.stringify(document) }]);
});
