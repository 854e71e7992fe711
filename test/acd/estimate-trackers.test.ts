import t from 'tap';
import { HandleTimeTracker, PatienceTracker, WaitErrorRecorder } from '../../src/acd/estimate/index';

t.test('HandleTimeTracker: a handle time weighs half after halfLifeSamples newer ones', async (t) => {
  const tracker = new HandleTimeTracker(2);
  t.equal(tracker.meanMs(), undefined, 'no data, no mean');
  tracker.record(100);
  tracker.record(200);
  const k = Math.SQRT1_2; // weight kept per newer sample
  t.ok(Math.abs(tracker.meanMs()! - (k * 100 + 200) / (k + 1)) < 1e-9, `mean ${tracker.meanMs()}`);
  tracker.record(400);
  tracker.record(400);
  // Three newer samples: 100 weighs k³, 200 (two newer) weighs exactly 0.5.
  const want = (k ** 3 * 100 + 0.5 * 200 + k * 400 + 400) / (k ** 3 + 0.5 + k + 1);
  t.ok(Math.abs(tracker.meanMs()! - want) < 1e-9, `mean ${tracker.meanMs()} vs ${want}`);
  // After many half-lives the old figures no longer count.
  for (let i = 0; i < 200; i++) tracker.record(1000);
  t.ok(Math.abs(tracker.meanMs()! - 1000) < 1e-9);
  t.throws(() => tracker.record(-1), RangeError);
  t.throws(() => new HandleTimeTracker(0), RangeError);
});

t.test('PatienceTracker: abandonments per unit of time waited', async (t) => {
  const tracker = new PatienceTracker();
  t.equal(tracker.ratePerMs(), undefined);
  tracker.record(30_000, false);
  tracker.record(50_000, true);
  tracker.record(20_000, true);
  const k = 2 ** (-1 / 1000);
  const want = (k + 1) / (30_000 * k * k + 50_000 * k + 20_000);
  t.ok(Math.abs(tracker.ratePerMs()! - want) < 1e-15, `rate ${tracker.ratePerMs()} vs ${want}`);
  const patient = new PatienceTracker();
  patient.record(10_000, false);
  t.equal(patient.ratePerMs(), 0);
});

t.test('PatienceTracker recovers the rate of exponential patience from censored waits', async (t) => {
  // Patience exponential with mean 90 s; each task is answered after a wait uniform on [0, 120 s] unless its
  // patience runs out first. Abandons / total waiting time estimates θ = 1/90 s without bias.
  let seed = 12345; // mulberry32
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (((x ^ (x >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const tracker = new PatienceTracker(1e12);
  for (let i = 0; i < 50_000; i++) {
    const patience = -90_000 * Math.log(random());
    const answerAt = 120_000 * random();
    tracker.record(Math.min(patience, answerAt), patience < answerAt);
  }
  t.ok(Math.abs(tracker.ratePerMs()! * 90_000 - 1) < 0.03, `θ·90 s = ${tracker.ratePerMs()! * 90_000}`);
});

t.test('WaitErrorRecorder: quantiles of recent errors and a cumulative histogram of all', async (t) => {
  const recorder = new WaitErrorRecorder({ bucketsMs: [-10, 0, 10], window: 4 });
  t.ok(Number.isNaN(recorder.summary().absErrorP50Ms), 'no records, no quantile');
  recorder.record(100, 90); // −10
  recorder.record(100, 105); // +5
  recorder.record(100, 130); // +30
  recorder.record(100, 80); // −20
  recorder.record(Infinity, 50);
  let s = recorder.summary();
  t.equal(s.count, 4);
  t.equal(s.unpredicted, 1);
  t.equal(s.absErrorP50Ms, 10, 'abs errors 5, 10, 20, 30: nearest rank 2 of 4');
  t.equal(s.absErrorP90Ms, 30);
  t.equal(s.errorP50Ms, -10, 'signed −20, −10, 5, 30');
  t.same(s.histogram, { upperBoundsMs: [-10, 0, 10], cumulativeCounts: [2, 2, 3], count: 4, sumMs: 5 });
  // The window keeps the last 4: −10 drops out, +40 comes in. The histogram keeps everything.
  recorder.record(0, 40);
  s = recorder.summary();
  t.equal(s.absErrorP90Ms, 40);
  t.equal(s.absErrorP50Ms, 20, 'abs errors 5, 20, 30, 40');
  t.same(s.histogram.cumulativeCounts, [2, 2, 3]);
  t.equal(s.histogram.count, 5);
  t.throws(() => recorder.record(-1, 10), RangeError);
  t.throws(() => new WaitErrorRecorder({ bucketsMs: [0, 0] }), RangeError);
});
