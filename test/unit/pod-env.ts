// The env the webhook injects into a pod on a real cluster (downward API plus
// the kubelet's service env); the report fixtures carry the same pod.
export const POD_ENV: Readonly<Record<string, string>> = {
  NETREADY_POD_NAME: 'web-7d9f8c6b5-x2k4q',
  NETREADY_POD_NAMESPACE: 'shop',
  NETREADY_POD_UID: '0b5d2f7e-6a1c-4a8e-9d53-2f1c7e4b9a10',
  NETREADY_NODE_NAME: 'ip-10-0-12-34.eu-west-1.compute.internal',
  NETREADY_POD_IPS: '10.244.1.17,fd00:10:244:1::11',
  NETREADY_ADMITTED_AT: '2025-11-25T13:02:11Z',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
};
