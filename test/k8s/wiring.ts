// How rendered objects point at each other: a Service's selector at a
// Deployment's pods, a Service port's targetPort at a container port, a flag
// in a container's args.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { K8sObject } from './kubectl.ts';
import { selects } from './selectors.ts';

/** The Deployment's container named `name`. */
export function container(deployment: IDeployment, name: string): IContainer {
  const c = deployment.spec?.template.spec?.containers.find((x) => x.name === name);
  if (!c) throw new Error(`Deployment ${deployment.metadata?.name} has no container ${name}`);
  return c;
}

/** The value of `--flag VALUE` or `--flag=VALUE` in args, or undefined. */
export function argValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i]!.startsWith(`${flag}=`)) return args[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** The one Deployment in the Service's namespace whose pods the Service selects. */
export function servedBy(objects: readonly K8sObject[], service: IService): IDeployment & K8sObject {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0)
    throw new Error(`Service ${service.metadata?.name} has no selector`);
  const matches = objects.filter(
    (o): o is IDeployment & K8sObject =>
      o.kind === 'Deployment' &&
      o.metadata.namespace === service.metadata?.namespace &&
      selects({ matchLabels: selector }, (o as IDeployment).spec?.template.metadata?.labels ?? {}),
  );
  if (matches.length !== 1) throw new Error(`Service ${service.metadata?.name} selects ${matches.length} Deployments`);
  return matches[0]!;
}

/** The container port number a Service port sends to (a named targetPort resolved against the pods' containers). */
export function targetPortOf(deployment: IDeployment, port: IServicePort): number {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  for (const c of deployment.spec?.template.spec?.containers ?? []) {
    const found = c.ports?.find((p) => p.name === target);
    if (found) return found.containerPort;
  }
  throw new Error(`no container port named ${target} in Deployment ${deployment.metadata?.name}`);
}
