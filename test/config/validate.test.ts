import t from 'tap';
import { formatPath, loadConfig, validateConfig } from '../../src/config/index';

const valid = () => loadConfig({ env: {} });

t.test('validateConfig finds nothing wrong with the defaults', async (t) => {
  t.same(validateConfig(valid()), []);
});

t.test('validateConfig reports each wrong value by path, not just the first', async (t) => {
  const config: Record<string, any> = valid();
  config.sip.timers.t4 = 1.5;
  config.sip.symmetricResponses = 'yes';
  config.sip.tls.cert = '';
  config.sip.userAgent = 'onecc\r\nX-Injected: 1';
  config.sip.supportedOptionTags = ['100rel', 'not a token'];
  delete config.http.port;
  t.same(
    validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`),
    [
      'sip.tls.cert: must be a non-empty file path (got "")',
      'sip.timers.t4: must be an integer from 1 to 600000 (got 1.5)',
      'sip.symmetricResponses: must be true or false (got "yes")',
      'sip.supportedOptionTags[1]: must be an RFC 3261 token (got "not a token")',
      'sip.userAgent: must be a non-empty string without control characters (got "onecc\\r\\nX-Injected: 1")',
      'http.port: is required',
    ],
  );
});

t.test('validateConfig requires at least one listener', async (t) => {
  const config = valid();
  config.sip.listen = [];
  t.same(validateConfig(config), [{ path: ['sip', 'listen'], reason: 'must have at least 1 entry' }]);
});

t.test('validateConfig runs cross-key rules only once every key has its shape', async (t) => {
  const config: Record<string, any> = valid();
  config.sip.timers.t1 = 9000;
  t.equal(validateConfig(config).length, 1, 't1 >= t2 alone');
  config.http = null;
  t.same(validateConfig(config), [{ path: ['http'], reason: 'must be a mapping (got null)' }]);
});

t.test('an IPv6 listener is written with brackets in duplicate reports', async (t) => {
  const config = valid();
  config.sip.listen = [
    { transport: 'udp', host: '::1', port: 5060 },
    { transport: 'udp', host: '::1', port: 5060 },
  ];
  t.same(validateConfig(config), [{ path: ['sip', 'listen', 1], reason: 'duplicates sip.listen[0] (udp [::1]:5060)' }]);
});
