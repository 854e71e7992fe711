// Contact lists, do-not-call lists, calling windows and the campaign checks, without calls: what a campaign would
// dial and what it refuses to load.
import t from 'tap';
import { loadConfig } from '../../src/config/index';
import { checkDialerConfig, parseContacts, parseDncList } from '../../src/dialer/index';
import { checkWindow, inWindow } from '../../src/dialer/calling-window';

t.test('a CSV contact list: good rows kept, bad rows reported by line', async (t) => {
  const csv = 'Number,TimeZone,name,note\r\n+1 (555) 000-0001,America/New_York,Ann,"says ""hi"", twice"\r\n"+15550002",,"Ben\nSmith",x\r\n\r\n12,UTC,Cy,x\r\nabc,UTC,Di,x\r\n+15550004,Nowhere/City,Ed,x\r\n+15550005,UTC,Flo\r\n';
  const { contacts, rejected } = parseContacts(csv, 'Europe/London');
  t.same(contacts.map((c) => [c.number, c.timezone]), [['+15550000001', 'America/New_York'], ['+15550002', 'Europe/London'], ['12', 'UTC']], 'numbers normalised; the default time zone fills blanks');
  t.same(contacts[0]!.attributes, { name: 'Ann', note: 'says "hi", twice' }, 'quoted fields with quotes and commas');
  t.equal(contacts[1]!.attributes.name, 'Ben Smith', 'a line break inside quotes is one field (kept on one line)');
  t.same(rejected.map((r) => r.line), [7, 8, 9], 'lines counted in the file, quoted line breaks included');
  t.match(rejected, [{ reason: /not dialable/ }, { reason: /unknown time zone "Nowhere\/City"/ }, { reason: /3 fields where the header has 4/ }]);
  t.throws(() => parseContacts('name,phone\nAnn,1\n', 'UTC'), /line 1: the header names no "number" column/, 'a header without number is refused');
  t.throws(() => parseContacts('', 'UTC'), /empty file/);
});

t.test('do-not-call lists: a number per line, comments and formatting ignored', async (t) => {
  t.same(parseDncList('# imported 2026-11-01\n+1 555 000 0001\n\n(555) 000-0002 # asked twice\nnot a number\n'), ['+15550000001', '5550000002']);
});

t.test('calling windows in each contact\'s time zone', async (t) => {
  const window = { start: '09:00', end: '20:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] } as const;
  const mondayNoonUtc = Date.UTC(2026, 10, 23, 12, 0);
  t.ok(inWindow(window, 'UTC', mondayNoonUtc), 'Monday 12:00 UTC: in');
  t.notOk(inWindow(window, 'America/Los_Angeles', mondayNoonUtc), '04:00 in Los Angeles: too early');
  t.notOk(inWindow(window, 'Asia/Taipei', mondayNoonUtc), '20:00 in Taipei: the end is exclusive');
  t.ok(inWindow(window, 'Asia/Taipei', mondayNoonUtc - 60_000), '19:59 in Taipei: in');
  t.notOk(inWindow({ ...window, days: ['mon'] }, 'Pacific/Kiritimati', mondayNoonUtc), 'already Tuesday in Kiritimati');
  t.equal(checkWindow({ start: '9:00', end: '20:00', days: ['mon'] }), 'start "9:00" is not HH:MM');
  t.equal(checkWindow({ start: '20:00', end: '09:00', days: ['mon'] }), 'end 09:00 is not after start 20:00');
});

t.test('a campaign without a valid trunk, caller id, window or queue refuses to load, saying why', async (t) => {
  const config = loadConfig({
    env: {
      ONECC_VOICE__TRUNKS: '[{name: pbx, addresses: [], username: u, password: p, outboundUri: "sip:{number}@{source}"}]',
      ONECC_DIALER__CAMPAIGNS: `[{id: c1, mode: predictive, queue: nowhere, trunk: pbx, callerId: "anonymous", contactsFile: null, dncFiles: [], consentPurpose: marketing, timezone: Mars/Base,
        window: {start: "18:00", end: "09:00", days: [mon]}, maxLines: 5, ringTimeoutSeconds: 20, abandonLimitPercent: 3, abandonWindowHours: 720, connectSeconds: 2,
        safeHarbourPrompt: no-such-prompt, retries: {busy: {delaySeconds: 1, maxAttempts: 1}, noAnswer: {delaySeconds: 1, maxAttempts: 1}, failed: {delaySeconds: 1, maxAttempts: 1}, machine: {delaySeconds: 1, maxAttempts: 1}},
        amd: {enabled: true, onMachine: message, machineMessage: null, initialSilenceMs: 2500, greetingMs: 1500, afterGreetingSilenceMs: 800, maxWords: 2, silenceRms: 300, falsePositivePercent: 5}, agentless: {prompt: goodbye, transferKey: null}, blendWith: [nowhere], autoStart: true}]`,
    },
  });
  const issues = checkDialerConfig(config, (name) => name === 'goodbye');
  t.same(issues.map((i) => `${i.path.join('.')}: ${i.reason}`), [
    'dialer.campaigns.0.trunk: trunk "pbx" needs an outboundUri without {source} to place calls',
    'dialer.campaigns.0.callerId: "anonymous" is not a number (digits, optionally a leading +)',
    'dialer.campaigns.0.window: end 09:00 is not after start 18:00',
    'dialer.campaigns.0.timezone: unknown time zone "Mars/Base"',
    'dialer.campaigns.0.queue: no queue "nowhere" in acd.queues',
    'dialer.campaigns.0.blendWith.0: no queue "nowhere" in acd.queues',
    'dialer.campaigns.0.amd.machineMessage: onMachine is message: name the prompt to leave',
    'dialer.campaigns.0.safeHarbourPrompt: no prompt "no-such-prompt" (media.prompts catalog)',
  ]);
});
