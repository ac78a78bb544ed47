/** Helpers shared by the scale-out tests: polling with a bound, and one pod-list request. */
import { call, type JsonResponse, type TestGateway } from '../support/gateway.js';

/** Polls `probe` every `everyMs` until `done` holds for its result; returns the last result and how long it took. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs: number; everyMs?: number },
): Promise<{ value: T; elapsedMs: number; ok: boolean }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    const elapsedMs = Date.now() - started;
    if (done(value)) return { value, elapsedMs, ok: true };
    if (elapsedMs >= options.timeoutMs) return { value, elapsedMs, ok: false };
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 50));
  }
}

/** Lists pods through the gateway's proxy with `token`. */
export function listPods(gw: Pick<TestGateway, 'url' | 'agent'>, clusterId: string, token: string): Promise<JsonResponse> {
  return call(gw, 'GET', `/k8s/clusters/${clusterId}/api/v1/namespaces/default/pods`, { token });
}
