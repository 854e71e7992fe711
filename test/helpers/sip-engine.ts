import { silentLogger, type Logger } from '../../src/lib/index';
import { SipEngine, type ListenOptions, type SipEngineOptions, type TransportProtocol } from '../../src/sip/index';

export const TEST_LIMITS = {
  maxMessageBytes: 65535,
  maxHeaders: 200,
  partialMessageTimeoutMs: 2000,
  idleConnectionTimeoutMs: 60_000,
  maxConnections: 1000,
};

/**
 * Starts a real SipEngine on 127.0.0.1 with free ports (UDP, TCP and WS unless `listen` says otherwise)
 * and registers its close with the test. `port(protocol)` tells where it listens.
 */
export async function startEngine(
  t: { teardown(fn: () => unknown): void },
  overrides: Partial<SipEngineOptions> & { logger?: Logger } = {},
): Promise<SipEngine & { port(protocol: TransportProtocol): number }> {
  const listen: ListenOptions[] = overrides.listen ?? [
    { transport: 'udp', host: '127.0.0.1', port: 0 },
    { transport: 'tcp', host: '127.0.0.1', port: 0 },
    { transport: 'ws', host: '127.0.0.1', port: 0 },
  ];
  const engine = new SipEngine({
    timers: { t1: 500, t2: 4000, t4: 5000 },
    limits: TEST_LIMITS,
    symmetricResponses: true,
    supportedOptionTags: ['replaces'],
    userAgent: 'onecc-test',
    logger: silentLogger(),
    ...overrides,
    listen,
  });
  await engine.start();
  t.teardown(() => engine.close());
  return Object.assign(engine, {
    port(protocol: TransportProtocol): number {
      const listener = engine.listeners.find((l) => l.transport === protocol);
      if (!listener) throw new Error(`engine has no ${protocol} listener`);
      return listener.boundPort;
    },
  });
}
