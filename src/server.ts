import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CHAT_PAGE_DIR, ChatChannel, ConversationStore } from './channels/chat/index';
import { VIDEO_PAGE_DIR, VideoChannel } from './channels/video/index';
import type Srf from 'drachtio-srf';
import { AcdEngine, RedisStore } from './acd/index';
import { AgentFeed, Credentials, FeedPresence } from './agents/index';
import { SOFTPHONE_DIR } from './agents/softphone/assets';
import { connectSipApplication } from './channels/voice/index';
import type { OneccConfig } from './config/index';
import { HttpServer } from './http/index';
import type { Logger } from './lib/index';
import { MediaService } from './media/index';
import { PromptLibrary, isPromptName } from './media/prompts/index';
import { Metrics } from './metrics/index';
import { InteractionRecords } from './channels/interaction-records';
import { CustomerApi } from './channels/customer-api';
import { InteractionApi } from './channels/interaction-api';
import { Retention } from './channels/retention';
import { SURVEY_PAGE_DIR, SurveyLinks } from './channels/survey/index';
import { CustomerLinker } from './channels/customer-linker';
import { CustomerStore } from './customers/index';
import { Quality, ReportApi, ReportRecorder, Reports, ReportStore } from './reports/index';
import { EventsApi, Notifier, NotificationStore, type VoiceNotifier } from './notifications/index';
import { CallbackRetries, DigestAuthenticator, PhoneDirectory, Registrar, TrunkDirectory, VoiceChannel, manualDialTrunk } from './channels/voice/index';
import { DialplanSet, TextPrompts } from './ivr/index';
import { Dialer } from './dialer/index';
import { EmbeddedRedis } from './lib/index';
import { DrachtioServer } from './sip/drachtio/index';
import { SipEngine, type TlsOptions } from './sip/index';

/** A running onecc: every part, started in dependency order and closed in reverse. */
export interface OneccServer {
  /** The embedded SIP engine; undefined when onecc uses an external drachtio-server. */
  readonly sip: SipEngine | undefined;
  readonly drachtio: DrachtioServer | undefined;
  readonly srf: Srf;
  readonly media: MediaService;
  readonly prompts: PromptLibrary;
  /** The ACD; undefined unless acd.enabled. */
  readonly acd: AcdEngine | undefined;
  readonly phones: PhoneDirectory;
  readonly dialplans: DialplanSet;
  /** Inbound calls; undefined unless acd.enabled (callers queue through the ACD). */
  readonly voice: VoiceChannel | undefined;
  /** The agent feed (/agent); undefined unless acd.enabled. */
  readonly agentFeed: AgentFeed | undefined;
  readonly records: InteractionRecords;
  /** Where onecc's Redis is (the embedded one's port once started). */
  readonly redis: { readonly host: string; readonly port: number };
  /** Outbound campaigns; undefined without campaigns (or the ACD). */
  readonly dialer: Dialer | undefined;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  /**
   * Refuses new calls (503; /ready not ready), hands the queue entries it owns to the other nodes (AcdEngine.handOver)
   * and waits up to `seconds` for the calls in progress to end.
   */
  drain(seconds: number): Promise<void>;
  close(): Promise<void>;
}

