import t from 'tap';
import { AcdEngine, AcdError, MemoryStore, SimulatedClock, type AcdEvent, type AgentProfile, type QueueDefinition, type AcdSettings } from '../../src/acd/index';
import { queue, settings } from './fixtures';

const billing = (level: number, extra: Partial<AgentProfile> = {}): AgentProfile => ({ skills: { billing: level }, languages: ['en'], ...extra });

async function harness(queues: QueueDefinition[], extra: Partial<AcdSettings> = {}) {
  const clock = new SimulatedClock(1_000_000);
  const engine = new AcdEngine({ settings: settings(queues, extra), clock });
  const events: AcdEvent[] = [];
  engine.on('event', (e) => events.push(e));
  await engine.start();
  const offers = () => events.filter((e) => e.type === 'task-offered').map((e) => `${(e as { task: { id: string } }).task.id}->${(e as { agent: { id: string } }).agent.id}`);
  const at = async (seconds: number) => engine.advanceTo(1_000_000 + seconds * 1000);
  return { clock, engine, events, offers, at };
}

t.test('longest-idle offers to the eligible agent idle longest; the decision says who was passed over and why', async (t) => {
  const { engine, offers, at } = await harness([queue('billing', 'billing >= 5 and lang:en')]);
  await engine.login('low', billing(3));
  await at(1);
  await engine.login('old', billing(6));
  await at(2);
  await engine.login('new', billing(9));
  await engine.login('away', billing(9), 'not-ready');
  await engine.login('chatty', billing(9, { capacity: { voice: 0, video: 0, chat: 3, email: 0 } }));
  await engine.enqueue({ id: 't1', channel: 'voice', queue: 'billing' });
  await engine.settled();
  t.same(offers(), ['t1->old']);
  const decision = await engine.explain('t1');
  t.match(decision, {
    trigger: 'task-routable', queue: 'billing', expression: 'billing >= 5 and lang:en', via: 'own-queue', strategy: 'longest-idle',
    considered: 5, rejected: { proficiency: 1, state: 1, capacity: 1, declined: 0 }, agentId: 'old',
  });
  t.match(decision!.tieBreak, /longest idle: idle since 1001000; next best new: idle since 1002000/);
});

t.test('most-skilled, round-robin and least-occupied pick by their own keys', async (t) => {
  const { engine, offers } = await harness([
    queue('skilled', 'billing', { strategy: 'most-skilled' }),
    queue('rr', 'billing', { strategy: 'round-robin' }),
    queue('occupancy', 'billing', { strategy: 'least-occupied' }),
  ]);
  await engine.login('a', billing(4));
  await engine.login('b', billing(8));
  await engine.enqueue({ id: 's1', channel: 'chat', queue: 'skilled' });
  await engine.settled();
  t.same(offers(), ['s1->b'], 'most skilled');
  await engine.enqueue({ id: 'r1', channel: 'chat', queue: 'rr' });
  await engine.settled();
  t.same(offers().at(-1), 'r1->a', 'round robin: a was never offered a task');
  await engine.enqueue({ id: 'o1', channel: 'email', queue: 'occupancy' });
  await engine.settled();
  t.same(offers().at(-1), 'o1->a', 'least occupied: both hold one chat, and a has idled longer');
});

t.test('cross-channel: while on a call an agent takes at most 2 chats and no video', async (t) => {
  const { engine, offers } = await harness([queue('q', 'billing')]);
  await engine.login('a', billing(5));
  await engine.enqueue({ id: 'call', channel: 'voice', queue: 'q' });
  for (const id of ['c1', 'c2', 'c3']) await engine.enqueue({ id, channel: 'chat', queue: 'q' });
  await engine.enqueue({ id: 'video', channel: 'video', queue: 'q' });
  await engine.settled();
  t.same(offers(), ['call->a', 'c1->a', 'c2->a']);
  t.same(engine.agent('a').reserved, { voice: 1, video: 0, chat: 2, email: 0 });
  await engine.accept('call', 'a');
  await engine.complete('call');
  await engine.settled();
  t.same(offers().slice(3), ['c3->a', 'video->a'], 'the third chat and the video once the call ended');
});

