import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { probeOptions } from '../helpers/options-probe';
import { BaresipPeer, baresipMissing } from '../helpers/peers/baresip-peer';

// Runs the compiled entry point exactly as `npm start` does; `npm test` builds dist/ before the tests run.
const MAIN = resolve(__dirname, '../../dist/src/main.js');

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => out, exited };
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('a bad configuration file stops onecc at load with file, line, key and reason', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'sip:\n  timers:\n    t1: fast\n');
  const proc = run(['--config', file]);
  t.equal(await proc.exited, 2);
  t.match(proc.output(), `${file}:3: sip.timers.t1`);
});

t.test('a prompt file missing from media.prompts.dir stops the start with the key and the reason', async (t) => {
  const dir = t.testdir({ en: {}, 'zh-TW': {}, 'zh-CN': {} });
  const proc = run([], { ONECC_MEDIA__PROMPTS__DIR: dir });
  t.equal(await proc.exited, 2);
  t.match(proc.output(), /media\.prompts\.dir: \d+ en prompt file\(s\) missing: .*welcome\.wav/);
});

t.test('onecc starts on its defaults, answers SIP OPTIONS and HTTP, counts the message, answers baresip with the sample dialplan, and stops on SIGTERM', async (t) => {
  const proc = run([], {
    ONECC_SIP__LISTEN: '[{transport: udp, host: 127.0.0.1, port: 0}, {transport: tcp, host: 127.0.0.1, port: 0}]',
    ONECC_HTTP__PORT: '0',
    ONECC_SIP__DRACHTIO__PORT: '0',
    ONECC_MEDIA__RTPENGINES: '[{host: 127.0.0.1, ngPort: 0, interface: 127.0.0.1, portMin: 30000, portMax: 30999}]',
    ONECC_MEDIA__DTMF__PORT: '0',
    ONECC_ACD__REDIS__PORT: '0',
  });
  t.teardown(() => proc.child.kill('SIGKILL'));
  await waitFor(() => proc.output().includes('onecc started'), 10_000, 'onecc started');
  const started = JSON.parse(proc.output().split('\n').find((l) => l.includes('onecc started'))!);
  const udpPort = Number(started.sip.find((s: string) => s.startsWith('udp:')).split(':').pop());
  const base = `http://127.0.0.1:${started.http}`;

  t.same(await (await fetch(`${base}/health`)).json(), { status: 'ok' });
  t.equal((await fetch(`${base}/ready`)).status, 200);

  t.match(await probeOptions(t, udpPort, 'main-test-1'), /^SIP\/2\.0 200 OK\r\n/);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /onecc_sip_messages_received_total\{transport="udp",kind="OPTIONS"\} 1/);

  // The sample dialplan answers a softphone (baresip) calling 1000, as the README's first command promises.
  if (baresipMissing() === undefined) {
    const phone = await BaresipPeer.start(t, { timeoutS: 20 });
    await phone.command('dial', `sip:1000@127.0.0.1:${udpPort}`);
    t.ok(await phone.event('CALL_ESTABLISHED', 8000), 'baresip\'s call to 1000 is answered');
    await phone.command('hangup');
    await phone.event('CALL_CLOSED', 5000);
  } else {
    t.fail(baresipMissing()!);
  }

  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 0);
});