/** The composition root: builds and wires every part from the configuration. */
export async function startServer(config: OneccConfig, logger: Logger): Promise<OneccServer> {
  const metrics = new Metrics();
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close();
  };
  let ready = false;
  let sipWebSockets = (): string[] => [];
  let draining = false;
  try {
    // Every prompt is checked before anything starts: a missing file fails here, not in the middle of a call.
    const prompts = PromptLibrary.load(config.media.prompts);
    const media = await MediaService.start(
      { ...config.media, observeCommand: (command, seconds, outcome) => metrics.mediaCommand(command, seconds, outcome) },
      logger.child({ component: 'media' }),
    );
    closers.push(() => media.close());
    metrics.reportMediaStatus(() => ({ engines: media.status(), openCalls: media.openCalls }));

    // Redis holds the ACD's state, phone registrations and interaction records, shared by every onecc node.
    const { sentinels, sentinelMaster } = config.acd.redis;
    const redisAt = { host: config.acd.redis.host, port: config.acd.redis.port, sentinels, sentinelMaster };
    if (config.acd.redis.embedded) {
      const embedded = new EmbeddedRedis({ ...config.acd.redis, ...redisAt }, logger.child({ component: 'redis' }));
      await embedded.start();
      closers.push(() => embedded.stop());
      redisAt.port = embedded.port;
    }
    let acd: AcdEngine | undefined;
    if (config.acd.enabled) {
      const { redis, endedTaskRetentionSeconds } = config.acd;
      const store = new RedisStore({
        redis: redisAt, keyTag: redis.keyTag, endedTaskRetentionSeconds, waitReplicas: redis.waitReplicas, waitTimeoutMs: redis.waitTimeoutMs, logger: logger.child({ component: 'acd' }),
      });
      const engine = new AcdEngine({ settings: config.acd, store, logger, nodeId: config.acd.nodeId ?? undefined });
      acd = engine;
      closers.push(() => engine.close());
      await engine.start();
      metrics.observeAcd(engine);
    }
    let sip: SipEngine | undefined;
    let drachtio: DrachtioServer | undefined;
    const { drachtio: wire } = config.sip;
    if (config.sip.engine === 'embedded') {
      sip = new SipEngine({
        listen: config.sip.listen,
        tls: readTls(config),
        timers: config.sip.timers,
        limits: config.sip.limits,
        symmetricResponses: config.sip.symmetricResponses,
        supportedOptionTags: config.sip.supportedOptionTags,
        userAgent: config.sip.userAgent,
        logger,
        observer: {
          received: (message, protocol) => metrics.sipReceived(protocol, message.isRequest ? message.method : message.status),
          rejected: (status, protocol) => metrics.sipRejected(protocol, status),
        },
      });
      const engine = sip;
      await engine.start();
      // The browser softphone and the video page call onecc here.
      sipWebSockets = () => engine.listeners.filter((l) => l.transport === 'ws' || l.transport === 'wss').map((l) => `${l.transport}://${hostForUrl(l.host)}:${l.boundPort}`);
      closers.push(() => engine.close());
      const served = wire.tls.cert !== null && wire.tls.key !== null ? { cert: readFileSync(wire.tls.cert), key: readFileSync(wire.tls.key) } : undefined;
      drachtio = new DrachtioServer(engine.transactions, { host: wire.host, port: wire.port, secret: wire.secret, tls: served, logger });
      const server = drachtio;
      engine.setApplication(server);
      await server.start();
      closers.push(() => server.close());
    }
    // Embedded or not, the application talks to SIP only through drachtio-srf: that is what lets a real
    // drachtio-server replace the engine by configuration alone.
    const useTls = wire.tls.ca !== null || (config.sip.engine === 'embedded' && wire.tls.cert !== null);
    const srf = await connectSipApplication({
      host: wire.host,
      port: drachtio?.port ?? wire.port,
      secret: wire.secret,
      tls: useTls ? { ca: wire.tls.ca === null ? undefined : readFileSync(wire.tls.ca) } : undefined,
      logger,
    });
    closers.push(() => srf.disconnect());

    // Agents' phones register here; trunks are recognised here; both before any call is taken.
    const { voice } = config;
    const digest = new DigestAuthenticator({ realm: voice.realm, nonceSecret: voice.nonceSecret, nonceTtlSeconds: voice.nonceTtlSeconds });
    const phones = new PhoneDirectory({ phones: voice.phones, redis: redisAt, keyTag: config.acd.redis.keyTag, commandTimeoutMs: voice.registrar.storeTimeoutMs, logger });
    closers.push(() => phones.close());
    const registrar = new Registrar({ phones, auth: digest, expires: voice.registrar, logger });
    srf.use('register', (req, res) => registrar.handle(req, res));
    const records = new InteractionRecords(redisAt, config.acd.redis.keyTag, voice.recordRetentionDays * 86_400, logger);
    closers.push(() => records.close());
    // Reports: figures per quarter hour in Redis, counted from the ACD's events and what the channels report.
    const reportStore = new ReportStore(redisAt, config.acd.redis.keyTag, config.reports.retentionDays, logger.child({ component: 'reports' }));
    const reportRecorder = new ReportRecorder(reportStore, logger.child({ component: 'reports' }));
    closers.push(async () => {
      await reportRecorder.idle();
      await reportStore.close();
    });
    if (acd) reportRecorder.followAcd(acd);
    records.useReports(reportRecorder);
    // Every contact belongs to a customer: linked as its record is first saved.
    const customers = new CustomerStore(redisAt, config.acd.redis.keyTag, { caseIdleHours: config.customers.caseIdleHours, logger: logger.child({ component: 'customers' }) });
    closers.push(() => customers.close());
    const { crmLookup } = config.customers;
    records.useCustomers(customers, new CustomerLinker({ customers, crm: crmLookup.url === null ? null : { url: crmLookup.url, timeoutMs: crmLookup.timeoutMs }, logger: logger.child({ component: 'customers' }) }));
    const dialplans = await DialplanSet.load({
      dir: config.ivr.dialplansDir,
      lookups: {
        languages: config.media.prompts.languages,
        // The library was loaded with every catalog prompt present in every language.
        promptExists: (name) => isPromptName(name),
        queueExists: (name) => config.acd.queues.some((q) => q.name === name),
      },
      logger: logger.child({ component: 'dialplans' }),
      watch: true,
    });
    closers.push(() => dialplans.close());
    // Survey links (the video page after a call, email follow-ups) answered on the survey page.
    const surveyLinks = new SurveyLinks({ records, secret: config.surveys.secret, validDays: config.surveys.linkValidDays, publicUrl: config.surveys.publicUrl, logger: logger.child({ component: 'surveys' }) });

    // Video calls from customers' browsers: taken before the voice channel sees INVITEs (srf middleware order).
    let video: VideoChannel | undefined;
    if (acd && config.video.enabled) {
      const channel = new VideoChannel({
        srf, acd, media, phones, records, surveyLinks, config: config.video, secret: voice.nonceSecret, ringTimeoutMs: voice.ringTimeoutSeconds * 1000, logger,
      });
      channel.start();
      video = channel;
      closers.push(() => channel.close());
    }
    let voiceChannel: VoiceChannel | undefined;
    if (acd) {
      const trunks = new TrunkDirectory(voice.trunks, digest);
      voiceChannel = new VoiceChannel({
        srf, media, prompts, dialplans, acd, phones, records, reports: reportRecorder, record: voice.record,
        textPrompts: TextPrompts.load({ textDir: config.ivr.promptTextDir, cacheDir: config.ivr.textPromptCacheDir }),
        trunks,
        ringTimeoutMs: voice.ringTimeoutSeconds * 1000,
        transferRingTimeoutMs: voice.transferRingTimeoutSeconds * 1000,
        observe: { call: (outcome) => metrics.call('voice', outcome), quality: (legs) => metrics.callQuality(legs) },
        callbacks: { customerRingTimeoutMs: voice.callbacks.ringTimeoutSeconds * 1000, attempts: voice.callbacks.attempts, retryMs: voice.callbacks.retrySeconds * 1000 },
        callbackRetries: new CallbackRetries(redisAt, config.acd.redis.keyTag, logger),
        manualDial: {
          trunk: manualDialTrunk(trunks.trunks, voice.manualDial.trunk),
          callingNumber: voice.manualDial.callingNumber,
          customerRingTimeoutMs: voice.manualDial.ringTimeoutSeconds * 1000,
        },
        logger,
      });
      voiceChannel.start();
      const calls = voiceChannel;
      metrics.reportActiveCalls(() => ({ voice: calls.activeCalls }));
      const channel = voiceChannel;
      closers.push(() => channel.close());
    } else {
      logger.warn('acd.enabled is false: calls get 503 (the voice channel queues through the ACD)');
    }

    // Outbound campaigns: calls placed through the trunks, people handed to the campaign's queue.
    let dialer: Dialer | undefined;
    if (acd && config.dialer.campaigns.length > 0) {
      const trunks = new TrunkDirectory(voice.trunks, digest);
      dialer = new Dialer({
        config: config.dialer,
        acd,
        trunks: trunks.trunks,
        redis: redisAt,
        keyTag: config.acd.redis.keyTag,
        customers,
        observe: (campaign, outcome) => {
          metrics.dialerAttempt(campaign, outcome);
          void reportRecorder.campaignAttempt(Date.now(), campaign, outcome);
        },
        attempt: { srf, acd, media, prompts, phones, records, tapHost: config.media.dtmf.host, agentRingTimeoutMs: voice.ringTimeoutSeconds * 1000, record: voice.record },
        logger,
      });
      const started = dialer;
      closers.push(() => started.close());
      metrics.reportDialer(() => [...started.campaigns.values()].map((c) => ({ campaign: c.config.id, running: c.state === 'running', linesInUse: c.linesInUse, abandonPercent: c.abandonRate().percent })));
      await started.start();
    }

    // Chats and email threads: customers on the chat page and on gateways, conversations in Redis, tasks in the ACD.
    let chat: ChatChannel | undefined;
    let conversations: ConversationStore | undefined;
    if (acd && config.chat.enabled) {
      conversations = new ConversationStore(redisAt, config.acd.redis.keyTag, config.chat.retentionDays, logger);
      const channel = new ChatChannel({
        config: config.chat,
        acd,
        store: conversations,
        records,
        reports: reportRecorder,
        surveyLinks,
        logger,
      });
      await channel.start();
      chat = channel;
      // Closed before the HTTP listener (below): customers get a close frame.
    }

    // Agents' desktops and supervisors follow the ACD here (ws://<http>/agent); calls are controlled through the voice channel.
    let agentFeed: AgentFeed | undefined;
    if (acd) {
      const presence = new FeedPresence(redisAt, config.acd.redis.keyTag, logger);
      closers.push(() => presence.close());
      const feed = new AgentFeed({
        acd,
        presence,
        config: config.agents,
        credentials: new Credentials(config.agents),
        ...(voiceChannel ? { controls: voiceChannel } : {}),
        ...(chat ? { chat } : {}),
        history: records,
        screenPopInteractions: config.customers.screenPopInteractions,
        softphoneAccount: (agentId) => {
          const phone = voice.phones.find((p) => p.agent === agentId);
          if (phone === undefined || sip === undefined) return undefined;
          return { username: phone.username, password: phone.password, servers: sipWebSockets() };
        },
        logger,
      });
      agentFeed = feed;
      // Closed before the HTTP listener (below): agents get a close frame (going away).
      metrics.reportFeedConnections(() => feed.connections);
    }

    const quality = new Quality({
      forms: config.quality.forms,
      store: reportStore,
      scorable: async (id) => {
        const record = await records.get(id);
        if (record === undefined) return undefined;
        const agents = [...new Set([record.agentId, ...record.legs.map((l) => l.agentId), ...(record.dispositions ?? []).map((d) => d.agentId)].filter((a): a is string => a !== undefined))];
        const conversation = record.channel === 'chat' || record.channel === 'email';
        const unscorable = conversation ? ((await conversations?.transcript(id))?.length ? null : 'no transcript is kept') : record.recording === undefined ? 'the call was not recorded' : null;
        return { agents, unscorable, customer: record.customer ?? null, channel: record.channel };
      },
    });
    // Business events become notifications on the customers' channels; every node works on due ones.
    const { notifications: nc } = config;
    const notificationStore = new NotificationStore(redisAt, config.acd.redis.keyTag, nc.retentionDays * 86_400_000, logger.child({ component: 'notifications' }));
    const notifier = new Notifier(
      {
        rules: nc.rules, channels: nc.channels, secret: nc.secret, defaultLanguage: nc.defaultLanguage, timezone: nc.timezone, webhookTimeoutMs: nc.webhookTimeoutMs,
        attemptsPerChannel: nc.attemptsPerChannel, voice: { attempts: nc.voice.attempts, retryMinutes: nc.voice.retryMinutes, callsPerSecond: nc.voice.callsPerSecond },
      },
      {
        store: notificationStore, customers, reports: reportStore, observe: (rule, channel, outcome) => metrics.notification(rule, channel, outcome), logger: logger.child({ component: 'notifications' }),
        ...(voiceChannel && nc.voice.trunk !== null ? { voice: voiceNotifier(voiceChannel, nc.voice.trunk, nc.voice.callerId, nc.voice.ringTimeoutSeconds * 1000) } : {}),
        // A notification is a contact: on the customer's timeline and in their open case, with its outcome and answer.
        onEnded: async (n) => {
          await records.save({
            id: n.id, channel: 'notification', direction: 'outbound', startedAt: n.createdAt, endedAt: new Date().toISOString(), trunk: 'notifications',
            caller: n.rule, called: n.plan[n.current]?.to ?? '', legs: [], outcome: n.state, ...(n.customerIdentity ? { identities: [n.customerIdentity] } : {}),
            notification: { rule: n.rule, event: n.event, attempts: n.attempts, answer: n.answer ?? null },
          });
        },
      },
    );
    for (const rule of nc.rules) {
      if (rule.dialplan !== null && dialplans.get(rule.dialplan) === undefined) throw new Error(`notifications.rules (${rule.id}): no dialplan "${rule.dialplan}" in ${config.ivr.dialplansDir}`);
    }
    if (nc.rules.length > 0) notifier.start();
    closers.push(async () => {
      await notifier.stop();
      notificationStore.close();
    });
    records.onDisposition((customer, disposition, at) => notifier.inboundContact(customer, disposition, at));
    const eventsApi = new EventsApi(notifier, { apiTokens: nc.apiTokens, secret: nc.secret, maxSkewSeconds: nc.maxSkewSeconds });
    const interactionApi = new InteractionApi({ records, ...(conversations ? { conversations } : {}), recordingDir: config.media.recordingDir });
    const reportApi = new ReportApi({ reports: new Reports({ store: reportStore, recorder: reportRecorder, queues: config.acd.queues }), quality });
    const customerApi = new CustomerApi({ customers, records, quality, notifications: notifier, ...(dialer ? { campaignContacts: dialer } : {}), ...(conversations ? { conversations } : {}), ...(acd ? { acd } : {}), recordingDir: config.media.recordingDir, logger: logger.child({ component: 'customers' }) });
    // Customers and recording files have no TTL of their own: swept hourly past their retention.
    const retention = new Retention(
      { customerDays: config.customers.retentionDays, recordingDays: config.media.recordingRetentionDays, recordingDir: config.media.recordingDir, everyMs: 3_600_000 },
      customerApi,
      logger.child({ component: 'retention' }),
    );
    retention.start();
    closers.push(() => retention.stop());

    // Without an rtpengine or Redis that answers, or while draining, calls cannot be served: not ready, so that a
    // balancer sends them elsewhere.
    const http = new HttpServer({
      ...config.http,
      metrics,
      readiness: async () => ({
        started: ready,
        draining: !draining,
        sip: sip === undefined || sip.listeners.length > 0,
        rtpengine: media.status().some((e) => e.healthy),
        redis: await records.reachable(500),
      }),
      logger,
      resources: {
        ...(dialer ? { '/campaigns': (rest: string, query: URLSearchParams) => dialer.query(rest, query) } : {}),
        // The video page's admission token, and where it calls (onecc's SIP WebSocket listeners).
        ...(video ? { '/video-token': async () => ({ status: 200, body: { ...video.token(), user: config.video.user, servers: sipWebSockets() } }) } : {}),
        '/customers': (rest: string, query: URLSearchParams) => customerApi.query(rest, query),
        '/reports': (rest: string, query: URLSearchParams) => reportApi.query(rest, query),
        '/quality': (rest: string, query: URLSearchParams) => reportApi.qualityQuery(rest, query),
        '/surveys': (rest: string) => surveyLinks.query(rest),
        '/events': (rest: string, query: URLSearchParams, req: IncomingMessage) => eventsApi.query(rest, query, req),
        '/notifications': (rest: string) => eventsApi.notification(rest),
        '/interactions': (rest: string, query: URLSearchParams) => interactionApi.query(rest, query),
      },
      actions: {
        ...(dialer ? { '/campaigns': (rest: string, body: Buffer, req: IncomingMessage) => dialer.act(rest, body, req.method ?? '') } : {}),
        ...(chat ? { '/chat/connector': (rest: string, body: Buffer, req: IncomingMessage) => chat.connector(rest, body, req) } : {}),
        '/customers': (rest: string, body: Buffer, req: IncomingMessage) => customerApi.act(rest, body, req),
        '/quality': (rest: string, body: Buffer, req: IncomingMessage) => reportApi.qualityAct(rest, body, req.method ?? ''),
        '/events': (rest: string, body: Buffer, req: IncomingMessage) => eventsApi.act(rest, body, req),
        '/notifications': (rest: string, body: Buffer, req: IncomingMessage) => eventsApi.gateway(rest, body, req),
        '/surveys': (rest: string, body: Buffer, req: IncomingMessage) => (req.method === 'POST' ? surveyLinks.answer(rest, body) : Promise.resolve({ status: 405, body: { error: 'POST the answers' } })),
      },
      upgrades: {
        ...(agentFeed ? { '/agent': (req: IncomingMessage, socket: Duplex, head: Buffer) => agentFeed.handleUpgrade(req, socket, head) } : {}),
        ...(chat ? { '/chat/ws': (req: IncomingMessage, socket: Duplex, head: Buffer) => chat.handleUpgrade(req, socket, head) } : {}),
      },
      // The browser softphone and agent desktop (built by `npm run build`), talking to /agent and the SIP ws listeners.
      staticDirs: { '/softphone': SOFTPHONE_DIR, '/survey': SURVEY_PAGE_DIR, ...(chat ? { '/chat': CHAT_PAGE_DIR } : {}), ...(video ? { '/video': VIDEO_PAGE_DIR } : {}) },
    });
    await http.start();
    closers.push(() => http.close());
    // Closers run last-first: the WebSocket endpoints say goodbye before the listener goes.
    if (chat) {
      const channel = chat;
      closers.push(() => channel.stop());
    }
    if (agentFeed) {
      const feed = agentFeed;
      closers.push(() => feed.close());
    }
    ready = true;

    let closing: Promise<void> | undefined;
    return {
      sip,
      drachtio,
      srf,
      media,
      acd,
      prompts,
      phones,
      dialplans,
      voice: voiceChannel,
      agentFeed,
      dialer,
      records,
      redis: redisAt,
      http,
      metrics,
      async drain(seconds: number): Promise<void> {
        draining = true;
        logger.info({ calls: voiceChannel?.activeCalls ?? 0, seconds }, 'draining: no new calls; waiting for the calls in progress');
        const callsEnded = voiceChannel?.drain(Date.now() + seconds * 1000);
        // Callers waiting here keep their place, routed by the other nodes from now on; this node keeps their calls.
        await acd?.handOver().catch((err: unknown) => logger.warn({ err }, 'draining: waiting tasks not handed over; this node keeps routing them'));
        await callsEnded;
        logger.info({ left: voiceChannel?.activeCalls ?? 0 }, 'drained');
      },
      close(): Promise<void> {
        ready = false;
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** An address as a URL host: IPv6 in brackets. */
function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function readTls(config: OneccConfig): TlsOptions | undefined {
  const { cert, key } = config.sip.tls;
  if (cert === null || key === null) return undefined;
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

/** Voice notifications through the voice channel: a call through `trunk` that runs the rule's dialplan. */
function voiceNotifier(voice: VoiceChannel, trunk: string, callerId: string, ringTimeoutMs: number): VoiceNotifier {
  return { call: (request) => voice.notificationCall(trunk, { ...request, callerId, ringTimeoutMs }) };
}
