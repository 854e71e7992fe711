import path from 'node:path';
import { freeUdpPort, randomId, TypedEmitter, type Logger } from '../lib';
import { MediaCall } from './call/media-call';
import { DtmfListener } from './dtmf/dtmf-listener';
import { MediaError } from './errors';
import { NgClient, type NgTimingObserver } from './ng/ng-client';
import { RtpengineProcess } from './rtpengine/rtpengine-process';
import { Rtpengine, RtpenginePool, type RtpengineSelection } from './rtpengine/rtpengine-pool';

/** The media part of onecc's configuration (media.* keys), as this layer needs it. */
export interface MediaServiceOptions {
  readonly engine: 'embedded' | 'external';
  readonly selection: RtpengineSelection;
  readonly commandTimeoutMs: number;
  readonly rtpengines: readonly { readonly host: string; readonly ngPort: number; readonly interface: string; readonly portMin: number; readonly portMax: number }[];
  readonly dtmf: { readonly host: string; readonly port: number };
  readonly embedded: { readonly binary: string; readonly rtpTimeoutSeconds: number; readonly logLevel: number; readonly restartDelayMs: number };
  readonly recordingDir: string;
  /** How often engines are pinged and calls reconciled with what rtpengine still has. */
  readonly healthIntervalMs?: number;
  /** Round-trip times of NG commands, for metrics and benchmarks. */
  readonly observeCommand?: NgTimingObserver;
}

type ServiceEvents = {
  /** rtpengine dropped a call onecc had open (restart, RTP timeout); the call has already emitted 'ended'. */
  'call-lost': [call: MediaCall];
};

/** Where rtpengine keeps its own pcaps, under the recording directory; WAVs go in the directory itself. */
const RTPENGINE_RECORDING_SUBDIR = 'rtpengine';

/**
 * The media plane: the rtpengines (started and watched here in embedded mode), the DTMF listener, and every call
 * open on them. Calls are placed on an engine when opened and stay there; a call rtpengine loses (it restarted, or
 * closed the call for lack of RTP) is found by reconciliation and ended, so no caller waits on media that is gone.
 */
