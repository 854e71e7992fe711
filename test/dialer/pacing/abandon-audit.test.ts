// The audit record of an abandoned call: the window's figures after it, and whether the safe-harbour message started
// within 2 s of the answer.
import t from 'tap';
import { AbandonBudget, buildAbandonAudit } from '../../../src/dialer/pacing';

t.test('an abandoned call with the message in time, and one without', async (t) => {
  const b = new AbandonBudget({ windowMs: 86_400_000, cap: 0.03 });
  const at = Date.UTC(2026, 10, 24, 0, 0, 0);
  for (let i = 0; i < 99; i++) b.record({ at: at - 60_000, kind: 'connected' });
  b.record({ at, kind: 'abandoned' });
  const record = buildAbandonAudit({ campaign: 'c1', number: '+15551230000', attempt: 'a7', answeredAt: at - 2000, at, safeHarbourStartedAt: at - 500 }, b.status(at));
  t.match(record, {
    campaign: 'c1', number: '+15551230000', attempt: 'a7', reason: 'no-agent', at, atIso: '2026-11-24T00:00:00.000Z',
    window: { answered: 100, abandoned: 1, windowMs: 86_400_000, to: at }, rateAfter: 0.01, cap: 0.03, confidence: 0.95,
    safeHarbour: { played: true, afterAnswerMs: 1500, withinLimit: true, limitMs: 2000 },
  });
  t.ok(record.upperBoundAfter > 0.01);
  const late = buildAbandonAudit({ campaign: 'c1', number: '+1555', answeredAt: 0, at: 3000, safeHarbourStartedAt: 2600 }, b.status(at));
  t.match(late.safeHarbour, { played: true, afterAnswerMs: 2600, withinLimit: false });
  const none = buildAbandonAudit({ campaign: 'c1', number: '+1555', answeredAt: 0, at: 3000, reason: 'amd-false-positive' }, b.status(at));
  t.match(none, { reason: 'amd-false-positive', safeHarbour: { played: false, afterAnswerMs: null, withinLimit: false } });
  t.notOk('attempt' in none);
  t.same(JSON.parse(JSON.stringify(record)), record, 'plain JSON');
});
