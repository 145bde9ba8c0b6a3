// classifyError over real error objects: sockets, fetch, undici (the agent's HTTP client), TLS
// and c-ares errors produced against servers on loopback, plus hand-made ones for the rest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { classifyError } from '../../src/agent/classify.ts';
import { httpCheck } from '../../src/agent/checks/http.ts';
import { httpRequest } from '../../src/agent/http-client.ts';
import { CodedError } from '../../src/lib/errors.ts';

// Loopback servers shared by the table rows.
let closedPort = 0; // nothing listens here
let resetPort = 0; // accepts, then sends RST
let plainPort = 0; // speaks plain HTTP/1.1 whatever it is sent
let unavailablePort = 0; // HTTP server answering 503
let closesPort = 0; // reads the request, then closes the connection without an answer
let notHttpPort = 0; // answers a line that is not HTTP
let dnsPort = 0; // DNS server answering by the first label of the name
let closedUdpPort = 0; // no DNS server here
const servers: Server[] = [];
let dns: UdpSocket;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

before(async () => {
  const closed = createServer();
  closedPort = await listen(closed);
  closed.close();
  servers.pop();
  resetPort = await listen(createServer((s) => s.resetAndDestroy()));
  plainPort = await listen(
    createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))),
  );
  closesPort = await listen(createServer((s) => s.once('data', () => s.end())));
  notHttpPort = await listen(createServer((s) => s.once('data', () => s.end('hello there\r\n\r\n'))));
  unavailablePort = await listen(
    createHttpServer((_req, res) =>
      res.writeHead(503, { 'retry-after': '1' }).end('upstream not ready'),
    ) as unknown as Server,
  );

  dns = createSocket('udp4');
  dns.on('message', (msg, peer) => {
    const query = dnsPacket.decode(msg);
    const name = query.questions?.[0]?.name ?? '';
    const label = name.split('.')[0]!;
    if (label === 'silent') return;
    const rcode =
      ({ nx: 'NXDOMAIN', servfail: 'SERVFAIL', refused: 'REFUSED', formerr: 'FORMERR', notimp: 'NOTIMP' } as const)[
        label as 'nx'
      ] ?? 'NOERROR';
    const reply = dnsPacket.encode({
      id: query.id,
      type: 'response',
      // dns-packet takes the rcode from the low bits of flags.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
      questions: query.questions ?? [],
      answers: [],
    });
    dns.send(reply, peer.port, peer.address);
  });
  dns.bind(0, '127.0.0.1');
  await once(dns, 'listening');
  dnsPort = dns.address().port;

  const probe = createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  closedUdpPort = probe.address().port;
  probe.close();
});

after(() => {
  for (const s of servers) s.close();
  dns.close();
});

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

/** The error of a TCP connection to loopback `port` after writing one line. */
function socketError(port: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('error', resolve);
    s.once('connect', () => s.write('hello\n'));
    s.once('close', () => reject(new Error('closed without an error')));
  });
}

/** The error of one request by the agent's HTTP client (undici) to loopback `port`. */
function undiciError(port: number): Promise<unknown> {
  return rejection(
    httpRequest(new URL(`http://127.0.0.1:${port}/healthz`), {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(10_000),
    }),
  );
}

function resolveA(name: string, server = `127.0.0.1:${dnsPort}`): Promise<unknown> {
  const r = new Resolver({ timeout: 100, tries: 1 });
  r.setServers([server]);
  return rejection(r.resolve4(name));
}

const REAL: { name: string; make: () => Promise<unknown>; code?: string; want: string }[] = [
  { name: 'net.connect to a closed port', make: () => socketError(closedPort), code: 'ECONNREFUSED', want: 'refused' },
  {
    name: 'fetch to a closed port (cause)',
    make: () => rejection(fetch(`http://127.0.0.1:${closedPort}/healthz`)),
    want: 'refused',
  },
  { name: 'peer sends RST', make: () => socketError(resetPort), code: 'ECONNRESET', want: 'reset' },
  {
    name: 'fetch, peer sends RST (cause)',
    make: () => rejection(fetch(`http://127.0.0.1:${resetPort}/`)),
    want: 'reset',
  },
  {
    name: 'undici, peer closes the connection instead of answering',
    make: () => undiciError(closesPort),
    code: 'UND_ERR_SOCKET',
    want: 'reset',
  },
  { name: 'undici, peer sends RST', make: () => undiciError(resetPort), code: 'ECONNRESET', want: 'reset' },
  { name: 'undici, closed port', make: () => undiciError(closedPort), code: 'ECONNREFUSED', want: 'refused' },
  { name: 'undici, the answer is not HTTP', make: () => undiciError(notHttpPort), want: 'other' },
  {
    name: 'TLS handshake with a plain HTTP server',
    make: () =>
      new Promise((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: plainPort, servername: 'api.example.com' });
        s.once('error', resolve);
      }),
    code: 'ERR_SSL_WRONG_VERSION_NUMBER',
    want: 'tls',
  },
  {
    name: 'fetch https:// to a plain HTTP server (cause)',
    make: () => rejection(fetch(`https://127.0.0.1:${plainPort}/`)),
    want: 'tls',
  },
  {
    name: 'http check answered 503',
    make: () =>
      rejection(
        httpCheck(
          'h',
          `http://127.0.0.1:${unavailablePort}/readyz`,
          [[200, 399]],
          () => Promise.reject(new Error('no DNS')),
          'netready-test',
        ).attempt(AbortSignal.timeout(2000)),
      ),
    code: 'HTTP_503',
    want: 'http_503',
  },
  { name: 'c-ares NXDOMAIN', make: () => resolveA('nx.example.com'), code: 'ENOTFOUND', want: 'dns_nxdomain' },
  {
    name: 'c-ares NOERROR without answers',
    make: () => resolveA('nodata.example.com'),
    code: 'ENODATA',
    want: 'dns_nodata',
  },
  { name: 'c-ares SERVFAIL', make: () => resolveA('servfail.example.com'), code: 'ESERVFAIL', want: 'dns_servfail' },
  { name: 'c-ares REFUSED', make: () => resolveA('refused.example.com'), code: 'EREFUSED', want: 'dns_refused' },
  { name: 'c-ares FORMERR', make: () => resolveA('formerr.example.com'), code: 'EFORMERR', want: 'dns_error' },
  { name: 'c-ares NOTIMP', make: () => resolveA('notimp.example.com'), code: 'ENOTIMP', want: 'dns_error' },
  {
    name: 'c-ares, server never answers',
    make: () => resolveA('silent.example.com'),
    code: 'ETIMEOUT',
    want: 'timeout',
  },
  {
    name: 'c-ares, nothing listens on the DNS port',
    make: () => resolveA('kubernetes.default.svc.cluster.local', `127.0.0.1:${closedUdpPort}`),
    code: 'ECONNREFUSED',
    want: 'refused',
  },
];

