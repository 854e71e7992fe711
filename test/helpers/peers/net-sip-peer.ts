import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** One line the Perl peer printed: what happened, when (epoch seconds), and details. */
export interface PeerEvent {
  event: string;
  t: number;
  request?: string;
  method?: string;
  uri?: string;
  code?: number;
  reason?: string;
  status?: string;
  errno?: number;
  port?: number;
  headers?: Record<string, string>;
  body_length?: number;
  [key: string]: unknown;
}

export interface NetSipConfig {
  role: 'options' | 'call' | 'cancel' | 'uas';
  proto?: 'udp' | 'tcp';
  /** The SIP URI to send to (UAC roles), e.g. sip:uas@127.0.0.1:5070;transport=tcp. */
  to?: string;
  /** uas: answer INVITE with 180 only, never 2xx. */
  ring?: boolean;
  /** call: how long the call lasts before BYE. */
  hold_ms?: number;
  /** cancel: how long to stay up after the INVITE ended. */
  linger_ms?: number;
  /** The script's own hard limit (SIGALRM); the Node side kills it too, a little later. */
  timeout_s?: number;
  debug?: number;
}

const SCRIPT = join(__dirname, 'net-sip-peer.pl');

/** Why Net::SIP cannot run here, or undefined when it can (for `t.skip`-style guards). */
export function netSipMissing(): string | undefined {
  const probe = spawnSync('perl', ['-MNet::SIP', '-MJSON::PP', '-e', 'print $Net::SIP::VERSION'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0) return undefined;
  return `perl with Net::SIP and JSON::PP is not available (apt-get install libnet-sip-perl): ${probe.stderr || probe.error?.message || ''}`.trim();
}

/**
 * Net::SIP (Perl) running test/helpers/peers/net-sip-peer.pl as a child process. Its stdout is read as JSON
 * lines into `events`; `waitFor` waits (bounded) for one; the process is killed in t.teardown and after
 * its own timeout plus a margin, whichever comes first.
 */
export class NetSipPeer {
  readonly events: PeerEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  readonly #killTimer: NodeJS.Timeout;
  #exited = false;

  constructor(t: { teardown(fn: () => unknown): void }, readonly config: NetSipConfig) {
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
        this.#wake();
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exited = true;
        clearTimeout(this.#killTimer);
        this.#wake();
        resolve({ code, signal });
      });
    });
    this.#killTimer = setTimeout(() => this.kill(), (timeoutS + 5) * 1000);
    t.teardown(async () => {
      this.kill();
      await this.exited;
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Kills this child (SIGKILL). Idempotent. */
  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }

  /** Events with that name (and request/method, if given: "response" for "BYE"). */
  all(event: string, request?: string): PeerEvent[] {
    return this.events.filter((e) => e.event === event && (request === undefined || e.request === request || e.method === request));
  }

  /** Waits for the first event that matches; rejects after `timeoutMs` or when the process ends without it. */
  waitFor(event: string, match: (e: PeerEvent) => boolean = () => true, timeoutMs = 10_000): Promise<PeerEvent> {
    const find = (): PeerEvent | undefined => this.events.find((e) => e.event === event && match(e));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found) return done(() => resolve(found));
        if (this.#exited) done(() => reject(new Error(`Net::SIP exited without "${event}": ${this.describe()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no "${event}" from Net::SIP within ${timeoutMs} ms: ${this.describe()}`))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits for the process to end by itself (bounded), and returns its exit code. */
  async finished(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Net::SIP still running after ${timeoutMs} ms: ${this.describe()}`)), timeoutMs);
    });
    try {
      return (await Promise.race([this.exited, limit])).code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The event names so far and the tail of stderr, for failure messages. */
  describe(): string {
    const names = this.events.map((e) => (e.code !== undefined ? `${e.event}:${e.code}` : e.method ? `${e.event}:${e.method}` : e.event));
    return `events [${names.join(', ')}]${this.stderr ? `; stderr: ${this.stderr.slice(-800)}` : ''}`;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
