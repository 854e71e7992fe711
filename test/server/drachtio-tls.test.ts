import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index';
import { silentLogger } from '../../src/lib/index';
import { startServer } from '../../src/server';
import { probeOptions } from '../helpers/options-probe';
import { makeSelfSignedCert } from '../helpers/raw-tls';

function configWith(dir: string, tls: { cert?: string; key?: string; ca?: string }) {
  const pem = makeSelfSignedCert(dir);
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') };
  writeFileSync(files.ca, tls.ca ?? pem.ca);
  return loadConfig({
    env: {
      ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}]',
      ONECC_SIP__DRACHTIO__PORT: '0',
      ONECC_HTTP__PORT: '0',
      ONECC_MEDIA__RTPENGINES: '[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: 30000, portMax: 30999}]',
      ONECC_MEDIA__DTMF__PORT: '0',
      ONECC_ACD__REDIS__PORT: '0',
      ONECC_SIP__DRACHTIO__TLS__CERT: files.cert,
      ONECC_SIP__DRACHTIO__TLS__KEY: files.key,
      ONECC_SIP__DRACHTIO__TLS__CA: files.ca,
    },
  });
}

t.test('with sip.drachtio.tls set, drachtio-srf reaches the embedded engine over TLS and calls flow through it', async (t) => {
  const server = await startServer(configWith(t.testdir(), {}), silentLogger());
  t.teardown(() => server.close());
  const port = server.sip!.listeners[0]!.boundPort;
  // The engine's own OPTIONS answer has no Accept header; this one comes from onecc's srf application.
  t.match(await probeOptions(t, port, 'drachtio-tls-1'), /^SIP\/2\.0 200 OK\r\n[\s\S]*Accept: application\/sdp/);
});

t.test('an untrusted drachtio certificate stops the start with a clear error', async (t) => {
  const other = makeSelfSignedCert(t.testdir());
  const config = configWith(t.testdir(), { ca: other.ca });
  await t.rejects(startServer(config, silentLogger()), /certificate|self[- ]signed|verify/i);
});
