// bench/collector's reference: a bare node:http server that reads the body of
// POST /v1/reports, parses the same JSON and answers 202, storing nothing and
// validating nothing. The ceiling any collector on node:http could reach here.
//
//   node bench/collector-bare.ts      (prints {"port":N} once listening)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return void res.writeHead(400).end();
    }
    const body = '{"status":"stored"}';
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
});
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
