/**
 * `GET .../pods/<name>/log`: a few fixed lines as text/plain; with `follow=true` the stream
 * stays open and a new line arrives every `logFollowIntervalMs` until the client goes away.
 * Supports `container`, `tailLines`, `timestamps` and refuses `previous` (no restarts here).
 */
import type { HttpContext } from './context.js';
import { resolveContainer, requireRunning } from './pods.js';
import { startStream } from './respond.js';
import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

/** The lines every container has logged by the time anyone asks. */
export const fixedLogLines = (pod: string, container: string): string[] => [
  `${pod}/${container}: starting`,
  `${pod}/${container}: listening on :80`,
  `${pod}/${container}: ready`,
];

/** The n-th line a followed log emits after the fixed ones. */
export const followLogLine = (pod: string, container: string, n: number): string => `${pod}/${container}: tick ${n}`;

export const serveLog = (ctx: HttpContext, pod: KubeObject): void => {
  const { query } = ctx.info;
  const podName = pod.metadata.name ?? '';
  const container = resolveContainer(pod, query.get('container'));
  requireRunning(pod, container);
  if (query.get('previous') === 'true') throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);

  const timestamps = query.get('timestamps') === 'true';
  const format = (line: string): string => `${timestamps ? `${new Date().toISOString()} ` : ''}${line}\n`;
  let lines = fixedLogLines(podName, container);
  const tail = query.get('tailLines');
  if (tail !== null && /^\d+$/.test(tail)) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));

  startStream(ctx.res, ctx.record, 'text/plain');
  ctx.res.write(lines.map(format).join(''));
  if (query.get('follow') !== 'true') {
    ctx.res.end();
    return;
  }

  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    ctx.res.write(format(followLogLine(podName, container, n)));
  }, ctx.options().logFollowIntervalMs);
  const untrack = ctx.streams.open(() => ctx.res.end());
  ctx.res.on('close', () => {
    clearInterval(timer);
    untrack();
  });
};
