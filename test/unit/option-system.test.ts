// The one option system of the four programs: every duration is held to its
// table's maximum (a value above it is bad configuration naming the option),
// and the collector token is validated alike by the agent and the collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWaitConfig } from '../../src/agent/config.ts';
import { WAIT_OPTIONS } from '../../src/agent/options.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { COLLECTOR_OPTIONS } from '../../src/collector/options.ts';
import type { OptionDef } from '../../src/lib/cli-options.ts';
import { CodedError } from '../../src/lib/errors.ts';
import { parseToken } from '../../src/lib/token.ts';
import { parseWebhookConfig } from '../../src/webhook/config.ts';
import { WEBHOOK_OPTIONS } from '../../src/webhook/options.ts';

type Env = Record<string, string>;
const PROGRAMS: {
  name: string;
  table: Readonly<Record<string, OptionDef>>;
  parse: (argv: string[], env?: Env) => unknown;
}[] = [
  { name: 'wait', table: WAIT_OPTIONS, parse: (argv, env = {}) => parseWaitConfig(argv, env) },
  {
    name: 'collector',
    table: COLLECTOR_OPTIONS,
    parse: (argv, env = {}) => parseCollectorConfig(['--db', ':memory:', ...argv], env),
  },
  {
    name: 'webhook',
    table: WEBHOOK_OPTIONS,
    parse: (argv, env = {}) => parseWebhookConfig(['--image', 'registry.example/netready:1', ...argv], env),
  },
];

function configError(fn: () => unknown): CodedError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodedError && err.code === 'ERR_CONFIG', `expected ERR_CONFIG, got ${String(err)}`);
    return err;
  }
  assert.fail('did not throw');
}

for (const { name, table, parse } of PROGRAMS) {
  for (const [option, def] of Object.entries(table)) {
    if (def.value !== 'DURATION') continue;
    test(`${name} --${option}: its maximum is accepted, 1 ms more is bad configuration naming it (flag and variable)`, () => {
      assert.ok(def.max, `--${option} has a documented maximum`);
      parse([`--${option}`, def.max]);
      const above = `${def.max}1ms`;
      assert.match(
        configError(() => parse([`--${option}`, above])).message,
        new RegExp(`^--${option} "${above}": at most ${def.max}$`),
      );
      if (def.env)
        assert.match(
          configError(() => parse([], { [def.env!]: above })).message,
          new RegExp(`^${def.env} "${above}": at most ${def.max}$`),
        );
    });
  }
}

test("wait --timeout 600h (2^31 ms and more overflowed Node's timer, firing after 1 ms) is refused", () => {
  assert.match(
    configError(() => parseWaitConfig(['--timeout', '600h'], {})).message,
    /^--timeout "600h": at most 24h$/,
  );
  assert.equal(parseWaitConfig(['--timeout', '24h'], {}).timeoutMs, 86_400_000);
});

// One validator: what the agent may send is exactly what the collector accepts.
const TOKENS: { text: string; want: string | null }[] = [
  { text: 's3cr3t-token\n', want: 's3cr3t-token' },
  { text: '  padded\t\n', want: 'padded' },
  { text: 'two words\n', want: null },
  { text: 'line\nbreak', want: null },
  { text: '\n', want: null },
  { text: 'tökén', want: null },
  { text: 'x'.repeat(4096), want: 'x'.repeat(4096) },
  { text: 'x'.repeat(4097), want: null },
];

for (const { text, want } of TOKENS) {
  test(`token ${JSON.stringify(text.slice(0, 20))}: ${want === null ? 'refused' : 'accepted'} alike by agent and collector`, (t) => {
    assert.equal(parseToken(text), want);
    const dir = mkdtempSync(join(tmpdir(), 'netready-token-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'token');
    writeFileSync(file, text);
    const agent = () =>
      parseWaitConfig(['--collector', 'http://192.0.2.10:9470', '--collector-token-file', file], {}).collectorToken;
    const collector = () => parseCollectorConfig(['--db', ':memory:', '--token-file', file], {}).token;
    if (want === null) {
      assert.match(configError(agent).message, /^--collector-token-file "/);
      assert.match(configError(collector).message, /^--token-file "/);
    } else {
      assert.equal(agent(), want);
      assert.equal(collector(), want);
    }
  });
}
