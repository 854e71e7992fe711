import type { CustomerStore } from '../customers/index';
import { readFile } from 'node:fs/promises';
import type { AcdEngine } from '../acd/index';
import { outboundUri, type Trunk } from '../channels/voice/trunks';
import type { OneccConfig } from '../config/index';
import { isTimeZone, type Logger } from '../lib/index';
import { ClassicAmd } from './amd/index';
import { AbandonBudget } from './pacing/index';
import { checkWindow } from './calling-window';
import { Campaign, type CampaignConfig } from './campaign';
import { ContactStore } from './contact-store';
import { parseContacts, parseDncList, type ImportResult } from './contacts';
import type { AttemptDeps } from './outbound-attempt';

export interface DialerOptions {
  readonly config: OneccConfig['dialer'];
  readonly acd: AcdEngine;
  readonly trunks: readonly Trunk[];
  readonly redis: { readonly host: string; readonly port: number };
  readonly keyTag: string;
  /** Customers who asked never to be contacted are skipped like do-not-call numbers. */
  readonly customers?: CustomerStore;
  readonly attempt: Omit<AttemptDeps, 'trunk' | 'logger' | 'detector'>;
  /** Metrics: each attempt's outcome. */
  readonly observe?: (campaign: string, outcome: string) => void;
  readonly logger: Logger;
}

type Answer = { status: number; body: unknown };

/**
 * Outbound campaigns (docs/dialer.md): loads each campaign of the configuration, imports its contact list and
 * do-not-call lists into Redis, starts those marked autoStart, and answers the HTTP API (/campaigns).
 */
export class Dialer {
  readonly #campaigns = new Map<string, Campaign>();
  readonly #store: ContactStore;
  readonly #centreBudget: AbandonBudget;
  readonly #log: Logger;

