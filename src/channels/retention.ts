import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../lib/index';
import type { CustomerApi } from './customer-api';

const DAY_MS = 86_400_000;
/** Customers erased per batch, and batches per sweep: a sweep stays short; what is left goes at the next one. */
const BATCH = 100;
const BATCHES_PER_SWEEP = 20;

export interface RetentionSettings {
  /** Customers with no contact for this long are erased with everything onecc holds of them; 0: kept. */
  readonly customerDays: number;
  /** Files in the recording directory (recordings, voicemails, recorded survey comments) older than this go; 0: kept. */
  readonly recordingDays: number;
  readonly recordingDir: string;
  /** Time between sweeps; the first runs a minute after start. */
  readonly everyMs: number;
}

/**
 * The retention of what has no expiry of its own in Redis: customers (profile, identities, timeline, cases, audit,
 * and through their erasure their records, transcripts, survey answers, evaluations and recordings) and the files
 * in the recording directory. Redis keys with a TTL (interaction records, transcripts, ended tasks, report figures)
 * expire by themselves. Every node sweeps its own recording directory; customers are swept by every node too, which
 * is harmless: an erasure that finds the customer gone does nothing.
 */
export class Retention {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(private readonly settings: RetentionSettings, private readonly customers: CustomerApi, private readonly logger: Logger) {}

  start(): void {
    if (this.settings.customerDays === 0 && this.settings.recordingDays === 0) return;
    const run = () => {
      this.#sweeping = this.sweep().catch((err: unknown) => this.logger.error({ err }, 'retention sweep failed'));
      this.#timer = setTimeout(run, this.settings.everyMs).unref();
    };
    this.#timer = setTimeout(run, Math.min(60_000, this.settings.everyMs)).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#sweeping;
  }

  /** Erases what is past its retention at `now`; returns how many customers and files went. */
  async sweep(now = Date.now()): Promise<{ customers: number; files: number }> {
    let customers = 0;
    if (this.settings.customerDays > 0) {
      const before = now - this.settings.customerDays * DAY_MS;
      for (let batch = 0; batch < BATCHES_PER_SWEEP; batch++) {
        const erased = await this.customers.eraseIdle(before, BATCH);
        customers += erased;
        if (erased < BATCH) break;
      }
    }
    const files = this.settings.recordingDays > 0 ? await this.#sweepFiles(now - this.settings.recordingDays * DAY_MS) : 0;
    if (customers > 0 || files > 0) this.logger.info({ customers, files }, 'retention: erased what was past its time');
    return { customers, files };
  }

  /** Regular files of the recording directory last written before `before` (a recording in progress is being written). */
  async #sweepFiles(before: number): Promise<number> {
    const dir = path.resolve(this.settings.recordingDir);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = path.join(dir, entry.name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || info.mtimeMs >= before) continue;
      await unlink(file).then(() => removed++, (err: unknown) => this.logger.warn({ err, file }, 'retention: file not removed'));
    }
    return removed;
  }
}
