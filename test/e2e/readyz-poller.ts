// Run inside a testbed pod: GET URL every EVERY ms, one JSON line per change of answer,
// {"at": epoch ms when the answer came, "status": HTTP status, 0 for no answer}. What kubelet
// would read, from where the watch serves it, timed on the testbed's clock.
import http from 'node:http';

const [url, every = '5'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.timeOrigin + performance.now();

function status(): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url!, { agent, timeout: 200 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

let last = -1;
for (;;) {
  const s = await status();
  if (s !== last) process.stdout.write(`${JSON.stringify({ at: now(), status: s })}\n`);
  last = s;
  await new Promise((r) => setTimeout(r, Number(every)));
}
