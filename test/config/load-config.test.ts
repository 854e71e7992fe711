import t, { type Test } from 'tap';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { ConfigError, defaultConfigFile, loadConfig } from '../../src/config/index';
import { OneccError } from '../../src/lib/index';

/** Writes `text` as site.yaml in a fresh directory and returns its path. */
function siteFile(t: Test, text: string): string {
  const file = path.join(t.testdir(), 'site.yaml');
  writeFileSync(file, text);
  return file;
}

/** Runs loadConfig and returns the ConfigError it must throw. */
function configError(t: Test, opts: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(opts);
  } catch (err) {
    t.type(err, ConfigError);
    return err as ConfigError;
  }
  t.fail('loadConfig should have thrown');
  throw new Error('unreachable');
}

t.test('defaults come from config/default.yaml and validate', async (t) => {
  t.equal(path.relative(path.resolve(__dirname, '../..'), defaultConfigFile()), path.join('config', 'default.yaml'));
  const config = loadConfig({ env: {} });
  t.same(config.log, { level: 'info' });
  t.same(config.sip.listen, [
    { transport: 'udp', host: '127.0.0.1', port: 5060 },
    { transport: 'tcp', host: '127.0.0.1', port: 5060 },
    { transport: 'ws', host: '127.0.0.1', port: 5066 },
  ]);
  t.same(config.sip.tls, { cert: null, key: null });
  t.same(config.sip.timers, { t1: 500, t2: 4000, t4: 5000 });
  t.same(config.sip.limits, {
    maxMessageBytes: 65535,
    maxHeaders: 200,
    partialMessageTimeoutMs: 10000,
    idleConnectionTimeoutMs: 300000,
    maxConnections: 10000,
    udpReceiveBufferBytes: 4194304,
  });
  t.equal(config.sip.symmetricResponses, true);
  t.same(config.sip.supportedOptionTags, ['replaces']);
  t.equal(config.sip.userAgent, 'onecc');
  t.same(config.http, { host: '127.0.0.1', port: 8080 });
});

t.test('a user file merges mappings key by key and replaces lists whole', async (t) => {
  const file = siteFile(t, [
    'sip:',
    '  timers: { t1: 250 }',
    '  listen:',
    '    - { transport: udp, host: "::1", port: 5070 }',
    'http:',
    '  port: 9000',
  ].join('\n'));
  const config = loadConfig({ file, env: {} });
  t.same(config.sip.timers, { t1: 250, t2: 4000, t4: 5000 });
  t.same(config.sip.listen, [{ transport: 'udp', host: '::1', port: 5070 }]);
  t.same(config.http, { host: '127.0.0.1', port: 9000 });
  t.equal(config.sip.userAgent, 'onecc');
});

t.test('an empty user file changes nothing', async (t) => {
  t.same(loadConfig({ file: siteFile(t, '# nothing yet\n'), env: {} }), loadConfig({ env: {} }));
});

t.test('ONECC_* variables override defaults and the file, matching keys without regard to case', async (t) => {
  const file = siteFile(t, 'sip:\n  timers: { t1: 250 }\nlog: { level: warn }\n');
  const config = loadConfig({
    file,
    env: {
      ONECC_SIP__TIMERS__T1: '400',
      ONECC_LOG__LEVEL: 'debug',
      ONECC_HTTP__PORT: '9090',
      ONECC_SIP__LIMITS__MAXMESSAGEBYTES: '2048',
      ONECC_SIP__LIMITS__MAX_HEADERS: '50',
      ONECC_SIP__SYMMETRICRESPONSES: 'false',
      ONECC_SIP__LISTEN: '[{"transport": "tcp", "host": "0.0.0.0", "port": 5080}]',
      ONECC_SIP__SUPPORTEDOPTIONTAGS: '[100rel, timer]',
      ONECC_SIP__USERAGENT: '123',
      ONECC_SIP__TLS__CERT: '',
      UNRELATED: 'x',
      ONECC_HTTP__HOST: undefined,
    },
  });
  t.equal(config.sip.timers.t1, 400);
  t.equal(config.log.level, 'debug');
  t.equal(config.http.port, 9090);
  t.equal(config.http.host, '127.0.0.1');
  t.equal(config.sip.limits.maxMessageBytes, 2048);
  t.equal(config.sip.limits.maxHeaders, 50);
  t.equal(config.sip.symmetricResponses, false);
  t.same(config.sip.listen, [{ transport: 'tcp', host: '0.0.0.0', port: 5080 }]);
  t.same(config.sip.supportedOptionTags, ['100rel', 'timer']);
  t.equal(config.sip.userAgent, '123', 'free text stays a string');
  t.equal(config.sip.tls.cert, null, 'an empty value clears a nullable key');
});

