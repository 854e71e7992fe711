// Blended mode: shared agents go to the dialer only while the inbound queues' forecast service level (the ACD's
// Erlang A) stays at target without them.
import t from 'tap';
import { erlangA } from '../../../src/acd/estimate';
import { blendedShare, type InboundForecast } from '../../../src/dialer/pacing';

const queue: InboundForecast = {
  queue: 'sales', arrivalsPerSecond: 0.05, meanHandleSeconds: 200, meanPatienceSeconds: 120, dedicatedAgents: 8,
  target: { percent: 80, seconds: 20 }, serviceLevelSoFarPercent: 85, waiting: 0,
};

t.test('the dialer gets the shared agents the inbound forecast can spare', async (t) => {
  // 10 Erlangs offered: 8 dedicated agents are not enough for 80 % in 20 s.
  const share = blendedShare(20, [queue], erlangA);
  const needed = share.queues[0]!.sharedNeeded;
  t.ok(needed > 0 && needed < 20, `sales needs ${needed} shared agents`);
  t.equal(share.dialerAgents, 20 - needed);
  t.ok(share.queues[0]!.forecast >= 0.8, `forecast ${share.queues[0]!.forecast.toFixed(3)} at target`);
  t.ok(erlangA({ arrivalRate: 0.05, meanHandleTime: 200, agents: 8 + needed - 1, slThreshold: 20, meanPatience: 120 }).serviceLevel < 0.8, 'one fewer would miss it');
});

t.test('quiet inbound: every shared agent to the dialer; busy inbound: none', async (t) => {
  t.equal(blendedShare(12, [{ ...queue, arrivalsPerSecond: 0 }], erlangA).dialerAgents, 12);
  t.equal(blendedShare(12, [{ ...queue, arrivalsPerSecond: 0.5 }], erlangA).dialerAgents, 0);
  t.equal(blendedShare(12, [], erlangA).dialerAgents, 12);
});

t.test('behind target today, or callers waiting now: the queue keeps more', async (t) => {
  const onTarget = blendedShare(20, [queue], erlangA).dialerAgents;
  const behind = blendedShare(20, [{ ...queue, serviceLevelSoFarPercent: 70 }], erlangA).dialerAgents;
  t.ok(behind < onTarget, `SL so far 70 %: ${behind} to the dialer instead of ${onTarget}`);
  const waiting = blendedShare(20, [{ ...queue, arrivalsPerSecond: 0.001, waiting: 3 }], erlangA).dialerAgents;
  t.equal(waiting, 17, '3 callers waiting hold 3 shared agents back');
});

t.test('several queues add their needs; Erlang C past full load needs every shared agent', async (t) => {
  const one = blendedShare(30, [queue], erlangA).dialerAgents;
  const two = blendedShare(30, [queue, { ...queue, queue: 'support' }], erlangA);
  t.equal(two.dialerAgents, Math.max(0, 30 - 2 * (30 - one)));
  const c = blendedShare(5, [{ ...queue, meanPatienceSeconds: Infinity, dedicatedAgents: 2 }], erlangA);
  t.equal(c.dialerAgents, 0);
});
