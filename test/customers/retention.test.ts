// Retention of what has no TTL of its own, on a real redis-server and a real directory: a customer with no contact
// for customers.retentionDays is erased with their records and recording files (one with a later contact is kept),
// and files in the recording directory older than media.recordingRetentionDays go.
import t from 'tap';
import { mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CustomerApi } from '../../src/channels/customer-api';
import { CustomerLinker } from '../../src/channels/customer-linker';
import { InteractionRecords, type InteractionRecord } from '../../src/channels/interaction-records';
import { Retention } from '../../src/channels/retention';
import { CustomerStore } from '../../src/customers/index';
import { silentLogger } from '../../src/lib/index';
import { RedisServer } from '../helpers/redis-server';

const DAY_MS = 86_400_000;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('customers past their retention are erased with everything of them; recording files past theirs go', async (t) => {
  const redis = new RedisServer();
  await redis.start();
  const dir = mkdtempSync(path.join(tmpdir(), 'onecc-retention-'));
  const at = { host: '127.0.0.1', port: redis.port };
  const customers = new CustomerStore(at, 'ret', { caseIdleHours: 72, logger: silentLogger() });
  const records = new InteractionRecords(at, 'ret', 3600, silentLogger());
  records.useCustomers(customers, new CustomerLinker({ customers, crm: null, logger: silentLogger() }));
  const api = new CustomerApi({ customers, records, recordingDir: dir, logger: silentLogger() });
  t.teardown(async () => {
    await customers.close();
    await records.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (id: string, caller: string, recording?: string): InteractionRecord => ({
    id, channel: 'voice', startedAt: new Date().toISOString(), trunk: 'carrier', caller, called: '7300', legs: [], outcome: 'handled', ...(recording ? { recording } : {}),
  });
  writeFileSync(path.join(dir, 'old-call.wav'), 'RIFF');
  await records.save(call('r-old', '+15559101', path.join(dir, 'old-call.wav')));
  await delay(30);
  const between = Date.now();
  await delay(30);
  await records.save(call('r-new', '+15559102'));
  const oldOne = (await customers.customerOf('phone:+15559101'))!;
  const newOne = (await customers.customerOf('phone:+15559102'))!;

  // A week-old stray file and today's file; the old call's recording, though new on disk, goes with its customer.
  writeFileSync(path.join(dir, 'stray.wav'), 'RIFF');
  const weekAgo = (Date.now() - 7 * DAY_MS) / 1000;
  utimesSync(path.join(dir, 'stray.wav'), weekAgo, weekAgo);
  writeFileSync(path.join(dir, 'today.wav'), 'RIFF');

  const retention = new Retention({ customerDays: 30, recordingDays: 5, recordingDir: dir, everyMs: 3_600_000 }, api, silentLogger());
  t.same(await retention.sweep(Date.now()), { customers: 0, files: 1 }, 'today nobody is past 30 days; the week-old file is past 5');
  t.notOk(existsSync(path.join(dir, 'stray.wav')));
  t.ok(existsSync(path.join(dir, 'today.wav')));

  // 30 days after the moment between the two contacts: the first customer is past retention, the second is not.
  const swept = await retention.sweep(between + 30 * DAY_MS);
  t.equal(swept.customers, 1, 'one customer erased');
  t.equal(await customers.get(oldOne), undefined, 'the idle customer is gone');
  t.equal(await records.get('r-old'), undefined, 'with their interaction record');
  t.notOk(existsSync(path.join(dir, 'old-call.wav')), 'and their recording');
  t.equal(await customers.customerOf('phone:+15559101'), undefined, 'and their identities');
  t.ok(await customers.get(newOne), 'the customer with a later contact is kept');
  t.ok(await records.get('r-new'));
  t.match(await customers.erasures(), [{ customer: oldOne, by: 'retention', interactions: 1 }], 'the erasure log says retention did it');

  const none = new Retention({ customerDays: 0, recordingDays: 0, recordingDir: dir, everyMs: 3_600_000 }, api, silentLogger());
  t.same(await none.sweep(Date.now() + 3650 * DAY_MS), { customers: 0, files: 0 }, '0 keeps everything');
});
