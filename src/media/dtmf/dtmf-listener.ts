import { createSocket, type Socket } from 'node:dgram';
import { RateLimitedLog, TypedEmitter, type Logger } from '../../lib';

/** One DTMF digit as rtpengine detected it (RFC 4733 event, or in-band tone where rtpengine decodes audio). */
export interface DtmfDigit {
  readonly callId: string;
  /** The leg that sent the digit. */
  readonly leg: string;
  readonly digit: string;
  readonly durationMs: number;
}

type DtmfEvents = { digit: [digit: DtmfDigit] };

const DIGITS = '0123456789*#ABCD';

/**
 * Receives rtpengine's DTMF reports (`--dtmf-log-dest`: one JSON datagram per digit, for every call of every
 * rtpengine that points here) and hands them on as digits. rtpengine has a single destination per daemon, so this
 * one socket serves all calls; MediaCall picks its own by call id.
 */
export class DtmfListener extends TypedEmitter<DtmfEvents> {
  readonly #socket: Socket;
  readonly #badInput: RateLimitedLog;

  private constructor(socket: Socket, logger: Logger) {
    super(logger);
    this.#socket = socket;
    this.#badInput = new RateLimitedLog(logger);
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, `${rinfo.address}:${rinfo.port}`));
    socket.on('error', (err) => logger.error({ err }, 'DTMF listener socket error'));
  }

  static async listen(host: string, port: number, logger: Logger): Promise<DtmfListener> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DtmfListener(socket, logger);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  get host(): string {
    return this.#socket.address().address;
  }

  close(): void {
    this.#socket.close();
  }

  #onMessage(msg: Buffer, from: string): void {
    let report: { callid?: unknown; source_tag?: unknown; event?: unknown; duration?: unknown; type?: unknown };
    try {
      report = JSON.parse(msg.toString('utf8'));
    } catch {
      this.#badInput.warn({ from, bytes: msg.length }, 'DTMF report is not JSON; dropped');
      return;
    }
    const event = report.event;
    if (typeof report.callid !== 'string' || typeof report.source_tag !== 'string' || typeof event !== 'number' || !(event >= 0 && event < DIGITS.length)) {
      this.#badInput.warn({ from, report }, 'DTMF report lacks callid, source_tag or a digit event 0-15; dropped');
      return;
    }
    this.safeEmit('digit', {
      callId: report.callid,
      leg: report.source_tag,
      digit: DIGITS[event]!,
      durationMs: typeof report.duration === 'number' ? report.duration : 0,
    });
  }
}
