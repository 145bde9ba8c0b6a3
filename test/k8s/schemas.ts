// Validates rendered objects: built-in kinds against the Kubernetes OpenAPI
// schemas (kubernetes-models' generated validators), custom resources
// (cert-manager, prometheus-operator) by hand for the fields those operators require.
// The generated validators check types, formats, enums and required fields, but
// not unknown fields: a misspelt optional field passes (the tests check the fields
// that matter by name).
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { K8sObject } from './kubectl.ts';

type Validator = (obj: K8sObject) => void;

/** A model's validate(), which throws listing every schema error. */
const model =
  (Model: new (data: any) => { validate(): void }): Validator =>
  (obj) =>
    new Model(obj).validate();

/** Every kind the manifests use, by `apiVersion kind`. A kind missing here fails the test: add it. */
const VALIDATORS: Record<string, Validator> = {
  'v1 Namespace': model(Namespace),
  'v1 ServiceAccount': model(ServiceAccount),
  'v1 Service': model(Service),
  'v1 Pod': model(Pod),
  'v1 Secret': model(Secret),
  'v1 ConfigMap': model(ConfigMap),
  'v1 PersistentVolumeClaim': model(PersistentVolumeClaim),
  'apps/v1 Deployment': model(Deployment),
  'policy/v1 PodDisruptionBudget': model(PodDisruptionBudget),
  'networking.k8s.io/v1 NetworkPolicy': model(NetworkPolicy),
  'admissionregistration.k8s.io/v1 MutatingWebhookConfiguration': model(MutatingWebhookConfiguration),
  'cert-manager.io/v1 Issuer': certManagerIssuer,
  'cert-manager.io/v1 Certificate': certManagerCertificate,
  'monitoring.coreos.com/v1 ServiceMonitor': serviceMonitor,
  'monitoring.coreos.com/v1 PrometheusRule': prometheusRule,
};

/** Throws naming the object and every problem found. */
export function validateObject(obj: K8sObject): void {
  const id = `${obj.kind}/${obj.metadata?.name}`;
  const validate = VALIDATORS[`${obj.apiVersion} ${obj.kind}`];
  if (!validate) throw new Error(`${id}: no schema for ${obj.apiVersion} ${obj.kind} in test/k8s/schemas.ts`);
  if (!isDnsSubdomain(obj.metadata?.name)) throw new Error(`${id}: metadata.name is not a DNS subdomain`);
  try {
    validate(obj);
  } catch (err) {
    throw new Error(`${id}: ${(err as Error).message}`);
  }
}

function isDnsSubdomain(name: unknown): boolean {
  return typeof name === 'string' && name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}

// cert-manager.io/v1, the fields its CRD requires and the ones a typo would silently break.
const ISSUER_TYPES = ['selfSigned', 'ca', 'acme', 'vault', 'venafi'];
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

function certManagerIssuer(obj: K8sObject): void {
  const spec = obj.spec as Record<string, any> | undefined;
  check(spec && typeof spec === 'object', 'spec is required');
  const types = Object.keys(spec!).filter((k) => ISSUER_TYPES.includes(k));
  check(
    types.length === 1,
    `spec must have exactly one of ${ISSUER_TYPES.join(', ')}; has ${types.join(', ') || 'none'}`,
  );
  if (types[0] === 'ca') check(typeof spec!.ca.secretName === 'string', 'spec.ca.secretName is required');
  check(obj.metadata.namespace !== undefined, 'an Issuer is namespaced: metadata.namespace is required');
}

function certManagerCertificate(obj: K8sObject): void {
  const spec = obj.spec as Record<string, any> | undefined;
  check(spec && typeof spec === 'object', 'spec is required');
  check(
    typeof spec!.secretName === 'string' && isDnsSubdomain(spec!.secretName),
    'spec.secretName is required and must be a Secret name',
  );
  check(typeof spec!.issuerRef?.name === 'string', 'spec.issuerRef.name is required');
  check(
    ['Issuer', 'ClusterIssuer', undefined].includes(spec!.issuerRef.kind),
    'spec.issuerRef.kind must be Issuer or ClusterIssuer',
  );
  const names = [
    spec!.commonName,
    ...(spec!.dnsNames ?? []),
    ...(spec!.ipAddresses ?? []),
    ...(spec!.uris ?? []),
  ].filter(Boolean);
  check(names.length > 0, 'one of commonName, dnsNames, ipAddresses or uris is required');
  for (const field of ['duration', 'renewBefore']) {
    if (spec![field] !== undefined)
      check(GO_DURATION.test(spec![field]), `spec.${field} must be a Go duration such as 2160h`);
  }
  const key = spec!.privateKey;
  if (key) {
    check(
      ['RSA', 'ECDSA', 'Ed25519', undefined].includes(key.algorithm),
      'spec.privateKey.algorithm must be RSA, ECDSA or Ed25519',
    );
    check(
      ['Never', 'Always', undefined].includes(key.rotationPolicy),
      'spec.privateKey.rotationPolicy must be Never or Always',
    );
  }
  check(obj.metadata.namespace !== undefined, 'a Certificate is namespaced: metadata.namespace is required');
}

// monitoring.coreos.com/v1: spec.selector and at least one endpoint naming a port.
function serviceMonitor(obj: K8sObject): void {
  const spec = obj.spec as Record<string, any> | undefined;
  check(spec && typeof spec.selector === 'object', 'spec.selector is required');
  check(Array.isArray(spec!.endpoints) && spec!.endpoints.length > 0, 'spec.endpoints must list at least one endpoint');
  for (const ep of spec!.endpoints)
    check(
      typeof ep.port === 'string' || ep.targetPort !== undefined,
      'every endpoint needs port (a Service port name) or targetPort',
    );
}

// monitoring.coreos.com/v1: named groups of rules, each an alert or a record with an expression
// (promtool checks the expressions themselves: alerts.test.ts).
function prometheusRule(obj: K8sObject): void {
  const groups = (obj.spec as { groups?: unknown } | undefined)?.groups;
  check(Array.isArray(groups) && groups.length > 0, 'spec.groups must list at least one group');
  for (const g of groups as Array<Record<string, any>>) {
    check(typeof g.name === 'string' && g.name !== '', 'every group needs a name');
    check(Array.isArray(g.rules) && g.rules.length > 0, `group ${g.name}: rules must list at least one rule`);
    for (const r of g.rules) {
      check(
        typeof r.alert === 'string' || typeof r.record === 'string',
        `group ${g.name}: every rule needs alert or record`,
      );
      check(typeof r.expr === 'string' && r.expr.trim() !== '', `${r.alert ?? r.record}: expr is required`);
      if (r.for !== undefined)
        check(/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(r.for), `${r.alert}: for must be a Prometheus duration`);
    }
  }
}

function check(ok: unknown, message: string): void {
  if (!ok) throw new Error(message);
}
