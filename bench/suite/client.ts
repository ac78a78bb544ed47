/** A timed HTTPS GET with node:https, for the scenarios that look at single requests. */
import { Agent, request } from 'node:https';

export interface Timed {
  status: number;
  /** Milliseconds from sending to the end of the body. */
  ms: number;
  /** performance.now() when the body ended. */
  end: number;
}

export function timedGet(url: string, token: string, agent: Agent): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        const end = performance.now();
        resolve({ status: res.statusCode ?? 0, ms: end - started, end });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive agent trusting `caPem` with at most `sockets` connections. */
export function keepAlive(caPem: string, sockets = 1): Agent {
  return new Agent({ ca: caPem, keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' });
}
