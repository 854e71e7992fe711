import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '../../../src/lib';
import { Waiters, delay } from '../wait';

/** Debian's baresip-core puts its modules here. */
const MODULE_PATH = '/usr/lib/baresip/modules';
/** account reads the accounts file; g711 is the codec; ausine the microphone and aubridge the speaker (no sound card); menu has the commands ctrl_tcp runs. */
const MODULES = ['account', 'g711', 'ausine', 'aubridge', 'menu', 'ctrl_tcp'];

/** Why baresip cannot run here, or undefined when it can. */
export function baresipMissing(): string | undefined {
  const absent = MODULES.filter((m) => !existsSync(join(MODULE_PATH, `${m}.so`)));
  if (absent.length > 0) return `baresip modules missing from ${MODULE_PATH}: ${absent.join(', ')} (apt-get install baresip-core)`;
  return undefined;
}

/** One message from baresip's ctrl_tcp module: an event ({event: true, type, ...}) or a command response. */
export interface BaresipMessage {
  event?: boolean;
  response?: boolean;
  type?: string;
  class?: string;
  param?: string;
  ok?: boolean;
  data?: string;
  token?: string;
  [key: string]: unknown;
}

/**
 * baresip (a SIP user agent we did not write) as a child process, bound to 127.0.0.1 with no sound card,
 * driven through its ctrl_tcp module (netstring-framed JSON commands and events). It quits by itself after
 * `timeoutS` (-t); t.teardown kills it and removes its config directory.
 */
export class BaresipPeer {
  readonly messages: BaresipMessage[] = [];
  output = '';
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #waiters = new Waiters();
  #ctrl: Socket | undefined;
  #buffer = Buffer.alloc(0);
  #exited = false;
  #token = 0;

  private constructor(child: ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.on('exit', () => {
      this.#exited = true;
      this.#waiters.wake();
    });
  }

  /**
   * `account`: baresip's accounts line (default: an unregistered account that answers manually); `sineHz`: the tone
   * its microphone sends.
   */
  static async start(t: { teardown(fn: () => unknown): void }, options: { timeoutS?: number; account?: string; sineHz?: number } = {}): Promise<BaresipPeer> {
    const dir = mkdtempSync(join(tmpdir(), 'onecc-baresip-'));
    const ctrlPort = await freeTcpPort();
    writeFileSync(join(dir, 'config'), [
      'poll_method epoll',
      'net_interface 127.0.0.1',
      'sip_listen 127.0.0.1:0',
      'audio_player aubridge,nil',
      `audio_source ausine,${options.sineHz ?? 440}`,
      'ausrc_srate 48000',
      'ausrc_channels 2',
      'audio_alert aubridge,nil',
      `module_path ${MODULE_PATH}`,
      ...MODULES.map((m) => `module ${m}.so`),
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'accounts'), `${options.account ?? '<sip:baresip@127.0.0.1>;regint=0;answermode=manual'}\n`);
    const child = spawn('baresip', ['-f', dir, '-t', String(options.timeoutS ?? 20)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const peer = new BaresipPeer(child, dir);
    t.teardown(() => peer.close());
    await peer.#connect(ctrlPort, 5000);
    return peer;
  }

  /** Sends a command ("dial", "hangup", ...) and waits (bounded) for its response. */
  async command(command: string, params = '', timeoutMs = 5000): Promise<BaresipMessage> {
    const token = `t${++this.#token}`;
    const json = JSON.stringify({ command, params, token });
    this.#ctrl!.write(`${Buffer.byteLength(json)}:${json},`);
    return this.waitFor((m) => m.response === true && m.token === token, `response to ${command}`, timeoutMs);
  }

  /** Waits for the first event of that type ("CALL_ESTABLISHED", "CALL_CLOSED"...). */
  event(type: string, timeoutMs = 5000): Promise<BaresipMessage> {
    return this.waitFor((m) => m.event === true && m.type === type, `event ${type}`, timeoutMs);
  }

  waitFor(match: (m: BaresipMessage) => boolean, what: string, timeoutMs: number): Promise<BaresipMessage> {
    return this.#waiters.until(() => this.messages.find(match), {
      timeoutMs,
      timeout: () => new Error(`no ${what} from baresip within ${timeoutMs} ms: ${this.describe()}`),
      failed: () => (this.#exited ? new Error(`baresip exited before ${what}: ${this.describe()}`) : undefined),
    });
  }

  describe(): string {
    const kinds = this.messages.map((m) => (m.event ? m.type : `response:${m.ok}`));
    return `[${kinds.join(', ')}]; output tail: ${this.output.slice(-1500)}`;
  }

  /** Kills baresip (SIGKILL) and removes its config directory. Idempotent. */
  async close(): Promise<void> {
    this.#ctrl?.destroy();
    if (!this.#exited) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #connect(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.#ctrl = await new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        });
        break;
      } catch (err) {
        if (this.#exited || Date.now() > deadline) throw new Error(`cannot reach baresip's ctrl_tcp on ${port}: ${String(err)}; ${this.describe()}`);
        await delay(100);
      }
    }
    this.#ctrl.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#ctrl.on('error', () => undefined);
  }

  /** Netstrings: "<length in bytes>:<json>,". */
  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const colon = this.#buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(this.#buffer.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(length) || this.#buffer.length < colon + 1 + length + 1) return;
      const body = this.#buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(colon + 1 + length + 1);
      try {
        this.messages.push(JSON.parse(body) as BaresipMessage);
      } catch {
        this.output += `\nunparsed ctrl_tcp message: ${body}`;
      }
      this.#waiters.wake();
    }
  }
}
