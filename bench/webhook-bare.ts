// bench/webhook's baseline: a bare node:https server that decodes the same
// AdmissionReview and answers "allowed" without a patch. Prints {"port":N}.
//
//   node bench/webhook-bare.ts CERT KEY
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [cert, key] = process.argv.slice(2);
const server = createServer(
  { cert: readFileSync(cert!), key: readFileSync(key!), keepAliveTimeout: 60_000 },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = JSON.stringify({
        apiVersion: review.apiVersion,
        kind: review.kind,
        response: { uid: review.request.uid, allowed: true },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  },
);
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
