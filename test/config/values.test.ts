/** The configuration value parsers: each returns the typed value or throws a ConfigError naming the setting. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { parseBaseUrl, parseBoolean, parseCount, parseDuration, parseListen, parseTrustProxy } from '../../src/config/values.js';

const NAME = '--the-flag (KUBEGATE_THE_FLAG)';

function refuses(parse: (name: string, raw: string) => unknown, raw: string): void {
  assert.throws(
    () => parse(NAME, raw),
    (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${NAME}: `) && !err.message.includes('\n'),
    `expected ${JSON.stringify(raw)} to be refused`,
  );
}

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['500ms', 500],
    ['0s', 0],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 3s ', 3_000],
    ['0.0005s', 1],
  ];
  for (const [raw, ms] of good) it(`reads ${JSON.stringify(raw)} as ${ms} ms`, () => assert.equal(parseDuration(NAME, raw), ms));
  for (const raw of ['', '10', '5x', 's', '-1s', '1d', '1h30m', '1,5s', 'ten seconds', '.5s']) {
    it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseDuration, raw));
  }
  it('quotes the bad value', () => assert.throws(() => parseDuration(NAME, '5x'), /invalid duration "5x"/));
  it('refuses durations a timer cannot hold (over 2^31-1 ms)', () => {
    assert.equal(parseDuration(NAME, '596h'), 596 * 3_600_000);
    assert.throws(() => parseDuration(NAME, '597h'), (err: unknown) => err instanceof ConfigError && /^--the-flag .*: duration "597h" is too long/.test(err.message));
    assert.throws(() => parseDuration(NAME, '1000h'), ConfigError);
  });
});

describe('parseCount', () => {
  it('reads whole numbers within bounds', () => {
    assert.equal(parseCount(NAME, '1'), 1);
    assert.equal(parseCount(NAME, '10000'), 10_000);
    assert.equal(parseCount(NAME, ' 42 '), 42);
    assert.equal(parseCount(NAME, '8192', 8192, 8192), 8192);
  });
  for (const raw of ['', '0', '-1', '1.5', '1e3', '10k', 'many']) it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseCount, raw));
  it('enforces custom bounds', () => {
    assert.throws(() => parseCount(NAME, '9', 10, 20), /9 is out of range \(10\.\.20\)/);
    assert.throws(() => parseCount(NAME, '21', 10, 20), /21 is out of range/);
  });
});

describe('parseBoolean', () => {
  for (const raw of ['true', 'TRUE', '1', 'yes', 'on', ' True ']) it(`reads ${JSON.stringify(raw)} as true`, () => assert.equal(parseBoolean(NAME, raw), true));
  for (const raw of ['false', 'FALSE', '0', 'no', 'off', '']) it(`reads ${JSON.stringify(raw)} as false`, () => assert.equal(parseBoolean(NAME, raw), false));
  for (const raw of ['maybe', '2', 'y', 'enabled']) it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseBoolean, raw));
});

describe('parseListen', () => {
  const good: [string, { host: string; port: number }][] = [
    ['0.0.0.0:8443', { host: '0.0.0.0', port: 8443 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    [':9000', { host: '0.0.0.0', port: 9000 }],
    ['localhost:443', { host: 'localhost', port: 443 }],
    ['[::]:8443', { host: '::', port: 8443 }],
    ['[::1]:65535', { host: '::1', port: 65535 }],
  ];
  for (const [raw, want] of good) it(`reads ${JSON.stringify(raw)}`, () => assert.deepEqual(parseListen(NAME, raw), want));
  for (const raw of ['nope', '8443', 'localhost:', 'host:port', '1.2.3.4:65536', '::1:8443', '[::1]', 'a:b:1']) {
    it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseListen, raw));
  }
});

describe('parseBaseUrl', () => {
  const good: [string, string][] = [
    ['https://localhost:8443', 'https://localhost:8443/'],
    ['https://gw.example.com/', 'https://gw.example.com/'],
    ['https://gw.example.com/kubegate//', 'https://gw.example.com/kubegate'],
    ['http://10.0.0.1:80', 'http://10.0.0.1/'],
    ['https://[::1]:8443', 'https://[::1]:8443/'],
  ];
  for (const [raw, href] of good) it(`reads ${JSON.stringify(raw)}`, () => assert.equal(parseBaseUrl(NAME, raw).href, href));
  for (const raw of ['', 'gateway', '/relative', 'ftp://gw', 'https://gw/?q=1', 'https://gw/#frag', 'https://user:pw@gw', 'https://user@gw']) {
    it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseBaseUrl, raw));
  }
  it('does not echo credentials found in a URL', () => {
    assert.throws(
      () => parseBaseUrl(NAME, 'https://user:s3cret@gw'),
      (err: Error) => err instanceof ConfigError && !err.message.includes('s3cret'),
    );
  });
});

describe('parseTrustProxy', () => {
  const good: [string, unknown][] = [
    ['', { mode: 'off' }],
    ['off', { mode: 'off' }],
    ['false', { mode: 'off' }],
    ['1', { mode: 'hops', hops: 1 }],
    ['32', { mode: 'hops', hops: 32 }],
    ['10.0.0.0/8', { mode: 'cidrs', cidrs: ['10.0.0.0/8'] }],
    ['10.0.0.1, 192.168.0.0/16 ,fd00::/8', { mode: 'cidrs', cidrs: ['10.0.0.1', '192.168.0.0/16', 'fd00::/8'] }],
    ['::1/128', { mode: 'cidrs', cidrs: ['::1/128'] }],
    ['0.0.0.0/0', { mode: 'cidrs', cidrs: ['0.0.0.0/0'] }],
  ];
  for (const [raw, want] of good) it(`reads ${JSON.stringify(raw)}`, () => assert.deepEqual(parseTrustProxy(NAME, raw), want));
  for (const raw of ['0', '33', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/1', '10.0.0/8', 'lb.example.com', '10.0.0.1,x', '10.0.0.0/-1', '10.0.0.0/']) {
    it(`refuses ${JSON.stringify(raw)}`, () => refuses(parseTrustProxy, raw));
  }
});