t.test('an offer not answered in time goes to the next agent and the first goes not-ready (RONA)', async (t) => {
  const { engine, offers, events, at } = await harness([queue('q', 'billing')]);
  await engine.login('a', billing(5));
  await at(1);
  await engine.login('b', billing(5));
  await engine.enqueue({ id: 't', channel: 'voice', queue: 'q' });
  await engine.settled();
  t.same(offers(), ['t->a']);
  await at(17);
  t.same(offers(), ['t->a', 't->b']);
  t.equal(engine.agentState('a'), 'not-ready');
  t.equal(engine.agent('a').reason, 'rona');
  t.ok(events.some((e) => e.type === 'task-rejected' && e.reason === 'timeout'));
  t.same(engine.task('t').declinedBy, ['a']);
});

t.test('a rejected task keeps its place and is not offered to that agent again', async (t) => {
  const { engine, offers } = await harness([queue('q', 'billing')]);
  await engine.login('a', billing(5));
  await engine.enqueue({ id: 't1', channel: 'voice', queue: 'q' });
  await engine.enqueue({ id: 't2', channel: 'voice', queue: 'q' });
  await engine.settled();
  await engine.reject('t1', 'a');
  await engine.settled();
  t.same(offers(), ['t1->a', 't2->a']);
  t.equal(engine.task('t1').state, 'waiting');
  await engine.login('b', billing(5));
  await engine.settled();
  t.same(offers().at(-1), 't1->b');
});

t.test('wrap-up holds the agent for the channel\'s time; setReady ends it early', async (t) => {
  const { engine, offers, at } = await harness([queue('q', 'billing')], { wrapUpSeconds: { voice: 10, video: 0, chat: 0, email: 0 } });
  await engine.login('a', billing(5));
  await engine.enqueue({ id: 't1', channel: 'voice', queue: 'q' });
  await engine.settled();
  await engine.accept('t1', 'a');
  await engine.complete('t1');
  await engine.enqueue({ id: 't2', channel: 'voice', queue: 'q' });
  await at(9);
  t.equal(engine.agentState('a'), 'wrap-up');
  t.same(offers(), ['t1->a']);
  await at(10);
  t.same(offers(), ['t1->a', 't2->a']);
  await engine.accept('t2', 'a');
  await engine.complete('t2');
  await engine.enqueue({ id: 't3', channel: 'voice', queue: 'q' });
  await engine.setReady('a');
  await engine.settled();
  t.same(offers().at(-1), 't3->a');
});

t.test('escalation relaxes levels, widens, raises priority, asks for a callback and overflows, keeping enqueue time', async (t) => {
  const { engine, offers, events, at } = await harness([
    queue('expert', 'billing >= 8', {
      escalation: [
        { afterSeconds: 10, action: 'relax', value: 'billing >= 5' },
        { afterSeconds: 20, action: 'widen', value: 'sales' },
        { afterSeconds: 30, action: 'raise-priority', value: '5' },
        { afterSeconds: 40, action: 'offer-callback', value: null },
        { afterSeconds: 50, action: 'overflow', value: 'general' },
      ],
    }),
    queue('sales', 'sales'),
    queue('general', 'tech'),
  ]);
  await engine.enqueue({ id: 't', channel: 'voice', queue: 'expert' });
  await at(10);
  t.equal(engine.task('t').relaxedTarget, 'billing >= 5');
  await at(20);
  t.same(engine.task('t').widened, ['sales']);
  await at(30);
  t.equal(engine.task('t').priority, 5);
  await at(40);
  t.ok(events.some((e) => e.type === 'callback-offered' && e.task.id === 't'));
  await at(50);
  t.match(engine.task('t'), { queue: 'general', step: -1, enqueuedAt: 1_000_000, priority: 5 });
  await engine.login('techie', { skills: { tech: 1 }, languages: [] });
  await engine.settled();
  t.same(offers(), ['t->techie']);
});

t.test('a widened queue\'s agents may take the task; the decision says so', async (t) => {
  const { engine, at } = await harness([queue('a', 'billing', { escalation: [{ afterSeconds: 5, action: 'widen', value: 'b' }] }), queue('b', 'sales')]);
  await engine.login('seller', { skills: { sales: 3 }, languages: [] });
  await engine.enqueue({ id: 't', channel: 'chat', queue: 'a' });
  await at(4);
  t.equal(engine.task('t').state, 'waiting');
  await at(5);
  t.match(await engine.explain('t'), { via: 'widened', queue: 'b', expression: 'sales', step: 0 });
});

