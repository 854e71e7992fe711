import { Client } from 'rtpengine-client';
import type { Logger } from '../../lib';
import { MediaError } from '../errors';

/** An NG command name as rtpengine-client spells it (`playMedia` is sent as "play media"). */
export type NgCommand =
  | 'offer' | 'answer' | 'delete' | 'query' | 'list' | 'ping' | 'statistics'
  | 'playMedia' | 'stopMedia' | 'playDTMF' | 'blockDTMF' | 'unblockDTMF'
  | 'blockMedia' | 'unblockMedia' | 'silenceMedia' | 'unsilenceMedia'
  | 'startRecording' | 'stopRecording' | 'subscribeRequest' | 'subscribeAnswer' | 'unsubscribe';

/** An NG reply with every bencoded byte string decoded to text. */
export type NgReply = { readonly result: string; readonly [key: string]: unknown };

/** Observes every command's round-trip time (benchmarks, metrics). */
export type NgTimingObserver = (command: NgCommand, seconds: number, outcome: 'ok' | 'error' | 'timeout') => void;

/**
 * One rtpengine's NG control port over UDP. Wraps rtpengine-client so that every command is bounded in time,
 * replies are plain strings, and an `error` result becomes a MediaError instead of a value callers must inspect.
 */
export class NgClient {
  readonly #client: Client;
  readonly #target: { host: string; port: number };
  #closed = false;

  constructor(
    host: string,
    port: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly observe?: NgTimingObserver,
  ) {
    this.#target = { host, port };
    this.#client = new Client({ timeout: timeoutMs, localAddress: localAddressFor(host), localPort: 0 });
    // The library reports replies that arrive after their timeout as errors; they are expected, not fatal.
    this.#client.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'rtpengine: late or unmatched NG reply'));
  }

  get address(): string {
    return `${this.#target.host}:${this.#target.port}`;
  }

  /**
   * Sends one command and resolves with its reply. Rejects with RTPENGINE_TIMEOUT when rtpengine does not answer
   * within the configured time, and with RTPENGINE_ERROR (carrying rtpengine's error-reason) when it refuses.
   */
  async command(name: NgCommand, params: Record<string, unknown> = {}, opts: { timeoutMs?: number; unobserved?: boolean } = {}): Promise<NgReply> {
    if (this.#closed) throw new MediaError('CALL_CLOSED', `NG client for ${this.address} is closed`);
    const observe = opts.unobserved ? undefined : this.observe;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const timeoutMs = Math.min(opts.timeoutMs ?? this.timeoutMs, this.timeoutMs);
    let raw: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      // The library's own timeout (this.timeoutMs) cleans up its pending entry; a shorter one races it.
      raw = await Promise.race([
        this.#client[name](this.#target, params),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
    } catch (err) {
      const timedOut = /timeout/i.test(String((err as Error)?.message ?? err));
      observe?.(name, seconds(), timedOut ? 'timeout' : 'error');
      throw timedOut
        ? new MediaError('RTPENGINE_TIMEOUT', `rtpengine ${this.address} did not answer "${name}" within ${timeoutMs} ms`, { rtpengine: this.address, command: name })
        : new MediaError('RTPENGINE_ERROR', `rtpengine ${this.address} "${name}" failed: ${String((err as Error)?.message ?? err)}`, { rtpengine: this.address, command: name }, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    const reply = decodeStrings(raw) as NgReply;
    if (reply.result === 'error') {
      observe?.(name, seconds(), 'error');
      const reason = String(reply['error-reason'] ?? 'no reason given');
      throw new MediaError('RTPENGINE_ERROR', `rtpengine ${this.address} refused "${name}": ${reason}`, { rtpengine: this.address, command: name, reason });
    }
    observe?.(name, seconds(), 'ok');
    return reply;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}

/** Bencode carries every string as bytes; rtpengine's replies are text, so decode them all. */
function decodeStrings(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decodeStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeStrings(v)]));
  }
  return value;
}

/** A loopback rtpengine is reached from loopback; anything else from the wildcard of its family. */
function localAddressFor(host: string): string {
  if (host.startsWith('127.')) return '127.0.0.1';
  if (host === '::1') return '::1';
  return host.includes(':') ? '::' : '0.0.0.0';
}
