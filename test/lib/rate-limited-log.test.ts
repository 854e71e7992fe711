import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { RateLimitedLog } from '../../src/lib/index';

t.test('RateLimitedLog passes the first lines of a window and holds back the rest', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const log = new RateLimitedLog(pino({ level: 'info' }, sink), 3, 60_000);
  for (let i = 0; i < 10; i++) log.warn({ i }, 'garbage');
  await new Promise((r) => setImmediate(r));
  t.equal(lines.length, 3);
});