for (const { name, make, code, want } of REAL) {
  test(`real error: ${name} -> ${want}`, async () => {
    const err = await make();
    if (code !== undefined)
      assert.equal((err as { code?: unknown }).code, code, `the real error's code (${String(err)})`);
    assert.equal(classifyError(err), want);
  });
}

const coded = (code: string, cause?: unknown) =>
  Object.assign(new Error(`${code} error`, cause === undefined ? {} : { cause }), { code });

const MADE: { name: string; err: unknown; want: string }[] = [
  { name: 'ETIMEDOUT', err: coded('ETIMEDOUT'), want: 'timeout' },
  { name: 'EHOSTUNREACH', err: coded('EHOSTUNREACH'), want: 'unreachable' },
  { name: 'ENETUNREACH', err: coded('ENETUNREACH'), want: 'unreachable' },
  { name: 'EADDRNOTAVAIL', err: coded('EADDRNOTAVAIL'), want: 'unreachable' },
  { name: 'EPIPE', err: coded('EPIPE'), want: 'reset' },
  { name: 'NO_DEFAULT_ROUTE', err: new CodedError('NO_DEFAULT_ROUTE', 'no default route'), want: 'no_default_route' },
  { name: 'NO_NAMESERVER', err: new CodedError('NO_NAMESERVER', 'no nameserver'), want: 'no_nameserver' },
  { name: 'HTTP_404', err: new CodedError('HTTP_404', 'HTTP status 404 is not accepted'), want: 'http_404' },
  { name: 'HTTP_5030 is not a status', err: new CodedError('HTTP_5030', 'x'), want: 'other' },
  { name: 'CERT_HAS_EXPIRED', err: coded('CERT_HAS_EXPIRED'), want: 'tls' },
  { name: 'DEPTH_ZERO_SELF_SIGNED_CERT', err: coded('DEPTH_ZERO_SELF_SIGNED_CERT'), want: 'tls' },
  { name: 'SELF_SIGNED_CERT_IN_CHAIN', err: coded('SELF_SIGNED_CERT_IN_CHAIN'), want: 'tls' },
  { name: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', err: coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), want: 'tls' },
  { name: 'ERR_TLS_CERT_ALTNAME_INVALID', err: coded('ERR_TLS_CERT_ALTNAME_INVALID'), want: 'tls' },
  {
    name: 'nested: fetch failed -> ETIMEDOUT',
    err: new TypeError('fetch failed', { cause: coded('ETIMEDOUT') }),
    want: 'timeout',
  },
  {
    name: 'nested: unknown outer code, known inner',
    err: coded('ABORT_ERR', coded('EHOSTUNREACH')),
    want: 'unreachable',
  },
  { name: 'nested: known outer code wins over inner', err: coded('ECONNRESET', coded('ECONNREFUSED')), want: 'reset' },
  {
    name: 'nested three deep',
    err: new Error('a', { cause: new Error('b', { cause: new Error('c', { cause: coded('ENOTFOUND') }) }) }),
    want: 'dns_nxdomain',
  },
  {
    name: 'cause cycle without a code',
    err: (() => {
      const e: Error = new Error('loop');
      e.cause = e;
      return e;
    })(),
    want: 'other',
  },
  { name: 'code that is not a string', err: Object.assign(new Error('x'), { code: 111 }), want: 'other' },
  { name: 'AbortSignal.abort() reason', err: AbortSignal.abort().reason, want: 'other' },
  { name: 'unknown code', err: coded('EACCES'), want: 'other' },
  { name: 'plain Error', err: new Error('boom'), want: 'other' },
  { name: 'a string', err: 'ECONNREFUSED', want: 'other' },
  { name: 'null', err: null, want: 'other' },
  { name: 'undefined', err: undefined, want: 'other' },
];

for (const { name, err, want } of MADE) {
  test(`made error: ${name} -> ${want}`, () => {
    assert.equal(classifyError(err), want);
  });
}

test('every class is a valid report error key (lower_snake_case, at most 40 characters)', () => {
  for (const { err } of MADE) assert.match(classifyError(err), /^[a-z][a-z0-9_]{0,39}$/);
});
