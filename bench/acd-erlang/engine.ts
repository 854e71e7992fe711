/**
 * The bench's view of the real ACD engine (src/acd/engine.ts) in simulated time: one queue, `agents` agents with one
 * voice slot each, no wrap-up, every offer accepted at the instant it is made. Each command is followed by
 * engine.settled(), so the offers it causes (routing runs in the engine's own drain, after the command's commit)
 * are all known before simulated time moves on.
 */
import { SimulatedClock } from '../../src/acd/clock';
import { AcdEngine } from '../../src/acd/engine';
import type { AcdSettings } from '../../src/acd/acd-settings';
import type { AcdStore } from '../../src/acd/store';
import type { AcdUnderTest, Case } from './simulation';

const QUEUE = 'erlang';

export async function engineUnderTest(c: Case, store: AcdStore): Promise<AcdUnderTest & { close(): Promise<void> }> {
  const settings: AcdSettings = {
    skills: ['service'],
    languages: ['en'],
    defaultCapacity: { voice: 1, video: 0, chat: 0, email: 0 },
    crossChannel: [],
    wrapUpSeconds: { voice: 0, video: 0, chat: 0, email: 0 },
    // Offers are accepted at once; the timeout is there because the engine requires one.
    offerTimeoutSeconds: 30,
    ronaReason: 'rona',
    // One node: the lease only decides how soon a dead node's work moves; long, so renewals stay out of the figures.
    nodeLeaseSeconds: 600,
    queues: [{
      name: QUEUE, target: 'service', strategy: 'longest-idle', serviceLevel: { percent: 80, seconds: c.slSeconds },
      maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: [],
    }],
  };
  const clock = new SimulatedClock(0);
  const engine = new AcdEngine({ settings, store, clock, nodeId: 'bench', defaultHandleMs: c.ahtSeconds * 1000 });
  await engine.start();
  for (let i = 0; i < c.agents; i++) await engine.login(`agent-${i}`, { skills: { service: 5 }, languages: ['en'] });
  await engine.settled();

  const acd = {
    clock,
    onOffer: (_taskId: string, _agentId: string): void => {
      throw new Error('onOffer not set');
    },
    advanceTo: (t: number) => engine.advanceTo(t),
    async enqueue(taskId: string) {
      await engine.enqueue({ id: taskId, channel: 'voice', queue: QUEUE });
      await engine.settled();
    },
    async abandon(taskId: string) {
      await engine.abandon(taskId);
      await engine.settled();
    },
    async accept(taskId: string, agentId: string) {
      await engine.accept(taskId, agentId);
      await engine.settled();
    },
    async complete(taskId: string) {
      await engine.complete(taskId);
      await engine.settled();
    },
    waitErrors: () => engine.queueSnapshot(QUEUE).waitErrors,
    close: () => engine.close(),
  };
  engine.on('task-offered', (event) => acd.onOffer(event.task.id, event.agent.id));
  return acd;
}
