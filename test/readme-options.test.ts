// The README's option tables stay complete: every option of every program has a
// row in its program's section, with its environment variable and, for a
// duration, its documented maximum. The tables in the code are the truth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { OptionDef } from '../src/lib/cli-options.ts';
import { IDENTITY_ENV, WAIT_OPTIONS } from '../src/agent/options.ts';
import { COLLECTOR_OPTIONS } from '../src/collector/options.ts';
import { WATCH_OPTIONS } from '../src/agent/watch-options.ts';
import { WEBHOOK_OPTIONS } from '../src/webhook/options.ts';
import { CERTS_OPTIONS } from '../src/webhook/certs-main.ts';
import { ROOT } from './helpers/agent.ts';

const README = readFileSync(`${ROOT}README.md`, 'utf8');

/** The README's text from `heading` to the next level-2 heading. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has a section ${heading}`);
  const end = README.indexOf('\n## ', start + heading.length + 2);
  return README.slice(start, end < 0 ? undefined : end);
}

const PROGRAMS: { heading: string; table: Readonly<Record<string, OptionDef>> }[] = [
  { heading: '## `netready wait`', table: WAIT_OPTIONS },
  { heading: '## `netready watch`', table: WATCH_OPTIONS },
  { heading: '## `netready collector`', table: COLLECTOR_OPTIONS },
  { heading: '## `netready webhook`', table: WEBHOOK_OPTIONS },
  { heading: '### `netready certs`', table: CERTS_OPTIONS },
];

for (const { heading, table } of PROGRAMS) {
  test(`README ${heading}: a table row for every option, with its variable and maximum`, () => {
    const rows = section(heading)
      .split('\n')
      .filter((l) => l.startsWith('| `--'));
    for (const [name, def] of Object.entries(table)) {
      if (name === 'help') continue;
      const row = rows.find((r) => new RegExp(`\`--${name}[ \`]`).test(r.split(' | ')[0]!));
      assert.ok(row, `${heading} has a row for --${name}`);
      if (def.env) assert.ok(row.includes(`\`${def.env}\``), `the --${name} row names ${def.env}`);
      if (def.max) assert.ok(row.includes(`at most \`${def.max}\``), `the --${name} row says "at most \`${def.max}\`"`);
    }
  });
}

test("README: the agent's downward-API variables", () => {
  for (const env of Object.values(IDENTITY_ENV))
    assert.ok(section('## `netready wait`').includes(env), `README mentions ${env}`);
});

test('every duration option of every program has a documented maximum', () => {
  for (const { heading, table } of PROGRAMS) {
    for (const [name, def] of Object.entries(table)) {
      if (def.value === 'DURATION') assert.ok(def.max, `${heading} --${name} has a max`);
    }
  }
});
