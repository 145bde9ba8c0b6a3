// The option fields of wait and watch (config.ts Field): a value equal to an option's default
// is not validated, it takes the field's fallback. These hold every fallback equal to what the
// field's own schema makes of that default, so the two cannot drift apart; and check that a
// value given (even one the schema would turn into the fallback) is still validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Fields, parseWaitConfig, WAIT_FIELDS } from '../../src/agent/config.ts';
import { WATCH_FIELDS } from '../../src/agent/watch-config.ts';
import { WAIT_OPTIONS } from '../../src/agent/options.ts';
import { WATCH_OPTIONS } from '../../src/agent/watch-options.ts';
import type { OptionDef } from '../../src/lib/cli-options.ts';
import { CodedError } from '../../src/lib/errors.ts';

/** What resolveOptions gives an option that is neither flagged nor in the environment; identity fields get "". */
function rawDefault(def: OptionDef | undefined): unknown {
  if (def === undefined) return '';
  if (def.type === 'boolean') return false;
  if (def.multiple) return [];
  return def.default;
}

for (const [program, fields, table] of [
  ['wait', WAIT_FIELDS, WAIT_OPTIONS],
  ['watch', WATCH_FIELDS, WATCH_OPTIONS],
] as [string, Fields, Record<string, OptionDef>][]) {
  test(`${program}: every field's fallback is its schema's output for the option's default`, () => {
    for (const [key, f] of Object.entries(fields)) {
      const r = f.schema().safeParse(rawDefault(table[key]));
      assert.ok(r.success, `${key}: the default does not pass its own schema`);
      assert.deepEqual(f.fallback, r.data, key);
    }
  });

  test(`${program}: every option of the table but --help has a field`, () => {
    assert.deepEqual(
      Object.keys(table)
        .filter((k) => k !== 'help')
        .sort(),
      Object.keys(fields)
        .filter((k) => k in table)
        .sort(),
    );
  });
}

test('a value given is validated even where the default is not', () => {
  for (const [argv, env, message] of [
    [['--interval', '0'], {}, /--interval "0": at least 1 ms/],
    [[], { NETREADY_ADMITTED_AT: 'yesterday' }, /NETREADY_ADMITTED_AT "yesterday": expected an RFC 3339 time/],
    [[], { NETREADY_POD_IPS: '10.0.0.300' }, /NETREADY_POD_IPS "10.0.0.300": "10.0.0.300" is not an IP address/],
    [[], { NETREADY_TIMEOUT: '' }, /NETREADY_TIMEOUT "": expected a duration/],
  ] as [string[], Record<string, string>, RegExp][]) {
    assert.throws(
      () => parseWaitConfig(argv, env),
      (err: unknown) => err instanceof CodedError && err.code === 'ERR_CONFIG' && message.test(err.message),
      JSON.stringify([argv, env]),
    );
  }
});
