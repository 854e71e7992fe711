import t from 'tap';
import { loadConfig } from '../../src/config/index';
import { silentLogger } from '../../src/lib/index';
import { startServer } from '../../src/server';
import { probeOptions } from '../helpers/options-probe';
import { DrachtioServer } from '../../src/sip/drachtio/index';
import { startEngine } from '../helpers/sip-engine';

// With sip.engine: external, onecc starts no SIP engine of its own and connects its drachtio-srf application
// to the drachtio server it is pointed at. A separate engine stands in for drachtio-server here.
t.test('sip.engine external: onecc runs no engine and its application answers through the configured drachtio server', async (t) => {
  const engine = await startEngine(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const external = new DrachtioServer(engine.transactions, { host: '127.0.0.1', port: 0, secret: 'elsewhere', logger: silentLogger() });
  engine.setApplication(external);
  await external.start();
  t.teardown(() => external.close());

  const config = loadConfig({
    env: {
      ONECC_SIP__ENGINE: 'external',
      ONECC_SIP__DRACHTIO__PORT: String(external.port),
      ONECC_SIP__DRACHTIO__SECRET: 'elsewhere',
      ONECC_HTTP__PORT: '0',
      ONECC_MEDIA__RTPENGINES: '[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: 30000, portMax: 30999}]',
      ONECC_MEDIA__DTMF__PORT: '0',
      ONECC_ACD__REDIS__PORT: '0',
    },
  });
  const server = await startServer(config, silentLogger());
  t.teardown(() => server.close());
  t.equal(server.sip, undefined, 'no embedded engine');
  t.equal(server.drachtio, undefined, 'no embedded drachtio listener');

  const port = engine.port('udp');
  // The engine alone answers OPTIONS without Accept; this answer comes from onecc's application.
  t.match(await probeOptions(t, port, 'external-engine-1'), /^SIP\/2\.0 200 OK\r\n[\s\S]*Accept: application\/sdp/);
});

t.test('sip.engine external with a wrong secret: onecc does not start, and says why', async (t) => {
  const engine = await startEngine(t, { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
  const external = new DrachtioServer(engine.transactions, { host: '127.0.0.1', port: 0, secret: 'right', logger: silentLogger() });
  await external.start();
  t.teardown(() => external.close());
  const config = loadConfig({
    env: { ONECC_SIP__ENGINE: 'external', ONECC_SIP__DRACHTIO__PORT: String(external.port), ONECC_SIP__DRACHTIO__SECRET: 'wrong', ONECC_HTTP__PORT: '0' },
  });
  await t.rejects(startServer(config, silentLogger()), /authenticate/);
});
