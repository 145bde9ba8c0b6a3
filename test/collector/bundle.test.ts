// The collector from the bundle the image runs: built, copied alone (no
// node_modules), it starts, takes the bundled agent's report and serves
// metrics that pass promtool; it stores into PostgreSQL too (node-postgres
// bundled); and `wait` loads none of its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { run, ROOT } from '../helpers/agent.ts';
import { startTcpListener } from '../helpers/servers.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { makeReport, postReport, promtoolCheck, samples, send, startCollector, tempDir } from './helpers.ts';

/** Strings found only in collector code: its metric names, its store, zod's JSON-schema code that full zod brings. */
const COLLECTOR_MARKERS = ['netready_ready_delay_seconds', 'node:sqlite', 'collector listening', 'draft-2020-12'];

/** Records every module URL Node loads, into the file named by $LOADED_LOG. */
const RECORD_LOADS = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { appendFileSync(process.env.LOADED_LOG, url + '\\n'); return next(url, context); } });
`)}`;

test("the bundled collector runs alone and takes the bundled agent's report; wait loads no collector code", async (t) => {
  const dir = tempDir(t, 'netready-collector-bundle-');
  execFileSync(process.execPath, ['scripts/build.ts', join(dir, 'build')], { cwd: ROOT, stdio: 'pipe' });
  const app = join(dir, 'alone', 'app');
  cpSync(join(dir, 'build'), app, { recursive: true });
  const argv0 = [process.execPath, join(app, 'netready.mjs')];
  const target = await startTcpListener();
  t.after(() => target.close());

  const c = await startCollector(t, ['--db', join(dir, 'reports.db')], { argv0 });
  const log = join(dir, 'loaded.log');
  const wait = await run(
    ['wait', '--check', `tcp://127.0.0.1:${target.port}`, '--collector', c.url, '--termination-log', ''],
    {
      argv0: [process.execPath, '--import', RECORD_LOADS, join(app, 'netready.mjs')],
      env: {
        NETREADY_NODE_NAME: 'bundle-node',
        NETREADY_POD_UID: 'b0b0b0b0-0000-4000-8000-000000000001',
        LOADED_LOG: log,
      },
    },
  );
  assert.equal(wait.code, 0, wait.stderr);
  assert.ok(
    wait.logs.some((l) => l.msg === 'report delivered'),
    wait.stdout,
  );

  const text = (await send(c.url, { path: '/metrics' })).text;
  assert.deepEqual(samples(text, 'netready_ready_delay_seconds_count'), [
    { labels: { node: 'bundle-node', outcome: 'ready' }, value: 1 },
  ]);
  const lint = promtoolCheck(text);
  assert.equal(lint.output, '', lint.output);

  const onPg = await startCollector(t, ['--db', await freshDatabase()], { argv0 });
  assert.equal((await postReport(onPg.url, makeReport(1))).status, 202);
  assert.equal((await send(onPg.url, { path: '/v1/reports' })).json().reports.length, 1);

  const loaded = readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'));
  assert.ok(
    loaded.some((u) => u.endsWith('/netready.mjs')),
    loaded.join('\n'),
  );
  assert.equal(
    loaded.some((u) => u.endsWith('/collector.mjs')),
    false,
    `wait loaded ${loaded.join(', ')}`,
  );
  for (const url of loaded) {
    const code = readFileSync(new URL(url), 'utf8');
    for (const marker of COLLECTOR_MARKERS)
      assert.equal(code.includes(marker), false, `${url} carries collector code (${marker})`);
  }
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0);
});
