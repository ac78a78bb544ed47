/**
 * Soak of the webhook's sync against a healthy gateway, every timeout at its default (issue 15,
 * bug 2): the built `kubegate webhook` runs for 3 minutes (SOAK_SECONDS to change) against an
 * in-process gateway; tokens are revoked at random moments and the time until the webhook refuses
 * each is measured. Passes when no sync failed and every revocation was refused within 5 s.
 *
 *   npm run soak:webhook
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway } from '../test/support/gateway.js';
import { startWebhookProcess, tokenReview } from '../test/webhook/support.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const REVOCATIONS = Number(process.env.SOAK_REVOCATIONS ?? 6);
const REFUSE_WITHIN_MS = 5_000;

const dir = await mkdtemp(join(tmpdir(), 'kubegate-soak-'));
// The test gateway sets no request, header or body timeout: each is at its default.
const gw = await startTestGateway([], { dir: join(dir, 'gateway') });
const webhookProcess = { current: undefined as Awaited<ReturnType<typeof startWebhookProcess>> | undefined };
try {
  const admin = await login(gw, 'admin', ADMIN_PASSWORD);
  const registered = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'prod', server: 'https://127.0.0.1:1', credential: { token: 'x' } } });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.text}`);
  await writeFile(join(dir, 'agent-token'), `${registered.body.agentToken}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'gateway-ca.crt'), gw.caPem!);
  await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  await call(gw, 'PUT', '/v1/clusters/prod/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });

  const webhook = await startWebhookProcess([
    `--gateway=${gw.url}`,
    '--cluster=prod',
    `--agent-token-file=${join(dir, 'agent-token')}`,
    `--gateway-ca-file=${join(dir, 'gateway-ca.crt')}`,
    `--state-dir=${join(dir, 'webhook-state')}`,
    '--listen=127.0.0.1:0',
    '--log-level=debug',
  ]);
  webhookProcess.current = webhook;
  const accepted = async (token: string): Promise<boolean> => (await tokenReview(webhook.url, token)).body?.status?.authenticated === true;

  const started = Date.now();
  const end = started + SECONDS * 1000;
  // Random moments over the run, in order.
  const moments = Array.from({ length: REVOCATIONS }, () => started + 5_000 + Math.random() * (SECONDS * 1000 - 15_000)).sort((a, b) => a - b);
  const delays: number[] = [];
  for (const at of moments) {
    const token = await login(gw, 'alice', 'alice-password', { clusterId: 'prod' });
    while (!(await accepted(token))) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    const revokedAt = Date.now();
    const res = await call(gw, 'POST', '/v1/logout', { token });
    if (res.status !== 204) throw new Error(`logout: ${res.status}`);
    while (await accepted(token)) {
      if (Date.now() - revokedAt > 30_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    delays.push(Date.now() - revokedAt);
    console.log(`revoked at +${((revokedAt - started) / 1000).toFixed(1)} s, refused by the webhook after ${delays.at(-1)} ms`);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));

  const failures = webhook.logs.filter((l) => l.msg === 'sync with the gateway failed');
  const polls = webhook.logs.filter((l) => l.msg === 'in sync with the gateway' || l.msg === 'synced from the gateway').length;
  const slow = delays.filter((d) => d >= REFUSE_WITHIN_MS);
  console.log(
    JSON.stringify({
      seconds: Math.round((Date.now() - started) / 1000),
      syncAnswers: polls,
      syncFailures: failures.length,
      failureMessages: [...new Set(failures.map((f) => f.error))],
      revocations: delays.length,
      refusedWithinMs: { max: Math.max(...delays), median: delays.sort((a, b) => a - b)[Math.floor(delays.length / 2)] },
    }),
  );
  if (failures.length > 0 || slow.length > 0) {
    console.error(`FAIL: ${failures.length} sync failures, ${slow.length} revocations refused after ${REFUSE_WITHIN_MS} ms or more`);
    process.exitCode = 1;
  } else console.log('PASS: zero sync errors, every revocation refused within 5 s');
} finally {
  await webhookProcess.current?.stop();
  await gw.stop();
  await rm(dir, { recursive: true, force: true });
}