  constructor(private readonly options: DialerOptions) {
    this.#log = options.logger.child({ component: 'dialer' });
    this.#store = new ContactStore(options.redis, options.keyTag, options.logger);
    const centre = options.config.centreAbandon;
    this.#centreBudget = new AbandonBudget({ windowMs: centre.windowHours * 3_600_000, cap: centre.limitPercent / 100 });
    for (const config of options.config.campaigns) {
      const trunk = options.trunks.find((t) => t.name === config.trunk)!;
      this.#campaigns.set(config.id, new Campaign(config, {
        acd: options.acd,
        store: this.#store,
        centreBudget: this.#centreBudget,
        ...(options.customers ? { customers: options.customers } : {}),
        attempt: { ...options.attempt, trunk: trunk.name, logger: options.logger, detector: () => new ClassicAmd(config.amd) },
        uri: (number) => outboundUri(trunk, number, ''),
        ...(options.observe ? { observe: options.observe } : {}),
        logger: options.logger,
      }));
    }
  }

  get campaigns(): ReadonlyMap<string, Campaign> {
    return this.#campaigns;
  }

  /** Imports the configured lists (bad rows are logged by line) and starts the autoStart campaigns. */
  async start(): Promise<void> {
    for (const file of this.options.config.dncFiles) await this.#store.addDnc(parseDncList(await readFile(file, 'utf8')));
    for (const campaign of this.#campaigns.values()) {
      const { config } = campaign;
      for (const file of config.dncFiles) await this.#store.addDnc(parseDncList(await readFile(file, 'utf8')), config.id);
      if (config.contactsFile !== null) {
        const result = parseContacts(await readFile(config.contactsFile, 'utf8'), config.timezone);
        await this.#import(config, result, config.contactsFile);
      }
      if (config.autoStart) campaign.start();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#campaigns.values()].map((c) => c.stop(true)));
    this.#store.close();
  }

  /** GET /campaigns, /campaigns/<id>, /campaigns/<id>/attempts, /campaigns/<id>/abandons, /campaigns/centre */
  async query(rest: string, query: URLSearchParams): Promise<Answer> {
    if (rest === '') return { status: 200, body: await Promise.all([...this.#campaigns.values()].map((c) => this.#status(c))) };
    if (rest === 'centre') {
      const status = this.#centreBudget.status(Date.now());
      return { status: 200, body: { abandon: { ...status, limitPercent: this.options.config.centreAbandon.limitPercent, windowHours: this.options.config.centreAbandon.windowHours } } };
    }
    const [id = '', what] = rest.split('/');
    const campaign = this.#campaigns.get(id);
    if (campaign === undefined) return { status: 404, body: { error: `no campaign ${id}` } };
    const limit = Math.min(1000, Number(query.get('limit') ?? 100) || 100);
    if (what === undefined) return { status: 200, body: await this.#status(campaign) };
    if (what === 'attempts') return { status: 200, body: await this.#store.attempts(id, limit) };
    if (what === 'abandons') return { status: 200, body: await this.#store.abandons(id, limit) };
    return { status: 404, body: { error: `no ${what} for a campaign (attempts, abandons)` } };
  }

  /** Forgets these numbers in every campaign's contacts and attempts (a customer's data deletion); returns contacts removed. */
  async forgetNumbers(numbers: readonly string[]): Promise<number> {
    let removed = 0;
    for (const id of this.#campaigns.keys()) removed += await this.#store.forgetNumbers(id, numbers);
    return removed;
  }

  /**
   * POST /campaigns/<id>/start|pause|stop, POST /campaigns/<id>/contacts (a CSV body: imported, bad rows reported
   * by line), POST /campaigns/<id>/dnc and POST /campaigns/dnc (numbers, one per line).
   */
  async act(rest: string, body: Buffer, method: string): Promise<Answer> {
    if (method !== 'POST') return { status: 405, body: { error: 'POST only' } };
    if (rest === 'dnc') {
      const numbers = parseDncList(body.toString('utf8'));
      await this.#store.addDnc(numbers);
      return { status: 200, body: { added: numbers.length } };
    }
    const [id = '', action = ''] = rest.split('/');
    const campaign = this.#campaigns.get(id);
    if (campaign === undefined) return { status: 404, body: { error: `no campaign ${id}` } };
    switch (action) {
      case 'start':
        campaign.start();
        return { status: 200, body: await this.#status(campaign) };
      case 'pause':
        campaign.pause();
        return { status: 200, body: await this.#status(campaign) };
      case 'stop':
        await campaign.stop();
        return { status: 200, body: await this.#status(campaign) };
      case 'contacts': {
        let result: ImportResult;
        try {
          result = parseContacts(body.toString('utf8'), campaign.config.timezone);
        } catch (err) {
          return { status: 400, body: { error: (err as Error).message } };
        }
        return { status: 200, body: await this.#import(campaign.config, result, 'POST') };
      }
      case 'dnc': {
        const numbers = parseDncList(body.toString('utf8'));
        await this.#store.addDnc(numbers, id);
        return { status: 200, body: { added: numbers.length } };
      }
      default:
        return { status: 404, body: { error: `unknown action ${action} (start, pause, stop, contacts, dnc)` } };
    }
  }

  async #import(config: CampaignConfig, result: ImportResult, source: string): Promise<{ imported: number; added: number; rejected: ImportResult['rejected'] }> {
    for (const row of result.rejected) this.#log.warn({ campaign: config.id, source, line: row.line }, `contact row skipped: ${row.reason}`);
    const added = await this.#store.import(config.id, result.contacts, Date.now());
    this.#log.info({ campaign: config.id, source, imported: result.contacts.length, added, rejected: result.rejected.length }, 'contacts imported');
    return { imported: result.contacts.length, added, rejected: result.rejected };
  }

  async #status(campaign: Campaign): Promise<unknown> {
    const { config } = campaign;
    return {
      id: config.id, mode: config.mode, state: campaign.state, queue: config.queue, linesInUse: campaign.linesInUse, maxLines: config.maxLines,
      figures: campaign.figures, ...campaign.occupancy(), abandon: { ...campaign.abandonRate(), limitPercent: config.abandonLimitPercent }, pacing: campaign.estimates,
      contacts: await this.#store.counts(config.id),
    };
  }
}

/** Campaigns that cannot run refuse to load: their trunk, caller id, window, queue and prompts are checked. */
export function checkDialerConfig(config: OneccConfig, isPrompt: (name: string) => boolean): { path: (string | number)[]; reason: string }[] {
  const issues: { path: (string | number)[]; reason: string }[] = [];
  const ids = new Set<string>();
  config.dialer.campaigns.forEach((c, i) => {
    const at = (...rest: (string | number)[]) => ['dialer', 'campaigns', i, ...rest];
    if (ids.has(c.id)) issues.push({ path: at('id'), reason: `campaign ${c.id} is defined twice` });
    ids.add(c.id);
    const trunk = config.voice.trunks.find((t) => t.name === c.trunk);
    if (trunk === undefined) issues.push({ path: at('trunk'), reason: `no trunk named "${c.trunk}" in voice.trunks` });
    else if (trunk.outboundUri === null || trunk.outboundUri.includes('{source}')) issues.push({ path: at('trunk'), reason: `trunk "${c.trunk}" needs an outboundUri without {source} to place calls` });
    if (!/^\+?[0-9]{2,20}$/.test(c.callerId)) issues.push({ path: at('callerId'), reason: `"${c.callerId}" is not a number (digits, optionally a leading +)` });
    const window = checkWindow(c.window);
    if (window !== undefined) issues.push({ path: at('window'), reason: window });
    if (!isTimeZone(c.timezone)) issues.push({ path: at('timezone'), reason: `unknown time zone "${c.timezone}"` });
    if (!config.acd.queues.some((q) => q.name === c.queue)) issues.push({ path: at('queue'), reason: `no queue "${c.queue}" in acd.queues` });
    c.blendWith.forEach((name, j) => {
      if (!config.acd.queues.some((q) => q.name === name)) issues.push({ path: at('blendWith', j), reason: `no queue "${name}" in acd.queues` });
    });
    const prompts: [string, string | null][] = [['safeHarbourPrompt', c.safeHarbourPrompt], ['agentless', c.agentless.prompt]];
    if (c.amd.onMachine === 'message') {
      if (c.amd.machineMessage === null) issues.push({ path: at('amd', 'machineMessage'), reason: 'onMachine is message: name the prompt to leave' });
      prompts.push(['amd', c.amd.machineMessage]);
    }
    for (const [field, name] of prompts) if (name !== null && !isPrompt(name)) issues.push({ path: field === 'safeHarbourPrompt' ? at(field) : at(field, field === 'amd' ? 'machineMessage' : 'prompt'), reason: `no prompt "${name}" (media.prompts catalog)` });
  });
  return issues;
}