export class MediaService extends TypedEmitter<ServiceEvents> {
  readonly #calls = new Map<string, MediaCall>();
  #reconcileTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    readonly pool: RtpenginePool,
    readonly dtmf: DtmfListener,
    private readonly options: MediaServiceOptions,
    private readonly logger: Logger,
  ) {
    super(logger);
    dtmf.on('digit', (digit) => this.#calls.get(digit.callId)?.deliverDigit(digit));
    for (const engine of pool.engines) {
      engine.process?.on('exited', () => this.#loseCallsOn(engine));
    }
  }

  static async start(options: MediaServiceOptions, logger: Logger): Promise<MediaService> {
    const dtmf = await DtmfListener.listen(options.dtmf.host, options.dtmf.port, logger.child({ component: 'dtmf' }));
    const engines: Rtpengine[] = [];
    try {
      for (const configured of options.rtpengines) {
        // An embedded engine asked for port 0 gets a free one (tests, several onecc instances on one host).
        const config = options.engine === 'embedded' && configured.ngPort === 0
          ? { ...configured, ngPort: await freeUdpPort(configured.host) }
          : configured;
        const ng = new NgClient(config.host, config.ngPort, options.commandTimeoutMs, logger, options.observeCommand);
        const process = options.engine === 'embedded'
          ? new RtpengineProcess({
              binary: options.embedded.binary,
              ngHost: config.host,
              ngPort: config.ngPort,
              interface: config.interface,
              portMin: config.portMin,
              portMax: config.portMax,
              dtmfDestination: { host: dtmf.host, port: dtmf.port },
              recordingDir: path.resolve(options.recordingDir, RTPENGINE_RECORDING_SUBDIR),
              rtpTimeoutSeconds: options.embedded.rtpTimeoutSeconds,
              logLevel: options.embedded.logLevel,
              restartDelayMs: options.embedded.restartDelayMs,
            }, ng, logger.child({ component: 'rtpengine' }))
          : undefined;
        engines.push(new Rtpengine(ng, process));
        await process?.start();
      }
    } catch (err) {
      await Promise.all(engines.map((e) => e.process?.stop()));
      engines.forEach((e) => e.ng.close());
      dtmf.close();
      throw err;
    }
    const pool = new RtpenginePool(engines, options.selection, logger);
    await pool.checkHealth();
    const unreachable = engines.filter((e) => !e.healthy);
    if (unreachable.length === engines.length) {
      // External engines may come up later; onecc starts and keeps checking, but says clearly that media is down.
      logger.error({ rtpengines: unreachable.map((e) => e.id) }, 'no rtpengine answers: calls cannot get media until one does');
    }
    const service = new MediaService(pool, dtmf, options, logger);
    service.#startReconciliation(options.healthIntervalMs ?? 2000);
    return service;
  }

  /** Calls open on this node. */
  get openCalls(): number {
    return this.#calls.size;
  }

  /** Opens a call on the engine the selection picks. Media starts with the call's first offer. */
  openCall(id: string = `onecc-${randomId()}`): MediaCall {
    if (this.#closed) throw new MediaError('CALL_CLOSED', 'the media service is closed');
    if (this.#calls.has(id)) throw new MediaError('CALL_CLOSED', `media call ${id} is already open`);
    const engine = this.pool.pick(id);
    const call = new MediaCall(id, {
      engine,
      logger: this.logger.child({ callId: id }),
      recordingDir: path.resolve(this.options.recordingDir),
      rtpengineRecordingDir: path.resolve(this.options.recordingDir, RTPENGINE_RECORDING_SUBDIR),
      // rtpengine reaches onecc here already (DTMF events): conference audio is mixed on the same address.
      mixerHost: this.options.dtmf.host,
      onClosed: (c) => {
        if (this.#calls.get(c.id) === c) this.#calls.delete(c.id);
      },
    });
    this.#calls.set(id, call);
    return call;
  }

  call(id: string): MediaCall | undefined {
    return this.#calls.get(id);
  }

  /** Per engine: whether it answers, its load, and for embedded engines how often it was restarted. */
  status(): { id: string; healthy: boolean; sessions: number; restarts: number | undefined }[] {
    return this.pool.engines.map((e) => ({ id: e.id, healthy: e.healthy, sessions: e.load, restarts: e.process?.restarts }));
  }

  /** Compares this node's calls with each engine's `list` and ends those the engine no longer has. */
  async reconcile(): Promise<void> {
    await this.pool.checkHealth();
    for (const engine of this.pool.engines.filter((e) => e.healthy)) {
      let listed: Set<string>;
      try {
        const reply = await engine.ng.command('list', { limit: 1_000_000 });
        listed = new Set((reply.calls as string[] | undefined) ?? []);
      } catch {
        continue;
      }
      for (const call of [...this.#calls.values()]) {
        // A call opened but not yet offered is not on rtpengine yet; one mid-offer is listed once the offer returns.
        if (call.opened && call.rtpengine === engine.id && !listed.has(call.id) && this.#calls.get(call.id) === call) {
          this.#lose(call);
        }
      }
    }
  }

  /** Closes every open call (rtpengine deletes them), stops embedded engines, and releases sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconcileTimer);
    await Promise.all([...this.#calls.values()].map((call) => call.close()));
    await Promise.all(this.pool.engines.map((e) => e.process?.stop()));
    for (const engine of this.pool.engines) engine.ng.close();
    this.dtmf.close();
  }

  #startReconciliation(intervalMs: number): void {
    const loop = () => {
      this.#reconcileTimer = setTimeout(() => {
        this.reconcile()
          .catch((err) => this.logger.error({ err }, 'media reconciliation failed'))
          .finally(() => {
            if (!this.#closed) loop();
          });
      }, intervalMs);
    };
    loop();
  }

  #loseCallsOn(engine: Rtpengine): void {
    engine.healthy = false;
    for (const call of [...this.#calls.values()]) if (call.rtpengine === engine.id && call.opened) this.#lose(call);
  }

  #lose(call: MediaCall): void {
    call.markLost();
    this.safeEmit('call-lost', call);
  }
}
