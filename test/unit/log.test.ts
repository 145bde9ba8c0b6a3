// The logger of every program (pino): the line format operators and tests parse,
// errors with stack and cause, secrets redacted, and no value that can throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, LOG_DEPTH_LIMIT, LOG_EDGE_LIMIT, type Level } from '../../src/lib/log.ts';
import { CodedError } from '../../src/lib/errors.ts';

function capture(level: Level = 'debug') {
  const lines: string[] = [];
  const log = createLogger('netready-test', level, (line) => lines.push(line));
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l)) };
}

test('one JSON object per line: level label, ISO time, name, msg and the fields', () => {
  const { log, lines, entries } = capture();
  log.info({ node: 'node-a', delaySeconds: 1.25 }, 'network ready');
  log.warn('plain message');
  assert.ok(lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')));
  const [a, b] = entries();
  assert.deepEqual(Object.keys(a).sort(), ['delaySeconds', 'level', 'msg', 'name', 'node', 'time']);
  assert.deepEqual(
    { ...a, time: undefined },
    { level: 'info', time: undefined, name: 'netready-test', msg: 'network ready', node: 'node-a', delaySeconds: 1.25 },
  );
  assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual({ level: b.level, msg: b.msg }, { level: 'warn', msg: 'plain message' });
});

test('lines below the level are dropped', () => {
  const { log, entries } = capture('warn');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  assert.deepEqual(
    entries().map((e) => e.level),
    ['warn', 'error'],
  );
});

test('errors under err or error keep type, message, stack, code and cause', () => {
  const { log, entries } = capture();
  const cause = Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:9470'), { code: 'ECONNREFUSED' });
  log.error({ err: new CodedError('ERR_STORE', 'cannot open the store', { cause }) }, 'failed');
  log.warn({ error: new TypeError('bad') }, 'also');
  const [a, b] = entries();
  assert.equal(a.err.type, 'CodedError');
  assert.equal(a.err.message, 'cannot open the store');
  assert.equal(a.err.code, 'ERR_STORE');
  assert.match(a.err.stack, /^CodedError: cannot open the store\n\s+at /);
  assert.equal(a.err.cause.message, 'connect ECONNREFUSED 192.0.2.1:9470');
  assert.equal(a.err.cause.code, 'ECONNREFUSED');
  assert.match(a.err.cause.stack, /^Error: connect ECONNREFUSED/);
  assert.deepEqual([b.error.type, b.error.message], ['TypeError', 'bad']);
});

test('a bearer token is redacted by pino wherever it is logged under its name; `token: true` stays', () => {
  const { log, lines, entries } = capture();
  log.info(
    {
      token: 's3cr3t-token',
      config: { collectorToken: 's3cr3t-token', token: 's3cr3t-token' },
      headers: { authorization: 'Bearer s3cr3t-token' },
    },
    'x',
  );
  log.info({ token: true }, 'collector listening');
  assert.ok(!lines.join('').includes('s3cr3t'), lines.join(''));
  const [a, b] = entries();
  assert.deepEqual(
    [a.token, a.config.collectorToken, a.config.token, a.headers.authorization],
    ['[redacted]', '[redacted]', '[redacted]', '[redacted]'],
  );
  assert.equal(b.token, true);
});

test('no value makes a log call throw: deep nesting, huge breadth, cycles, bigint, a cause chain deeper than the stack', () => {
  const { log, lines, entries } = capture();
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  let nested: unknown = 'x';
  for (let i = 0; i < 20; i++) nested = { a: nested };
  const cyclic: Record<string, unknown> = { name: 'pod' };
  cyclic.self = cyclic;
  let chain = new Error('root');
  for (let i = 0; i < 100_000; i++) chain = new Error(`level ${i}`, { cause: chain });
  log.warn({ deep }, 'deep');
  log.warn({ nested, wide: Array.from({ length: 10_000 }, (_, i) => i) }, 'bounded');
  log.warn({ cyclic, n: 10n }, 'cyclic');
  log.error({ err: chain }, 'chain');
  assert.equal(lines.length, 4);
  const [d, b, c, e] = entries();
  assert.equal(d.msg, 'deep');
  assert.ok(JSON.stringify(d.deep).length < 100, 'cut at the depth limit');
  // Bounded even where JSON.stringify would have coped: depth and breadth.
  let depth = 0;
  for (let v = b.nested; typeof v === 'object'; v = v.a) depth++;
  assert.ok(depth <= LOG_DEPTH_LIMIT, `nested ${depth} deep`);
  assert.equal(b.wide.length, LOG_EDGE_LIMIT + 1, 'the first items and a note of how many were left out');
  assert.equal(c.cyclic.self, '[Circular]');
  assert.equal(c.n, 10);
  assert.equal(e.msg, 'chain', 'the message goes out even when the fields cannot');
  assert.equal(typeof e.logFieldsDropped, 'string');
});

test('a writer that throws does not reach the caller', () => {
  const log = createLogger('netready-test', 'info', () => {
    throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  });
  log.info('x');
  log.error({ err: new Error('y') }, 'z');
});
