import t from 'tap';
import { channels, checkAcdConfig } from '../../src/acd/index';
import { loadConfig } from '../../src/config/index';
import { acdChannels } from '../../src/config/schema';
import { queue, settings } from './fixtures';

t.test('the ACD config check names the queue, the key path and the reason', async (t) => {
  const issues = checkAcdConfig(
    settings([
      queue('billing', 'billing >= 5 and lang:fr', { fallback: 'nowhere' }),
      queue('billing', 'sales'),
      queue('sales', 'sales >=', {
        escalation: [
          { afterSeconds: 30, action: 'relax', value: 'salez >= 1' },
          { afterSeconds: 20, action: 'widen', value: 'billing' },
          { afterSeconds: 40, action: 'raise-priority', value: 'two' },
          { afterSeconds: 50, action: 'overflow', value: 'sales' },
        ],
      }),
    ]),
  );
  t.same(
    issues.map((i) => `${i.path.join('.')}: ${i.reason}`),
    [
      'acd.queues.1.name: queue "billing" is already defined by acd.queues[0]',
      'acd.queues.0.target: queue "billing": unknown language "fr" at position 18 of "billing >= 5 and lang:fr"',
      'acd.queues.0.fallback: queue "billing": fallback names unknown queue "nowhere"',
      'acd.queues.2.target: queue "sales": expected a level 0-10 after ">=", got end of expression at position 9 of "sales >="',
      'acd.queues.2.escalation.0.value: queue "sales": unknown skill "salez" at position 1 of "salez >= 1"',
      'acd.queues.2.escalation.1.afterSeconds: queue "sales": escalation steps must come in increasing afterSeconds (20 after 30)',
      'acd.queues.2.escalation.2.value: queue "sales": raise-priority needs a positive integer (got "two")',
      'acd.queues.2.escalation.3.value: queue "sales": overflow names the queue itself',
    ],
  );
  t.same(checkAcdConfig(settings([queue('billing', 'billing >= 5 and lang:en')])), []);
});

t.test('the config schema lists the same channels as the ACD', async (t) => {
  t.same([...acdChannels], [...channels]);
});

t.test('config/default.yaml passes the ACD check, and a bad queue fails loadConfig with file, line, queue and reason', async (t) => {
  t.same(checkAcdConfig(loadConfig({ env: {} }).acd), []);
  const dir = t.testdir({ 'site.yaml': 'acd:\n  queues:\n    - name: vip\n      target: billing >= 5 and lang:xx\n      strategy: longest-idle\n      serviceLevel: { percent: 80, seconds: 20 }\n      maxWaitSeconds: 0\n      maxSize: 0\n      fallback: null\n      escalation: []\n' });
  t.throws(() => loadConfig({ file: `${dir}/site.yaml`, env: {}, checks: [(c) => checkAcdConfig(c.acd)] }), {
    message: new RegExp(`${dir}/site.yaml:4: acd.queues\\[0\\].target: queue "vip": unknown language "xx" at position 18`),
  });
});