t.test('a mapping set through the environment is refined by a more specific variable', async (t) => {
  const config = loadConfig({ env: { ONECC_SIP__TIMERS__T1: '300', ONECC_SIP__TIMERS: '{t1: 100, t2: 2000}' } });
  t.same(config.sip.timers, { t1: 300, t2: 2000, t4: 5000 });
});

t.test('without env, process.env is read', async (t) => {
  process.env.ONECC_SIP__TIMERS__T4 = '4321';
  t.teardown(() => delete process.env.ONECC_SIP__TIMERS__T4);
  t.equal(loadConfig().sip.timers.t4, 4321);
});

t.test('a wrongly typed value in a file is reported with file, line, key and reason', async (t) => {
  const file = siteFile(t, 'log:\n  level: info\nsip:\n  timers:\n    t1: abc\n');
  const err = configError(t, { file, env: {} });
  t.equal(err.message, `${file}:5: sip.timers.t1: must be an integer from 1 to 60000 (got "abc")`);
  t.equal(err.code, 'CONFIG_INVALID');
  t.type(err, OneccError);
  t.same(err.problems, [{ source: file, line: 5, key: 'sip.timers.t1', reason: 'must be an integer from 1 to 60000 (got "abc")' }]);
});

t.test('a number out of range is reported', async (t) => {
  const file = siteFile(t, 'http:\n  port: 70000\n');
  t.equal(configError(t, { file, env: {} }).message, `${file}:2: http.port: must be an integer from 0 to 65535 (got 70000)`);
});

t.test('a bad enum value is reported with the allowed values', async (t) => {
  const file = siteFile(t, 'log: { level: loud }\n');
  t.equal(
    configError(t, { file, env: {} }).message,
    `${file}:1: log.level: must be one of trace|debug|info|warn|error|fatal|silent (got "loud")`,
  );
});

t.test('an unknown key is rejected at its own line', async (t) => {
  const file = siteFile(t, 'sip:\n  timers:\n    t1: 400\n  timerz:\n    t1: 400\n');
  t.equal(
    configError(t, { file, env: {} }).message,
    `${file}:4: sip.timerz: unknown key (expected one of: engine, drachtio, listen, tls, timers, limits, symmetricResponses, ` +
      'supportedOptionTags, userAgent)',
  );
});

t.test('a listener entry is checked field by field', async (t) => {
  const file = siteFile(t, [
    'sip:',
    '  listen:',
    '    - { transport: udp, host: 127.0.0.1, port: 5060 }',
    '    - transport: sctp',
    '      host: localhost',
    '    - { transport: tcp, host: 127.0.0.1, port: 5060, tos: 1 }',
  ].join('\n'));
  t.equal(configError(t, { file, env: {} }).message, [
    `${file}:4: sip.listen[1].transport: must be one of udp|tcp|tls|ws|wss (got "sctp")`,
    `${file}:5: sip.listen[1].host: must be an IPv4 or IPv6 address literal (got "localhost")`,
    `${file}:4: sip.listen[1].port: is required`,
    `${file}:6: sip.listen[2].tos: unknown key (expected one of: transport, host, port)`,
  ].join('\n'));
});

t.test('duplicate listeners are rejected', async (t) => {
  const file = siteFile(t, [
    'sip:',
    '  listen:',
    '    - { transport: udp, host: 127.0.0.1, port: 5060 }',
    '    - { transport: tcp, host: 127.0.0.1, port: 5060 }',
    '    - { transport: udp, host: 127.0.0.1, port: 5060 }',
    '    - { transport: udp, host: 127.0.0.1, port: 0 }',
    '    - { transport: udp, host: 127.0.0.1, port: 0 }',
  ].join('\n'));
  t.equal(configError(t, { file, env: {} }).message, `${file}:5: sip.listen[2]: duplicates sip.listen[0] (udp 127.0.0.1:5060)`);
});

t.test('a tls or wss listener without tls.cert and tls.key is rejected', async (t) => {
  const file = siteFile(t, 'sip:\n  listen:\n    - { transport: wss, host: 127.0.0.1, port: 8443 }\n');
  t.equal(
    configError(t, { file, env: {} }).message,
    `${file}:3: sip.listen[0].transport: a wss listener needs sip.tls.cert and sip.tls.key (PEM file paths)`,
  );
  const withTls = siteFile(t, 'sip:\n  listen:\n    - { transport: tls, host: 127.0.0.1, port: 5061 }\n  tls: { cert: c.pem, key: k.pem }\n');
  t.same(loadConfig({ file: withTls, env: {} }).sip.tls, { cert: 'c.pem', key: 'k.pem' });
});

