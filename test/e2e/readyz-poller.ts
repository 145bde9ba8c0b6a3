// Run inside a testbed pod: GET URL every EVERY ms, one JSON line per change of answer,
// {"at": epoch ms when the answer came, "status": HTTP status, 0 for no answer within kubelet's
// default probe timeout (1 s), "after": epoch ms when the last request that got the previous
// answer went out}. What kubelet would read, from where the watch serves it, timed on the
// testbed's clock: the answer changed between `after` and `at`.
import http from 'node:http';

const [url, every = '5'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.timeOrigin + performance.now();

function status(): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url!, { agent, timeout: 1000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

let last = -1;
let lastSent = 0;
for (;;) {
  const sent = now();
  const s = await status();
  if (s !== last) process.stdout.write(`${JSON.stringify({ at: now(), status: s, after: lastSent })}\n`);
  last = s;
  lastSent = sent;
  await new Promise((r) => setTimeout(r, Number(every)));
}
