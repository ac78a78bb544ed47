/**
 * The pod every double starts with (`default/web-0`, one container `web`, Running) and the
 * container choice that `log` and `exec` share, with kube-apiserver's messages.
 */
import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

/** The seeded pod, before the store fills uid/resourceVersion/creationTimestamp. */
export const seedPod = (): KubeObject => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } },
  spec: {
    containers: [{ name: 'web', image: 'registry.k8s.io/nginx-slim:0.27', ports: [{ containerPort: 80, protocol: 'TCP' }] }],
    nodeName: 'node-1',
    restartPolicy: 'Always',
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: 'True' },
      { type: 'ContainersReady', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ],
    hostIP: '10.0.0.11',
    podIP: '10.244.0.7',
    podIPs: [{ ip: '10.244.0.7' }],
    containerStatuses: [
      { name: 'web', ready: true, restartCount: 0, started: true, image: 'registry.k8s.io/nginx-slim:0.27', state: { running: { startedAt: '2025-01-01T00:00:00Z' } } },
    ],
    qosClass: 'BestEffort',
  },
});

const containerNames = (pod: KubeObject): string[] => {
  const containers = (pod.spec as { containers?: Array<{ name?: string }> } | undefined)?.containers ?? [];
  return containers.map((c) => c.name ?? '').filter((name) => name !== '');
};

/** The container a `log`/`exec` request addresses: the `container` parameter, or the only one. */
export const resolveContainer = (pod: KubeObject, requested: string | null): string => {
  const names = containerNames(pod);
  const podName = pod.metadata.name ?? '';
  if (requested) {
    if (!names.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  if (names.length === 1 && names[0]) return names[0];
  throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
};

/** A running pod can be exec'ed into and has logs; kube-apiserver refuses otherwise. */
export const requireRunning = (pod: KubeObject, container: string): void => {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase !== 'Running') {
    throw badRequest(`container "${container}" in pod "${pod.metadata.name ?? ''}" is waiting to start: ContainerCreating`);
  }
};
