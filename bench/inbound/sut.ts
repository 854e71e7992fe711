/**
 * The onecc system under test of bench/inbound, forked by run.ts: startServer() from src/server.ts as onecc runs in
 * production (embedded SIP engine on 127.0.0.1 UDP, embedded rtpengine and redis-server, ACD on, the voice channel
 * with the bench dialplan). What it adds is what the agent desktop will do once it exists: logging the simulated
 * agents in once their phones registered, and making an agent ready again after RONA. It also reports when it saw
 * each ACD task created and offered, which is where "IVR exit" is measured.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig, logLevels, type LogLevel } from '../../src/config/index';
import { createLogger } from '../../src/lib/index';
import { startServer } from '../../src/server';
import { agentPassword, type SutCommand, type SutCounters, type SutMessage, type SutSetup, type TaskEvent } from './protocol';

const setup = JSON.parse(process.argv[2] ?? '') as SutSetup;
const QUEUE = 'general';

/** Answer, the welcome prompt, the queue; when the agent hangs up the call ends (no afterAgent), and so on error. */
const DIALPLAN = `
id: bench
numbers: ["${setup.did}"]
language: en
languages: [en]
start: welcome
onError: bye
nodes:
  welcome: { type: play, prompt: welcome, next: queue }
  queue: { type: queue, queue: ${QUEUE}, maxWait: 600, onTimeout: bye }
  bye: { type: hangup }
`;

function send(message: SutMessage): void {
  process.send?.(message);
}

const now = (): number => performance.timeOrigin + performance.now();

/** The V8 heap still reachable: what onecc keeps, without the garbage a lazy GC has not collected yet. */
function heapAfterGcMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

async function main(): Promise<void> {
  if (!(logLevels as readonly string[]).includes(setup.logLevel)) throw new Error(`log level must be one of ${logLevels.join(', ')}`);
  const level = setup.logLevel as LogLevel;
  writeFileSync(path.join(setup.dir, 'bench.yaml'), DIALPLAN);
  const phones = setup.agents.map((a) => `{username: ${a}, password: ${agentPassword(a)}, agent: ${a}}`).join(', ');
  const config = loadConfig({
    env: {
      ONECC_LOG__LEVEL: level,
      ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}]',
      ONECC_SIP__DRACHTIO__PORT: '0',
      ONECC_HTTP__PORT: '0',
      ONECC_MEDIA__RTPENGINES: `[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: ${setup.rtpPortMin}, portMax: ${setup.rtpPortMax}}]`,
      ONECC_MEDIA__DTMF__PORT: '0',
      ONECC_MEDIA__RECORDING_DIR: path.join(setup.dir, 'recordings'),
      ONECC_ACD__REDIS__PORT: '0',
      ONECC_ACD__REDIS__DATA_DIR: path.join(setup.dir, 'redis'),
      ONECC_ACD__WRAP_UP_SECONDS: `{voice: ${setup.wrapUpSeconds}, video: 0, chat: 0, email: 0}`,
      ONECC_VOICE__RING_TIMEOUT_SECONDS: String(setup.ringTimeoutSeconds),
      ONECC_VOICE__PHONES: `[${phones}]`,
      ONECC_IVR__DIALPLANS_DIR: setup.dir,
      ONECC_IVR__TEXT_PROMPT_CACHE_DIR: path.join(setup.dir, 'text-cache'),
    },
  });
  const logger = createLogger(level);
  const onecc = await startServer(config, logger);
  const acd = onecc.acd!;
  const voice = onecc.voice!;

  const counts = { tasksCreated: 0, tasksOffered: 0, tasksRejected: 0, tasksAbandoned: 0, tasksCompleted: 0, rona: 0 };
  let tasks: TaskEvent[] = [];
  acd.on('event', (event) => {
    switch (event.type) {
      case 'task-created':
        counts.tasksCreated++;
        tasks.push({ taskId: event.task.id, kind: 'created', at: now() });
        break;
      case 'task-offered':
        counts.tasksOffered++;
        tasks.push({ taskId: event.task.id, kind: 'offered', at: now() });
        break;
      case 'task-rejected':
        counts.tasksRejected++;
        break;
      case 'task-abandoned':
        counts.tasksAbandoned++;
        break;
      case 'task-completed':
        counts.tasksCompleted++;
        break;
      case 'agent-state-changed':
        if (event.state === 'not-ready' && event.agent.reason === acd.settings.ronaReason) {
          counts.rona++;
          // What an agent does at the desktop after a missed call; without it every RONA would shrink the team.
          setTimeout(() => void acd.setReady(event.agent.id).catch(() => undefined), 1000).unref();
        }
        break;
    }
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 2 });
  loopDelay.enable();
  const counters = (): SutCounters => {
    const ms = (ns: number): number => ns / 1e6;
    const result: SutCounters = {
      activeCalls: voice.activeCalls,
      openMediaCalls: onecc.media.openCalls,
      waiting: acd.queueSnapshot(QUEUE).waiting,
      ...counts,
      loopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      heapUsedMb: process.memoryUsage().heapUsed / 1048576,
    };
    loopDelay.reset();
    return result;
  };

  process.on('message', (command: SutCommand) => {
    if (command.type === 'login') {
      void (async () => {
        const missing: string[] = [];
        let agents = 0;
        for (const agent of setup.agents) {
          // onecc rings only registered phones: an agent without one would be offered calls and RONA at once.
          if ((await onecc.phones.devicesOf(agent)).length === 0) {
            missing.push(agent);
            continue;
          }
          await acd.login(agent, { skills: { [QUEUE]: 5 }, languages: ['en'] }, 'ready');
          agents++;
        }
        send({ type: 'logged-in', agents, missing, heapAfterGcMb: heapAfterGcMb() });
      })().catch(fatal);
    } else if (command.type === 'stats') {
      send({ type: 'stats', counters: counters(), tasks });
      tasks = [];
    } else if (command.type === 'final') {
      const agentStates: Record<string, number> = {};
      for (const agent of setup.agents) {
        const state = acd.agentState(agent);
        agentStates[state] = (agentStates[state] ?? 0) + 1;
      }
      send({ type: 'final', counters: counters(), agentStates, waitingTasks: acd.queueSnapshot(QUEUE).waiting, heapAfterGcMb: heapAfterGcMb() });
    }
  });

  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    // A clean close stops rtpengine and redis-server, which run in process groups of their own.
    void onecc.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 8000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);

  const udp = onecc.sip?.listeners.find((l) => l.transport === 'udp');
  if (!udp) throw new Error('the embedded engine has no UDP listener');
  send({ type: 'ready', sipPort: udp.boundPort, httpPort: onecc.http.port });
}

function fatal(err: unknown): void {
  process.stderr.write(`inbound sut: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}

main().catch(fatal);