t.test('max size sends tasks to the fallback, or refuses them; max wait moves them or ends them', async (t) => {
  const { engine, events, at } = await harness([
    queue('small', 'billing', { maxSize: 1, fallback: 'overflow', maxWaitSeconds: 30 }),
    queue('overflow', 'billing', { maxSize: 1, maxWaitSeconds: 60 }),
  ]);
  t.equal((await engine.enqueue({ id: 't1', channel: 'voice', queue: 'small' })).queue, 'small');
  t.equal((await engine.enqueue({ id: 't2', channel: 'voice', queue: 'small' })).queue, 'overflow');
  await t.rejects(engine.enqueue({ id: 't3', channel: 'voice', queue: 'small' }), { code: 'ACD_QUEUE_FULL' });
  await at(30);
  t.match(engine.task('t1'), { queue: 'overflow', enqueuedAt: 1_000_000, queuedAt: 1_030_000 }, 'max wait moves it to the fallback, full or not');
  await at(60);
  t.throws(() => engine.task('t2'), { code: 'ACD_UNKNOWN_TASK' });
  t.match(events.find((e) => e.type === 'task-abandoned'), { task: { id: 't2', endReason: 'max-wait' } }, 'no fallback: it ends');
});

t.test('a task continues as a callback or a call and keeps its place', async (t) => {
  const { engine, at } = await harness([queue('q', 'billing')]);
  await engine.enqueue({ id: 'first', channel: 'chat', queue: 'q' });
  await at(5);
  await engine.enqueue({ id: 'second', channel: 'voice', queue: 'q' });
  t.equal(engine.position('second'), 1);
  await engine.continueAs('first', { channel: 'voice', attributes: { callback: '+15550100' } });
  t.equal(engine.position('first'), 1);
  t.equal(engine.position('second'), 2);
  t.match(engine.task('first'), { channel: 'voice', enqueuedAt: 1_000_000, attributes: { callback: '+15550100' } });
});

t.test('commands for unknown agents or tasks, or out of order, fail with coded errors and never break capacity', async (t) => {
  const { engine } = await harness([queue('q', 'billing')]);
  await t.rejects(engine.setReady('ghost'), { code: 'ACD_UNKNOWN_AGENT' });
  await t.rejects(engine.accept('nothing', 'ghost'), { code: 'ACD_UNKNOWN_TASK' });
  await t.rejects(engine.enqueue({ channel: 'voice', queue: 'nope' }), { code: 'ACD_UNKNOWN_QUEUE' });
  await t.rejects(engine.login('x', { skills: { cooking: 5 }, languages: [] }), { code: 'ACD_UNKNOWN_SKILL' });
  await t.rejects(engine.login('x', { skills: { billing: 11 }, languages: [] }), { code: 'ACD_INVALID_PROFILE' });
  await engine.login('a', billing(5));
  await engine.login('b', billing(5));
  await engine.enqueue({ id: 't', channel: 'voice', queue: 'q' });
  await engine.settled();
  const offeredTo = engine.task('t').offer!.agentId;
  const other = offeredTo === 'a' ? 'b' : 'a';
  await t.rejects(engine.accept('t', other), { code: 'ACD_WRONG_STATE', message: new RegExp(`offered to ${offeredTo}`) });
  await t.rejects(engine.complete('t'), { code: 'ACD_WRONG_STATE' });
  await engine.accept('t', offeredTo);
  await t.rejects(engine.accept('t', offeredTo), { code: 'ACD_WRONG_STATE' });
  await t.rejects(engine.logout(offeredTo), { code: 'ACD_WRONG_STATE' });
  await engine.complete('t');
  await t.rejects(engine.complete('t'), AcdError);
  t.same(engine.agent(offeredTo).busy, { voice: 0, video: 0, chat: 0, email: 0 });
  t.same(engine.agent(offeredTo).reserved, { voice: 0, video: 0, chat: 0, email: 0 });
});

