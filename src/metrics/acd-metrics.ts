import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { channels, type AcdEngine, type AcdEvent, type AgentState } from '../acd/index';
import { WAIT_BUCKETS_SECONDS } from '../reports/index';

const agentStates: readonly AgentState[] = ['logged-out', 'available', 'reserved', 'busy', 'wrap-up', 'not-ready'];
/** Waits and handle times: seconds to an hour, as the reports' abandon-time distribution. */
const DURATION_BUCKETS = [...WAIT_BUCKETS_SECONDS];

/**
 * The ACD's metrics: counters and histograms follow its events (every node sees every event, so each node counts
 * the whole contact center: sum by instance is not needed, max or one node's series is the figure), gauges read its
 * replica at scrape time. Labels are queues, channels and states: bounded by configuration.
 */
export function registerAcdMetrics(registry: Registry, acd: AcdEngine): void {
  const registers = [registry];
  const tasks = new Counter({ name: 'onecc_acd_tasks_total', help: 'Tasks by queue, channel and what happened to them (created, answered, abandoned, completed)', labelNames: ['queue', 'channel', 'event'], registers });
  const offers = new Counter({ name: 'onecc_acd_offers_total', help: 'Offers to agents by queue and outcome (offered, accepted, rejected, timeout, node-lost)', labelNames: ['queue', 'outcome'], registers });
  const wait = new Histogram({ name: 'onecc_acd_wait_seconds', help: 'Time from first entering a queue (kept through overflow) to an agent taking the task, by queue and channel', labelNames: ['queue', 'channel'], buckets: DURATION_BUCKETS, registers });
  const abandonedAfter = new Histogram({ name: 'onecc_acd_abandon_wait_seconds', help: 'Time customers waited before abandoning, by queue', labelNames: ['queue'], buckets: DURATION_BUCKETS, registers });
  const handle = new Histogram({ name: 'onecc_acd_handle_seconds', help: 'Time from an agent taking a task to its completion, by queue and channel', labelNames: ['queue', 'channel'], buckets: DURATION_BUCKETS, registers });
  const decision = new Histogram({
    name: 'onecc_acd_decision_seconds',
    help: 'Time from a routing decision to its offer being committed in the store (Redis round trip included)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers,
  });

  acd.on('event', (event: AcdEvent) => {
    if (event.type === 'agent-state-changed') return;
    const { task } = event;
    const labels = { queue: task.queue, channel: task.channel };
    switch (event.type) {
      case 'task-created':
        tasks.inc({ ...labels, event: 'created' });
        break;
      case 'task-offered':
        offers.inc({ queue: task.queue, outcome: 'offered' });
        if (task.decision) decision.observe(Math.max(0, event.at - task.decision.at) / 1000);
        break;
      case 'task-accepted':
        offers.inc({ queue: task.queue, outcome: 'accepted' });
        tasks.inc({ ...labels, event: 'answered' });
        wait.observe(labels, Math.max(0, event.at - task.enqueuedAt) / 1000);
        break;
      case 'task-rejected':
        offers.inc({ queue: task.queue, outcome: event.reason === 'rejected' ? 'rejected' : event.reason });
        break;
      case 'task-abandoned':
        tasks.inc({ ...labels, event: 'abandoned' });
        abandonedAfter.observe({ queue: task.queue }, Math.max(0, event.at - task.enqueuedAt) / 1000);
        break;
      case 'task-completed':
        tasks.inc({ ...labels, event: 'completed' });
        if (task.acceptedAt > 0) handle.observe(labels, Math.max(0, event.at - task.acceptedAt) / 1000);
        break;
    }
  });

  const queueGauge = (name: string, help: string, read: (s: ReturnType<AcdEngine['queueSnapshot']>) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const q of acd.settings.queues) {
          const value = read(acd.queueSnapshot(q.name));
          if (value !== null) this.set({ queue: q.name }, value);
        }
      },
    });
  queueGauge('onecc_queue_waiting', 'Tasks waiting in the queue, not yet offered', (s) => s.waiting);
  queueGauge('onecc_queue_offered', 'Tasks of the queue offered to an agent now (ringing)', (s) => s.offered);
  queueGauge('onecc_queue_longest_wait_seconds', 'Age of the oldest task not yet taken', (s) => s.longestWaitMs / 1000);
  queueGauge('onecc_queue_service_level_ratio', 'Answered within the queue\'s target over answered and abandoned, since midnight UTC (absent before the first)', (s) => (s.today.serviceLevelPercent === null ? null : s.today.serviceLevelPercent / 100));
  queueGauge('onecc_queue_service_level_target_seconds', 'The queue\'s service-level answer time target', (s) => s.serviceLevelTarget.seconds);

  new Gauge({
    name: 'onecc_agents',
    help: 'Agents by state (logged-out: agents known to the ACD who are logged out)',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<AgentState, number>(agentStates.map((s) => [s, 0]));
      for (const agent of acd.agents()) {
        const state = acd.agentState(agent.id);
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'onecc_agent_tasks',
    help: 'Tasks agents hold by channel: reserved (offered to them) or busy (handling)',
    labelNames: ['channel', 'kind'],
    registers,
    collect() {
      for (const channel of channels) {
        let reserved = 0;
        let busy = 0;
        for (const agent of acd.agents()) {
          reserved += agent.reserved[channel];
          busy += agent.busy[channel];
        }
        this.set({ channel, kind: 'reserved' }, reserved);
        this.set({ channel, kind: 'busy' }, busy);
      }
    },
  });
}
