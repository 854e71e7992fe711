import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Waiters, within } from '../wait';

/** One line the Perl peer printed: what happened, when (epoch seconds), and details of the packet. */
export interface PeerEvent {
  event: string;
  t: number;
  /** The method a response or action belongs to ("BYE" for the response to our BYE). */
  request?: string;
  method?: string;
  uri?: string;
  code?: number;
  reason?: string;
  /** Net::SIP's verdict on a call or request: "OK", "FAIL". */
  status?: string;
  errno?: number;
  port?: number;
  expires?: number | string;
  headers?: Record<string, string>;
  body?: string;
  body_length?: number;
  [key: string]: unknown;
}

export type PeerAction = { do: 'bye' | 'reinvite' | 'info' | 'await_bye' } | { do: 'wait'; ms: number };

export interface PeerConfig {
  role: 'call' | 'uas' | 'register' | 'request';
  proto?: 'udp' | 'tcp';
  /** Local user part (From, Contact). */
  user?: string;
  /** call/request: the SIP URI to send to, e.g. sip:uas@127.0.0.1:5070;transport=tcp. */
  to?: string;
  /** request: the method (default OPTIONS), and an optional text/plain body. */
  method?: string;
  body?: string;
  /** call/register/request: credentials for 401/407 challenges. */
  auth?: [string, string];
  /** call: CANCEL on the first 18x. */
  cancel_on_ring?: boolean;
  /** call, uas: what to do in the call once it is established (call: default one BYE). */
  actions?: PeerAction[];
  /** call: stay up this long after the actions (or the CANCEL), so that late retransmissions can be seen. */
  linger_ms?: number;
  /** uas: answer with this status instead of 200. */
  final?: number;
  /** uas: 180 first, 200 this long after. */
  ring_ms?: number;
  /** uas: only 180, never a final response (the caller cancels). */
  never_answer?: boolean;
  /** uas: challenge every request (user → password); 407 instead of 401 with auth_proxy. */
  auth_user2pass?: Record<string, string>;
  auth_realm?: string;
  auth_proxy?: boolean;
  /** uas: exit after this many calls ran their actions. */
  calls?: number;
  /** register: the registrar (host:port) and Expires. */
  registrar?: string;
  expires?: number;
  /** Contact to advertise and outgoing proxy for everything sent (both used to put a relay in the path). */
  contact?: string;
  outgoing_proxy?: string;
  /** The local port (default: a free one). */
  port?: number;
  /** The script's own hard limit (SIGALRM); the Node side kills it a little later too. */
  timeout_s?: number;
  debug?: number;
}

const SCRIPT = join(__dirname, 'net-sip-peer.pl');

/** Why Net::SIP cannot run here, or false when it can (for tap's `skip` option). */
export function netSipMissing(): string | false {
  const probe = spawnSync('perl', ['-MNet::SIP', '-MJSON::PP', '-e', 'print $Net::SIP::VERSION'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0) return false;
  return `perl with Net::SIP and JSON::PP is not available (apt-get install libnet-sip-perl): ${probe.stderr || probe.error?.message || ''}`.trim();
}

/**
 * Net::SIP (Perl) running test/helpers/peers/net-sip-peer.pl as a child process: its JSON lines are collected
 * in `events`, `waitFor` waits (bounded) for one, and the process is killed in t.teardown, or after its own
 * timeout plus a margin, whichever comes first.
 */
export class NetSipPeer {
  readonly events: PeerEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Waiters();
  readonly #killTimer: NodeJS.Timeout;
  #exited = false;

  constructor(t: { teardown(fn: () => unknown): void }, readonly config: PeerConfig) {
    const timeoutS = config.timeout_s ?? 20;
    this.#child = spawn('perl', [SCRIPT, JSON.stringify({ ...config, timeout_s: timeoutS })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.length === 0) continue;
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          this.stderr += `unparsed stdout: ${line}\n`;
        }
        this.#waiters.wake();
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exited = true;
        clearTimeout(this.#killTimer);
        this.#waiters.wake();
        resolve({ code, signal });
      });
    });
    this.#killTimer = setTimeout(() => this.kill(), (timeoutS + 5) * 1000);
    t.teardown(async () => {
      this.kill();
      await this.exited;
    });
  }

  /** Starts a peer and waits until its socket is bound; `port` is where it listens. */
  static async start(t: { teardown(fn: () => unknown): void }, config: PeerConfig): Promise<NetSipPeer & { port: number }> {
    const peer = new NetSipPeer(t, config);
    const ready = await peer.waitFor('ready');
    return Object.assign(peer, { port: ready.port! });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** This child's SIP URI on 127.0.0.1. */
  uri(port: number, user = this.config.user ?? 'netsip'): string {
    return `sip:${user}@127.0.0.1:${port}`;
  }

  /** Kills this child (SIGKILL). Idempotent. */
  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }

  /** Events with that name, and with that method or request (the method a response answers) if given. */
  all(event: string, method?: string): PeerEvent[] {
    return this.events.filter((e) => e.event === event && (method === undefined || e.request === method || e.method === method));
  }

  /** Responses the leg received with that status to that method (retransmissions included). */
  received(code: number, method: string): PeerEvent[] {
    return this.all('received').filter((e) => e.code === code && e.headers?.cseq?.endsWith(` ${method}`));
  }

  /** Requests the leg received with that method (retransmissions included). */
  receivedRequests(method: string): PeerEvent[] {
    return this.all('received').filter((e) => e.method === method);
  }

  /** Waits for the first event that matches; rejects after `timeoutMs` or when the process ends without it. */
  waitFor(event: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs = 10_000): Promise<PeerEvent> {
    return this.#waiters.until(() => this.events.find((e) => e.event === event && match(e)), {
      timeoutMs,
      timeout: () => new Error(`no "${event}" from Net::SIP within ${timeoutMs} ms: ${this.describe()}`),
      failed: () => (this.#exited ? new Error(`Net::SIP exited without "${event}": ${this.describe()}`) : undefined),
    });
  }

  /** Waits for the process to end by itself (bounded) and returns its exit code. */
  async finished(timeoutMs = 15_000): Promise<number | null> {
    return (await within(this.exited, timeoutMs, () => new Error(`Net::SIP still running after ${timeoutMs} ms: ${this.describe()}`))).code;
  }

  /** The event names so far and the tail of stderr, for failure messages. */
  describe(): string {
    const names = this.events.map((e) => {
      const what = e.code !== undefined ? `:${e.code}${e.headers?.cseq ? ` ${e.headers.cseq}` : ''}` : e.method ? `:${e.method}` : e.do ? `:${String(e.do)}` : '';
      return `${e.event}${what}`;
    });
    return `events [${names.join(', ')}]${this.stderr ? `; stderr: ${this.stderr.slice(-1200)}` : ''}`;
  }
}
