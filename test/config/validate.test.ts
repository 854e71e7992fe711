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

t.test('voice: trunk addresses are IPs or CIDR blocks, and trunks, phones and expiries are checked together', async (t) => {
  const config = valid();
  config.voice.trunks = [
    { name: 'carrier', addresses: ['192.0.2.0/24', '2001:db8::/32', '198.51.100.7'], username: null, password: null, outboundUri: null },
    { name: 'pbx', addresses: [], username: 'pbx', password: null, outboundUri: null },
    { name: 'carrier', addresses: [], username: null, password: null, outboundUri: null },
  ];
  config.voice.phones = [
    { username: 'alice', password: 'a', agent: 'alice' },
    { username: 'alice', password: 'b', agent: 'bob' },
  ];
  config.voice.registrar.defaultExpires = 30;
  t.same(validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`), [
    'voice.registrar.defaultExpires: must be from minExpires (60) to maxExpires (3600) (got 30)',
    'voice.trunks[1].username: needs password too: username and password go together',
    'voice.trunks[2].name: duplicates voice.trunks[0].name (carrier)',
    'voice.trunks[2].addresses: a trunk needs addresses, or a username and password',
    'voice.phones[1].username: duplicates voice.phones[0].username (alice)',
  ]);
  const shapes = valid();
  shapes.voice.trunks = [{ name: 'x', addresses: ['10.0.0.0/33', '::1/129', 'example.com', '10.0.0.1/8/8'], username: null, password: null, outboundUri: null }];
  t.same(validateConfig(shapes).map((i) => formatPath(i.path)), [0, 1, 2, 3].map((i) => `voice.trunks[0].addresses[${i}]`));

  // Where callbacks go out: a SIP URI that names the number, nothing that could inject a header.
  const outbound = valid();
  const trunk = { name: 'x', addresses: ['10.0.0.0/8'], username: null, password: null };
  outbound.voice.trunks = ['sip:{number}@sbc.example.com', 'sips:{number}@{source}', 'sip:100@sbc.example.com', 'tel:{number}', 'sip:{number}@a b', 'sip:{number}@x>\r\nX: y']
    .map((uri, i) => ({ ...trunk, name: `t${i}`, outboundUri: uri }));
  t.same(validateConfig(outbound).map((i) => formatPath(i.path)), [2, 3, 4, 5].map((i) => `voice.trunks[${i}].outboundUri`));
});

t.test('agents: roster skills are a mapping of known skills to levels 1-10; keys and tokens are checked', async (t) => {
  const config = valid();
  config.agents.roster = [
    { id: 'alice', name: 'Alice', skills: { general: 7, billing: 11, juggling: 3 }, languages: ['en', 'fr'], capacity: null },
    { id: 'alice', name: 'Alice again', skills: {}, languages: [], capacity: null },
  ];
  config.agents.apiKeys = [
    { key: 'short', role: 'supervisor', agent: null },
    { key: 'a-long-enough-agent-key', role: 'agent', agent: 'carol' },
    { key: 'a-long-enough-supervisor-key', role: 'supervisor', agent: 'alice' },
  ];
  t.same(validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`), [
    'agents.roster[0].skills.billing: must be an integer from 1 to 10 (got 11)',
  ], 'shape problems first');
  config.agents.roster[0]!.skills.billing = 4;
  t.same(validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`), [
    'agents.roster[0].skills.juggling: agent alice: unknown skill "juggling" (acd.skills: general, billing, sales, support)',
    'agents.roster[0].languages[1]: agent alice: unknown language "fr" (acd.languages: en, zh-TW, zh-CN)',
    'agents.roster[1].id: duplicates agents.roster[0].id (alice)',
    'agents.apiKeys[0].key: must be at least 16 characters: a short key can be guessed',
    'agents.apiKeys[1].agent: an agent key needs the id of an agent in agents.roster (got carol)',
    'agents.apiKeys[2].agent: a supervisor key acts as no agent: use null',
  ]);
  const names = valid();
  (names.agents.roster as unknown[]) = [{ id: 'x', name: 'X', skills: { 'two words': 1 }, languages: [], capacity: null }];
  t.match(validateConfig(names).map((i) => formatPath(i.path)), ['agents.roster[0].skills.two words']);
});

t.test('quality forms and survey links: duplicate ids, scores out of range, short secrets and bad URLs are refused', async (t) => {
  const config: Record<string, any> = valid();
  config.quality.forms = [
    { id: 'std', name: 'Standard', items: [{ id: 'greeting', label: 'Greeting', max: 5, weight: 1 }, { id: 'greeting', label: 'Again', max: 5, weight: 1 }] },
    { id: 'std', name: 'Copy', items: [{ id: 'tone', label: 'Tone', max: 5, weight: 1 }] },
  ];
  config.surveys.secret = 'short';
  config.surveys.publicUrl = 'cc.example.com/survey?x=1';
  t.same(validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`), [
    'quality.forms[0].items[1].id: duplicates item 0 of form std (greeting)',
    'quality.forms[1].id: duplicates quality.forms[0].id (std)',
    'surveys.secret: must be at least 16 characters: a short key can be guessed',
    'surveys.publicUrl: must be an http or https URL without query (https://cc.example.com); got cc.example.com/survey?x=1',
  ]);
  const shapes: Record<string, any> = valid();
  shapes.quality.forms = [{ id: 'std', name: 'Standard', items: [{ id: 'greeting', label: 'Greeting', max: 0, weight: 1 }] }];
  shapes.reports.retentionDays = 0;
  t.same(validateConfig(shapes).map((i) => formatPath(i.path)), ['reports.retentionDays', 'quality.forms[0].items[0].max']);
});

t.test('notification rules: a template naming what the event does not carry fails at load, with the path', async (t) => {
  const config: Record<string, any> = valid();
  config.notifications.apiTokens = ['short'];
  config.notifications.rules = [{
    id: 'flight', event: 'flight.changed', audience: 'customer', payload: ['flight'], channels: ['sms', 'email'], priority: 0, allChannels: false, contacts: 'customer',
    templates: { sms: { en: 'Flight {{flight}}, seat {{seat}}' }, push: { en: 'x' } },
    dialplan: null, confirm: null, expiresMinutes: 60, quietHours: { start: '9pm', end: '08:00' }, dedupKey: '{{gate}}', maxPerDay: 0, callReason: 'weather', avoidanceHours: 48, callbackUrl: 'ftp://x', followUp: null,
  }];
  t.same(validateConfig(config).map((i) => `${formatPath(i.path)}: ${i.reason}`), [
    'notifications.apiTokens[0]: must be at least 24 characters: a short token can be guessed',
    'notifications.rules[0].templates.email: rule flight: channel email needs a template in en (notifications.defaultLanguage)',
    'notifications.rules[0].templates.sms.en: rule flight: {{seat}} is neither a payload field (flight) nor customer.name or customer.id',
    'notifications.rules[0].dedupKey: rule flight: {{gate}} is not a payload field (flight)',
    'notifications.rules[0].templates.push: rule flight has no channel push (channels: sms, email)',
    'notifications.rules[0].quietHours.start: must be HH:MM (00:00-23:59); got 9pm',
    'notifications.rules[0].callReason: rule flight: "weather" is not a disposition code (agents.dispositions: resolved, follow-up, escalated, wrong-number, no-answer)',
    'notifications.rules[0].callbackUrl: must be an http or https URL; got ftp://x',
  ]);
});
