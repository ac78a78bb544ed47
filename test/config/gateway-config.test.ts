/** `loadGatewayConfig` (docs/reference/configuration.md): defaults, environment, flags, and one clear error per bad value. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { gatewayHelp, loadGatewayConfig, type GatewayConfig } from '../../src/config/gateway-config.js';
import { ConfigError } from '../../src/errors.js';

describe('loadGatewayConfig', () => {
  it('applies the defaults of docs/reference/configuration.md with no flags and no environment', () => {
    const c = loadGatewayConfig([], {});
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8443 });
    assert.equal(c.publicUrl.href, 'https://localhost:8443/');
    assert.equal(c.dataDir, resolve('./data'));
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.tlsCert, undefined);
    assert.equal(c.tlsKey, undefined);
    assert.equal(c.certsDir, resolve('./certs'));
    assert.equal(c.plainHttp, false);
    assert.deepEqual(c.trustProxy, { mode: 'off' });
    assert.equal(c.adminPassword, undefined);
    assert.equal(c.authCacheTtlMs, 10_000);
    assert.equal(c.authCacheSize, 10_000);
    assert.equal(c.shutdownTimeoutMs, 30_000);
    assert.equal(c.logLevel, 'info');
  });

  // Issue 15, bug 5: without --public-url, kubeconfigs must point where the gateway listens.
  it('without --public-url, the public URL follows --listen: its port, localhost for 0.0.0.0 and ::, else its host', () => {
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [['--listen', '0.0.0.0:9443'], {}, 'https://localhost:9443/'],
      [['--listen', '[::]:9444'], {}, 'https://localhost:9444/'],
      [['--listen', ':9445'], {}, 'https://localhost:9445/'],
      [['--listen', '127.0.0.1:9446'], {}, 'https://127.0.0.1:9446/'],
      [['--listen', '[::1]:9447'], {}, 'https://[::1]:9447/'],
      [['--listen', 'gw.internal:9448', '--plain-http'], {}, 'http://gw.internal:9448/'],
      [[], { KUBEGATE_LISTEN: '0.0.0.0:9449' }, 'https://localhost:9449/'],
      [['--listen', '0.0.0.0:9450', '--public-url', 'https://kubegate.example.com'], {}, 'https://kubegate.example.com/'],
    ];
    for (const [flags, env, expected] of cases) {
      const c = loadGatewayConfig(flags, env);
      assert.equal(c.publicUrl.href, expected, flags.join(' '));
      assert.equal(c.publicUrlFromListen, !flags.includes('--public-url'), flags.join(' '));
    }
  });

  // [what, flags, env, pick(config), expected]
  const overrides: [string, string[], NodeJS.ProcessEnv, (c: GatewayConfig) => unknown, unknown][] = [
    ['listen from env', [], { KUBEGATE_LISTEN: '127.0.0.1:9443' }, (c) => c.listen, { host: '127.0.0.1', port: 9443 }],
    ['listen from flag over env', ['--listen', '[::1]:7443'], { KUBEGATE_LISTEN: '127.0.0.1:9443' }, (c) => c.listen, { host: '::1', port: 7443 }],
    ['public URL from env', [], { KUBEGATE_PUBLIC_URL: 'https://gw.example.com/' }, (c) => c.publicUrl.href, 'https://gw.example.com/'],
    ['public URL from flag over env', ['--public-url', 'https://lb.example.com:443/kg/'], { KUBEGATE_PUBLIC_URL: 'https://gw.example.com' }, (c) => c.publicUrl.href, 'https://lb.example.com/kg'],
    ['data dir from env', [], { KUBEGATE_DATA_DIR: '/var/lib/kg' }, (c) => c.dataDir, '/var/lib/kg'],
    ['data dir from flag over env, resolved', ['--data-dir', 'rel/data'], { KUBEGATE_DATA_DIR: '/var/lib/kg' }, (c) => c.dataDir, resolve('rel/data')],
    ['database URL from env', [], { KUBEGATE_DATABASE_URL: 'postgres://db/kg' }, (c) => c.databaseUrl, 'postgres://db/kg'],
    ['database URL from flag over env', ['--database-url', 'postgresql://other/kg'], { KUBEGATE_DATABASE_URL: 'postgres://db/kg' }, (c) => c.databaseUrl, 'postgresql://other/kg'],
    ['TLS files from env', [], { KUBEGATE_TLS_CERT: '/tls/c.pem', KUBEGATE_TLS_KEY: '/tls/k.pem' }, (c) => [c.tlsCert, c.tlsKey], ['/tls/c.pem', '/tls/k.pem']],
    ['TLS files from flags over env', ['--tls-cert', '/f/c.pem', '--tls-key', '/f/k.pem'], { KUBEGATE_TLS_CERT: '/tls/c.pem', KUBEGATE_TLS_KEY: '/tls/k.pem' }, (c) => [c.tlsCert, c.tlsKey], ['/f/c.pem', '/f/k.pem']],
    ['certs dir from env', [], { KUBEGATE_CERTS_DIR: '/etc/kg' }, (c) => c.certsDir, '/etc/kg'],
    ['certs dir from flag over env', ['--certs-dir', '/opt/kg'], { KUBEGATE_CERTS_DIR: '/etc/kg' }, (c) => c.certsDir, '/opt/kg'],
    ['plain HTTP from env', [], { KUBEGATE_PLAIN_HTTP: 'true' }, (c) => c.plainHttp, true],
    ['plain HTTP off in env', [], { KUBEGATE_PLAIN_HTTP: 'false' }, (c) => c.plainHttp, false],
    ['plain HTTP from flag', ['--plain-http'], {}, (c) => c.plainHttp, true],
    ['plain HTTP flag over env', ['--plain-http'], { KUBEGATE_PLAIN_HTTP: 'false' }, (c) => c.plainHttp, true],
    ['trust proxy hops from env', [], { KUBEGATE_TRUST_PROXY: '2' }, (c) => c.trustProxy, { mode: 'hops', hops: 2 }],
    ['trust proxy CIDRs from flag over env', ['--trust-proxy', '10.0.0.0/8, 192.168.1.1'], { KUBEGATE_TRUST_PROXY: '2' }, (c) => c.trustProxy, { mode: 'cidrs', cidrs: ['10.0.0.0/8', '192.168.1.1'] }],
    ['admin password from env', [], { KUBEGATE_ADMIN_PASSWORD: 'from-the-env' }, (c) => c.adminPassword, 'from-the-env'],
    ['admin password from flag over env', ['--admin-password', 'from-the-flag'], { KUBEGATE_ADMIN_PASSWORD: 'from-the-env' }, (c) => c.adminPassword, 'from-the-flag'],
    ['auth cache TTL from env', [], { KUBEGATE_AUTH_CACHE_TTL: '30s' }, (c) => c.authCacheTtlMs, 30_000],
    ['auth cache TTL from flag over env', ['--auth-cache-ttl', '500ms'], { KUBEGATE_AUTH_CACHE_TTL: '30s' }, (c) => c.authCacheTtlMs, 500],
    ['auth cache size from env', [], { KUBEGATE_AUTH_CACHE_SIZE: '50' }, (c) => c.authCacheSize, 50],
    ['auth cache size from flag over env', ['--auth-cache-size', '75'], { KUBEGATE_AUTH_CACHE_SIZE: '50' }, (c) => c.authCacheSize, 75],
    ['shutdown timeout from env', [], { KUBEGATE_SHUTDOWN_TIMEOUT: '2m' }, (c) => c.shutdownTimeoutMs, 120_000],
    ['shutdown timeout from flag over env', ['--shutdown-timeout', '1h'], { KUBEGATE_SHUTDOWN_TIMEOUT: '2m' }, (c) => c.shutdownTimeoutMs, 3_600_000],
    ['flag given as --flag=value', ['--listen=:9000'], {}, (c) => c.listen, { host: '0.0.0.0', port: 9000 }],
    ['an empty env value counts as unset', [], { KUBEGATE_LISTEN: '', KUBEGATE_AUTH_CACHE_TTL: '' }, (c) => [c.listen.port, c.authCacheTtlMs], [8443, 10_000]],
    ['unrelated env is ignored', [], { LISTEN: 'nope', KUBEGATE_LISTENER: 'nope' }, (c) => c.listen.port, 8443],
    ['one worker by default', [], {}, (c) => c.workers, 1],
    ['workers from env', [], { KUBEGATE_WORKERS: '3' }, (c) => c.workers, 3],
    ['workers auto: one per CPU', ['--workers', 'auto'], {}, (c) => c.workers, availableParallelism()],
    ['h2 offered by default, 1000 streams per connection', [], {}, (c) => [c.http2, c.http2MaxStreams], [true, 1000]],
    ['h2 turned off', ['--http2=false'], {}, (c) => c.http2, false],
    ['h2 streams from env', [], { KUBEGATE_HTTP2_MAX_STREAMS_PER_CONNECTION: '250' }, (c) => c.http2MaxStreams, 250],
  ];
  for (const [what, flags, env, pick, expected] of overrides) {
    it(`reads ${what}`, () => {
      assert.deepEqual(pick(loadGatewayConfig(flags, env)), expected);
    });
  }

  it('does not read process.env by itself', () => {
    const saved = process.env.KUBEGATE_LISTEN;
    process.env.KUBEGATE_LISTEN = '127.0.0.1:1234';
    try {
      assert.equal(loadGatewayConfig([], {}).listen.port, 8443);
    } finally {
      if (saved === undefined) delete process.env.KUBEGATE_LISTEN;
      else process.env.KUBEGATE_LISTEN = saved;
    }
  });

  // [what, flags, env, pattern the single-line message must match]
  const errors: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['a duration without a unit', ['--auth-cache-ttl', '10'], {}, /^--auth-cache-ttl \(KUBEGATE_AUTH_CACHE_TTL\): invalid duration "10"/],
    ['a duration with a bad unit', ['--auth-cache-ttl', '5x'], {}, /^--auth-cache-ttl \(KUBEGATE_AUTH_CACHE_TTL\): /],
    ['a negative duration', ['--shutdown-timeout=-1s'], {}, /^--shutdown-timeout \(KUBEGATE_SHUTDOWN_TIMEOUT\): /],
    ['a duration too long for a timer', ['--shutdown-timeout', '1000h'], {}, /^--shutdown-timeout \(KUBEGATE_SHUTDOWN_TIMEOUT\): duration "1000h" is too long/],
    ['a bad duration in env', [], { KUBEGATE_SHUTDOWN_TIMEOUT: 'soon' }, /^--shutdown-timeout \(KUBEGATE_SHUTDOWN_TIMEOUT\): invalid duration "soon"/],
    ['a listen address without a port', ['--listen', 'nope'], {}, /^--listen \(KUBEGATE_LISTEN\): "nope" is not host:port/],
    ['a listen port out of range', ['--listen', '0.0.0.0:70000'], {}, /^--listen \(KUBEGATE_LISTEN\): port 70000/],
    ['an unbracketed IPv6 listen address', ['--listen', '::1:8443'], {}, /^--listen \(KUBEGATE_LISTEN\): /],
    ['a bad listen address in env', [], { KUBEGATE_LISTEN: 'localhost' }, /^--listen \(KUBEGATE_LISTEN\): /],
    ['a MySQL database URL', ['--database-url', 'mysql://db/kg'], {}, /^--database-url \(KUBEGATE_DATABASE_URL\): only postgres:\/\//],
    ['a file database URL in env', [], { KUBEGATE_DATABASE_URL: 'sqlite:///tmp/x.db' }, /^--database-url \(KUBEGATE_DATABASE_URL\): /],
    ['--tls-cert without --tls-key', ['--tls-cert', '/c.pem'], {}, /^--tls-cert \(KUBEGATE_TLS_CERT\) and --tls-key \(KUBEGATE_TLS_KEY\) must be given together/],
    ['--tls-key without --tls-cert', [], { KUBEGATE_TLS_KEY: '/k.pem' }, /--tls-cert .* and --tls-key .* must be given together/],
    ['a trust-proxy CIDR with a bad mask', ['--trust-proxy', '10.0.0.0/33'], {}, /^--trust-proxy \(KUBEGATE_TRUST_PROXY\): "10.0.0.0\/33" is not an IP address or CIDR/],
    ['a trust-proxy host name', ['--trust-proxy', 'lb.example.com'], {}, /^--trust-proxy \(KUBEGATE_TRUST_PROXY\): /],
    ['a trust-proxy list with one bad entry', ['--trust-proxy', '10.0.0.1,nope'], {}, /^--trust-proxy \(KUBEGATE_TRUST_PROXY\): "nope"/],
    ['a trust-proxy hop count of 0', ['--trust-proxy', '0'], {}, /^--trust-proxy \(KUBEGATE_TRUST_PROXY\): /],
    ['an unknown flag', ['--lisen', '1.2.3.4:5'], {}, /--lisen/],
    ['a positional argument', ['extra'], {}, /extra/],
    ['a flag without its value', ['--listen'], {}, /--listen/],
    ['a value for the boolean --plain-http', ['--plain-http=yes'], {}, /--plain-http/],
    ['a bad boolean in env', [], { KUBEGATE_PLAIN_HTTP: 'maybe' }, /^--plain-http \(KUBEGATE_PLAIN_HTTP\): "maybe" is not a boolean/],
    ['a public URL that is not a URL', ['--public-url', 'gateway:8443'], {}, /^--public-url \(KUBEGATE_PUBLIC_URL\): /],
    ['a public URL with a query', ['--public-url', 'https://gw/?a=b'], {}, /^--public-url \(KUBEGATE_PUBLIC_URL\): /],
    ['a non-http public URL', ['--public-url', 'ftp://gw'], {}, /^--public-url \(KUBEGATE_PUBLIC_URL\): must be an http\(s\) URL/],
    ['a short admin password', ['--admin-password', 'short'], {}, /^--admin-password \(KUBEGATE_ADMIN_PASSWORD\): must be at least 8 characters/],
    ['a zero cache size', ['--auth-cache-size', '0'], {}, /^--auth-cache-size \(KUBEGATE_AUTH_CACHE_SIZE\): 0 is out of range/],
    ['a non-numeric cache size', [], { KUBEGATE_AUTH_CACHE_SIZE: '10k' }, /^--auth-cache-size \(KUBEGATE_AUTH_CACHE_SIZE\): "10k" is not a whole number/],
    ['an unknown log level', ['--log-level', 'verbose'], {}, /^--log-level \(KUBEGATE_LOG_LEVEL\): "verbose"/],
    ['no workers', ['--workers', '0'], {}, /^--workers \(KUBEGATE_WORKERS\): 0 is out of range/],
    ['a worker count that is neither a number nor auto', [], { KUBEGATE_WORKERS: 'many' }, /^--workers \(KUBEGATE_WORKERS\): "many" is not a whole number/],
    ['a bad --http2 value', ['--http2=maybe'], {}, /^--http2 \(KUBEGATE_HTTP2\): "maybe" is not a boolean/],
  ];
  for (const [what, flags, env, message] of errors) {
    it(`refuses ${what} with a ConfigError naming the flag`, () => {
      let caught: unknown;
      try {
        loadGatewayConfig(flags, env);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
      assert.match(caught.message, message);
      assert.equal(caught.message.includes('\n'), false, 'one line');
    });
  }

  it('never puts the admin password into an error message', () => {
    assert.throws(
      () => loadGatewayConfig(['--admin-password', 'short'], {}),
      (err: Error) => err instanceof ConfigError && !err.message.includes('"short"') && !/: short\b/.test(err.message),
    );
  });
});

describe('gatewayHelp', () => {
  it('lists every flag of docs/reference/configuration.md with its environment variable and default', () => {
    const help = gatewayHelp();
    assert.match(help, /^Usage: kubegate serve/);
    const rows: [string, string, string?][] = [
      ['--listen', 'KUBEGATE_LISTEN', '0.0.0.0:8443'],
      ['--public-url', 'KUBEGATE_PUBLIC_URL'],
      ['--data-dir', 'KUBEGATE_DATA_DIR', './data'],
      ['--database-url', 'KUBEGATE_DATABASE_URL'],
      ['--tls-cert', 'KUBEGATE_TLS_CERT'],
      ['--tls-key', 'KUBEGATE_TLS_KEY'],
      ['--certs-dir', 'KUBEGATE_CERTS_DIR', './certs'],
      ['--plain-http', 'KUBEGATE_PLAIN_HTTP'],
      ['--trust-proxy', 'KUBEGATE_TRUST_PROXY'],
      ['--admin-password', 'KUBEGATE_ADMIN_PASSWORD'],
      ['--auth-cache-ttl', 'KUBEGATE_AUTH_CACHE_TTL', '10s'],
      ['--auth-cache-size', 'KUBEGATE_AUTH_CACHE_SIZE', '10000'],
      ['--shutdown-timeout', 'KUBEGATE_SHUTDOWN_TIMEOUT', '30s'],
    ];
    for (const [flag, env, dflt] of rows) {
      const line = help.split('\n').find((l) => l.trimStart().startsWith(`${flag} `));
      assert.ok(line, `help has a line for ${flag}`);
      assert.ok(line.includes(`(${env}`), `${flag} names ${env}`);
      if (dflt) assert.ok(line.includes(`, ${dflt})`), `${flag} shows default ${dflt}: ${line}`);
    }
  });
});
