// A real Prometheus server on loopback for tests: start it scraping one
// target every second, query it, poll until a condition holds, stop it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from '../collector/helpers.ts';
import { freePort } from './servers.ts';

/** One sample of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

const SCRAPE_INTERVAL = '1s';

/** More for the Prometheus under test: labels on the collector target, other scrape jobs, rule files. */
export interface PrometheusOptions {
  readonly collectorLabels?: Readonly<Record<string, string>>;
  /** Prometheus `scrape_configs` entries, as objects. */
  readonly scrapeConfigs?: readonly object[];
  readonly ruleFiles?: readonly string[];
}

/**
 * Starts Prometheus on a free loopback port with a 1 s scrape of `target`'s
 * /metrics (job netready-collector); resolves once it is ready. Each process is
 * pushed to `spawned` at once, for the caller's teardown to kill.
 */
export async function startPrometheus(
  bin: string,
  dir: string,
  target: string,
  spawned: ChildProcess[],
  options: PrometheusOptions = {},
): Promise<{ url: string }> {
  const config = join(dir, 'prometheus.yml');
  // JSON is YAML: the configuration as an object.
  const collectorJob = {
    job_name: 'netready-collector',
    metrics_path: '/metrics',
    static_configs: [{ targets: [target], labels: options.collectorLabels ?? {} }],
  };
  writeFileSync(
    config,
    JSON.stringify({
      global: {
        scrape_interval: SCRAPE_INTERVAL,
        scrape_timeout: SCRAPE_INTERVAL,
        evaluation_interval: SCRAPE_INTERVAL,
      },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [collectorJob, ...(options.scrapeConfigs ?? [])],
    }),
  );
  // No --web.listen-address=…:0 in Prometheus: a free port, taken again if another process got it first.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      bin,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    spawned.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && Date.now() < deadline) {
      const ready = await send(url, { path: '/-/ready' }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return { url };
      await sleep(100);
    }
    await kill(child);
    if (attempt < 3 && /address already in use/.test(stderr)) continue;
    throw new Error(`prometheus did not become ready on ${url} within 10 s; stderr: ${stderr}`);
  }
}

/** An instant query of Prometheus's HTTP API; the vector's samples. */
export async function query(url: string, promql: string): Promise<PromSample[]> {
  const res = await send(url, { path: `/api/v1/query?query=${encodeURIComponent(promql)}` });
  const body = res.json();
  if (res.status !== 200 || body.status !== 'success') throw new Error(`query ${promql}: ${res.status} ${res.text}`);
  return body.data.result as PromSample[];
}

/** Polls `check` every 200 ms until it returns true; fails naming `what` after `ms`. */
export async function until(t: TestContext, what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(200);
  }
  t.diagnostic(`${what}: after ${Date.now() - started} ms`);
}

/** SIGKILL and wait for the exit (at most 5 s). */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  // An unref'd timer: it must not hold the test process open once the child is gone.
  await Promise.race([exited, sleep(5_000, undefined, { ref: false })]);
}
