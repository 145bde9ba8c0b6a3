// What each overlay and component adds to the base, checked as it will be used:
// certificates that chain and name the webhook Service, a caBundle from
// `netready certs`, a PersistentVolumeClaim in place of the emptyDir, the
// store in PostgreSQL for two replicas, a ServiceMonitor and NetworkPolicies that reach the ports the programs serve,
// and one `images:` entry that sets every image.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { kustomize, parseYaml, type K8sObject } from './kubectl.ts';
import { find, NAMESPACE, Workspace } from './render.ts';
import { validateObject } from './schemas.ts';
import { selects, type LabelSelector } from './selectors.ts';
import { argValue, container } from './wiring.ts';
import { run } from '../helpers/agent.ts';

/** The Secret the webhook Deployment mounts at /tls. */
function mountedTlsSecret(objects: readonly K8sObject[]): string {
  const d = find<IDeployment>(objects, 'Deployment', 'netready-webhook');
  const mount = container(d, 'webhook').volumeMounts!.find((m) => m.mountPath === '/tls')!;
  return d.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!.secret!.secretName!;
}

const WEBHOOK_DNS_NAME = `netready-webhook.${NAMESPACE}.svc`; // what the API server dials for clientConfig.service

describe('k8s overlays and components', { timeout: 120_000 }, () => {
  let ws: Workspace;
  before(async () => {
    ws = await Workspace.create();
  });
  after(() => ws?.remove());

  describe('overlays/cert-manager', () => {
    const objects = () => ws.render('overlays/cert-manager');
    const spec = (kind: string, name: string) => find(objects(), kind, name).spec as Record<string, any>;

    test('a private CA (self-signed Issuer -> CA Certificate -> CA Issuer) signs the serving certificate the webhook mounts', () => {
      const serving = spec('Certificate', 'netready-webhook');
      assert.equal(serving.secretName, mountedTlsSecret(objects()));
      assert.ok(serving.dnsNames.includes(WEBHOOK_DNS_NAME), `dnsNames include ${WEBHOOK_DNS_NAME}`);
      assert.ok(serving.dnsNames.includes(`${WEBHOOK_DNS_NAME}.cluster.local`));
      assert.ok(serving.usages.includes('server auth'));
      const caIssuer = spec(serving.issuerRef.kind, serving.issuerRef.name);
      const ca = find(objects(), 'Certificate', 'netready-ca').spec as Record<string, any>;
      assert.equal(caIssuer.ca.secretName, ca.secretName);
      assert.equal(ca.isCA, true);
      assert.deepEqual(spec(ca.issuerRef.kind, ca.issuerRef.name), { selfSigned: {} });
    });

    test('cainjector fills the caBundle from that certificate', () => {
      const mwc = find<IMutatingWebhookConfiguration>(objects(), 'MutatingWebhookConfiguration', 'netready');
      const [namespace, name] = mwc.metadata!.annotations!['cert-manager.io/inject-ca-from']!.split('/');
      const cert = find(objects(), 'Certificate', name!);
      assert.equal(cert.metadata.namespace, namespace);
      assert.equal((cert.spec as { secretName: string }).secretName, mountedTlsSecret(objects()));
    });
  });

  describe('overlays/self-signed', () => {
    test('without ca-bundle.env the build fails, naming the file', () => {
      // A copy beside the prepared one, as a fresh checkout has it.
      const dir = join(ws.dir, 'k8s/overlays/self-signed-unprepared');
      cpSync(join(ws.dir, 'k8s/overlays/self-signed'), dir, { recursive: true });
      rmSync(join(dir, 'ca-bundle.env'));
      assert.throws(() => kustomize(dir), /ca-bundle\.env/);
    });

    test('every webhook entry trusts the CA from `netready certs`; nothing else is added to the base', () => {
      const objects = ws.render('overlays/self-signed');
      const caBundle = readFileSync(join(ws.certsDir, 'ca-bundle.txt'), 'utf8').trim();
      const mwc = find<IMutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration', 'netready');
      for (const w of mwc.webhooks!) assert.equal(w.clientConfig.caBundle, caBundle, w.name);
      assert.equal(new X509Certificate(Buffer.from(caBundle, 'base64')).ca, true);
      const kinds = (list: readonly K8sObject[]) => list.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      assert.deepEqual(kinds(objects), kinds(ws.render('base')), 'the build-time ConfigMap stays out of the output');
    });

    test('the Secret `netready certs` prints is the one the webhook mounts, for the Service the API server calls, signed by that CA', () => {
      const [secret, ...rest] = parseYaml({ file: join(ws.certsDir, 'secret.yaml') }) as Array<ISecret & K8sObject>;
      assert.equal(rest.length, 0);
      validateObject(secret!);
      assert.equal(secret!.metadata.name, mountedTlsSecret(ws.render('overlays/self-signed')));
      assert.equal(secret!.metadata.namespace, NAMESPACE);
      assert.equal(secret!.type, 'kubernetes.io/tls');
      const cert = new X509Certificate(Buffer.from(secret!.data!['tls.crt']!, 'base64'));
      assert.ok(cert.subjectAltName?.split(', ').includes(`DNS:${WEBHOOK_DNS_NAME}`), cert.subjectAltName);
      const ca = new X509Certificate(readFileSync(join(ws.certsDir, 'ca.crt')));
      assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the caBundle CA');
    });
  });

  test('components/collector-pvc: the store on a PersistentVolumeClaim, replaced (not rolled) on update', () => {
    const objects = ws.render('components/collector-pvc');
    const d = find<IDeployment>(objects, 'Deployment', 'netready-collector');
    const mount = container(d, 'collector').volumeMounts!.find((m) => m.mountPath === '/var/lib/netready')!;
    const volume = d.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
    assert.deepEqual(Object.keys(volume).sort(), ['name', 'persistentVolumeClaim'], 'the emptyDir is gone');
    const pvc = find(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim!.claimName);
    assert.deepEqual((pvc.spec as { accessModes: string[] }).accessModes, ['ReadWriteOnce']);
    assert.equal(d.spec!.strategy?.type, 'Recreate');
    assert.equal(d.spec!.template.spec!.securityContext?.fsGroup, 65532, 'the volume is writable by the collector');
  });

  test('components/collector-postgres: two replicas on the URL and password from the Secret, a PodDisruptionBudget, no data volume', async (t) => {
    const objects = ws.render('components/collector-postgres');
    const d = find<IDeployment>(objects, 'Deployment', 'netready-collector');
    assert.equal(d.spec!.replicas, 2);
    const c = container(d, 'collector');
    assert.deepEqual(c.env, [
      { name: 'NETREADY_COLLECTOR_DB', valueFrom: { secretKeyRef: { name: 'netready-collector-db', key: 'url' } } },
    ]);
    const file = argValue(c.args!, '--db-password-file')!;
    const mount = c.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`))!;
    const volume = d.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
    assert.equal(volume.secret?.secretName, 'netready-collector-db');
    assert.deepEqual(volume.secret?.items, [{ key: 'password', path: file.slice(mount.mountPath.length + 1) }]);
    assert.equal(argValue(c.args!, '--data-dir'), undefined);
    assert.equal(
      c.volumeMounts!.some((m) => m.mountPath === '/var/lib/netready'),
      false,
      'no store volume',
    );
    const pdb = find(objects, 'PodDisruptionBudget', 'netready-collector').spec as {
      minAvailable: number;
      selector: LabelSelector;
    };
    assert.ok(selects(pdb.selector, d.spec!.template.metadata!.labels!), 'the budget covers the collector pods');
    assert.ok(
      pdb.minAvailable >= 1 && pdb.minAvailable < d.spec!.replicas!,
      'a drain may take one replica, never both',
    );

    // The command line as the kubelet runs it, with what it reads from the Secret.
    const dir = mkdtempSync(join(tmpdir(), 'netready-pg-component-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'password'), 'sample\n');
    const args = c.args!.map((a) => (a === file ? join(dir, 'password') : a));
    const r = await run([...args, '--dry-run'], {
      env: { NETREADY_COLLECTOR_DB: 'postgres://netready@db.example:5432/netready' },
    });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout);
    assert.equal(config.db, 'postgres://netready@db.example:5432/netready');
    assert.equal(config.dbPassword, '(redacted)');
  });

  test('components/servicemonitor: scrapes /metrics from the collector Service', () => {
    const objects = ws.render('components/servicemonitor');
    const sm = find(objects, 'ServiceMonitor', 'netready-collector').spec as Record<string, any>;
    const service = find<IService>(objects, 'Service', 'netready-collector');
    assert.ok(selects(sm.selector, service.metadata!.labels ?? {}), 'the selector matches the Service labels');
    assert.ok(sm.namespaceSelector.matchNames.includes(service.metadata!.namespace));
    const [endpoint] = sm.endpoints;
    assert.ok(
      service.spec!.ports!.some((p) => p.name === endpoint.port),
      `the Service has a port named ${endpoint.port}`,
    );
    assert.equal(endpoint.path, '/metrics');
  });

  test('components/networkpolicy: pods of every namespace reach the collector on 9470; anyone reaches the webhook on 9443, nothing else', () => {
    const objects = ws.render('components/networkpolicy');
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as Array<INetworkPolicy & K8sObject>;
    const policyFor = (deployment: string) => {
      const labels = find<IDeployment>(objects, 'Deployment', deployment).spec!.template.metadata!.labels!;
      const found = policies.filter((p) => selects(p.spec!.podSelector, labels));
      assert.equal(found.length, 1, `one NetworkPolicy selects ${deployment}`);
      return found[0]!.spec!;
    };
    const port = (deployment: string, name: string) =>
      container(find<IDeployment>(objects, 'Deployment', deployment), name).ports![0]!.containerPort;

    const collector = policyFor('netready-collector');
    assert.deepEqual(collector.policyTypes, ['Ingress']);
    assert.deepEqual(collector.ingress, [
      {
        from: [{ namespaceSelector: {} }],
        ports: [{ protocol: 'TCP', port: port('netready-collector', 'collector') }],
      },
    ]);
    const webhook = policyFor('netready-webhook');
    assert.deepEqual(webhook.policyTypes, ['Ingress']);
    assert.deepEqual(webhook.ingress, [{ ports: [{ protocol: 'TCP', port: port('netready-webhook', 'webhook') }] }]);
  });

  test("images: one entry in a user's overlay sets the image of both programs and of the agent the webhook injects", () => {
    const dir = ws.userKustomization('custom-image', [
      'resources:',
      '  - ../../k8s/overlays/cert-manager',
      'images:',
      '  - name: netready',
      '    newName: registry.example/platform/netready',
      '    newTag: 9.9.9',
    ]);
    const objects = parseYaml({ yaml: kustomize(dir) });
    const want = 'registry.example/platform/netready:9.9.9';
    for (const name of ['netready-collector', 'netready-webhook']) {
      const d = find<IDeployment>(objects, 'Deployment', name);
      for (const c of d.spec!.template.spec!.containers) assert.equal(c.image, want, `${name} ${c.name}`);
    }
    const webhook = find<IDeployment>(objects, 'Deployment', 'netready-webhook');
    assert.equal(webhook.spec!.template.metadata!.annotations!['netready.io/agent-image'], want);
  });
});