t.test('t1 >= t2 is blamed on whichever timer the latest source set', async (t) => {
  const highT1 = siteFile(t, 'sip:\n  timers:\n    t1: 4000\n');
  t.equal(configError(t, { file: highT1, env: {} }).message, `${highT1}:3: sip.timers.t1: must be less than sip.timers.t2 (4000) (got 4000)`);
  const lowT2 = siteFile(t, 'sip:\n  timers:\n    t2: 400\n');
  t.equal(
    configError(t, { file: lowT2, env: {} }).message,
    `${lowT2}:3: sip.timers.t2: must be greater than sip.timers.t1 (500) (got 400)`,
  );
});

t.test('a YAML syntax error is reported with file and line', async (t) => {
  const file = siteFile(t, 'log:\n  level: info\nsip:\n  timers: { t1: 400\n  userAgent: x\n');
  const err = configError(t, { file, env: {} });
  t.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: YAML syntax error: \\S`));
  t.equal(err.problems[0]!.key, '');
  t.ok(err.problems[0]!.line! >= 4, 'line points at or after the unclosed flow mapping');
});

t.test('a duplicate key in a YAML file is a syntax error at its line', async (t) => {
  const file = siteFile(t, 'http:\n  port: 1\n  port: 2\n');
  t.match(configError(t, { file, env: {} }).message, `${file}:3: YAML syntax error: Map keys must be unique`);
});

t.test('a file that is not a mapping is rejected', async (t) => {
  const file = siteFile(t, '- a\n- b\n');
  t.equal(configError(t, { file, env: {} }).message, `${file}:1: must hold a mapping of settings at the top level`);
});

t.test('a missing file is reported by name', async (t) => {
  const file = path.join(t.testdir(), 'absent.yaml');
  t.match(configError(t, { file, env: {} }).message, `${file}: cannot read: ENOENT`);
});

t.test('a bad environment value names the variable, key and reason', async (t) => {
  t.equal(
    configError(t, { env: { ONECC_SIP__TIMERS__T1: 'abc' } }).message,
    'env ONECC_SIP__TIMERS__T1: sip.timers.t1: must be an integer from 1 to 60000 (got "abc")',
  );
  t.equal(
    configError(t, { env: { ONECC_SIP__TIMERS__T1: '5000' } }).message,
    'env ONECC_SIP__TIMERS__T1: sip.timers.t1: must be less than sip.timers.t2 (4000) (got 5000)',
  );
  t.match(configError(t, { env: { ONECC_SIP__LISTEN: '[{' } }).message, /^env ONECC_SIP__LISTEN: sip\.listen: not valid YAML or JSON: /);
});

t.test('an unknown environment key is rejected', async (t) => {
  t.equal(
    configError(t, { env: { ONECC_SIP__TIMERS__T3: '1' } }).message,
    'env ONECC_SIP__TIMERS__T3: sip.timers.t3: unknown key (expected one of: t1, t2, t4)',
  );
  t.equal(
    configError(t, { env: { ONECC_SIP__LISTEN__0__PORT: '1' } }).message,
    "env ONECC_SIP__LISTEN__0__PORT: sip.listen: is a list: set it whole as JSON or YAML flow text, e.g. ONECC_SIP__LISTEN='[...]'",
  );
  t.equal(configError(t, { env: { ONECC_HTTP__PORT__X: '1' } }).message, 'env ONECC_HTTP__PORT__X: http.port: has no sub-keys');
});

t.test('every problem is reported, each on its own line', async (t) => {
  const file = siteFile(t, 'log: { level: loud }\nhttp: { host: example.org }\n');
  const err = configError(t, { file, env: { ONECC_SIP__LIMITS__MAXHEADERS: '0' } });
  t.same(err.message.split('\n'), [
    `${file}:1: log.level: must be one of trace|debug|info|warn|error|fatal|silent (got "loud")`,
    'env ONECC_SIP__LIMITS__MAXHEADERS: sip.limits.maxHeaders: must be an integer from 1 to 10000 (got 0)',
    `${file}:2: http.host: must be an IPv4 or IPv6 address literal (got "example.org")`,
  ]);
});

t.test('a drachtio TLS certificate without its key is rejected', async (t) => {
  t.match(
    configError(t, { env: { ONECC_SIP__DRACHTIO__TLS__CERT: '/etc/onecc/drachtio.pem' } }).message,
    /env ONECC_SIP__DRACHTIO__TLS__CERT: sip\.drachtio\.tls\.cert: needs sip\.drachtio\.tls\.key too/,
  );
});
