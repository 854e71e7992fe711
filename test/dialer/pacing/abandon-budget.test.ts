// The abandon budget: a sliding window, an upper bound that is conservative at small counts and covers the true rate
// as often as its confidence says, refusal of predictive dialing when spent, AMD false positives counted.
import t from 'tap';
import { AbandonBudget, REGULATIONS, clopperPearsonUpper, normalQuantile, safeRate, upperBound, wilsonUpper } from '../../../src/dialer/pacing';

const MIN = 60_000;

t.test('bounds: known values, and Clopper–Pearson at least as wide as Wilson', async (t) => {
  t.ok(Math.abs(normalQuantile(0.95) - 1.644854) < 1e-5);
  t.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  t.ok(Math.abs(clopperPearsonUpper(0, 10, 0.95) - (1 - 0.05 ** 0.1)) < 1e-6, '0 of 10: 1 − 0.05^(1/10)');
  // 3 of 100 at 95 % one-sided: the p with P(X ≤ 3 | 100, p) = 0.05 is 0.0757.
  t.ok(Math.abs(clopperPearsonUpper(3, 100, 0.95) - 0.0757) < 5e-4, `3 of 100: ${clopperPearsonUpper(3, 100, 0.95)}`);
  for (const [x, n] of [[0, 20], [1, 50], [3, 100], [30, 1000], [250, 10_000]] as const) {
    const w = upperBound('wilson', x, n, 0.95);
    const cp = upperBound('clopper-pearson', x, n, 0.95);
    t.ok(w >= x / n && cp >= w - 1e-9, `${x} of ${n}: rate ${(x / n).toFixed(4)} ≤ Wilson ${w.toFixed(4)} ≤ C–P ${cp.toFixed(4)}`);
  }
  t.equal(upperBound('wilson', 0, 0, 0.95), 1, 'nothing known: 1');
  for (const method of ['wilson', 'clopper-pearson'] as const) {
    for (const n of [200, 2000, 20_000]) {
      const r = safeRate(method, n, 0.03, 0.95);
      t.ok(Math.abs(upperBound(method, r * n, n, 0.95) - 0.03) < 1e-4, `${method}, ${n} answers: the bound at the safe rate ${r.toFixed(4)} is the cap`);
    }
  }
  t.equal(safeRate('wilson', 50, 0.03, 0.95), 0, '50 answers: no rate is safe yet');
});

t.test('the 95 % bound covers the true rate about 95 % of the time at small counts', async (t) => {
  let seed = 12345;
  const uniform = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (const n of [50, 200]) {
    let covered = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      let x = 0;
      for (let j = 0; j < n; j++) if (uniform() < 0.03) x++;
      if (wilsonUpper(x, n, 1.645) >= 0.03) covered++;
    }
    t.ok(covered / runs >= 0.93, `n = ${n}: the bound is at or above the true 3 % in ${((100 * covered) / runs).toFixed(1)} % of runs`);
  }
});

t.test('conservative at small counts: predictive is refused until the bound allows one more abandon', async (t) => {
  const b = new AbandonBudget({ windowMs: 60 * MIN, cap: 0.03 });
  t.match(b.status(0), { answered: 0, abandoned: 0, rate: 0, upperBound: 1, predictiveAllowed: false, spent: false });
  for (let i = 0; i < 20; i++) b.record({ at: 0, kind: 'connected' });
  const s = b.status(0);
  t.ok(s.upperBound > 0.1, `0 of 20: upper bound ${s.upperBound.toFixed(3)}`);
  t.equal(s.predictiveAllowed, false);
  for (let i = 0; i < 200; i++) b.record({ at: 0, kind: 'connected' });
  t.equal(b.status(0).predictiveAllowed, true, '0 of 220: one more abandon keeps the bound within 3 %');
});

t.test('spent: at the cap predictive is refused; the figures say so', async (t) => {
  const b = new AbandonBudget({ windowMs: 60 * MIN, cap: 0.03 });
  for (let i = 0; i < 1000; i++) b.record({ at: 0, kind: i < 30 ? 'abandoned' : 'connected' });
  t.match(b.status(1), { answered: 1000, abandoned: 30, rate: 0.03, spent: true, predictiveAllowed: false });
  for (let i = 0; i < 1000; i++) b.record({ at: 2, kind: 'connected' });
  t.match(b.status(3), { spent: false, predictiveAllowed: true }, 'connected answers bring the rate back under');
});

t.test('the window slides', async (t) => {
  const b = new AbandonBudget({ windowMs: 60 * MIN, cap: 0.03, bucketMs: MIN });
  b.record({ at: 0, kind: 'abandoned' });
  for (let i = 0; i < 40; i++) b.record({ at: 30 * MIN, kind: 'connected' });
  t.match(b.status(50 * MIN), { answered: 41, abandoned: 1, from: -10 * MIN, to: 50 * MIN, windowMs: 60 * MIN });
  t.match(b.status(60 * MIN + 1), { answered: 41, abandoned: 1 }, 'within one bucket of the window');
  t.match(b.status(61 * MIN), { answered: 40, abandoned: 0 }, 'the abandon slid out');
  t.match(b.status(91 * MIN), { answered: 0, abandoned: 0, upperBound: 1 }, 'all slid out');
  const tsr = new AbandonBudget(REGULATIONS.tsr);
  t.equal(tsr.settings.bucketMs, 30 * MIN, "30 days in 1,440 buckets of 30 minutes");
  t.equal(new AbandonBudget(REGULATIONS.ofcom).settings.windowMs, 86_400_000);
});

t.test('AMD false positives: each machine verdict counts its false-positive share as an abandoned live call', async (t) => {
  const b = new AbandonBudget({ windowMs: 60 * MIN, cap: 0.03, amdFalsePositiveRate: 0.04 });
  for (let i = 0; i < 100; i++) b.record({ at: 0, kind: 'connected' });
  for (let i = 0; i < 50; i++) b.record({ at: 0, kind: 'machine' });
  let s = b.status(0);
  t.ok(Math.abs(s.answered - 102) < 1e-9 && Math.abs(s.abandoned - 2) < 1e-9, `50 machine verdicts at 4 %: 2 of 102 (${s.abandoned} of ${s.answered})`);
  b.record({ at: 0, kind: 'machine', falsePositiveRate: 1 });
  s = b.status(0);
  t.ok(Math.abs(s.abandoned - 3) < 1e-9, 'a record may give its own rate (1: every machine hang-up counted)');
  const none = new AbandonBudget({ windowMs: 60 * MIN, cap: 0.03, amdFalsePositiveRate: 0 });
  none.record({ at: 0, kind: 'machine' });
  t.equal(none.status(0).answered, 0, 'rate 0: machines not counted');
});

t.test('settings are checked', async (t) => {
  t.throws(() => new AbandonBudget({ windowMs: 0, cap: 0.03 }));
  t.throws(() => new AbandonBudget({ windowMs: MIN, cap: 3 }));
  t.throws(() => new AbandonBudget({ windowMs: MIN, cap: 0.03, confidence: 1 }));
  t.equal(new AbandonBudget({ windowMs: MIN, cap: 0.03, bound: 'clopper-pearson' }).status(0).upperBound, 1);
});
