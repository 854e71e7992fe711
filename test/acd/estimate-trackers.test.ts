import t from 'tap';
import { HandleTimeTracker, PatienceTracker, WaitErrorRecorder } from '../../src/acd/estimate/index';

t.test('HandleTimeTracker: a sample one half-life older weighs half as much', async (t) => {
  const tracker = new HandleTimeTracker(60_000);
  t.equal(tracker.meanMs(), undefined, 'no data, no mean');
  tracker.record(0, 100);
  tracker.record(60_000, 200);
  t.ok(Math.abs(tracker.meanMs()! - (0.5 * 100 + 200) / 1.5) < 1e-9, `mean ${tracker.meanMs()}`);
  // A late report of something that ended at 0 again weighs 0.5.
  tracker.record(0, 400);
  t.ok(Math.abs(tracker.meanMs()! - (0.5 * 100 + 200 + 0.5 * 400) / 2) < 1e-9, `mean ${tracker.meanMs()}`);
  // After many half-lives the old figures no longer count.
  tracker.record(60_000 * 100, 1000);
  t.ok(Math.abs(tracker.meanMs()! - 1000) < 1e-9);
  t.throws(() => tracker.record(0, -1), RangeError);
});

t.test('PatienceTracker: abandonments per unit of time waited', async (t) => {
  const tracker = new PatienceTracker();
  t.equal(tracker.ratePerMs(), undefined);
  tracker.record(0, 30_000, false);
  tracker.record(0, 50_000, true);
  tracker.record(0, 20_000, true);
  t.ok(Math.abs(tracker.ratePerMs()! - 2 / 100_000) < 1e-15, `rate ${tracker.ratePerMs()}`);
  const patient = new PatienceTracker();
  patient.record(0, 10_000, false);
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
    tracker.record(i, Math.min(patience, answerAt), patience < answerAt);
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