t.test('queue snapshot: waiting, longest wait, agents by state, service level and abandons today', async (t) => {
  const { engine, at } = await harness([queue('q', 'billing')]);
  await engine.enqueue({ id: 'gone', channel: 'voice', queue: 'q' });
  await engine.enqueue({ id: 'kept', channel: 'voice', queue: 'q' });
  await at(30);
  await engine.abandon('gone');
  t.ok(engine.estimatedWait('kept').waitMs === Infinity, 'no agent staffed: no estimate');
  await engine.login('a', billing(5));
  await engine.settled();
  await engine.accept('kept', 'a');
  const snapshot = engine.queueSnapshot('q');
  t.match(snapshot, { waiting: 0, offered: 0, agents: { busy: 1 }, today: { answered: 1, answeredWithinTarget: 0, abandoned: 1, serviceLevelPercent: 0 } });
  t.equal(snapshot.waitErrors.unpredicted, 1);
});

t.test('simulated time runs many calls quickly and serves them in order', async (t) => {
  const { engine, clock } = await harness([queue('q', 'billing')]);
  for (let i = 0; i < 20; i++) await engine.login(`a${i}`, billing(5));
  engine.on('task-offered', (e) => {
    void engine.accept(e.task.id, e.agent.id).then(() => clock.setTimer(clock.now() + 60_000, () => engine.complete(e.task.id).then(() => undefined)));
  });
  let next = clock.now();
  const calls = 20_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    next += 3000 + (i % 7) * 100;
    const id = `c${i}`;
    clock.setTimer(next, () => engine.enqueue({ id, channel: 'voice', queue: 'q' }).then(() => undefined));
  }
  await engine.advanceTo(next + 3_600_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.equal(engine.queueSnapshot('q').today.answered, calls);
  t.equal([...engine.tasks()].length, 0, 'every call ended');
  t.ok(seconds < 20, `${calls} simulated calls in ${seconds.toFixed(2)} s`);
});

t.test('close() is idempotent, emits close once, and every later command is refused', async (t) => {
  const { engine } = await harness([queue('q', 'billing')]);
  let closes = 0;
  engine.on('close', () => closes++);
  await engine.close();
  await engine.close();
  t.equal(closes, 1);
  await t.rejects(engine.login('a', billing(5)), { code: 'INVALID_STATE' });
  await t.rejects(engine.enqueue({ channel: 'voice', queue: 'q' }), { code: 'INVALID_STATE' });
});

t.test('a task stored in a queue the configuration no longer has is loaded, kept and not routed', async (t) => {
  const store = new MemoryStore();
  const before = new AcdEngine({ settings: settings([queue('q', 'billing'), queue('old', 'billing')]), store, clock: new SimulatedClock(0), nodeId: 'n' });
  await before.start();
  await before.enqueue({ id: 't', channel: 'voice', queue: 'old' });
  await before.close();
  const after = new AcdEngine({ settings: settings([queue('q', 'billing')]), store, clock: new SimulatedClock(0), nodeId: 'n' });
  await after.start();
  await after.login('a', billing(5));
  await after.settled();
  t.match(after.task('t'), { queue: 'old', state: 'waiting' });
  await after.close();
});

t.test('offerTo: a transferred task is offered to the named agent at once; declined, it goes to the queue', async (t) => {
  const { engine, offers, at } = await harness([queue('billing', 'billing >= 5')]);
  await engine.login('idle-longest', billing(9));
  await at(1);
  await engine.login('named', billing(1)); // below the queue's target: a transfer does not ask
  await engine.login('away', billing(9), 'not-ready');
  const direct = await engine.enqueue({ id: 'x1', channel: 'chat', queue: 'billing', offerTo: 'named' });
  await engine.settled();
  t.equal(direct.state, 'offered', 'offered in the same commit as its creation');
  t.same(offers(), ['x1->named'], 'to the named agent, not the one idle longest');
  t.match(await engine.explain('x1'), { trigger: 'transfer', agentId: 'named', tieBreak: 'transferred to this agent' });
  await engine.reject('x1', 'named');
  await engine.settled();
  t.same(offers(), ['x1->named', 'x1->idle-longest'], 'declined: the queue routes it');
  const notReady = await engine.enqueue({ id: 'x2', channel: 'chat', queue: 'billing', offerTo: 'away' });
  await engine.settled();
  t.notOk(notReady.state === 'offered' && notReady.offer?.agentId === 'away', 'an agent who is not ready is not offered it');
  t.notOk(offers().includes('x2->away'));
});
