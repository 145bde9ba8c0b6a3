// The chart's alerts in a real Prometheus (Debian's `prometheus`) that scrapes a real collector and
// a real webhook on loopback the way the chart's ServiceMonitors say: the webhook over HTTPS,
// verified with ca.crt of the chart's own Secret for the ServiceMonitor's serverName. Every rule
// evaluates without error; with both programs up, "down" is inactive; a killed webhook makes
// NetreadyWebhookDown pending (it fires only after its `for`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { send, startCollector } from '../collector/helpers.ts';
import { which } from '../e2e/testbed-host.ts';
import { kill, query, startPrometheus, until } from '../helpers/prometheus.ts';
import { startWebhook } from '../webhook/process.ts';
import { renderChart } from './helm.ts';
import { find } from './render.ts';

const PROMETHEUS = which('prometheus');
const MISSING = 'the Prometheus server is not installed (Debian package prometheus; sudo npm test installs it)';
const NAMESPACE = 'netready-system';

interface Endpoint {
  path: string;
  scheme: string;
  tlsConfig: { ca: { secret: { name: string; key: string } }; serverName: string };
}
interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  state?: string;
  type: string;
}

test(
  "a real Prometheus scrapes the webhook as the chart's ServiceMonitor says and evaluates the chart's rules",
  { timeout: 60_000 },
  async (t) => {
    assert.ok(PROMETHEUS, MISSING);
    const dir = mkdtempSync(join(tmpdir(), 'netready-alerts-prom-'));
    const spawned: ChildProcess[] = [];
    t.after(async () => {
      await Promise.all(spawned.map(kill));
      rmSync(dir, { recursive: true, force: true });
    });

    const objects = renderChart({ serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } }, NAMESPACE);
    const rule = find(objects, 'PrometheusRule', 'netready');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(rule.spec));
    const [endpoint] = (find(objects, 'ServiceMonitor', 'netready-webhook').spec as { endpoints: Endpoint[] })
      .endpoints;
    // The files the webhook pod mounts, and the CA Prometheus is given: all from the chart's Secret.
    const secret = find<ISecret>(objects, 'Secret', endpoint!.tlsConfig.ca.secret.name);
    for (const key of ['tls.crt', 'tls.key', endpoint!.tlsConfig.ca.secret.key]) {
      writeFileSync(join(dir, key), Buffer.from(secret.data![key]!, 'base64'));
    }

    const collector = await startCollector(t, ['--db', join(dir, 'r.db')]);
    const webhook = await startWebhook(t, ['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')]);
    const prom = await startPrometheus(PROMETHEUS!, dir, `127.0.0.1:${collector.port}`, spawned, {
      collectorLabels: { namespace: NAMESPACE },
      ruleFiles: [join(dir, 'rules.json')],
      scrapeConfigs: [
        {
          job_name: 'netready-webhook',
          scheme: endpoint!.scheme,
          metrics_path: endpoint!.path,
          tls_config: {
            ca_file: join(dir, endpoint!.tlsConfig.ca.secret.key),
            server_name: endpoint!.tlsConfig.serverName,
          },
          static_configs: [{ targets: [`127.0.0.1:${webhook.port}`], labels: { namespace: NAMESPACE } }],
        },
      ],
    });

    const up = async (job: string) => (await query(prom.url, `up{job="${job}"}`))[0]?.value[1];
    await until(
      t,
      'Prometheus scrapes the collector and, over verified TLS, the webhook',
      15_000,
      async () => (await up('netready-collector')) === '1' && (await up('netready-webhook')) === '1',
    );

    const rules = async (): Promise<RuleState[]> => {
      const body = (await send(prom.url, { path: '/api/v1/rules' })).json();
      return body.data.groups.flatMap((g: { rules: RuleState[] }) => g.rules);
    };
    const stateOf = async (name: string) => (await rules()).find((r) => r.name === name)?.state;
    // Evaluated after both targets were up: the "down" alerts (pending while nothing was scraped yet) are inactive.
    await until(
      t,
      'NetreadyCollectorDown and NetreadyWebhookDown inactive',
      10_000,
      async () =>
        (await stateOf('NetreadyCollectorDown')) === 'inactive' &&
        (await stateOf('NetreadyWebhookDown')) === 'inactive',
    );
    const all = await rules();
    assert.equal(all.length, (rule.spec as { groups: Array<{ rules: unknown[] }> }).groups[0]!.rules.length);
    for (const r of all) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    for (const r of all) assert.equal(r.state, 'inactive', `${r.name} with two healthy programs and no traffic`);

    webhook.child.kill('SIGKILL');
    await until(
      t,
      'NetreadyWebhookDown pending once the webhook is gone',
      15_000,
      async () => (await stateOf('NetreadyWebhookDown')) === 'pending',
    );
    assert.equal(await stateOf('NetreadyCollectorDown'), 'inactive');
  },
);
