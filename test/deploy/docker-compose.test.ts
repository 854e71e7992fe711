import t from 'tap';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index';

const root = path.resolve(__dirname, '../..');
// No Docker engine is needed: `config` only parses, interpolates and validates the file.
const compose = (...args: string[]) =>
  execFileSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe' });

t.test('docker-compose accepts docker-compose.yml', async (t) => {
  t.equal(compose('config', '-q'), '');
});

t.test('docker-compose.yml defines the whole production stack', async (t) => {
  const services = compose('config', '--services').trim().split('\n').sort();
  t.same(services, ['drachtio', 'grafana', 'onecc-1', 'onecc-2', 'prometheus', 'redis', 'redis-replica', 'rtpengine-1', 'rtpengine-2', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
});

t.test('every file docker-compose.yml builds from or mounts is in the repo', async (t) => {
  const resolved = parse(compose('config')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; volumes?: (string | { type: string; source: string })[] }>;
  };
  const onecc = resolved.services['onecc-1']!;
  t.ok(existsSync(path.join(onecc.build!.context, onecc.build!.dockerfile)), 'onecc Dockerfile');
  for (const [name, service] of Object.entries(resolved.services)) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.type === 'bind' ? volume.source : '';
      if (path.isAbsolute(source)) t.ok(existsSync(source), `${name} mounts ${path.relative(root, source)}`);
    }
  }
});

t.test('the configuration onecc runs with in docker-compose validates', async (t) => {
  const config = loadConfig({ file: path.join(root, 'config/docker/onecc.yaml'), env: {} });
  t.equal(config.http.host, '0.0.0.0');
  t.equal(config.sip.engine, 'external', 'in production drachtio-server is the SIP front end');
  t.equal(config.sip.drachtio.host, 'drachtio');
  t.match(config.acd.redis, { embedded: false, sentinelMaster: 'onecc', waitReplicas: 1, sentinels: [{ host: 'sentinel-1' }, { host: 'sentinel-2' }, { host: 'sentinel-3' }] }, 'Redis through its Sentinels');
});

t.test('each onecc node in docker-compose.yml has its own node id and rtpengine, whose DTMF reports go to it', async (t) => {
  const resolved = parse(compose('config')) as { services: Record<string, { environment?: Record<string, string>; command?: string[] }> };
  for (const n of [1, 2]) {
    const env = resolved.services[`onecc-${n}`]!.environment!;
    t.equal(env.ONECC_ACD__NODE_ID, `onecc-${n}`);
    t.match(env.ONECC_MEDIA__RTPENGINES, new RegExp(`host: rtpengine-${n},`));
    t.ok(resolved.services[`rtpengine-${n}`]!.command!.includes(`--dtmf-log-dest=onecc-${n}:22220`));
  }
});
