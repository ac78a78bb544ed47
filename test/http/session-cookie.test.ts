/** The UI session cookie, its CSRF proof, and where the UI's files are found (no browser). */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../../src/errors.js';
import {
  clearedSessionCookies,
  csrfTokenFor,
  CSRF_COOKIE,
  SESSION_COOKIE,
  sessionCookies,
  sessionTokenFromCookie,
} from '../../src/http/session-cookie.js';
import { loadStaticFiles, STATIC_DIR } from '../../src/ui/static-files.js';

const TOKEN = 'kgt_t-aaaaaaaaaaaaaaaa.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const PROOF = csrfTokenFor(TOKEN);

/** A request with the given header lines (name → every line). */
function request(lines: Record<string, string[]>): IncomingMessage {
  const headers = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, v.join(k === 'cookie' ? '; ' : ', ')]));
  return { headers, headersDistinct: lines } as unknown as IncomingMessage;
}

function outcome(req: IncomingMessage): string {
  try {
    return sessionTokenFromCookie(req) ?? 'no cookie';
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return String(err.code);
  }
}

describe('UI session cookie', () => {
  it('sets HttpOnly, Secure, SameSite=Strict; the session only on /v1, the proof readable on /', () => {
    const [session, csrf] = sessionCookies(TOKEN, 57_600.7);
    assert.equal(session, `${SESSION_COOKIE}=${TOKEN}; Path=/v1; Max-Age=57600; HttpOnly; Secure; SameSite=Strict`);
    assert.equal(csrf, `${CSRF_COOKIE}=${PROOF}; Path=/; Max-Age=57600; Secure; SameSite=Strict`);
    assert.ok(clearedSessionCookies().every((c) => c.includes('Max-Age=0')));
  });

  it('derives a proof per token that does not contain it', () => {
    assert.match(PROOF, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(csrfTokenFor(`${TOKEN}x`), PROOF);
    assert.equal(PROOF.includes(TOKEN.slice(5, 20)), false);
  });

  const cookie = `${SESSION_COOKIE}=${TOKEN}`;
  const cases: Array<[string, Record<string, string[]>, string]> = [
    ['no cookie at all', {}, 'no cookie'],
    ['other cookies only', { cookie: ['a=b; c=d'] }, 'no cookie'],
    ['cookie and proof', { cookie: [`theme=dark; ${cookie}`], 'x-csrf-token': [PROOF] }, TOKEN],
    ['cookie and proof, same-origin fetch', { cookie: [cookie], 'x-csrf-token': [PROOF], 'sec-fetch-site': ['same-origin'] }, TOKEN],
    ['cookie without proof', { cookie: [cookie] }, '403'],
    ['cookie with the proof of another token', { cookie: [cookie], 'x-csrf-token': [csrfTokenFor('other')] }, '403'],
    ['cookie with a truncated proof', { cookie: [cookie], 'x-csrf-token': [PROOF.slice(0, 20)] }, '403'],
    ['cookie with two proof lines', { cookie: [cookie], 'x-csrf-token': [PROOF, PROOF] }, '403'],
    ['a cross-site request', { cookie: [cookie], 'x-csrf-token': [PROOF], 'sec-fetch-site': ['cross-site'] }, '403'],
    ['a same-site (other origin) request', { cookie: [cookie], 'x-csrf-token': [PROOF], 'sec-fetch-site': ['same-site'] }, '403'],
    ['the session cookie twice (cookie tossing)', { cookie: [`${cookie}; ${SESSION_COOKIE}=kgt_other`], 'x-csrf-token': [PROOF] }, '401'],
    ['an empty session cookie', { cookie: [`${SESSION_COOKIE}=`], 'x-csrf-token': [PROOF] }, '401'],
  ];
  for (const [name, lines, want] of cases) {
    it(`${name} → ${want}`, () => assert.equal(outcome(request(lines)), want));
  }
});

describe('UI static files', () => {
  it('are found at the same path from src/ (tsx) and dist/ (compiled)', () => {
    const fromDist = fileURLToPath(new URL('../../src/ui/static/', new URL('../../dist/ui/static-files.js', import.meta.url)));
    assert.equal(STATIC_DIR, fromDist);
    assert.equal(STATIC_DIR, fileURLToPath(new URL('../../src/ui/static/', import.meta.url)));
  });

  it('serve index.html at / and the rest under /ui/ with their types', () => {
    const files = loadStaticFiles()!;
    assert.match(files.get('/')!.type, /^text\/html/);
    assert.match(files.get('/ui/js/main.js')!.type, /^text\/javascript/);
    assert.match(files.get('/ui/app.css')!.type, /^text\/css/);
    assert.equal(files.has('/ui/index.html'), false);
    for (const path of files.keys()) assert.match(path, /^\/(ui\/[a-z0-9/-]+\.(js|css|svg))?$/);
  });

  it('are absent when the folder is missing (the gateway serves the API only)', () => {
    assert.equal(loadStaticFiles('/nonexistent/kubegate-ui'), undefined);
  });
});
